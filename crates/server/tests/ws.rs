//! The socket at `/api/ws`: a real WebSocket client against a real server. Its RPC runs
//! every REST operation with REST's answers, errors and policies; tokens are checked at
//! the handshake, on `auth` and for every request; bad input is an `error` and the
//! connection stays; timers and limits close it with the documented codes.

mod common;

use common::ws::WsClient;
use common::{TestServer, ADMIN_KEY};
use serde_json::{json, Value as Json};

const BLOG: &str = include_str!("fixtures/blog.prisma");
const LIVE: &str = include_str!("fixtures/live.prisma");

/// A REST answer and a socket answer agree: the same status, and the same body (or the
/// same problem).
fn same(rest: &(u16, Json), socket: &Json) {
    assert_eq!(socket["status"], json!(rest.0), "status: REST {rest:?}, socket {socket}");
    let body = if rest.0 >= 400 { &socket["problem"] } else { &socket["body"] };
    assert_eq!(body, &rest.1, "REST {rest:?}, socket {socket}");
}

on_every_backend!(rpc_runs_every_operation_as_rest_does, BLOG, |server| {
    let ann = server.signup("ann@example.com").await;
    let (mut ws, ready) = WsClient::ready(&server.base, Some(&ann.token)).await;
    assert_eq!(ready["caller"]["kind"], "user", "{ready}");
    assert_eq!(ready["protocol"], "ssot.v1");

    let created =
        ws.request(json!({"model": "Post", "action": "create", "data": {"title": "one", "authorId": ann.id}})).await;
    assert_eq!(created["status"], 201, "{created}");
    let id = created["body"]["id"].as_i64().expect("id");
    let seq = created["seq"].as_i64().expect("a write answers with its seq");
    let (_, list) = server.request("GET", "/api/posts", None, Some(&ann.token)).await;
    assert_eq!(list["meta"]["seq"].as_i64(), Some(seq), "the seq the write committed at");

    // Reads: the same answers as REST's, to the byte.
    let args = json!({"where": {"title": {"startsWith": "o"}}, "orderBy": {"id": "desc"}, "take": 5});
    let socket = ws.request(json!({"model": "Post", "action": "list", "args": args})).await;
    same(&server.request("POST", "/api/posts/query", Some(args), Some(&ann.token)).await, &socket);
    let socket =
        ws.request(json!({"model": "Post", "action": "get", "key": id, "args": {"select": {"title": true}}})).await;
    same(
        &server
            .request("GET", &format!("/api/posts/{id}?select=%7B%22title%22%3Atrue%7D"), None, Some(&ann.token))
            .await,
        &socket,
    );
    let socket = ws.request(json!({"model": "Post", "action": "count", "args": {"where": {"published": false}}})).await;
    assert_eq!(socket["body"], json!({"count": 1}), "{socket}");

    // Writes, one and many.
    let socket = ws.request(json!({"model": "Post", "action": "update", "key": id, "data": {"title": "uno"}})).await;
    assert_eq!((socket["status"].clone(), socket["body"]["title"].clone()), (json!(200), json!("uno")), "{socket}");
    assert!(socket["seq"].as_i64() > Some(seq));
    let many = json!({"model": "Post", "action": "createMany", "data": [{"title": "a", "authorId": ann.id}, {"title": "b", "authorId": ann.id}]});
    assert_eq!(ws.request(many).await["body"], json!({"count": 2}));
    let socket = ws.request(json!({"model": "Post", "action": "updateMany", "args": {"where": {"title": {"in": ["a", "b"]}}}, "data": {"views": 3}})).await;
    assert_eq!(socket["body"], json!({"count": 2}), "{socket}");
    let socket = ws.request(json!({"model": "Post", "action": "deleteMany", "args": {"where": {"views": 3}}})).await;
    assert_eq!(socket["body"], json!({"count": 2}), "{socket}");

    // A batch: all or nothing, answered as `$batch` answers.
    let batch = json!({"action": "$batch", "operations": [
        {"model": "Post", "action": "create", "data": {"title": "kept?", "authorId": ann.id}},
        {"model": "Post", "action": "update", "key": 999_999, "data": {"title": "x"}},
    ]});
    let socket = ws.request(batch).await;
    assert_eq!(socket["status"], 404, "{socket}");
    assert_eq!(socket["problem"]["detail"].as_str().map(|d| d.starts_with("operations[1]")), Some(true), "{socket}");
    let (_, count) = server.admin("GET", "/api/posts/count", None).await;
    assert_eq!(count["count"], 1, "nothing of the failed batch was written");
    let batch = json!({"action": "$batch", "operations": [
        {"model": "Post", "action": "create", "data": {"title": "two", "authorId": ann.id}},
        {"model": "Post", "action": "delete", "key": id},
    ]});
    let socket = ws.request(batch).await;
    assert_eq!(socket["status"], 200, "{socket}");
    assert_eq!(socket["body"]["results"][0]["status"], 201);
    assert_eq!(socket["body"]["results"][1]["body"]["id"], json!(id));
    assert!(socket["seq"].is_i64());
});

on_every_backend!(rpc_answers_with_rests_policies_and_problems, BLOG, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let (_, post) = server
        .request("POST", "/api/posts", Some(json!({"title": "draft", "authorId": ann.id})), Some(&ann.token))
        .await;
    let id = post["id"].as_i64().expect("id");
    let (mut as_bob, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    let (mut anonymous, ready) = WsClient::ready(&server.base, None).await;
    assert_eq!(ready["caller"]["kind"], "anonymous");

    let path = format!("/api/posts/{id}");
    let cases = [
        // Hidden by the read rule: "not found", as REST says it.
        (json!({"model": "Post", "action": "get", "key": id}), ("GET", path.clone(), None)),
        (
            json!({"model": "Post", "action": "update", "key": id, "data": {"title": "mine"}}),
            ("PATCH", path.clone(), Some(json!({"title": "mine"}))),
        ),
        (json!({"model": "Post", "action": "delete", "key": id}), ("DELETE", path.clone(), None)),
        // Bad input: the same problem, paths included.
        (
            json!({"model": "Post", "action": "list", "args": {"where": {"nope": 1}}}),
            ("POST", "/api/posts/query".into(), Some(json!({"where": {"nope": 1}}))),
        ),
        (
            json!({"model": "Post", "action": "create", "data": {"title": 5, "authorId": bob.id}}),
            ("POST", "/api/posts".into(), Some(json!({"title": 5, "authorId": bob.id}))),
        ),
        (json!({"model": "Post", "action": "get", "key": "x"}), ("GET", "/api/posts/x".into(), None)),
    ];
    for (socket, (method, path, body)) in cases {
        let rest = server.request(method, &path, body, Some(&bob.token)).await;
        assert!(rest.0 >= 400, "{rest:?}");
        same(&rest, &as_bob.request(socket).await);
    }
    // Anonymous: refused before any input is read, 401 as over HTTP.
    let rest = server.request("GET", "/api/users", None, None).await;
    same(&rest, &anonymous.request(json!({"model": "User", "action": "list"})).await);
    // A list shows each caller what their rules let them see.
    let socket = anonymous.request(json!({"model": "Post", "action": "list"})).await;
    same(&server.request("GET", "/api/posts", None, None).await, &socket);
    assert_eq!(socket["body"]["data"], json!([]), "a draft is no one's but its owner's");
});

on_every_backend!(tokens_are_checked_at_the_handshake_on_auth_and_for_every_request, BLOG, |server| {
    // A token that is not one: closed with 4401 right after the upgrade.
    let mut ws = WsClient::connect(&server.base, Some("not-a-token")).await;
    assert_eq!(ws.closed().await.code, 4401);

    // `auth` switches the caller: anonymous, then Ann, then the admin.
    let ann = server.signup("ann@example.com").await;
    let (mut ws, _) = WsClient::ready(&server.base, None).await;
    assert_eq!(ws.request(json!({"model": "User", "action": "count"})).await["status"], 401);
    ws.send(json!({"type": "auth", "token": ann.token})).await;
    let authenticated = ws.next().await.expect("authenticated");
    assert_eq!(authenticated["type"], "authenticated", "{authenticated}");
    assert_eq!(authenticated["caller"]["sub"], json!(ann.id));
    assert!(authenticated["caller"]["expiresAt"].is_u64(), "{authenticated}");
    assert_eq!(ws.request(json!({"model": "User", "action": "count"})).await["body"]["count"], 1);
    ws.send(json!({"type": "auth", "token": ADMIN_KEY})).await;
    assert_eq!(ws.next().await.expect("authenticated")["caller"]["kind"], "admin");

    // Ann's session ends (logout over HTTP): her socket's next request closes it, 4401.
    let (mut as_ann, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let (status, _) = server.request("POST", "/api/auth/logout", Some(json!({})), Some(&ann.token)).await;
    assert!(status < 300, "logout: {status}");
    as_ann.send(json!({"type": "request", "id": 1, "model": "Post", "action": "list"})).await;
    assert_eq!(as_ann.closed().await.code, 4401);

    // A refused token in `auth` closes too.
    ws.send(json!({"type": "auth", "token": "forged"})).await;
    assert_eq!(ws.closed().await.code, 4401);
});

on_every_backend!(bad_messages_are_errors_and_the_connection_stays, BLOG, |server| {
    let (mut ws, _) = WsClient::ready(&server.base, Some(ADMIN_KEY)).await;
    let bad: [(String, &str); 9] = [
        ("{not json".into(), "invalid_json"),
        ("[1, 2]".into(), "invalid_message"),
        (json!({"nope": 1}).to_string(), "invalid_message"),
        (json!({"type": "shout"}).to_string(), "unknown_message"),
        (json!({"type": "request", "model": "Post", "action": "list"}).to_string(), "invalid_message"),
        (json!({"type": "request", "id": 1, "model": "Nope", "action": "list"}).to_string(), "unknown_model"),
        (json!({"type": "request", "id": 2, "model": "Post", "action": "findMany"}).to_string(), "unknown_action"),
        (
            json!({"type": "request", "id": 3, "model": "Post", "action": "list", "wher": {}}).to_string(),
            "invalid_request",
        ),
        (json!({"type": "auth"}).to_string(), "invalid_message"),
    ];
    for (text, code) in bad {
        ws.send_text(text.clone()).await;
        let error = ws.next().await.expect("an error, not a close");
        assert_eq!((error["type"].as_str(), error["code"].as_str()), (Some("error"), Some(code)), "{text}: {error}");
    }
    // The request's id comes back with its error.
    ws.send(json!({"type": "request", "id": "r9", "model": "Nope", "action": "list"})).await;
    assert_eq!(ws.next().await.expect("error")["id"], "r9");
    ws.send_binary(vec![1, 2, 3]).await;
    assert_eq!(ws.next().await.expect("error")["code"], "binary_not_supported");
    // Still open: a ping is answered.
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.expect("pong"), json!({"type": "pong"}));

    // A message larger than the limit closes with 1009. The server stops reading at the
    // limit, so a client still sending the rest may instead see its connection reset
    // (1006) before it reads the close frame; it is never answered.
    let big = format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(ssot_server::MAX_BODY_BYTES));
    let _ = ws.try_send_text(big).await;
    let closed = ws.closed().await;
    assert!(closed.code == 1009 || closed.code == 1006, "{closed:?}");
});

/// A WebSocket handshake sent by hand, offering `protocol`: the status and the body.
async fn handshake(server: &TestServer, protocol: &str) -> (u16, String) {
    let response = server
        .client
        .get(format!("{}/api/ws", server.base))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", protocol)
        .send()
        .await
        .expect("request");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_offers_another_protocol_is_refused() {
    let Some(server) = TestServer::start(BLOG, common::Backend::Sqlite, "ws_protocol").await else { return };
    let (status, body) = handshake(&server, "graphql-ws").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unsupported_protocol"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_refused_until_some_close() {
    let settings = ssot_server::Settings {
        admin_key: Some(ADMIN_KEY.to_string()),
        ws: Some(ssot_server::ws::WsSettings { max_connections: 2, ..Default::default() }),
        ..Default::default()
    };
    let shop = include_str!("fixtures/shop.prisma");
    let Some(server) = TestServer::start_configured(shop, common::Backend::Sqlite, "ws_limit", settings).await else {
        return;
    };
    let (first, _) = WsClient::ready(&server.base, Some(ADMIN_KEY)).await;
    let (_second, _) = WsClient::ready(&server.base, Some(ADMIN_KEY)).await;
    let (status, body) = handshake(&server, "ssot.v1").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("too_many_connections"), "{body}");
    drop(first);
    let mut admitted = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if handshake(&server, "ssot.v1").await.0 == 101 {
            admitted = true;
            break;
        }
    }
    assert!(admitted, "a place freed by a closed connection is taken again");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_and_shutdown_says_going_away() {
    let settings = ssot_server::Settings {
        admin_key: Some(ADMIN_KEY.to_string()),
        ws: Some(ssot_server::ws::WsSettings {
            heartbeat: std::time::Duration::from_millis(100),
            idle_timeout: std::time::Duration::from_millis(300),
            ..Default::default()
        }),
        ..Default::default()
    };
    let Some(mut server) = TestServer::start_configured(
        include_str!("fixtures/shop.prisma"),
        common::Backend::Sqlite,
        "ws_idle",
        settings,
    )
    .await
    else {
        return;
    };
    // A client that reads (and so answers pings) stays; one that does not is closed, 4408.
    let (mut reading, _) = WsClient::ready(&server.base, Some(ADMIN_KEY)).await;
    let (mut silent, _) = WsClient::ready(&server.base, Some(ADMIN_KEY)).await;
    for _ in 0..8 {
        reading.send(json!({"type": "ping"})).await;
        assert_eq!(reading.next().await.expect("pong")["type"], "pong");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(silent.closed().await.code, 4408);
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = metrics.text().await.unwrap_or_default();
    assert!(text.contains("ssot_ws_connections 1\n"), "{text}");
    server.begin_stop();
    assert_eq!(reading.closed().await.code, 1001);
}

// `sync` answers when the connection's live queries stand at a write's `seq`, whether or
// not the write changed them: after the update it made, or at once when it made none.
on_every_backend!(sync_tells_when_live_queries_have_caught_up, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let (mut ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    ws.send(json!({"type": "subscribe", "id": "mine", "channel": "Post:list", "args": {"where": {"title": "kept"}}}))
        .await;
    let subscribed = ws.next().await.expect("subscribed");
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");

    // A write the query does not show: no update, and `synced` for its seq.
    let other = json!({"model": "Post", "action": "create", "data": {"title": "other", "authorId": ann.id}});
    let answer = ws.request(other).await;
    let seq = answer["seq"].as_i64().expect("a write's seq");
    ws.send(json!({"type": "sync", "seq": seq})).await;
    let synced = ws.next().await.expect("synced");
    assert_eq!(synced["type"], "synced", "{synced}");
    assert!(synced["seq"].as_i64().is_some_and(|s| s >= seq), "{synced}");

    // A write it shows: its update first, then `synced`.
    let kept = json!({"model": "Post", "action": "create", "data": {"title": "kept", "authorId": ann.id}});
    let seq = ws.request(kept).await["seq"].as_i64().expect("seq");
    ws.send(json!({"type": "sync", "seq": seq})).await;
    let first = ws.next().await.expect("update");
    assert_eq!(
        (first["type"].as_str(), first["events"][0]["op"].as_str()),
        (Some("update"), Some("created")),
        "{first}"
    );
    let then = ws.next().await.expect("synced");
    assert_eq!(then["type"], "synced", "{then}");

    ws.send(json!({"type": "sync", "seq": -1})).await;
    assert_eq!(ws.next().await.expect("error")["code"], "invalid_message");
});
