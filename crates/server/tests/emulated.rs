//! `relationMode = "prisma"`: the database has no foreign keys, so ssot checks references
//! on write and applies `onDelete` (Cascade, SetNull, Restrict) itself, as Prisma does.

mod common;

use serde_json::json;

const EMULATED: &str = include_str!("fixtures/emulated.prisma");

on_every_backend!(references_are_kept_without_foreign_keys, EMULATED, |server| {
    let (status, problem) = server.admin("POST", "/api/posts", Some(json!({"title": "orphan", "authorId": 99}))).await;
    assert_eq!(status, 409, "a reference to nothing is refused: {problem}");

    let (_, ann) = server.admin("POST", "/api/users", Some(json!({"email": "ann@x"}))).await;
    let ann_id = ann["id"].as_i64().unwrap_or_default();
    let (_, post) = server
        .admin(
            "POST",
            "/api/posts",
            Some(json!({"title": "p", "authorId": ann_id, "tags": {"create": [{"label": "t"}]}})),
        )
        .await;
    let (_, comment) = server.admin("POST", "/api/comments", Some(json!({"body": "c", "postId": post["id"]}))).await;
    server.admin("POST", "/api/notes", Some(json!({"text": "n", "userId": ann_id}))).await;

    // User → Post cascades, but Post → Comment restricts: nothing is deleted.
    let (status, problem) = server.admin("DELETE", &format!("/api/users/{ann_id}"), None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("Comment.postId"), "{problem}");
    let (_, posts) = server.admin("GET", "/api/posts/count", None).await;
    assert_eq!(posts["count"], 1, "the refused delete left everything in place");

    server.admin("DELETE", &format!("/api/comments/{}", comment["id"]), None).await;
    let (status, _) = server.admin("DELETE", &format!("/api/users/{ann_id}"), None).await;
    assert_eq!(status, 200);
    let (_, posts) = server.admin("GET", "/api/posts/count", None).await;
    assert_eq!(posts["count"], 0, "posts cascade with their author");
    let (_, notes) = server.admin("GET", "/api/notes", None).await;
    assert_eq!(notes["data"][0]["userId"], serde_json::Value::Null, "an optional reference is set to null");
    let links = server.raw(|conn| conn.query("SELECT COUNT(*) FROM \"_PostToTag\"", &[]).expect("count"));
    assert_eq!(links[0][0].as_i64(), Some(0), "many-to-many links go with the post");
    let (_, tags) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(tags["count"], 1, "the tag itself stays");
});
