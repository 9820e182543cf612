//! Rules checked against a schema: what compiles, and for what does not, the code and
//! the exact text of the schema file each diagnostic points at.

use ssot_policy::predicate::{CompareOp, Operand, Predicate, Value};

const SCHEMA: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:dev.db"
}

enum Status {
  draft
  open
}

/// @@auth("JWT")
model User {
  id       String   @id
  email    String   @unique
  password String
  role     String
  orgId    String
  posts    Post[]   @relation("author")
  reviews  Post[]   @relation("reviewer")
  member   Member[]
  notes    Note[]
}

model Org {
  id      String   @id
  members Member[]
  posts   Post[]
}

model Member {
  id     String @id
  userId String
  orgId  String
  user   User   @relation(fields: [userId], references: [id])
  org    Org    @relation(fields: [orgId], references: [id])
}

model Post {
  id         String   @id
  title      String
  published  Boolean
  status     Status
  views      Int
  createdAt  DateTime
  authorId   String
  reviewerId String
  orgId      String
  author     User     @relation("author", fields: [authorId], references: [id])
  reviewer   User     @relation("reviewer", fields: [reviewerId], references: [id])
  org        Org      @relation(fields: [orgId], references: [id])
  /// @@policy("read", rule: "RULE")
}

model Note {
  id     String @id
  text   String
  userId String
  user   User   @relation(fields: [userId], references: [id])
}
"#;

/// Compiles `rule` on `model`; `Ok` with the predicate, or `Err` with (code, the text the
/// first diagnostic points at).
fn compile(model: &str, rule: &str) -> Result<Predicate, (String, String)> {
    let escaped = rule.replace('"', "\\\"");
    let schema_text = SCHEMA.replace("RULE", &escaped);
    let checked = ssot_schema::check(&schema_text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let schema = &checked.schema;
    let model_ir = schema.model(model).expect("model");
    let rule_ir = &schema.model("Post").expect("Post").annotations.policies[0].rule;
    ssot_policy::compile(schema, model_ir, rule_ir, &schema_text).map_err(|d| {
        let span = d[0].span;
        (d[0].code.to_string(), schema_text[span.start as usize..span.end as usize].to_string())
    })
}

#[test]
fn valid_rules_compile() {
    for rule in [
        "published || auth.id == authorId",
        "author.orgId == auth.orgId",
        "org.members.some(userId == auth.id)",
        "status in ['draft', 'open']",
        "status in [\"open\"]",
        "!published && createdAt > now()",
        "views >= 10 && views < 1000.5",
        "authenticated && isAdmin",
        "isPublic",
        "auth.tenant == orgId",
        "auth != null",
        "(published)",
    ] {
        assert!(compile("Post", rule).is_ok(), "{rule}: {:?}", compile("Post", rule));
    }
}

#[test]
fn macros_expand() {
    assert_eq!(
        compile("Post", "authenticated"),
        Ok(Predicate::Compare { op: CompareOp::Ne, left: Operand::Auth(vec![]), right: Operand::Literal(Value::Null) })
    );
    // The rule sits on Post, but compiled for Note (one relation to User) isOwner resolves.
    assert_eq!(
        compile("Note", "isOwner"),
        Ok(Predicate::Compare {
            op: CompareOp::Eq,
            left: Operand::Auth(vec!["id".into()]),
            right: Operand::Field(vec!["userId".into()])
        })
    );
    assert_eq!(
        compile("User", "isOwner"),
        Ok(Predicate::Compare {
            op: CompareOp::Eq,
            left: Operand::Auth(vec!["id".into()]),
            right: Operand::Field(vec!["id".into()])
        })
    );
}

#[test]
fn problems_point_inside_the_rule() {
    let cases = [
        ("published ||", "E0501", ""),
        ("title = 'x'", "E0501", "="),
        ("titel == 'x'", "E0502", "titel"),
        ("author.emial == 'x'", "E0502", "emial"),
        ("views == 'ten'", "E0503", "views == 'ten'"),
        ("title", "E0504", "title"),
        ("author == auth.id", "E0505", "author"),
        ("org.members == 1", "E0505", "members"),
        ("isOwner", "E0506", "isOwner"),
        ("status == 'closed'", "E0509", "'closed'"),
        ("status in ['open', 'gone']", "E0509", "'gone'"),
        ("views in 5", "E0510", "5"),
        ("published > true", "E0511", "published"),
        ("auth.password == 'x'", "E0512", "password"),
        ("author.password == 'x'", "E0512", "password"),
        ("auth.posts == 'x'", "E0512", "posts"),
        ("title == \"it's\" && titel", "E0502", "titel"),
    ];
    for (rule, code, text) in cases {
        let got = compile("Post", rule).err();
        let (got_code, got_text) = got.clone().unwrap_or_default();
        assert_eq!(got_code, code, "{rule}: {got:?}");
        if !text.is_empty() {
            // Escaped quotes in the file are two bytes for one: the span still covers the source text.
            assert_eq!(got_text.replace("\\\"", "\""), text, "{rule}");
        }
    }
}

#[test]
fn the_studios_rule_reads_the_caller_alone() {
    let schema = |rule: &str| {
        format!(
            "datasource db {{\n  provider = \"sqlite\"\n  url = \"file:x.db\"\n}}\n\n/// @@auth(\"JWT\", studio: \"{rule}\")\nmodel User {{\n  id       String @id\n  email    String @unique\n  password String\n  role     String\n}}\n"
        )
    };
    for (rule, expected) in
        [("auth.role == 'admin'", vec![]), ("isOwner", vec!["E0439"]), ("role == 'admin'", vec!["E0439"])]
    {
        let source = schema(rule);
        let checked = ssot_schema::check(&source);
        assert!(!checked.has_errors(), "{rule}: {:?}", checked.diagnostics);
        let codes: Vec<String> =
            ssot_policy::check_schema(&checked.schema, &source).iter().map(|d| d.code.to_string()).collect();
        assert_eq!(codes, expected, "{rule}");
    }
}
