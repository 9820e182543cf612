//! No trespass, as a property: whatever write a signed-in stranger sends (generated
//! creates, updates, deletes, bulk operations and nested relation writes naming their
//! own rows, someone else's visible and hidden rows, and missing ones), nothing that is
//! not theirs changes, and everything they create is theirs. Checked after every request
//! against a snapshot taken with the admin key.

mod common;

use common::{percent_encode, TestServer, User};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value as Json};

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

/// Placeholders the generated requests use, filled in per world.
#[derive(Debug, Clone, Copy)]
enum Row {
    MyPost,
    TheirPublished,
    TheirDraft,
    Missing,
}

fn row() -> impl Strategy<Value = Row> {
    prop::sample::select(vec![Row::MyPost, Row::TheirPublished, Row::TheirDraft, Row::Missing])
}

fn who() -> impl Strategy<Value = bool> {
    any::<bool>()
}

/// A new post's data, by the stranger or in someone else's name, maybe linked to a tag.
fn post_data() -> impl Strategy<Value = Json> {
    (who(), any::<bool>(), prop::option::of(row())).prop_map(|(mine, published, tag_link)| {
        let mut data = json!({"title": "gen", "notes": "n", "published": published, "authorId": if mine { "{me}" } else { "{them}" }});
        if tag_link.is_some() {
            data["tags"] = json!({"connect": [{"id": "{tag}"}]});
        }
        data
    })
}

/// A request as (method, path, body), with `{me}`, `{them}` and row placeholders.
fn request() -> impl Strategy<Value = (String, String, Json)> {
    let relation_op = prop::sample::select(vec!["connect", "disconnect", "set"]);
    prop_oneof![
        post_data().prop_map(|d| ("POST".into(), "/api/posts".into(), d)),
        post_data().prop_map(|d| ("POST".into(), "/api/posts/bulk".into(), json!({"data": [d]}))),
        (row(), who()).prop_map(|(r, mine)| (
            "PATCH".into(),
            format!("/api/posts/{{{r:?}}}"),
            json!({"authorId": if mine { "{me}" } else { "{them}" }, "title": "moved"})
        )),
        row().prop_map(|r| (
            "PATCH".into(),
            format!("/api/posts/{{{r:?}}}"),
            json!({"title": "edited", "views": {"increment": 1}})
        )),
        row().prop_map(|r| (
            "PATCH".into(),
            format!("/api/posts/{{{r:?}}}"),
            json!({"author": {"connect": {"id": "{me}"}}})
        )),
        row().prop_map(|r| ("DELETE".into(), format!("/api/posts/{{{r:?}}}"), Json::Null)),
        (relation_op.clone(), row()).prop_map(|(op, r)| (
            "PATCH".into(),
            "/api/users/{me}".into(),
            json!({"posts": {op: [{"id": format!("{{{r:?}}}")}]}})
        )),
        (relation_op, row()).prop_map(|(op, r)| (
            "PATCH".into(),
            format!("/api/posts/{{{r:?}}}"),
            json!({"tags": {op: [{"id": "{tag}"}]}})
        )),
        row().prop_map(|r| (
            "POST".into(),
            "/api/comments".into(),
            json!({"body": "c", "authorId": "{me}", "postId": format!("{{{r:?}}}")})
        )),
        row().prop_map(|r| (
            "POST".into(),
            "/api/comments".into(),
            json!({"body": "c", "authorId": "{them}", "post": {"connect": {"id": format!("{{{r:?}}}")}}})
        )),
        Just((
            "PATCH".into(),
            "/api/posts/bulk".into(),
            json!({"where": {}, "data": {"title": "bulk", "authorId": "{me}"}})
        )),
        Just(("DELETE".into(), "/api/posts/bulk".into(), json!({"where": {}}))),
        Just(("PATCH".into(), "/api/users/{them}".into(), json!({"name": "hacked"}))),
        Just(("PATCH".into(), "/api/users/{me}".into(), json!({"role": "admin"}))),
        Just(("POST".into(), "/api/users".into(), json!({"email": "new@example.com", "password": "correct horse"}))),
        Just((
            "PATCH".into(),
            "/api/users/{me}".into(),
            json!({"posts": {"create": [{"title": "nested", "tags": {"create": [{"name": "t"}]}}]}})
        )),
    ]
}

/// Everything, as the admin sees it: posts (with tags), comments, users, tags.
async fn snapshot(server: &TestServer) -> Json {
    let posts =
        server.admin("GET", &format!("/api/posts?include={}", percent_encode(r#"{"tags": true}"#)), None).await.1;
    json!({
        "posts": posts["data"],
        "comments": server.admin("GET", "/api/comments", None).await.1["data"],
        "users": server.admin("GET", "/api/users", None).await.1["data"],
        "tags": server.admin("GET", "/api/tags", None).await.1["data"],
    })
}

fn rows<'a>(snapshot: &'a Json, kind: &str) -> Vec<&'a Json> {
    snapshot[kind].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// What is not the stranger's must not have changed; what is new must be theirs.
fn check(before: &Json, after: &Json, me: &str, request: &str) {
    for kind in ["posts", "comments"] {
        let owned_by_me = |r: &Json| r["authorId"] == json!(me);
        for row in rows(before, kind).into_iter().filter(|r| !owned_by_me(r)) {
            let now = rows(after, kind).into_iter().find(|r| r["id"] == row["id"]);
            assert_eq!(now, Some(row), "{request}: someone else's {kind} row changed or went");
        }
        for row in rows(after, kind) {
            let existed = rows(before, kind).iter().any(|r| r["id"] == row["id"]);
            assert!(existed || owned_by_me(row), "{request}: a new {kind} row not the stranger's: {row}");
        }
    }
    for row in rows(before, "users").into_iter().filter(|u| u["id"] != json!(me)) {
        assert!(rows(after, "users").contains(&row), "{request}: another user changed: {row}");
    }
    assert_eq!(rows(before, "users").len(), rows(after, "users").len(), "{request}: users created or deleted");
    assert_eq!(before["tags"], after["tags"], "{request}: tags are the admin's");
    // My own posts' rows may change, but not their links to tags (tags are the admin's).
    for post in rows(before, "posts").into_iter().filter(|r| r["authorId"] == json!(me)) {
        if let Some(now) = rows(after, "posts").into_iter().find(|r| r["id"] == post["id"]) {
            assert_eq!(now["tags"], post["tags"], "{request}: a tag link changed");
        }
    }
}

on_every_backend!(a_stranger_changes_nothing_that_is_not_theirs, SCHEMA, |server| {
    let owner = server.signup("owner@example.com").await;
    let stranger = server.signup("stranger@example.com").await;
    let (_, tag) = server.admin("POST", "/api/tags", Some(json!({"name": "rust"}))).await;
    let tag = tag["id"].clone();
    let mut ids = std::collections::HashMap::new();
    for (name, author, published) in
        [("MyPost", &stranger, true), ("TheirPublished", &owner, true), ("TheirDraft", &owner, false)]
    {
        let body = json!({"title": name, "notes": "n", "published": published, "authorId": author.id, "tags": {"connect": [{"id": tag}]}});
        let (status, row) = server.admin("POST", "/api/posts", Some(body)).await;
        assert_eq!(status, 201, "{row}");
        ids.insert(name, row["id"].clone());
    }
    ids.insert("Missing", json!(987_654));
    let fill = |text: &str, me: &User, them: &User| {
        let mut text = text.replace("{me}", &me.id).replace("{them}", &them.id).replace("\"{tag}\"", &tag.to_string());
        for (name, id) in &ids {
            text = text
                .replace(&format!("\"{{{name}}}\""), &id.to_string())
                .replace(&format!("{{{name}}}"), &id.to_string());
        }
        text
    };
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    for _ in 0..80 {
        let (method, path, body) = request().new_tree(&mut runner).expect("request").current();
        let path = fill(&path, &stranger, &owner);
        let body = if body.is_null() {
            None
        } else {
            Some(serde_json::from_str(&fill(&body.to_string(), &stranger, &owner)).expect("body"))
        };
        let before = snapshot(&server).await;
        let described = format!("{method} {path} {}", body.as_ref().map_or(String::new(), Json::to_string));
        let (status, answer) = server.request(&method, &path, body, Some(&stranger.token)).await;
        assert!(status < 500, "{described}: {answer}");
        *statuses.entry(status).or_default() += 1;
        let after = snapshot(&server).await;
        check(&before, &after, &stranger.id, &described);
    }
    // The run exercised both sides: writes that went through and writes refused.
    let count =
        |range: std::ops::Range<u16>| statuses.iter().filter(|(s, _)| range.contains(s)).map(|(_, n)| n).sum::<usize>();
    assert!(count(200..300) >= 10 && count(403..405) >= 10, "{statuses:?}");
    eprintln!("statuses: {statuses:?}");
});
