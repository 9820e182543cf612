//! No oracle, as a property: for generated filters and orders that read fields a
//! stranger may not read (a post's `notes`, its author's `email`), the stranger's
//! answers (which rows, in which order, how many) stay exactly the same when every
//! hidden value is changed behind their back.

mod common;

use common::{percent_encode, TestServer, User};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value as Json};

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

fn condition() -> impl Strategy<Value = Json> {
    let word = prop::sample::select(vec!["a", "m", "z", "mm", "secret", "aaa"]);
    let notes = prop_oneof![
        word.clone().prop_map(|w| json!({"notes": w})),
        word.clone().prop_map(|w| json!({"notes": {"gt": w}})),
        word.clone().prop_map(|w| json!({"notes": {"lte": w}})),
        word.clone().prop_map(|w| json!({"notes": {"contains": w}})),
        word.clone().prop_map(|w| json!({"notes": {"startsWith": w, "mode": "insensitive"}})),
        word.clone().prop_map(|w| json!({"notes": {"in": [w, "zzz"]}})),
        Just(json!({"notes": null})),
        Just(json!({"notes": {"not": null}})),
        word.clone().prop_map(|w| json!({"author": {"is": {"email": {"contains": w}}}})),
        word.clone().prop_map(|w| json!({"author": {"email": {"gt": w}}})),
    ];
    let visible = prop_oneof![
        Just(json!({"published": true})),
        Just(json!({"title": {"contains": "t"}})),
        Just(json!({"views": {"gte": 2}})),
    ];
    let atom = prop_oneof![3 => notes, 1 => visible];
    atom.prop_recursive(3, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"AND": v})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"OR": v})),
            inner.prop_map(|v| json!({"NOT": v})),
        ]
    })
}

fn order() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(json!([{"notes": "asc"}])),
        Just(json!([{"notes": "desc"}])),
        Just(json!([{"author": {"email": "desc"}}])),
        Just(json!([{"views": "asc"}, {"notes": "desc"}])),
    ]
}

/// The stranger's answer to one query: ids in order, and the count.
async fn answer(server: &TestServer, user: &User, filter: &Json, order: &Json) -> (Vec<Json>, Json) {
    let path = format!(
        "/api/posts?where={}&orderBy={}&select={}",
        percent_encode(&filter.to_string()),
        percent_encode(&order.to_string()),
        percent_encode(r#"{"id": true}"#)
    );
    let (status, list) = server.request("GET", &path, None, Some(&user.token)).await;
    assert_eq!(status, 200, "{filter} {order}: {list}");
    let ids = list["data"].as_array().expect("rows").iter().map(|r| r["id"].clone()).collect();
    let count_path = format!("/api/posts/count?where={}", percent_encode(&filter.to_string()));
    let (status, count) = server.request("GET", &count_path, None, Some(&user.token)).await;
    assert_eq!(status, 200, "{filter}: {count}");
    (ids, count["count"].clone())
}

on_every_backend!(hidden_values_never_change_a_strangers_answer, SCHEMA, |server| {
    let owner = server.signup("owner@example.com").await;
    let stranger = server.signup("stranger@example.com").await;
    for (i, notes) in ["aaa", "mm", "secret", "zzz", "b"].iter().enumerate() {
        let body = json!({"title": format!("t{i}"), "notes": notes, "published": i != 4, "views": i % 3, "authorId": owner.id});
        assert_eq!(server.admin("POST", "/api/posts", Some(body)).await.0, 201);
    }
    // The stranger's own post: its notes are theirs to read, and must not move either.
    let mine = json!({"title": "mine", "notes": "m", "published": true, "authorId": stranger.id});
    assert_eq!(server.request("POST", "/api/posts", Some(mine), Some(&stranger.token)).await.0, 201);

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let mut queries = Vec::new();
    for _ in 0..48 {
        let filter = condition().new_tree(&mut runner).expect("filter").current();
        let order = order().new_tree(&mut runner).expect("order").current();
        queries.push((filter, order));
    }
    let mut before = Vec::new();
    for (filter, order) in &queries {
        before.push(answer(&server, &stranger, filter, order).await);
    }
    // Every hidden value changes: the owner's notes and the owner's email.
    let (_, posts) = server
        .admin("GET", &format!("/api/posts?where={}", percent_encode(&json!({"authorId": owner.id}).to_string())), None)
        .await;
    for (i, post) in posts["data"].as_array().expect("rows").iter().enumerate() {
        let notes = ["zz-top", "a", "", "m", "secret-2"][i % 5];
        let path = format!("/api/posts/{}", post["id"]);
        assert_eq!(server.admin("PATCH", &path, Some(json!({"notes": notes}))).await.0, 200);
    }
    let path = format!("/api/users/{}", owner.id);
    assert_eq!(server.admin("PATCH", &path, Some(json!({"email": "a-different@example.org"}))).await.0, 200);
    for ((filter, order), expected) in queries.iter().zip(&before) {
        let got = answer(&server, &stranger, filter, order).await;
        assert_eq!(&got, expected, "the answer to {filter} ordered by {order} moved with hidden values");
    }
});
