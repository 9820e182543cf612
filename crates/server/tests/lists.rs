//! PostgreSQL's scalar lists and native types through the REST API.

mod common;

use serde_json::json;

const LISTS: &str = include_str!("fixtures/lists.prisma");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_native_types_round_trip() {
    let Some(server) = common::TestServer::start(LISTS, common::Backend::Postgres, "lists").await else { return };
    let item = json!({
        "code": "A1",
        "tags": ["red", "with,comma", "with \"quote\""],
        "sizes": ["small", "large"],
        "seenAt": ["2024-05-01T12:30:00.000Z"],
        "price": "12.50",
        "day": "2024-05-01T00:00:00.000Z",
    });
    let (status, created) = server.admin("POST", "/api/items", Some(item)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["tags"], json!(["red", "with,comma", "with \"quote\""]));
    assert_eq!(created["scores"], json!([1, 2]), "a list default");
    assert_eq!(created["sizes"], json!(["small", "large"]), "enum lists by schema names");
    assert_eq!(created["seenAt"], json!(["2024-05-01T12:30:00.000Z"]));
    assert_eq!(created["price"], "12.5", "as Prisma shows it: no padding to the scale");
    assert_eq!(created["day"], "2024-05-01T00:00:00.000Z");
    assert_eq!(created["id"].as_str().map(str::len), Some(36));
    let stored = server.raw(|conn| conn.query("SELECT sizes::text FROM \"Item\"", &[]).expect("read"));
    assert_eq!(stored[0][0].as_text(), Some("{small,LARGE}"), "mapped enum values in the database");

    let id = created["id"].as_str().unwrap_or_default().to_string();
    let (status, updated) =
        server.admin("PATCH", &format!("/api/items/{id}"), Some(json!({"tags": [], "scores": [7]}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!((updated["tags"].clone(), updated["scores"].clone()), (json!([]), json!([7])));
    let (status, problem) =
        server.admin("POST", "/api/items", Some(json!({"code": "TOO-LONG-CODE", "price": "1"}))).await;
    assert_eq!(status, 400, "a value too long for VARCHAR(8) is bad input: {problem}");
    let (status, _) = server.admin("GET", "/api/items/not-a-uuid", None).await;
    assert_eq!(status, 404, "an id that cannot be a UUID names no record");
    server.stop().await;
}
