//! Whatever the input, checking a schema and rendering its diagnostics never panics,
//! and every span points inside the source.

use proptest::prelude::*;

const VOCABULARY: &[&str] = &[
    "model",
    "enum",
    "view",
    "type",
    "datasource",
    "generator",
    "User",
    "Post",
    "id",
    "name",
    "String",
    "Int",
    "DateTime",
    "Json",
    "Unsupported",
    "Boolean",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "?",
    "@",
    "@@",
    "@id",
    "@default",
    "@relation",
    "@@index",
    "@@id",
    "@@unique",
    "@db.VarChar",
    "now()",
    "uuid()",
    "\"x\"",
    "\"",
    "fields:",
    "references:",
    "onDelete:",
    "Cascade",
    "1",
    "-2.5",
    "true",
    "//",
    "///",
    "/// @@policy(",
    "/// @@auth(\"JWT\")",
    "/// @@search(fields: [",
    "rule:",
    "provider",
    "\"sqlite\"",
    "\"postgresql\"",
    "\n",
    "\n",
    "\n",
    " ",
    "  ",
    "\t",
    "\\",
    "é",
    "\r\n",
    "env(\"X\")",
];

fn check_everything(source: &str) {
    let checked = ssot_schema::check(source);
    for d in &checked.diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.hi() <= source.len(),
            "span {:?} outside {} bytes",
            d.span,
            source.len()
        );
        for s in &d.secondary {
            assert!(s.span.hi() <= source.len());
        }
    }
    let _ = ssot_schema::render::human(&checked.diagnostics, source, "fuzz.prisma", false);
    let _ = ssot_schema::render::json(&checked.diagnostics, source, "fuzz.prisma");
    let _ = serde_json::to_string(&checked.schema);
}

fn seeds() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/schemas/valid");
    let mut out: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    out.sort();
    out.push(include_str!("../../../examples/blog/schema.prisma").to_string());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(source in "\\PC{0,300}") {
        check_everything(&source);
    }

    #[test]
    fn token_soup(tokens in prop::collection::vec(prop::sample::select(VOCABULARY), 0..120)) {
        check_everything(&tokens.join(" "));
        check_everything(&tokens.concat());
    }

    #[test]
    fn mutated_real_schemas(seed in 0usize..1000, edits in prop::collection::vec((0usize..10_000, 0usize..4, prop::sample::select(VOCABULARY)), 1..8)) {
        let seeds = seeds();
        let mut chars: Vec<char> = seeds[seed % seeds.len()].chars().collect();
        for (at, kind, text) in edits {
            if chars.is_empty() { break; }
            let at = at % chars.len();
            match kind {
                0 => { chars.remove(at); }
                1 => { chars.splice(at..at, text.chars()); }
                2 => { let end = (at + 12).min(chars.len()); chars.drain(at..end); }
                _ => { chars.truncate(at); }
            }
        }
        let source: String = chars.into_iter().collect();
        check_everything(&source);
    }
}
