//! One predicate, three evaluators: for generated rules and callers, the rows the SQL
//! filter keeps (on SQLite and PostgreSQL) are exactly the rows the in-memory evaluator
//! allows; and where the realtime gateway decides that filter in memory on a row as the
//! change log holds it ([`ssot_store::query::matches`]), its answer is the database's,
//! for the rules' filters and for generated `where` clauses alike. Where the caller
//! alone decides a rule ([`ssot_policy::eval::decided`], which the OpenAPI document
//! reads), the SQL filter is that very constant.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::{decided, evaluate, Context, Verdict};
use ssot_store::query::args::Filter;
use ssot_store::query::args::{ArgsReader, FindArgs};
use ssot_store::query::matches::matches;
use ssot_store::query::{policy, read};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

const SCHEMA: &str = include_str!("fixtures/policy.prisma");
const NOW: &str = "2024-06-01T00:00:00.000Z";

fn atom() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "published",
        "views > 10",
        "views <= 3",
        "views == 5",
        "views != 5",
        "status == 'draft'",
        "status != 'open'",
        "status in ['draft', 'closed']",
        "title == 'a'",
        "title != 'a'",
        "title < 'm'",
        "score > 1.5",
        "score != 2.5",
        "score == null",
        "orgId == auth.orgId",
        "orgId != auth.orgId",
        "authorId == auth.id",
        "isOwner",
        "isAdmin",
        "authenticated",
        "isPublic",
        "author.role == 'admin'",
        "author.orgId == auth.orgId",
        "org.id == 'o1'",
        "org.members.some(userId == auth.id)",
        "org.members.every(role == 'owner')",
        "org.members.none(role == 'guest')",
        "createdAt < now()",
        "auth.level > 2",
        "auth.role in ['admin', 'editor']",
        "auth == null",
    ])
    .prop_map(String::from)
}

fn rule() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} && {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} || {b})")),
            inner.prop_map(|a| format!("!({a})")),
        ]
    })
}

fn callers() -> Vec<Option<Map<String, Json>>> {
    [
        None,
        Some(json!({"id": "u1", "role": "user", "orgId": "o1"})),
        Some(json!({"id": "u2", "role": "admin", "orgId": null, "level": 3})),
        Some(json!({"id": "u3", "role": "editor", "orgId": "o2", "level": 1})),
        Some(json!({"id": "nobody", "level": "high"})),
    ]
    .into_iter()
    .map(|c| c.and_then(|c| c.as_object().cloned()))
    .collect()
}

async fn seed(server: &common::TestServer) {
    for (id, role, org) in [("u1", "user", Some("o1")), ("u2", "admin", None), ("u3", "editor", Some("o2"))] {
        let body = json!({"id": id, "email": format!("{id}@x"), "password": "password-1", "role": role, "orgId": org});
        assert_eq!(server.admin("POST", "/api/users", Some(body)).await.0, 201);
    }
    for org in ["o1", "o2", "o3"] {
        server.admin("POST", "/api/orgs", Some(json!({"id": org}))).await;
    }
    for (id, role, user, org) in [("m1", "owner", "u1", "o1"), ("m2", "guest", "u3", "o1"), ("m3", "owner", "u3", "o2")]
    {
        server.admin("POST", "/api/members", Some(json!({"id": id, "role": role, "userId": user, "orgId": org}))).await;
    }
    let titles = [Some("a"), Some("b"), None, Some("z")];
    let statuses = ["draft", "open", "closed"];
    let authors = ["u1", "u2", "u3"];
    let orgs = [Some("o1"), Some("o2"), None, Some("o3")];
    for i in 0..18 {
        let post = json!({
            "id": format!("p{i:02}"),
            "title": titles[i % 4],
            "published": i % 3 == 0,
            "status": statuses[i % 3],
            "views": (i * 7) % 13,
            "score": if i % 5 == 0 { Json::Null } else { json!((i % 4) as f64 + 0.5) },
            "createdAt": format!("2024-05-{:02}T10:00:00.000Z", 1 + i),
            "authorId": authors[i % 3],
            "orgId": orgs[i % 4],
        });
        assert_eq!(server.admin("POST", "/api/posts", Some(post.clone())).await.0, 201, "{post}");
    }
}

/// `where` clauses over every kind of column the fixture has, for the log-row evaluator.
fn where_clause() -> impl Strategy<Value = Json> {
    let atom = prop::sample::select(vec![
        json!({"views": {"gt": 6}}),
        json!({"views": 5}),
        json!({"views": {"lte": 3}}),
        json!({"views": {"in": [0, 7, 12]}}),
        json!({"views": {"notIn": [1, 2]}}),
        json!({"status": "draft"}),
        json!({"status": {"in": ["open", "closed"]}}),
        json!({"status": {"not": "open"}}),
        json!({"title": null}),
        json!({"title": {"not": null}}),
        json!({"title": "a"}),
        json!({"title": {"not": "a"}}),
        json!({"title": {"lt": "m"}}),
        json!({"title": {"gte": "b"}}),
        json!({"title": {"in": ["a", "z"]}}),
        json!({"title": {"notIn": ["b"]}}),
        json!({"title": {"contains": "a"}}),
        json!({"score": {"gte": 1.5}}),
        json!({"score": null}),
        json!({"score": {"not": 2.5}}),
        json!({"published": true}),
        json!({"published": {"not": true}}),
        json!({"createdAt": {"lt": "2024-05-10T10:00:00.000Z"}}),
        json!({"createdAt": {"gte": "2024-05-05T10:00:00.000Z"}}),
        json!({"orgId": "o1"}),
        json!({"orgId": {"in": ["o2", "o3"]}}),
        json!({"authorId": {"not": "u2"}}),
        json!({"author": {"role": "admin"}}),
    ]);
    atom.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|parts| json!({"AND": parts})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|parts| json!({"OR": parts})),
            inner.prop_map(|part| json!({"NOT": part})),
        ]
    })
}

/// Every post as the change log holds its newest version (by column, in the database's
/// representation), by id.
async fn logged_posts(store: &std::sync::Arc<ssot_store::Store>) -> BTreeMap<String, Map<String, Json>> {
    let page = store.changes_after(0, 100_000).await.expect("the change log");
    page.records
        .into_iter()
        .filter(|r| r.label == "Post")
        .filter_map(|r| Some((r.pk.get("id")?.as_str()?.to_string(), r.new?)))
        .collect()
}

/// How often the log-row evaluator answered, and how often it left it to the database.
#[derive(Default)]
struct Decided {
    certain: AtomicUsize,
    unsure: AtomicUsize,
}

/// Checks the log-row evaluator's answers for `filter` against `in_sql`, the ids the
/// database keeps.
fn check_log_rows(
    es: &ssot_store::entity::Entities,
    model: usize,
    filter: &Filter,
    logged: &BTreeMap<String, Map<String, Json>>,
    in_sql: &BTreeSet<String>,
    decided: &Decided,
) -> Result<(), TestCaseError> {
    for (id, row) in logged {
        match matches(es, model, filter, row) {
            Some(passes) => {
                decided.certain.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(passes, in_sql.contains(id), "row {} ({:?}) under {:?}", id, row, filter);
            }
            None => {
                decided.unsure.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

/// The ids of the rows of `model` that `filter` keeps, asked of the database.
fn ids_in_sql(
    handle: &tokio::runtime::Handle,
    store: &std::sync::Arc<ssot_store::Store>,
    model: usize,
    filter: Filter,
) -> Result<BTreeSet<String>, TestCaseError> {
    let store = std::sync::Arc::clone(store);
    let rows = tokio::task::block_in_place(|| {
        handle.block_on(store.read(move |conn, es| {
            let args = FindArgs {
                filter,
                order: Vec::new(),
                take: Some(1000),
                skip: 0,
                cursor: None,
                selection: ArgsReader::new(es).default_selection(model),
                search: None,
            };
            read::find(conn, es, model, &args)
        }))
    })
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(rows.iter().filter_map(|row| row["id"].as_str().map(String::from)).collect())
}

async fn differential(server: &common::TestServer, cases: u32) {
    seed(server).await;
    let store = std::sync::Arc::clone(&server.store);
    let es = std::sync::Arc::clone(&store.entities);
    let model = es.by_name("Post").expect("Post");
    // Every row with what the in-memory evaluator may need: its author, its org's members.
    let rows: Vec<Json> = store
        .read(move |conn, es| {
            let mut reader = ArgsReader::new(es);
            let args = json!({"include": {"author": true, "org": {"include": {"members": true}}}, "take": 1000});
            let find = reader.find(model, args.as_object().expect("object"), "", 0);
            read::find(conn, es, model, &reader.finish(find)?)
        })
        .await
        .expect("rows");
    let logged = logged_posts(&store).await;
    assert_eq!(logged.len(), rows.len(), "every post is in the change log");
    let decided_rows = Decided::default();
    let by_caller = AtomicUsize::new(0);
    let checked = ssot_schema::check(&common::for_backend(SCHEMA, server.backend()));
    let schema = std::sync::Arc::new(checked.schema);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&rule(), |text| {
        let post = schema.model("Post").expect("Post");
        let mut rule_ir = post.annotations.policies[0].rule.clone();
        rule_ir.text = text.clone();
        let predicate = ssot_policy::compile(&schema, post, &rule_ir, SCHEMA)
            .map_err(|d| TestCaseError::fail(format!("{text}: {d:?}")))?;
        for caller in callers() {
            let cx = Context { auth: caller.as_ref(), now: NOW };
            let in_memory: BTreeSet<String> = rows
                .iter()
                .filter(|row| {
                    let verdict = evaluate(&predicate, row.as_object().expect("row"), &cx);
                    assert_ne!(verdict, Verdict::NeedsRelations, "{text}: the rows carry their relations");
                    verdict == Verdict::Allow
                })
                .filter_map(|row| row["id"].as_str().map(String::from))
                .collect();
            let filter = policy::to_filter(&es, model, &predicate, &cx)
                .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let in_sql = ids_in_sql(&handle, &store, model, filter.clone())
                .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            check_log_rows(&es, model, &filter, &logged, &in_sql, &decided_rows)?;
            prop_assert_eq!(&in_sql, &in_memory, "rule `{}` for caller {:?}", text, caller);
            if let Some(holds) = decided(&predicate, caller.as_ref()) {
                by_caller.fetch_add(1, Ordering::Relaxed);
                let constant = if holds { matches!(filter, Filter::True) } else { policy::is_false(&filter) };
                prop_assert!(constant, "rule `{}` for caller {:?}: decided {} but {:?}", text, caller, holds, filter);
                prop_assert_eq!(in_sql.len(), if holds { rows.len() } else { 0 }, "rule `{}`", text);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The same for `where` clauses, read as a REST list reads them and guarded for each
    // caller as the realtime gateway guards them (the schema's rules, guarded fields,
    // readable related rows).
    let policies = ssot_access::Policies::compile(&schema, &es).expect("policies");
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let result = runner.run(&where_clause(), |clause| {
        let mut reader = ArgsReader::new(&es);
        let filter = reader.filter(model, &clause, "where", 0);
        let filter = reader.finish(filter).map_err(|e| TestCaseError::fail(format!("{clause}: {e}")))?;
        for auth in callers() {
            let caller = match auth {
                Some(auth) => ssot_access::Caller::User(std::sync::Arc::new(auth)),
                None => ssot_access::Caller::Anonymous,
            };
            let guard = ssot_access::Guard::new(&policies, &es, &caller);
            let guarded = guard.count_filter(model, filter.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let in_sql = ids_in_sql(&handle, &store, model, guarded.clone())?;
            check_log_rows(&es, model, &guarded, &logged, &in_sql, &decided_rows)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // An evaluator that always deferred to the database would pass the checks above.
    let (certain, unsure) = (decided_rows.certain.into_inner(), decided_rows.unsure.into_inner());
    let by_caller = by_caller.into_inner();
    eprintln!("decided {certain}, unsure {unsure}; rules the caller alone decided: {by_caller}");
    assert!(by_caller > cases as usize / 4, "the caller alone decided only {by_caller} rules");
    assert!(certain > 3 * unsure, "the log-row evaluator decided {certain} rows and left {unsure} to the database");
}

on_every_backend!(sql_and_memory_agree_on_generated_rules, SCHEMA, |server| {
    differential(&server, 256).await;
});
