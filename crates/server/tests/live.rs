//! Live queries over the socket: a snapshot and its `seq`, then `update`s that bring each
//! subscriber's copy to exactly what the query returns for them, under their own rules;
//! rows that leave a view are named by id only; nothing reaches anyone the rules exclude.

mod common;

use common::ws::WsClient;
use common::TestServer;
use serde_json::{json, Value as Json};
use ssot_realtime::diff::{apply, Row};

const LIVE: &str = include_str!("fixtures/live.prisma");

/// A subscriber's copy of one list subscription, kept by applying what the server sends.
struct Copy {
    sub: String,
    rows: Vec<Row>,
    seq: i64,
}

impl Copy {
    async fn subscribe(ws: &mut WsClient, sub: &str, channel: &str, args: Json) -> Copy {
        ws.send(json!({"type": "subscribe", "id": sub, "channel": channel, "args": args})).await;
        let subscribed = ws.next().await.expect("subscribed");
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        assert_eq!(subscribed["id"], sub);
        let rows = subscribed["data"].as_array().cloned().unwrap_or_default();
        Copy {
            sub: sub.into(),
            rows: rows.into_iter().map(|r| Row { id: r["id"].clone(), data: r }).collect(),
            seq: subscribed["seq"].as_i64().expect("seq"),
        }
    }

    /// Applies updates until the copy stands at `seq` or later; the events seen.
    async fn catch_up(&mut self, ws: &mut WsClient, seq: i64) -> Vec<Json> {
        let mut seen = Vec::new();
        while self.seq < seq {
            let update = ws.next().await.expect("an update");
            assert_eq!(update["type"], "update", "{update}");
            let new_seq = update["seq"].as_i64().expect("seq");
            assert!(new_seq > self.seq, "updates come in seq order: {update}");
            let events: Vec<Json> = update["events"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| e["sub"] == json!(self.sub))
                .collect();
            self.rows = apply(&self.rows, &events);
            self.seq = new_seq;
            seen.extend(events);
        }
        seen
    }

    fn data(&self) -> Vec<Json> {
        self.rows.iter().map(|r| r.data.clone()).collect()
    }
}

on_every_backend!(a_live_query_follows_every_change_as_its_subscriber_may_see_it, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let (mut ann_ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let (mut bob_ws, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    let query = json!({"where": {"views": {"lt": 100}}, "orderBy": [{"views": "desc"}, {"id": "asc"}], "take": 3});
    let mut anns = Copy::subscribe(&mut ann_ws, "a", "Post:list", query.clone()).await;
    let mut bobs = Copy::subscribe(&mut bob_ws, "b", "Post:list", query.clone()).await;
    assert!(anns.rows.is_empty() && bobs.rows.is_empty());

    // Ann writes over HTTP and over her socket; Bob writes too.
    let create = |title: &str, views: i64, published: bool, owner: &str| json!({"title": title, "views": views, "published": published, "authorId": owner, "notes": format!("{title} notes")});
    let post = |who: &common::User, data: Json| {
        let token = who.token.clone();
        let server = &server;
        async move { server.request("POST", "/api/posts", Some(data), Some(&token)).await.1 }
    };
    let draft = post(&ann, create("draft", 5, false, &ann.id)).await;
    let public = post(&ann, create("public", 7, true, &ann.id)).await;
    let bobs_post = post(&bob, create("bob's", 6, true, &bob.id)).await;
    let over_socket =
        ann_ws.request(json!({"model": "Post", "action": "create", "data": create("socket", 1, true, &ann.id)})).await;
    let mut seq = over_socket["seq"].as_i64().expect("seq");
    let (_, more) = server
        .request("PATCH", &format!("/api/posts/{}", public["id"]), Some(json!({"views": 50})), Some(&ann.token))
        .await;
    assert_eq!(more["views"], 50);
    let (_, _) = server
        .request("PATCH", &format!("/api/posts/{}", draft["id"]), Some(json!({"published": true})), Some(&ann.token))
        .await;
    let (status, _) =
        server.request("DELETE", &format!("/api/posts/{}", bobs_post["id"]), None, Some(&bob.token)).await;
    assert_eq!(status, 200);
    let (_, list) = server.request("GET", "/api/posts?take=1", None, Some(&ann.token)).await;
    seq = seq.max(list["meta"]["seq"].as_i64().expect("seq"));

    // Each copy converges to exactly what the query returns for its subscriber now.
    let ann_events = anns.catch_up(&mut ann_ws, seq).await;
    let bob_events = bobs.catch_up(&mut bob_ws, seq).await;
    let expected = |token: String| {
        let server = &server;
        let query = query.clone();
        async move { server.request("POST", "/api/posts/query", Some(query), Some(&token)).await.1["data"].clone() }
    };
    assert_eq!(Json::Array(anns.data()), expected(ann.token.clone()).await, "ann's events: {ann_events:?}");
    assert_eq!(Json::Array(bobs.data()), expected(bob.token.clone()).await, "bob's events: {bob_events:?}");

    // Bob never saw Ann's draft while it was one, nor her notes.
    let draft_id = draft["id"].clone();
    let before_published: Vec<&Json> =
        bob_events.iter().take_while(|e| !(e["id"] == draft_id && e["op"] == "entered")).collect();
    assert!(before_published.iter().all(|e| e["id"] != draft_id), "{bob_events:?}");
    let others = |e: &&Json| e["row"]["authorId"] != json!(bob.id);
    assert!(
        bob_events.iter().filter(others).all(|e| e["row"].get("notes").is_none()),
        "no field Bob may not read: {bob_events:?}"
    );
    assert!(ann_events.iter().any(|e| e["row"].get("notes").is_some()), "Ann reads her notes: {ann_events:?}");
    // The draft entered Bob's view when published (it was not created for him).
    assert!(bob_events.iter().any(|e| e["id"] == draft_id && e["op"] == "entered"), "{bob_events:?}");
    // A row that leaves the window or is deleted is named by its id only.
    for e in ann_events.iter().chain(&bob_events) {
        if matches!(e["op"].as_str(), Some("left" | "deleted")) {
            let keys: Vec<&String> = e.as_object().map(|o| o.keys().collect()).unwrap_or_default();
            assert_eq!(keys.len(), 3, "op, id and sub only: {e}");
        }
    }
    assert!(bob_events.iter().any(|e| e["op"] == "deleted" && e["id"] == bobs_post["id"]), "{bob_events:?}");
});

on_every_backend!(item_subscriptions_and_relations_follow_too, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let (_, post) = server
        .request(
            "POST",
            "/api/posts",
            Some(json!({"title": "p", "published": true, "authorId": ann.id})),
            Some(&ann.token),
        )
        .await;
    let id = post["id"].as_i64().expect("id");
    let (mut ws, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    ws.send(json!({"type": "subscribe", "id": "item", "channel": format!("Post:item:{id}"), "args": {"include": {"tags": true}}})).await;
    let subscribed = ws.next().await.expect("subscribed");
    assert_eq!(subscribed["data"]["title"], "p", "{subscribed}");
    assert_eq!(subscribed["data"]["tags"], json!([]));

    // A tag linked to the post (a row of another model, through the join table) changes
    // what the item shows.
    let (status, _) = server
        .request(
            "PATCH",
            &format!("/api/posts/{id}"),
            Some(json!({"tags": {"create": [{"name": "rust"}]}})),
            Some(&ann.token),
        )
        .await;
    assert_eq!(status, 200);
    let update = ws.next().await.expect("update");
    assert_eq!(update["events"][0]["op"], "updated", "{update}");
    assert_eq!(update["events"][0]["row"]["tags"][0]["name"], "rust", "{update}");
    assert!(update["events"][0].get("index").is_none(), "an item has no position");

    // Unpublished: the item leaves Bob's view, named by id only.
    server.request("PATCH", &format!("/api/posts/{id}"), Some(json!({"published": false})), Some(&ann.token)).await;
    let update = ws.next().await.expect("update");
    assert_eq!(update["events"], json!([{"op": "left", "id": id, "sub": "item"}]), "{update}");

    // Comments (which do not broadcast deletes): a deleted comment leaves the view.
    server.request("PATCH", &format!("/api/posts/{id}"), Some(json!({"published": true})), Some(&ann.token)).await;
    let _ = ws.next().await.expect("the item is back");
    ws.send(json!({"type": "subscribe", "id": "c", "channel": "Comment:list"})).await;
    assert_eq!(ws.next().await.expect("subscribed")["data"], json!([]));
    let (_, comment) = server
        .request(
            "POST",
            "/api/comments",
            Some(json!({"body": "hi", "postId": id, "authorId": ann.id})),
            Some(&ann.token),
        )
        .await;
    let update = ws.next().await.expect("update");
    assert_eq!(update["events"][0]["op"], "created", "{update}");
    server.request("DELETE", &format!("/api/comments/{}", comment["id"]), None, Some(&ann.token)).await;
    let update = ws.next().await.expect("update");
    assert_eq!(update["events"], json!([{"op": "left", "id": comment["id"], "sub": "c"}]), "{update}");

    // Unsubscribed: nothing more, and the answer comes after any update of it.
    ws.send(json!({"type": "unsubscribe", "id": "item"})).await;
    assert_eq!(ws.next().await.expect("unsubscribed"), json!({"type": "unsubscribed", "id": "item"}));
    ws.send(json!({"type": "unsubscribe", "id": "item"})).await;
    assert_eq!(ws.next().await.expect("error")["code"], "unknown_subscription");
});

on_every_backend!(subscriptions_the_schema_or_the_rules_refuse_are_errors, LIVE, |server| {
    let (mut anonymous, _) = WsClient::ready(&server.base, None).await;
    let refusals = [
        (json!({"channel": "Post:list"}), "unauthorized"),
        (json!({"channel": "Tag:list"}), "not_subscribable"),
        (json!({"channel": "Comment:item:1"}), "not_subscribable"),
        (json!({"channel": "Nope:list"}), "unknown_channel"),
        (json!({"channel": "Post:everything"}), "unknown_channel"),
    ];
    for (i, (message, code)) in refusals.into_iter().enumerate() {
        let mut message = message;
        message["type"] = json!("subscribe");
        message["id"] = json!(format!("s{i}"));
        anonymous.send(message.clone()).await;
        let error = anonymous.next().await.expect("error");
        assert_eq!((error["type"].as_str(), error["code"].as_str()), (Some("error"), Some(code)), "{message}: {error}");
        assert_eq!(error["id"], json!(format!("s{i}")));
    }
    let ann = server.signup("ann@example.com").await;
    let (mut ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    ws.send(json!({"type": "subscribe", "id": 1, "channel": "Post:list", "args": {"where": {"nope": 1}}})).await;
    let error = ws.next().await.expect("error");
    assert_eq!(error["code"], "invalid_request", "{error}");
    assert_eq!(error["problem"]["errors"][0]["path"], "where.nope", "{error}");
    ws.send(json!({"type": "subscribe", "id": 1, "channel": "Post:list"})).await;
    assert_eq!(ws.next().await.expect("subscribed")["type"], "subscribed");
    ws.send(json!({"type": "subscribe", "id": 1, "channel": "Post:list"})).await;
    assert_eq!(ws.next().await.expect("error")["code"], "duplicate_subscription");
    // The anonymous socket signs in: its subscription can now be made.
    anonymous.send(json!({"type": "auth", "token": ann.token})).await;
    assert_eq!(anonymous.next().await.expect("authenticated")["type"], "authenticated");
    anonymous.send(json!({"type": "subscribe", "id": "again", "channel": "Post:list"})).await;
    assert_eq!(anonymous.next().await.expect("subscribed")["type"], "subscribed");
    let _ = TestServer::start; // the helper module is shared
});
