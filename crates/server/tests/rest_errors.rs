//! Bad input, tried as a new user would, and access without policies: every case is a
//! `problem+json` 4xx naming the field and the reason, never a 500, never a partial write.

mod common;

use serde_json::{json, Value as Json};

const SHOP: &str = include_str!("fixtures/shop.prisma");

fn first_error(problem: &Json) -> (String, String) {
    let e = &problem["errors"][0];
    (e["path"].as_str().unwrap_or_default().to_string(), e["message"].as_str().unwrap_or_default().to_string())
}

async fn raw_body(server: &common::TestServer, method: &str, path: &str, body: &str) -> (u16, Json) {
    let response = server
        .client
        .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", server.base))
        .bearer_auth(common::ADMIN_KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{method} {path}"
    );
    (status, response.json().await.expect("problem body"))
}

on_every_backend!(bad_input_is_a_named_4xx, SHOP, |server| {
    let (status, problem) = raw_body(&server, "POST", "/api/users", "{\"email\": \"a@b\",").await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_json")), "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("line 1"), "{problem}");

    let cases: Vec<(&str, &str, Json, u16, &str, &str)> = vec![
        ("POST", "/api/users", json!({"email": "a@b", "nickname": "x"}), 400, "data.nickname", "no field `nickname`"),
        ("POST", "/api/users", json!({"email": "a@b", "nmae": "x"}), 400, "data.nmae", "did you mean `name`"),
        ("POST", "/api/users", json!({"email": 5}), 400, "data.email", "expected a string"),
        ("POST", "/api/users", json!({"name": "no email"}), 400, "data.email", "is required"),
        ("POST", "/api/users", json!({"email": "a@b", "role": "owner"}), 400, "data.role", "not a Role value"),
        ("POST", "/api/users", json!({"email": "a@b", "karma": 1.5}), 400, "data.karma", "whole number"),
        ("POST", "/api/users", json!({"email": "a@b", "karma": 4_000_000_000_i64}), 400, "data.karma", "out of range"),
        ("POST", "/api/users", json!({"email": "a@b", "createdAt": "last tuesday"}), 400, "data.createdAt", "ISO-8601"),
        ("POST", "/api/products", json!({"name": "x", "price": "ten"}), 400, "data.price", "decimal"),
        (
            "POST",
            "/api/products",
            json!({"name": "x", "price": "1", "image": "not base64!"}),
            400,
            "data.image",
            "base64",
        ),
        ("POST", "/api/users", json!([1, 2]), 400, "data", "expected an object"),
        (
            "PATCH",
            "/api/users/bulk",
            json!({"where": {"karma": {"between": [1, 2]}}, "data": {}}),
            400,
            "where.karma.between",
            "unknown operator",
        ),
        ("POST", "/api/users/query", json!({"where": {"password": "x"}}), 400, "where.password", "no field `password`"),
        ("POST", "/api/users/query", json!({"orderBy": {"karma": "up"}}), 400, "orderBy.karma", "\"asc\" or \"desc\""),
        (
            "POST",
            "/api/users/query",
            json!({"orderBy": {"\"; DROP TABLE users; --": "asc"}}),
            400,
            "orderBy.\"; DROP TABLE users; --",
            "no field",
        ),
        ("POST", "/api/users/query", json!({"take": 5000}), 400, "take", "at most 1000"),
        ("POST", "/api/users/query", json!({"take": -1001}), 400, "take", "at least -1000"),
        ("POST", "/api/users/query", json!({"skip": -1}), 400, "skip", "negative"),
        (
            "POST",
            "/api/users/query",
            json!({"select": {"email": true}, "include": {"orders": true}}),
            400,
            "",
            "not both",
        ),
        ("POST", "/api/users/query", json!({"include": {"email": true}}), 400, "include.email", "scalar field"),
        (
            "POST",
            "/api/users/query",
            json!({"where": {"orders": {"any": {}}}}),
            400,
            "where.orders.any",
            "unknown relation operator",
        ),
        ("POST", "/api/users/query", json!({"limit": 5}), 400, "limit", "unknown argument"),
        ("POST", "/api/orders", json!({"number": "n", "user": {"connect": {"email": "ghost@x"}}}), 404, "", ""),
        (
            "POST",
            "/api/orders",
            json!({"number": "n", "user": {"connect": {"name": "x"}}}),
            400,
            "data.user.connect",
            "unique field",
        ),
        ("POST", "/api/orders", json!({"number": "n", "userId": 404}), 409, "userId", ""),
        ("PATCH", "/api/users/999", json!({"name": "x"}), 404, "", ""),
        ("PATCH", "/api/users/not-a-number", json!({"name": "x"}), 404, "", ""),
        ("GET", "/api/order-lines/1", Json::Null, 400, "id", "joined by commas"),
    ];
    for (method, path, body, status, path_part, message_part) in cases {
        let body = if body.is_null() { None } else { Some(body) };
        let (got, problem) = server.admin(method, path, body.clone()).await;
        assert_eq!(got, status, "{method} {path} {body:?}: {problem}");
        if !path_part.is_empty() || !message_part.is_empty() {
            let (p, m) = first_error(&problem);
            assert!(p.contains(path_part), "{method} {path} {body:?}: path {p:?} lacks {path_part:?}: {problem}");
            assert!(m.contains(message_part), "{method} {path} {body:?}: message {m:?} lacks {message_part:?}");
        }
    }
    // Query strings are JSON values, checked the same way.
    let (status, problem) = server.admin("GET", "/api/users?where=notjson", None).await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = server.admin("GET", "/api/users?colour=1", None).await;
    assert_eq!(status, 400);
    let (status, _) = server.admin("GET", "/api/nothings", None).await;
    assert_eq!(status, 404);
    let (status, _) = server.admin("POST", "/api/users/count", Some(json!({}))).await;
    assert_eq!(status, 405);
    let response = server
        .client
        .delete(format!("{}/api/users", server.base))
        .bearer_auth(common::ADMIN_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));

    // Over the size limit: 413, nothing read.
    let big = format!("{{\"email\": \"{}\"}}", "x".repeat(ssot_server::MAX_BODY_BYTES));
    let (status, problem) = raw_body(&server, "POST", "/api/users", &big).await;
    assert_eq!((status, problem["code"].as_str()), (413, Some("payload_too_large")));

    // Unique violations name the fields: a single one and a compound one.
    let (_, ann) = server.admin("POST", "/api/users", Some(json!({"email": "ann@x"}))).await;
    let (status, problem) = server.admin("POST", "/api/users", Some(json!({"email": "ann@x"}))).await;
    assert_eq!((status, first_error(&problem).0), (409, "email".to_string()), "{problem}");
    let (_, product) = server.admin("POST", "/api/products", Some(json!({"name": "p", "price": "1"}))).await;
    let review = json!({"stars": 1, "userId": ann["id"], "productId": product["id"]});
    server.admin("POST", "/api/reviews", Some(review.clone())).await;
    let (status, problem) = server.admin("POST", "/api/reviews", Some(review)).await;
    assert_eq!(status, 409, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().map(|a| a.iter().filter_map(|e| e["path"].as_str()).collect()).unwrap_or_default();
    assert_eq!(fields, ["userId", "productId"]);

    // A restricted delete names what still refers to the row.
    let (status, problem) = server.admin("DELETE", &format!("/api/users/{}", ann["id"]), None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("Review.userId"), "{problem}");

    // SQL in values is data: stored and read back verbatim.
    let sneaky = "x'); DROP TABLE users; --";
    let (status, row) = server.admin("POST", "/api/users", Some(json!({"email": sneaky}))).await;
    assert_eq!((status, row["email"].as_str()), (201, Some(sneaky)));
    let (_, found) = server.get_with("/api/users", &[("where", json!({"email": {"contains": "DROP TABLE"}}))]).await;
    assert_eq!(found["meta"]["total"], 1);

    // A failed nested write leaves nothing behind.
    let (status, _) = server
        .admin(
            "POST",
            "/api/orders",
            Some(json!({"number": "half", "lines": {"create": [{"productId": "missing", "quantity": 1}]}})),
        )
        .await;
    assert_eq!(status, 409);
    let (_, orders) = server.admin("GET", "/api/orders/count", None).await;
    assert_eq!(orders["count"], 0, "the order of a failed nested create is rolled back");
});

on_every_backend!(models_are_closed_without_the_admin_key, SHOP, |server| {
    for (method, path) in [
        ("GET", "/api/users"),
        ("GET", "/api/users/1"),
        ("POST", "/api/users"),
        ("DELETE", "/api/users/bulk"),
        ("GET", "/api/users/count"),
    ] {
        let (status, problem) = server.request(method, path, Some(json!({"email": "x"})), None).await;
        // Anonymous: credentials could open these, so 401 (with `WWW-Authenticate`).
        assert_eq!((status, problem["code"].as_str()), (401, Some("unauthorized")), "{method} {path}");
    }
    let (status, problem) = server.request("GET", "/api/users", None, Some("wrong-key")).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = server
        .request("POST", "/api/$batch", Some(json!({"operations": [{"method": "GET", "path": "/api/users"}]})), None)
        .await;
    assert_eq!(status, 401);
    // Nothing was written by the refused requests.
    let (_, count) = server.admin("GET", "/api/users/count", None).await;
    assert_eq!(count["count"], 0);
});

on_every_backend!(operations_endpoints, SHOP, |server| {
    let (status, health) = server.request("GET", "/healthz", None, None).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    server.admin("GET", "/api/users", None).await;
    server.admin("GET", "/api/users/7", None).await;
    let response = server
        .client
        .get(format!("{}/metrics", server.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc-123"));
    let text = response.text().await.expect("text");
    assert!(text.contains("ssot_http_requests_total{method=\"GET\",route=\"/api/users\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("route=\"/api/users/{id}\",status=\"404\"} 1"), "{text}");
    assert!(
        text.contains("ssot_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/users\",le=\"+Inf\"} 1"),
        "{text}"
    );
    assert!(text.contains("ssot_db_workers"), "{text}");
    let generated = server.client.get(format!("{}/healthz", server.base)).send().await.expect("health");
    assert!(generated.headers().get("x-request-id").is_some(), "every response carries a request id");
});
