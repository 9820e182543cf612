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

on_every_backend!(nul_in_text_is_refused_on_both_databases, SHOP, |server| {
    // PostgreSQL cannot hold NUL in text, and SQLite cut a pattern at it (so `contains:
    // "zz\0"` matched every row): on both, a string holding NUL is a 400 naming its path.
    for email in ["ann@example.com", "bob@example.com"] {
        server.admin("POST", "/api/users", Some(json!({"email": email}))).await;
    }
    let nul = "zz\u{0}zz";
    let filters = [
        (json!({"email": {"contains": nul}}), "where.email.contains"),
        (json!({"email": {"startsWith": nul}}), "where.email.startsWith"),
        (json!({"email": {"endsWith": nul}}), "where.email.endsWith"),
        (json!({"email": {"equals": nul}}), "where.email.equals"),
        (json!({"email": nul}), "where.email"),
        (json!({"email": {"not": nul}}), "where.email.not"),
        (json!({"email": {"in": ["x", nul]}}), "where.email.in[1]"),
        (json!({"name": {"contains": nul, "mode": "insensitive"}}), "where.name.contains"),
        (json!({"orders": {"some": {"number": {"startsWith": nul}}}}), "where.orders.some.number.startsWith"),
    ];
    for (filter, path) in filters {
        let (status, problem) = server.get_with("/api/users", &[("where", filter.clone())]).await;
        assert_eq!(status, 400, "{filter}: {problem}");
        let (p, m) = first_error(&problem);
        assert_eq!(p, path, "{problem}");
        assert!(m.contains("NUL"), "{problem}");
    }
    let writes = [
        ("POST", "/api/users".to_string(), json!({"email": nul}), "data.email"),
        ("POST", "/api/products".to_string(), json!({"name": "p", "price": "1", "meta": {"k": [nul]}}), "data.meta"),
        ("PATCH", "/api/users/bulk".to_string(), json!({"where": {}, "data": {"name": nul}}), "data.name"),
    ];
    for (method, path, body, error_path) in writes {
        let (status, problem) = server.admin(method, &path, Some(body)).await;
        assert_eq!((status, first_error(&problem).0.as_str()), (400, error_path), "{problem}");
    }
    // An id holding NUL names no row.
    let (status, _) = server.admin("GET", "/api/products/a%00b", None).await;
    assert_eq!(status, 404);
    let (_, users) = server.get_with("/api/users", &[("where", json!({"name": {"not": null}}))]).await;
    assert_eq!(users["meta"]["total"], 0, "the refused bulk update wrote nothing");
});

/// Words of SQL and of the databases' messages, none of which may reach a client.
const DATABASE_WORDS: [&str; 16] = [
    "sql",
    "select",
    "insert",
    "relation",
    "table",
    "constraint",
    "violat",
    "syntax",
    "postgres",
    "column",
    "trigger",
    "secret",
    "idx",
    "raise",
    "exception",
    "varying",
];

/// About `len` characters that PostgreSQL's compression cannot shrink much.
fn incompressible(len: usize) -> String {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect()
}

/// Sends a request and checks the answer is a problem without database wording.
async fn problem_without_db_words(
    server: &common::TestServer,
    method: &str,
    path: &str,
    body: Option<Json>,
) -> (u16, Json) {
    let mut request = server
        .client
        .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", server.base))
        .bearer_auth(common::ADMIN_KEY);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let lower = text.to_lowercase();
    for word in DATABASE_WORDS {
        assert!(!lower.contains(word), "{method} {path}: `{word}` reached the client: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Json::Null))
}

on_every_backend!(database_errors_reach_no_client, SHOP, |server| {
    let backend = server.backend();
    // Another program's rules in the database: a trigger whose message quotes SQL, a
    // unique index the schema does not know, and (PostgreSQL) narrower column types.
    server.raw(move |conn| {
        let sql = match backend {
            common::Backend::Sqlite => {
                "CREATE TRIGGER secret_boom BEFORE INSERT ON \"Tag\" WHEN NEW.\"label\" = 'boom' BEGIN \
                   SELECT RAISE(ABORT, 'SECRET: SELECT * FROM users'); END;
                 CREATE UNIQUE INDEX secret_idx ON \"Product\" (\"weight\");"
            }
            common::Backend::Postgres => {
                "CREATE FUNCTION secret_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   IF NEW.\"label\" = 'boom' THEN RAISE EXCEPTION 'SECRET: SELECT * FROM users'; END IF; \
                   RETURN NEW; END $$;
                 CREATE TRIGGER secret_boom BEFORE INSERT ON \"Tag\" FOR EACH ROW EXECUTE FUNCTION secret_boom();
                 CREATE UNIQUE INDEX secret_idx ON \"Product\" (\"weight\");
                 ALTER TABLE \"Review\" ADD CONSTRAINT secret_check CHECK (\"stars\" BETWEEN 1 AND 5);
                 ALTER TABLE \"Tag\" ALTER COLUMN \"label\" TYPE varchar(8);
                 ALTER TABLE \"Product\" ALTER COLUMN \"price\" TYPE numeric(4, 2);"
            }
        };
        conn.batch(sql).expect("another program's rules");
    });
    let (status, problem) =
        problem_without_db_words(&server, "POST", "/api/tags", Some(json!({"label": "boom"}))).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("conflict")), "{problem}");
    let product = json!({"name": "p", "price": "1", "weight": 1.5});
    let (status, created) = problem_without_db_words(&server, "POST", "/api/products", Some(product.clone())).await;
    assert_eq!(status, 201);
    let (status, problem) = problem_without_db_words(&server, "POST", "/api/products", Some(product)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("conflict")), "{problem}");
    let (_, user) = server.admin("POST", "/api/users", Some(json!({"email": "ann@example.com"}))).await;
    let path = format!("/api/users/{}", user["id"]);
    let (status, problem) =
        problem_without_db_words(&server, "PATCH", &path, Some(json!({"karma": {"divide": 0}}))).await;
    assert_eq!((status, first_error(&problem).0.as_str()), (400, "data.karma.divide"), "{problem}");
    if backend == common::Backend::Postgres {
        let cases = [
            ("/api/tags", json!({"label": "longer than eight"}), 400, "longer than its field"),
            ("/api/products", json!({"name": "q", "price": "12345"}), 400, "out of range"),
            ("/api/reviews", json!({"stars": 9, "userId": user["id"], "productId": created["id"]}), 409, ""),
            // Too large for the unique index on `email` (a B-tree entry holds about 2.7 kB).
            ("/api/users", json!({"email": incompressible(20_000)}), 400, "too large"),
        ];
        for (path, body, status, words) in cases {
            let (got, problem) = problem_without_db_words(&server, "POST", path, Some(body)).await;
            assert_eq!(got, status, "{path}: {problem}");
            assert!(problem["detail"].as_str().unwrap_or_default().contains(words), "{problem}");
        }
    }
    // A table gone behind the server's back: a 500 that says nothing of it.
    server.raw(|conn| conn.batch("ALTER TABLE \"Tag\" RENAME TO \"Gone\"").expect("rename"));
    let (status, problem) = problem_without_db_words(&server, "GET", "/api/tags", None).await;
    assert_eq!((status, problem["code"].as_str()), (500, Some("internal")), "{problem}");
});
