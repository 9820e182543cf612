//! `GET /api/openapi.json`: a complete, self-consistent OpenAPI 3.1 document of the
//! served schema's routes.

mod common;

use serde_json::Value as Json;

const SHOP: &str = include_str!("fixtures/shop.prisma");

fn refs<'a>(value: &'a Json, out: &mut Vec<&'a str>) {
    match value {
        Json::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Json::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_every_route_and_resolves() {
    let Some(server) = common::TestServer::start(SHOP, common::Backend::Sqlite, "openapi").await else { return };
    // Public, like the routes' shapes: no key needed.
    let (status, doc) = server.request("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for resource in ["users", "profiles", "products", "tags", "orders", "order-lines", "reviews"] {
        for suffix in ["", "/query", "/count", "/bulk", "/{id}"] {
            assert!(paths.contains_key(&format!("/api/{resource}{suffix}")), "/api/{resource}{suffix} missing");
        }
    }
    assert!(paths.contains_key("/api/$batch"));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Role"]["enum"], serde_json::json!(["member", "admin"]), "enums by their schema names");
    assert_eq!(schemas["UserCreate"]["required"], serde_json::json!(["email"]), "required only without a default");
    assert_eq!(schemas["Product"]["properties"]["stock"]["type"], "string", "BigInt travels as a string");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50);
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(schemas.get(name).is_some(), "dangling $ref {r}");
    }
    let ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().into_iter().flat_map(|o| o.values()))
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "operationIds are unique");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_get_auth_routes_and_the_password_is_write_only() {
    let schema = include_str!("fixtures/blog.prisma");
    let Some(server) = common::TestServer::start(schema, common::Backend::Sqlite, "openapi_auth").await else { return };
    let (_, doc) = server.request("GET", "/api/openapi.json", None, None).await;
    let paths = doc["paths"].as_object().expect("paths");
    for route in ["signup", "login", "refresh", "logout", "me"] {
        assert!(paths.contains_key(&format!("/api/auth/{route}")), "/api/auth/{route} missing");
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["User"]["properties"].get("password").is_none(), "never returned");
    assert!(!schemas["User"]["required"].as_array().expect("required").contains(&serde_json::json!("password")));
    assert_eq!(schemas["UserCreate"]["properties"]["password"]["writeOnly"], serde_json::json!(true));
    assert_eq!(schemas["Session"]["properties"]["user"]["$ref"], "#/components/schemas/User");
    assert_eq!(paths["/api/auth/login"]["post"]["security"], serde_json::json!([]));
    server.stop().await;
}
