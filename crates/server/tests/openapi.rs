//! `GET /api/openapi.json`: a complete, self-consistent OpenAPI 3.1 document of the
//! served schema's routes, which tells the truth: real answers (rows shaped by `select`
//! and `include`, problems, sessions) validate against the schemas it declares for them,
//! security is optional exactly where anonymous callers may be admitted, and what it
//! declares required the server requires.

mod common;

use common::json_schema::violations;
use common::{TestServer, ADMIN_KEY};
use serde_json::{json, Value as Json};

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
        let target = r.strip_prefix("#/components/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        let (kind, name) = target.split_once('/').unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(["schemas", "responses"].contains(&kind), "unexpected ref {r}");
        assert!(doc["components"][kind].get(name).is_some(), "dangling $ref {r}");
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
    assert!(schemas["User"].get("required").is_none(), "select may leave out any field");
    assert_eq!(schemas["UserCreate"]["properties"]["password"]["writeOnly"], serde_json::json!(true));
    assert_eq!(schemas["Session"]["properties"]["user"]["$ref"], "#/components/schemas/User");
    assert_eq!(paths["/api/auth/login"]["post"]["security"], serde_json::json!([{}]), "no credentials needed");
    server.stop().await;
}

/// A request's status, content type and JSON body (any status, any content type).
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Json>,
    key: Option<&str>,
) -> (u16, String, Json) {
    let (status, content_type, text) = server.exchange(method, path, body, key).await;
    (status, content_type, serde_json::from_str(&text).unwrap_or(Json::Null))
}

/// A server of the blog fixture and its document.
async fn blog(test: &str) -> Option<(TestServer, Json)> {
    let server = TestServer::start(include_str!("fixtures/blog.prisma"), common::Backend::Sqlite, test).await?;
    let (_, doc) = server.request("GET", "/api/openapi.json", None, None).await;
    Some((server, doc))
}

/// `value`, or what its `$ref` (`#/components/...`) points at in `doc`: a response may be
/// one shared by many operations.
fn resolved<'a>(doc: &'a Json, value: &'a Json) -> &'a Json {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(path) => path.split('/').fold(doc, |node, part| &node[part]),
        None => value,
    }
}

/// Sends the request and checks the answer against what `doc` declares for the route
/// `route` (its OpenAPI path template): the status is declared, the content type is the
/// declared one, and the body validates against the declared schema. Returns the answer.
async fn conforms(
    server: &TestServer,
    doc: &Json,
    route: &str,
    method: &str,
    path: &str,
    body: Option<Json>,
    key: Option<&str>,
) -> (u16, Json) {
    let (status, content_type, answer) = call(server, method, path, body, key).await;
    let operation = &doc["paths"][route][method.to_lowercase()];
    assert!(operation.is_object(), "{method} {route} is not in the document");
    let declared = resolved(doc, &operation["responses"][status.to_string()]);
    assert!(declared.is_object(), "{method} {path}: {status} is not declared: {answer}");
    let media = if status >= 400 { "application/problem+json" } else { "application/json" };
    assert!(content_type.starts_with(media), "{method} {path}: {status} came as {content_type}, declared {media}");
    let schema = &declared["content"][media]["schema"];
    assert!(schema.is_object(), "{method} {route} {status}: no {media} schema");
    let wrong = violations(doc, schema, &answer);
    assert!(wrong.is_empty(), "{method} {path} ({status}) breaks its schema: {wrong:#?}\n{answer}");
    (status, answer)
}

fn query(params: &[(&str, Json)]) -> String {
    let parts: Vec<String> =
        params.iter().map(|(k, v)| format!("{k}={}", common::percent_encode(&v.to_string()))).collect();
    parts.join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_validate_against_the_declared_schemas() {
    let Some((server, doc)) = blog("openapi_answers").await else { return };
    let admin = Some(ADMIN_KEY);
    let (status, session) = conforms(
        &server,
        &doc,
        "/api/auth/signup",
        "POST",
        "/api/auth/signup",
        Some(json!({"email": "ann@example.com", "password": "correct horse", "name": null})),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let token = session["accessToken"].as_str().expect("token").to_string();
    let user = Some(token.as_str());
    let ann = session["user"]["id"].as_str().expect("id").to_string();
    conforms(
        &server,
        &doc,
        "/api/auth/login",
        "POST",
        "/api/auth/login",
        Some(json!({"email": "ann@example.com", "password": "correct horse"})),
        None,
    )
    .await;
    conforms(&server, &doc, "/api/auth/me", "GET", "/api/auth/me", None, user).await;
    let (status, post) = conforms(
        &server,
        &doc,
        "/api/posts",
        "POST",
        "/api/posts",
        Some(json!({"title": "t", "published": true, "authorId": ann})),
        user,
    )
    .await;
    assert_eq!(status, 201, "{post}");
    let id = post["id"].as_i64().expect("post id");
    let tag = json!({"name": "rust", "posts": {"connect": {"id": id}}});
    conforms(&server, &doc, "/api/tags", "POST", "/api/tags", Some(tag), admin).await;
    conforms(
        &server,
        &doc,
        "/api/comments",
        "POST",
        "/api/comments",
        Some(json!({"body": "b", "post": {"connect": {"id": id}}, "authorId": ann})),
        user,
    )
    .await;
    // Rows as `select` and `include` shape them, for the owner, a stranger (no `notes`, no
    // `email`) and the admin.
    let shapes = [
        query(&[]),
        query(&[("select", json!({"title": true}))]),
        query(&[("select", json!({"id": true, "author": {"select": {"email": true}}, "tags": true}))]),
        query(&[(
            "include",
            json!({"author": true, "comments": {"take": 1, "include": {"author": true}}, "tags": {"where": {"name": {"startsWith": "r"}}}}),
        )]),
        query(&[("select", json!({"title": true})), ("include", json!({"author": true}))]),
    ];
    let stranger = server.signup("bob@example.com").await;
    for key in [user, Some(stranger.token.as_str()), admin, None] {
        for shape in &shapes {
            let (status, _) =
                conforms(&server, &doc, "/api/posts", "GET", &format!("/api/posts?{shape}"), None, key).await;
            assert_eq!(status, 200);
            let (status, _) =
                conforms(&server, &doc, "/api/posts/{id}", "GET", &format!("/api/posts/{id}?{shape}"), None, key).await;
            assert_eq!(status, 200);
        }
        conforms(&server, &doc, "/api/posts/count", "GET", "/api/posts/count", None, key).await;
        conforms(
            &server,
            &doc,
            "/api/posts/query",
            "POST",
            "/api/posts/query",
            Some(json!({"where": {"title": null}, "take": -5})),
            key,
        )
        .await;
        conforms(&server, &doc, "/api/users", "GET", "/api/users?select=%7B%22posts%22%3Atrue%7D", None, key).await;
    }
    let mut path = format!("/api/posts/{id}?{}", query(&[("select", json!({"title": true}))]));
    conforms(&server, &doc, "/api/posts/{id}", "PATCH", &path, Some(json!({"views": {"increment": 1}})), user).await;
    conforms(
        &server,
        &doc,
        "/api/posts/bulk",
        "PATCH",
        "/api/posts/bulk",
        Some(json!({"where": {}, "data": {"published": false}})),
        admin,
    )
    .await;
    // Problems: each is declared for its route, as problem+json.
    let answers = [
        ("/api/posts", "GET", "/api/posts?take=5000".to_string(), None, admin, 400),
        ("/api/posts", "GET", "/api/posts".into(), None, Some("not-a-token"), 401),
        ("/api/users", "GET", "/api/users".into(), None, None, 401),
        ("/api/tags", "POST", "/api/tags".into(), Some(json!({"name": "x"})), user, 403),
        ("/api/posts/{id}", "GET", "/api/posts/999999".into(), None, user, 404),
        (
            "/api/users",
            "POST",
            "/api/users".into(),
            Some(json!({"email": "ann@example.com", "password": "long enough"})),
            admin,
            409,
        ),
        ("/api/posts/query", "POST", "/api/posts/query".into(), None, user, 400),
        (
            "/api/auth/signup",
            "POST",
            "/api/auth/signup".into(),
            Some(json!({"email": "c@example.com", "password": "correct horse", "posts": {"create": []}})),
            None,
            400,
        ),
        (
            "/api/auth/login",
            "POST",
            "/api/auth/login".into(),
            Some(json!({"email": "ann@example.com", "password": "wrong one"})),
            None,
            401,
        ),
    ];
    for (route, method, p, body, key, expected) in answers {
        let (status, problem) = conforms(&server, &doc, route, method, &p, body, key).await;
        assert_eq!(status, expected, "{method} {p}: {problem}");
    }
    path = format!("/api/posts/{id}");
    conforms(&server, &doc, "/api/posts/{id}", "DELETE", &path, None, user).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_is_optional_exactly_where_anonymous_callers_may_be_admitted() {
    let Some((server, doc)) = blog("openapi_security").await else { return };
    let anonymous_ok = |route: &str, method: &str| {
        doc["paths"][route][method]["security"].as_array().expect("security per operation").contains(&json!({}))
    };
    // Readable by anonymous callers (on some rows): optional.
    for (route, method) in [
        ("/api/posts", "get"),
        ("/api/posts/{id}", "get"),
        ("/api/tags", "get"),
        ("/api/posts/query", "post"),
        ("/api/comments/count", "get"),
        ("/api/auth/signup", "post"),
    ] {
        assert!(anonymous_ok(route, method), "{method} {route} should admit anonymous callers");
    }
    // Closed to them by every rule: required, and an anonymous call is 401 (not 403).
    let closed = [
        ("/api/users", "get", "GET", "/api/users", None),
        ("/api/users/count", "get", "GET", "/api/users/count", None),
        ("/api/posts", "post", "POST", "/api/posts", Some(json!({"title": "t", "authorId": "x"}))),
        ("/api/posts/{id}", "patch", "PATCH", "/api/posts/1", Some(json!({"title": "t"}))),
        ("/api/tags/bulk", "delete", "DELETE", "/api/tags/bulk?where=%7B%7D", None),
        ("/api/auth/me", "get", "GET", "/api/auth/me", None),
    ];
    for (route, method, verb, path, body) in closed {
        assert!(!anonymous_ok(route, method), "{method} {route} should need credentials");
        let (status, content_type, answer) = call(&server, verb, path, body, None).await;
        assert_eq!(status, 401, "{verb} {path}: {answer}");
        assert!(content_type.starts_with("application/problem+json"));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_as_declared() {
    let Some((server, doc)) = blog("openapi_bodies").await else { return };
    let schemas = &doc["components"]["schemas"];
    // Sign-up: the user's own fields that anyone may set; no relations, no role, no id.
    let signup = &doc["paths"]["/api/auth/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(signup["title"], "UserSignup");
    let fields: Vec<&String> = signup["properties"].as_object().expect("properties").keys().collect();
    assert_eq!(fields, ["email", "password", "name"], "{signup}");
    assert_eq!(signup["required"], json!(["email", "password"]));
    // A row may lack any field (select, field rules) and carries relations when included.
    assert!(schemas["Post"].get("required").is_none());
    assert_eq!(schemas["Post"]["properties"]["tags"]["items"]["$ref"], "#/components/schemas/Tag");
    assert_eq!(schemas["Post"]["additionalProperties"], json!(false));
    // A nested create through `User.posts` leaves out what the relation sets.
    let nested = schemas["UserPostsCreate"]["allOf"][0]["properties"].as_object().expect("nested create");
    assert!(!nested.contains_key("authorId") && !nested.contains_key("author") && nested.contains_key("title"));
    // A foreign key is set as itself or through its relation, never both; a bulk update
    // takes scalar fields only, and a password as itself.
    let create = schemas["PostCreate"]["allOf"].as_array().expect("allOf");
    assert!(create.contains(&json!({"not": {"required": ["author", "authorId"]}})));
    assert!(create.contains(&json!({"anyOf": [{"required": ["authorId"]}, {"required": ["author"]}]})));
    assert!(schemas["PostUpdateMany"]["properties"].get("tags").is_none());
    assert_eq!(schemas["UserUpdate"]["properties"]["password"]["type"], "string");
    // Users are not created nested (each sets a password): only `connect` is offered.
    let author = &schemas["PostCreate"]["allOf"][0]["properties"]["author"]["allOf"][0]["properties"];
    assert_eq!(author.as_object().map(|o| o.keys().collect::<Vec<_>>()), Some(vec![&"connect".to_string()]));
    // Rows holding a required key to this one cannot be disconnected.
    let comments = &schemas["PostUpdate"]["allOf"][0]["properties"]["comments"]["allOf"][0]["properties"];
    assert!(comments.get("disconnect").is_none() && comments.get("set").is_none() && comments.get("connect").is_some());
    // `/query` needs its body: without one it is a 400, as declared.
    assert_eq!(doc["paths"]["/api/posts/query"]["post"]["requestBody"]["required"], json!(true));
    let (status, _, _) = call(&server, "POST", "/api/posts/query", None, Some(ADMIN_KEY)).await;
    assert_eq!(status, 400);
    // `DELETE /bulk` takes `where` from the query string (required there); the body form
    // still works, and the two together are refused.
    let params = doc["paths"]["/api/posts/bulk"]["delete"]["parameters"].as_array().expect("parameters");
    assert!(params.iter().any(|p| p["name"] == "where" && p["required"] == json!(true)));
    let (status, _, answer) =
        call(&server, "DELETE", "/api/tags/bulk?where=%7B%7D", Some(json!({"where": {}})), Some(ADMIN_KEY)).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _, _) = call(&server, "DELETE", "/api/tags/bulk", Some(json!({"where": {}})), Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    // Ids of `Int` models are integers in the path.
    let id = &doc["paths"]["/api/posts/{id}"]["get"]["parameters"][0];
    assert_eq!((id["name"].as_str(), id["schema"]["type"].as_str()), (Some("id"), Some("integer")));
    // Every error answer of every operation is a problem+json with its schema.
    for (route, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operation") {
            for (status, answer) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    let answer = resolved(&doc, answer);
                    let schema = &answer["content"]["application/problem+json"]["schema"];
                    assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{method} {route} {status}");
                }
            }
        }
    }
    server.stop().await;
}
