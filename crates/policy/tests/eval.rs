//! The in-memory evaluator on rows and callers as the API shows them.

use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::{decided, evaluate, Context, Verdict};

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
  orgId  String?
  posts  Post[]
  member Member[]
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
  id        String   @id
  published Boolean
  status    Status
  views     BigInt
  createdAt DateTime
  authorId  String
  orgId     String?
  author    User     @relation(fields: [authorId], references: [id])
  org       Org?     @relation(fields: [orgId], references: [id])
  /// @@policy("read", rule: "RULE")
}
"#;

fn predicate(rule: &str) -> ssot_policy::predicate::Predicate {
    let text = SCHEMA.replace("RULE", &rule.replace('"', "\\\""));
    let checked = ssot_schema::check(&text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let post = checked.schema.model("Post").expect("Post");
    ssot_policy::compile(&checked.schema, post, &post.annotations.policies[0].rule, &text)
        .unwrap_or_else(|d| panic!("{rule}: {d:?}"))
}

fn verdict(rule: &str, row: Json, auth: Option<Json>) -> Verdict {
    let predicate = predicate(rule);
    let auth: Option<Map<String, Json>> = auth.and_then(|a| a.as_object().cloned());
    let row = row.as_object().cloned().unwrap_or_default();
    evaluate(&predicate, &row, &Context { auth: auth.as_ref(), now: "2024-06-01T00:00:00.000Z" })
}

fn post() -> Json {
    json!({"id": "p1", "published": false, "status": "draft", "views": "9007199254740993", "createdAt": "2024-05-01T12:00:00.000Z", "authorId": "u1", "orgId": null})
}

#[test]
fn owners_admins_and_anonymous_callers() {
    let owner = Some(json!({"id": "u1", "role": "user"}));
    let stranger = Some(json!({"id": "u2", "role": "user"}));
    let admin = Some(json!({"id": "u3", "role": "admin"}));
    let rule = "published || isOwner || isAdmin";
    assert_eq!(verdict(rule, post(), owner), Verdict::Allow);
    assert_eq!(verdict(rule, post(), stranger.clone()), Verdict::Deny);
    assert_eq!(verdict(rule, post(), admin), Verdict::Allow);
    assert_eq!(verdict(rule, post(), None), Verdict::Deny);
    assert_eq!(verdict("authenticated", post(), stranger), Verdict::Allow);
    assert_eq!(verdict("authenticated", post(), None), Verdict::Deny);
    assert_eq!(verdict("auth == null", post(), None), Verdict::Allow);
}

#[test]
fn null_comparisons_are_false_and_not_is_two_valued() {
    let caller = Some(json!({"id": "u1", "role": "user"}));
    // orgId is null: equal, unequal and ordered comparisons are all false.
    assert_eq!(verdict("orgId == auth.tenant", post(), caller.clone()), Verdict::Deny);
    assert_eq!(verdict("orgId != 'o1'", post(), caller.clone()), Verdict::Deny);
    assert_eq!(verdict("!(orgId == 'o1')", post(), caller.clone()), Verdict::Allow);
    // A missing claim is null too.
    assert_eq!(verdict("auth.tenant != 'x'", post(), caller), Verdict::Deny);
}

#[test]
fn values_in_their_api_forms() {
    let caller = Some(json!({"id": "u1", "role": "user"}));
    assert_eq!(verdict("views > 9007199254740000", post(), caller.clone()), Verdict::Allow, "BigInt as a string");
    assert_eq!(verdict("createdAt < now()", post(), caller.clone()), Verdict::Allow);
    assert_eq!(verdict("createdAt > now()", post(), caller.clone()), Verdict::Deny);
    assert_eq!(verdict("status in ['draft', 'open']", post(), caller.clone()), Verdict::Allow);
    assert_eq!(verdict("status == 'open'", post(), caller), Verdict::Deny);
}

#[test]
fn relations_are_read_when_the_row_carries_them() {
    let caller = Some(json!({"id": "u1", "role": "user"}));
    let rule = "org.members.some(userId == auth.id)";
    // The row does not say what `org` is: the database must answer.
    assert_eq!(verdict(rule, post(), caller.clone()), Verdict::NeedsRelations);
    let mut no_org = post();
    no_org["org"] = Json::Null;
    assert_eq!(verdict(rule, no_org, caller.clone()), Verdict::Deny, "no org: no member");
    let mut with_org = post();
    with_org["orgId"] = json!("o1");
    assert_eq!(verdict(rule, with_org.clone(), caller.clone()), Verdict::NeedsRelations);
    with_org["org"] = json!({"id": "o1", "members": [{"id": "m1", "userId": "u2", "orgId": "o1"}, {"id": "m2", "userId": "u1", "orgId": "o1"}]});
    assert_eq!(verdict(rule, with_org.clone(), caller.clone()), Verdict::Allow);
    assert_eq!(verdict("org.members.every(userId == auth.id)", with_org.clone(), caller.clone()), Verdict::Deny);
    assert_eq!(verdict("org.members.none(userId == 'u9')", with_org, caller.clone()), Verdict::Allow);
    let mut with_author = post();
    with_author["author"] = json!({"id": "u1", "role": "admin", "orgId": null});
    assert_eq!(verdict("author.role == 'admin'", with_author, caller.clone()), Verdict::Allow);
    assert_eq!(verdict("author.role == 'admin'", post(), caller), Verdict::NeedsRelations);
}

#[test]
fn what_the_caller_alone_decides() {
    let anonymous = |rule: &str| decided(&predicate(rule), None);
    let user = json!({"id": "u1", "role": "user"});
    let as_user = |rule: &str| decided(&predicate(rule), user.as_object());
    // Rules about the caller only.
    assert_eq!(anonymous("authenticated"), Some(false));
    assert_eq!(as_user("authenticated"), Some(true));
    assert_eq!(anonymous("isAdmin"), Some(false));
    assert_eq!(as_user("isAdmin"), Some(false));
    assert_eq!(anonymous("auth == null"), Some(true));
    assert_eq!(anonymous("isPublic"), Some(true));
    assert_eq!(anonymous("auth.role in ['admin', 'editor']"), Some(false));
    // A field compared with a missing caller's value is false on every row.
    assert_eq!(anonymous("isOwner"), Some(false));
    assert_eq!(anonymous("authorId == auth.id || isAdmin"), Some(false));
    assert_eq!(as_user("isOwner"), None, "the row decides");
    // The row decides, or the time.
    assert_eq!(anonymous("published"), None);
    assert_eq!(anonymous("published || authenticated"), None);
    assert_eq!(anonymous("published && authenticated"), Some(false));
    assert_eq!(anonymous("!published || isPublic"), Some(true));
    assert_eq!(anonymous("createdAt < now()"), None);
    // Related rows are the rows' to decide.
    assert_eq!(anonymous("org.members.some(userId == auth.id)"), None);
}
