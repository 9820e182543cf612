//! One predicate, two evaluators: for generated rules and callers, the rows the SQL
//! filter keeps (on SQLite and PostgreSQL) are exactly the rows the in-memory evaluator
//! allows.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::{evaluate, Context, Verdict};
use ssot_store::query::args::{ArgsReader, FindArgs};
use ssot_store::query::{policy, read};
use std::collections::BTreeSet;

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
            let store = std::sync::Arc::clone(&store);
            let in_sql: BTreeSet<String> = tokio::task::block_in_place(|| {
                handle.block_on(store.read(move |conn, es| {
                    let args = FindArgs {
                        filter,
                        order: Vec::new(),
                        take: Some(1000),
                        skip: 0,
                        cursor: None,
                        selection: ArgsReader::new(es).default_selection(model),
                    };
                    read::find(conn, es, model, &args)
                }))
            })
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?
            .iter()
            .filter_map(|row| row["id"].as_str().map(String::from))
            .collect();
            prop_assert_eq!(&in_sql, &in_memory, "rule `{}` for caller {:?}", text, caller);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

on_every_backend!(sql_and_memory_agree_on_generated_rules, SCHEMA, |server| {
    differential(&server, 256).await;
});
