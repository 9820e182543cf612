//! The admin studio: its page is served with a strict content policy, and its data is the
//! admin key's and that of the users `@@auth(studio: ...)` admits (decided on their current
//! row), nobody else's: who may do what (with each model's id and fields, never a write-only
//! password), the change log as it grows (rows in the API's form, a password's hash never
//! in them, paged by `seq`), and the sockets' clients with their subscriptions.

mod common;

use common::ws::WsClient;
use common::ADMIN_KEY;
use serde_json::{json, Value as Json};

const LIVE: &str = include_str!("fixtures/live.prisma");

on_every_backend!(the_studio_page_and_its_files_are_served_with_a_strict_policy, LIVE, |server| {
    let client = reqwest::Client::new();
    for (path, kind) in [("/_/", "text/html"), ("/_/studio.js", "text/javascript"), ("/_/studio.css", "text/css")] {
        let response = client.get(format!("{}{path}", server.base)).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert!(headers["content-type"].to_str().unwrap_or_default().starts_with(kind), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap_or_default().to_string();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = response.text().await.expect("body");
        assert!(!body.contains("innerHTML"), "{path}: values are shown as text, never as markup");
    }
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = redirect.get(format!("{}/_", server.base)).send().await.expect("get");
    assert_eq!((response.status().as_u16(), response.headers()["location"].to_str().ok()), (308, Some("/_/")));
});

on_every_backend!(without_a_studio_rule_its_data_is_the_admin_keys_alone, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    for path in ["/api/_studio/access", "/api/_studio/changes", "/api/_studio/clients"] {
        let (status, body) = server.request("GET", path, None, None).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{path}: {body}");
        let (status, body) = server.request("GET", path, None, Some(&ann.token)).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{path}: {body}");
    }

    let (status, access) = server.admin("GET", "/api/_studio/access", None).await;
    assert_eq!(status, 200, "{access}");
    let post = model(&access, "Post");
    assert_eq!(post["path"], "/api/posts");
    assert_eq!(post["id"], json!(["id"]));
    assert_eq!(post["operations"]["read"], json!(["published || isOwner"]));
    assert_eq!(post["operations"]["update"], json!(["isOwner"]));
    assert_eq!(post["fieldRules"], json!([{"field": "notes", "operation": "read", "rule": "isOwner"}]));
    let user = model(&access, "User");
    assert_eq!(user["operations"]["delete"], json!([]), "no rule: nobody");
    let names: Vec<&str> = user["fields"].as_array().into_iter().flatten().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["id", "email"], "the password is not a field anyone edits or sees");
});

/// The realtime schema, with a role on users and a studio open to the admins among them.
fn with_studio_rule() -> String {
    LIVE.replace("/// @@auth(\"JWT\")", "/// @@auth(\"JWT\", studio: \"auth.role == 'admin'\")")
        .replace("  password String\n", "  password String\n  role     String @default(\"user\")\n")
}

on_every_backend!(
    a_user_the_studio_rule_admits_opens_it_and_browses_rows_as_themselves,
    &with_studio_rule(),
    |server| {
        let ann = server.signup("ann@example.com").await;
        let bob = server.signup("bob@example.com").await;
        // Users may not make themselves admins: the rule reads `role`, so only the key sets it.
        let (status, _) = server
            .request("PATCH", &format!("/api/users/{}", bob.id), Some(json!({"role": "admin"})), Some(&bob.token))
            .await;
        assert_ne!(status, 200, "a user cannot give themselves the studio");
        let (status, body) =
            server.admin("PATCH", &format!("/api/users/{}", ann.id), Some(json!({"role": "admin"}))).await;
        assert_eq!(status, 200, "{body}");

        // Ann's token was issued before she became an admin: the rule reads her current row.
        let (status, body) = server.request("GET", "/api/_studio/clients", None, Some(&ann.token)).await;
        assert_eq!(status, 403, "the clients are the admin key's alone: {body}");
        let (status, body) = server.request("GET", "/api/_services", None, Some(&ann.token)).await;
        assert_eq!(status, 403, "so are the services' dead letters: {body}");
        for path in ["/api/_studio/access", "/api/_studio/changes"] {
            let (status, body) = server.request("GET", path, None, Some(&ann.token)).await;
            assert_eq!(status, 200, "{path}: {body}");
            let (status, body) = server.request("GET", path, None, Some(&bob.token)).await;
            assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{path}: {body}");
            let (status, body) = server.request("GET", path, None, None).await;
            assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{path}: {body}");
        }
        let (_, access) = server.request("GET", "/api/_studio/access", None, Some(&ann.token)).await;
        assert_eq!(access["caller"], json!({"kind": "user", "sub": ann.id}));
        let (_, access) = server.admin("GET", "/api/_studio/access", None).await;
        assert_eq!(access["caller"], json!({"kind": "admin"}));

        // Rows are hers to read as the API lets her: Bob's draft stays hidden in the studio too.
        let (status, draft) = server
            .request("POST", "/api/posts", Some(json!({"title": "draft", "authorId": bob.id})), Some(&bob.token))
            .await;
        assert_eq!(status, 201, "{draft}");
        let (status, posts) = server.request("GET", "/api/posts", None, Some(&ann.token)).await;
        assert_eq!((status, posts["data"].as_array().map(Vec::len)), (200, Some(0)), "{posts}");

        // Demoted: out at once, with the same token.
        assert_eq!(
            server.admin("PATCH", &format!("/api/users/{}", ann.id), Some(json!({"role": "user"}))).await.0,
            200
        );
        let (status, body) = server.request("GET", "/api/_studio/access", None, Some(&ann.token)).await;
        assert_eq!(status, 403, "{body}");

        // The login form's field comes from the index.
        let (_, index) = server.request("GET", "/api", None, None).await;
        assert_eq!(index["links"]["auth"]["identity"], "email", "{index}");
    }
);

fn model<'a>(access: &'a Json, name: &str) -> &'a Json {
    access["models"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["model"] == name))
        .unwrap_or_else(|| panic!("{name} in {access}"))
}

on_every_backend!(the_change_log_shows_each_change_without_a_passwords_hash, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let (status, made) = server
        .request(
            "POST",
            "/api/posts",
            Some(json!({"title": "Hello", "authorId": ann.id, "notes": "n"})),
            Some(&ann.token),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].clone();
    assert_eq!(server.admin("PATCH", &format!("/api/posts/{id}"), Some(json!({"title": "Hi"}))).await.0, 200);
    assert_eq!(server.admin("DELETE", &format!("/api/posts/{id}"), None).await.0, 200);

    let (status, log) = server.admin("GET", "/api/_studio/changes", None).await;
    assert_eq!(status, 200, "{log}");
    let changes = log["changes"].as_array().cloned().unwrap_or_default();
    let text = log.to_string();
    assert!(!text.contains("argon2") && !text.contains("\"password\""), "no password or its hash: {text}");
    let user = changes.iter().find(|c| c["model"] == "User").expect("the sign-up is logged");
    assert_eq!((user["op"].as_str(), user["new"]["email"].as_str()), (Some("create"), Some("ann@example.com")));
    let posts: Vec<(&str, Json)> = changes
        .iter()
        .filter(|c| c["model"] == "Post")
        .map(|c| (c["op"].as_str().unwrap_or_default(), c["new"]["title"].clone()))
        .collect();
    assert_eq!(posts, [("create", json!("Hello")), ("update", json!("Hi")), ("delete", Json::Null)]);
    let deleted = changes.iter().find(|c| c["model"] == "Post" && c["op"] == "delete").expect("delete");
    assert_eq!(deleted["old"]["title"], "Hi", "a delete shows the row as it was");
    let seqs: Vec<i64> = changes.iter().filter_map(|c| c["seq"].as_i64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first: {seqs:?}");
    assert_eq!(log["seq"].as_i64(), seqs.last().copied());

    // Paging: after a seq, at most `take`; nothing new after the newest.
    let first = seqs[0];
    let (_, page) = server.admin("GET", &format!("/api/_studio/changes?after={first}&take=1"), None).await;
    assert_eq!(
        page["changes"].as_array().map(|c| c.iter().map(|e| e["seq"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(seqs[1])])
    );
    let (_, none) = server.admin("GET", &format!("/api/_studio/changes?after={}", log["seq"]), None).await;
    assert_eq!(none["changes"], json!([]));
    for bad in ["take=0", "take=501", "after=-1", "take=\"x\"", "since=3"] {
        let (status, body) = server.admin("GET", &format!("/api/_studio/changes?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
});

on_every_backend!(the_clients_view_shows_each_socket_and_its_subscriptions, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let (mut ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    ws.send(
        json!({"type": "subscribe", "id": "mine", "channel": "Post:list", "args": {"where": {"views": {"gt": 1}}}}),
    )
    .await;
    let subscribed = ws.next().await.expect("subscribed");
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let (status, clients) = server.request("GET", "/api/_studio/clients", None, Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{clients}");
    assert_eq!(clients["connections"], 1, "{clients}");
    let subscription = &clients["clients"][0]["subscriptions"][0];
    assert_eq!(
        (subscription["id"].as_str(), subscription["model"].as_str(), subscription["kind"].as_str()),
        (Some("mine"), Some("Post"), Some("list"))
    );
    assert!(subscription["options"].as_str().unwrap_or_default().contains("views"), "{subscription}");
    assert_eq!(subscription["caller"], json!({"user": ann.id}));
    assert!(!clients.to_string().contains(&ann.token), "never a token");
    drop(ws);
});
