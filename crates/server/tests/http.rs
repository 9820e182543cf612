//! HTTP manners: CORS for browsers (preflights answered before any token or policy,
//! unknown origins get no CORS header), the method checked before the caller, the index
//! at `/` and `/api`, and `$batch` refusing keys it does not know.

mod common;

use common::{Backend, TestServer};
use serde_json::{json, Value as Json};

const BLOG: &str = include_str!("fixtures/blog.prisma");
const SHOP: &str = include_str!("fixtures/shop.prisma");
const APP: &str = "https://app.example.com";

async fn with_origins(origins: &[&str], backend: Backend, test: &str) -> Option<TestServer> {
    let settings = ssot_server::Settings {
        admin_key: Some(common::ADMIN_KEY.to_string()),
        tokens: ssot_server::auth::TokenSettings {
            secret: Some(common::JWT_SECRET.as_bytes().to_vec()),
            ..Default::default()
        },
        cors_origins: origins.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    };
    TestServer::start_configured(BLOG, backend, test, settings).await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response.headers().keys().map(|k| k.as_str().to_string()).filter(|k| k.starts_with("access-control-")).collect()
}

async fn preflight(server: &TestServer, path: &str, origin: &str, method: &str) -> reqwest::Response {
    server
        .client
        .request(reqwest::Method::OPTIONS, format!("{}{path}", server.base))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .expect("preflight")
}

/// CORS needs no database feature: SQLite is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_listed_origins_only() {
    let Some(server) = with_origins(&[APP, "http://localhost:5173"], Backend::Sqlite, "cors_listed").await else {
        return;
    };
    // A preflight is answered before any token or policy: anonymous callers may not
    // update users, yet the browser may ask.
    for path in ["/api/users/abc", "/api/$batch", "/api/auth/login", "/api/nothing"] {
        let response = preflight(&server, path, APP, "PATCH").await;
        assert_eq!(response.status().as_u16(), 204, "{path}");
        assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
        assert_eq!(header(&response, "access-control-allow-credentials"), Some("true"));
        let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("PATCH") && methods.contains("DELETE"), "{methods}");
        let headers = header(&response, "access-control-allow-headers").unwrap_or_default().to_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
        assert!(header(&response, "access-control-max-age").is_some_and(|s| s.parse::<u32>().is_ok()));
        assert!(header(&response, "vary").is_some_and(|v| v.contains("Origin")));
        assert!(header(&response, "x-request-id").is_some(), "preflights are observed like any request");
    }
    // Another origin: no CORS header at all, on a preflight or a request.
    let response = preflight(&server, "/api/users", "https://evil.example.com", "GET").await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    let response = server
        .client
        .get(format!("{}/api/users", server.base))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .expect("request");
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    assert!(header(&response, "vary").is_some_and(|v| v.contains("Origin")), "the answer varies by origin");

    // An allowed origin reads answers, errors included, and the headers a client needs.
    for (key, status) in [(None, 200), (Some("not-a-token"), 401)] {
        let mut request = server.client.get(format!("{}/api/tags", server.base)).header("origin", APP);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
        let exposed = header(&response, "access-control-expose-headers").unwrap_or_default().to_lowercase();
        assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"), "{exposed}");
        // A write's `x-ssot-seq` (read-your-writes): the browser's client waits for its live queries to reach it.
        assert!(exposed.contains("x-ssot-seq"), "{exposed}");
    }
    // Every listed origin is allowed, each answered with its own name.
    let response = preflight(&server, "/api/tags", "http://localhost:5173", "GET").await;
    assert_eq!(header(&response, "access-control-allow-origin"), Some("http://localhost:5173"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_any_origin_is_without_credentials() {
    let Some(server) = with_origins(&["*"], Backend::Sqlite, "cors_any").await else { return };
    let response = preflight(&server, "/api/posts", "https://anyone.example", "POST").await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
    let response =
        server.client.get(format!("{}/healthz", server.base)).header("origin", "https://x.example").send().await;
    let response = response.expect("request");
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
    server.stop().await;

    // Without origins, nothing is allowed, and a preflight says why.
    let Some(server) = with_origins(&[], Backend::Sqlite, "cors_none").await else { return };
    let response = preflight(&server, "/api/posts", APP, "POST").await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    let problem: Json = response.json().await.expect("problem");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("--cors-origin"), "{problem}");
    server.stop().await;

    let bad = ssot_server::Settings { cors_origins: vec!["app.example.com/path".into()], ..Default::default() };
    let schema = common::check(SHOP);
    let dir = tempfile::tempdir().expect("dir");
    let url = ssot_store::DatabaseUrl::Sqlite(dir.path().join("t.db"));
    let store = tokio::task::block_in_place(|| ssot_store::Store::open(url, &schema, 1).expect("store"));
    let error = ssot_server::App::new(std::sync::Arc::new(store), &schema, bad).err().expect("refused");
    assert!(error.to_string().contains("not an origin"), "{error}");
}

on_every_backend!(the_method_is_checked_before_the_caller, SHOP, |server| {
    // Anonymous callers may do nothing here (403), and a wrong token is a 401, but a
    // method the route does not take is a 405 first: it depends on the route alone.
    for (key, method, path, allow) in [
        (None, "DELETE", "/api/users", "GET, POST"),
        (Some("wrong"), "DELETE", "/api/users", "GET, POST"),
        (None, "POST", "/api/users/count", "GET"),
        (Some("wrong"), "PUT", "/api/users/bulk", "POST, PATCH, DELETE"),
        (None, "GET", "/api/users/query", "POST"),
        (None, "POST", "/api/users/7", "GET, PATCH, PUT, DELETE"),
    ] {
        let mut request = server
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", server.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(header(&response, "allow"), Some(allow), "{method} {path}");
        assert_eq!(header(&response, "content-type"), Some("application/problem+json"));
        let problem: Json = response.json().await.expect("problem");
        assert_eq!(problem["code"], json!("method_not_allowed"), "{problem}");
    }
    // A method the route takes goes on to the caller's checks (an anonymous caller no
    // policy admits: 401, credentials may help).
    let (status, _) = server.request("GET", "/api/users", None, None).await;
    assert_eq!(status, 401);
    // In a batch too, before the operation is authorized.
    let ops = json!({"operations": [{"method": "DELETE", "path": "/api/users"}]});
    let (status, problem) = server.request("POST", "/api/$batch", Some(ops), None).await;
    assert_eq!(status, 405, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().starts_with("operations[0]:"), "{problem}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_and_api_say_what_is_here() {
    let Some(server) = TestServer::start(BLOG, Backend::Sqlite, "index").await else { return };
    for path in ["/", "/api"] {
        let (status, index) = server.request("GET", path, None, None).await;
        assert_eq!(status, 200, "{path}: {index}");
        assert_eq!(index["name"], json!("ssot"));
        assert_eq!(index["version"], json!(env!("CARGO_PKG_VERSION")));
        assert_eq!(index["links"]["openapi"], json!("/api/openapi.json"));
        assert_eq!(index["links"]["health"], json!("/healthz"));
        assert_eq!(index["links"]["auth"]["login"], json!("/api/auth/login"));
        let resources = index["resources"].as_array().cloned().unwrap_or_default();
        assert!(resources.contains(&json!({"model": "Post", "path": "/api/posts"})), "{index}");
        // Every link answers.
        for link in ["/api/openapi.json", "/healthz", "/metrics"] {
            let response = server.client.get(format!("{}{link}", server.base)).send().await.expect("link");
            assert_eq!(response.status().as_u16(), 200, "{link}");
        }
    }
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(text.contains("route=\"/api\",status=\"200\"} 1"), "{text}");
    server.stop().await;
}

on_every_backend!(batch_refuses_unknown_keys, SHOP, |server| {
    let cases = [
        (
            json!({"operations": [{"method": "GET", "path": "/api/tags"}, {"method": "POST", "path": "/api/tags", "bdoy": {"label": "x"}}]}),
            "operations[1].bdoy",
        ),
        (json!({"operations": [{"method": "GET", "path": "/api/tags", "headers": {}}]}), "operations[0].headers"),
        (json!({"operations": [], "atomic": false}), "atomic"),
        (json!({"operations": ["GET /api/tags"]}), "operations[0]"),
    ];
    for (body, path) in cases {
        let (status, problem) = server.admin("POST", "/api/$batch", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["path"], json!(path), "{problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains(path), "{problem}");
    }
    let (_, count) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(count["count"], 0, "nothing ran");
});
