//! Whatever a rule says, checking it gives a predicate or diagnostics, never a panic.

use proptest::prelude::*;

const SCHEMA: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:dev.db"
}

/// @@auth("JWT")
model User {
  id    String @id
  role  String
  posts Post[]
}

model Post {
  id        String  @id
  published Boolean
  views     Int
  authorId  String
  author    User    @relation(fields: [authorId], references: [id])
  /// @@policy("read", rule: "published")
}
"#;

fn pieces() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "published",
        "views",
        "author",
        "author.id",
        "auth",
        "auth.id",
        "auth.role",
        "posts",
        "isOwner",
        "isAdmin",
        "authenticated",
        "now()",
        "'x'",
        "\"y\"",
        "1",
        "-2.5",
        "true",
        "null",
        "[",
        "]",
        "(",
        ")",
        ",",
        ".",
        "==",
        "!=",
        "<",
        ">=",
        "in",
        "&&",
        "||",
        "!",
        "some(",
        "every(",
        "\\",
        "'",
        "é",
        " ",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|parts| parts.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_rule_checks_without_panicking(rule in prop_oneof![pieces(), ".{0,64}"]) {
        let checked = ssot_schema::check(SCHEMA);
        let schema = &checked.schema;
        let post = schema.model("Post").expect("Post");
        let mut rule_ir = post.annotations.policies[0].rule.clone();
        rule_ir.text = rule;
        // The span still covers the original text; placing must stay inside it.
        let _ = ssot_policy::compile(schema, post, &rule_ir, SCHEMA);
    }
}
