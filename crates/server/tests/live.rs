//! Live queries over the socket: a snapshot and its `seq`, then `update`s that bring each
//! subscriber's copy to exactly what the query returns for them, under their own rules;
//! rows that leave a view are named by id only; nothing reaches anyone the rules exclude.

mod common;

use common::ws::WsClient;
use common::TestServer;
use serde_json::{json, Value as Json};
use ssot_realtime::diff::{apply, Row};

const LIVE: &str = include_str!("fixtures/live.prisma");

use common::live::Copy;

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
    let came = |e: &&Json| e["id"] == draft_id && matches!(e["op"].as_str(), Some("entered" | "created"));
    let before_published: Vec<&Json> = bob_events.iter().take_while(|e| !came(e)).collect();
    assert!(before_published.iter().all(|e| e["id"] != draft_id), "{bob_events:?}");
    let others = |e: &&Json| e["row"]["authorId"] != json!(bob.id);
    assert!(
        bob_events.iter().filter(others).all(|e| e["row"].get("notes").is_none()),
        "no field Bob may not read: {bob_events:?}"
    );
    assert!(ann_events.iter().any(|e| e["row"].get("notes").is_some()), "Ann reads her notes: {ann_events:?}");
    // The draft came into Bob's view when published: `entered`, or `created` when its
    // creation and its publication reached the server in one batch.
    assert!(bob_events.iter().any(|e| came(&e)), "{bob_events:?}");
    // A row that leaves the window or is deleted is named by its id only.
    for e in ann_events.iter().chain(&bob_events) {
        if matches!(e["op"].as_str(), Some("left" | "deleted")) {
            let keys: Vec<&String> = e.as_object().map(|o| o.keys().collect()).unwrap_or_default();
            assert_eq!(keys.len(), 3, "op, id and sub only: {e}");
        }
    }
    assert!(bob_events.iter().any(|e| e["op"] == "deleted" && e["id"] == bobs_post["id"]), "{bob_events:?}");

    // The figures in /metrics: two subscriptions, in two groups (two callers), events sent.
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = metrics.text().await.unwrap_or_default();
    let figure = |name: &str| -> f64 {
        let line =
            text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {text}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(-1.0)
    };
    assert_eq!((figure("ssot_realtime_subscriptions"), figure("ssot_realtime_groups")), (2.0, 2.0), "{text}");
    assert_eq!(figure("ssot_realtime_events_total"), (ann_events.len() + bob_events.len()) as f64, "{text}");
    assert_eq!(figure("ssot_realtime_queue_overflows_total"), 0.0);
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
});

/// A small deterministic generator (xorshift), so that a failing seed can be run again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

impl Copy {
    /// Applies one message of this subscription: an update, a `subscribed` after a
    /// resume (its replay, or its fresh rows), or a `reset`.
    fn apply(&mut self, message: &Json) {
        match message["type"].as_str() {
            Some("update") => {
                let events: Vec<Json> = message["events"].as_array().cloned().unwrap_or_default();
                let mine: Vec<Json> = events.into_iter().filter(|e| e["sub"] == json!(self.sub)).collect();
                if !mine.is_empty() {
                    self.rows = apply(&self.rows, &mine);
                    self.seq = message["seq"].as_i64().expect("seq");
                }
            }
            Some("subscribed") if message["resumed"] == true => {
                for step in message["replay"].as_array().cloned().unwrap_or_default() {
                    self.rows = apply(&self.rows, step["events"].as_array().map_or(&[][..], Vec::as_slice));
                }
                self.seq = message["seq"].as_i64().expect("seq");
            }
            Some("subscribed") => {
                let rows = message["data"].as_array().cloned().unwrap_or_default();
                self.rows = rows.into_iter().map(|r| Row { id: r["id"].clone(), data: r }).collect();
                self.seq = message["seq"].as_i64().expect("seq");
            }
            Some("reset") => {
                let mine = &message["subscriptions"][&self.sub];
                let rows = mine["data"].as_array().cloned().unwrap_or_default();
                self.rows = rows.into_iter().map(|r| Row { id: r["id"].clone(), data: r }).collect();
                self.seq = mine["seq"].as_i64().expect("seq");
            }
            _ => panic!("unexpected message: {message}"),
        }
    }
}

// Clients that drop their connection at random moments and come back with `since`
// converge to exactly the query's result, whether the server replays what they missed
// or sends the rows afresh; several seeds per database.
on_every_backend!(clients_that_drop_and_resume_converge, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let query = json!({"where": {"published": true}, "orderBy": [{"views": "desc"}, {"id": "asc"}], "take": 4});
    let (mut resumed, mut reset) = (0, 0);
    for seed in 1..=6u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (mut ws, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
        let mut copy = Copy::subscribe(&mut ws, "q", "Post:list", query.clone()).await;
        let mut ids: Vec<i64> = Vec::new();
        for _ in 0..30 {
            // A write by Ann.
            let pick = |rng: &mut Rng, ids: &[i64]| ids[rng.below(ids.len() as u64) as usize];
            match rng.below(5) {
                0 | 1 => {
                    let data = json!({"title": "t", "views": rng.below(20), "published": rng.below(2) == 0, "authorId": ann.id});
                    let (_, post) = server.request("POST", "/api/posts", Some(data), Some(&ann.token)).await;
                    ids.push(post["id"].as_i64().expect("id"));
                }
                2 if !ids.is_empty() => {
                    let id = pick(&mut rng, &ids);
                    let data = json!({"views": rng.below(20)});
                    server.request("PATCH", &format!("/api/posts/{id}"), Some(data), Some(&ann.token)).await;
                }
                3 if !ids.is_empty() => {
                    let id = pick(&mut rng, &ids);
                    let data = json!({"published": rng.below(2) == 0});
                    server.request("PATCH", &format!("/api/posts/{id}"), Some(data), Some(&ann.token)).await;
                }
                4 if !ids.is_empty() => {
                    let id = ids.remove(rng.below(ids.len() as u64) as usize);
                    server.request("DELETE", &format!("/api/posts/{id}"), None, Some(&ann.token)).await;
                }
                _ => {}
            }
            // Bob reads some of what came, or drops his connection and comes back.
            match rng.below(4) {
                0 => {
                    drop(ws);
                    tokio::time::sleep(std::time::Duration::from_millis(rng.below(40))).await;
                    let (again, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
                    ws = again;
                    ws.send(json!({"type": "subscribe", "id": "q", "channel": "Post:list", "args": query, "since": copy.seq})).await;
                    loop {
                        let message = ws.next().await.expect("subscribed");
                        let answer = message["type"] == "subscribed";
                        if answer {
                            if message["resumed"] == true {
                                resumed += 1
                            } else {
                                reset += 1
                            }
                        }
                        copy.apply(&message);
                        if answer {
                            break;
                        }
                    }
                }
                1 => {
                    while let Some(Ok(message)) = ws.next_within(std::time::Duration::from_millis(20)).await {
                        copy.apply(&message);
                    }
                }
                _ => {}
            }
        }
        // In the end Bob's copy is exactly what the query returns to him.
        let (_, now) = server.request("POST", "/api/posts/query", Some(query.clone()), Some(&bob.token)).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Json::Array(copy.data()) != now["data"] {
            assert!(std::time::Instant::now() < deadline, "seed {seed}: {:?} != {}", copy.data(), now["data"]);
            if let Some(Ok(message)) = ws.next_within(std::time::Duration::from_millis(200)).await {
                copy.apply(&message);
            }
        }
        // Clean up for the next seed.
        for id in ids {
            server.request("DELETE", &format!("/api/posts/{id}"), None, Some(&ann.token)).await;
        }
    }
    assert!(resumed > 0, "some comebacks were replays (resumed {resumed}, reset {reset})");
});

/// Two instances on one PostgreSQL: every change reaches every subscriber, whichever
/// instance made it, or psql.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_delivers_every_change() {
    let Some(first) = TestServer::start(LIVE, common::Backend::Postgres, "live_two_instances").await else { return };
    let second = first.another_instance(LIVE).await;
    let ann = first.signup("ann@example.com").await;
    let query = json!({"where": {"published": true}, "orderBy": {"id": "asc"}});
    let (mut on_first, _) = WsClient::ready(&first.base, Some(&ann.token)).await;
    let (mut on_second, _) = WsClient::ready(&second.base, Some(&ann.token)).await;
    let mut copies = [
        Copy::subscribe(&mut on_first, "a", "Post:list", query.clone()).await,
        Copy::subscribe(&mut on_second, "b", "Post:list", query.clone()).await,
    ];
    // One write through each instance, and one by another program.
    first
        .request(
            "POST",
            "/api/posts",
            Some(json!({"title": "one", "published": true, "authorId": ann.id})),
            Some(&ann.token),
        )
        .await;
    let two =
        json!({"model": "Post", "action": "create", "data": {"title": "two", "published": true, "authorId": ann.id}});
    let (mut writer, _) = WsClient::ready(&second.base, Some(&ann.token)).await;
    assert_eq!(writer.request(two).await["status"], 201);
    let author = ann.id.clone();
    first.raw(move |conn| {
        conn.execute(
            "INSERT INTO \"Post\" (title, published, views, \"authorId\") VALUES ('three', true, 0, $1::text)",
            &[ssot_store::conn::Value::Text(author)],
        )
        .expect("insert with SQL")
    });
    for (copy, ws) in copies.iter_mut().zip([&mut on_first, &mut on_second]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while copy.rows.len() < 3 {
            assert!(std::time::Instant::now() < deadline, "{}: {:?}", copy.sub, copy.data());
            if let Some(Ok(message)) = ws.next_within(std::time::Duration::from_millis(200)).await {
                copy.apply(&message);
            }
        }
        let titles: Vec<&Json> = copy.rows.iter().map(|r| &r.data["title"]).collect();
        assert_eq!(titles, [&json!("one"), &json!("two"), &json!("three")], "{}", copy.sub);
    }
    second.stop().await;
    first.stop().await;
}

/// A subscriber that does not read is not waited for: its queue fills, updates for it are
/// dropped, the writers go on, and once it reads again it gets a `reset` with the rows
/// as they are, from which it goes on as if nothing happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_reset_not_waited_for() {
    let settings = ssot_server::Settings {
        admin_key: Some(common::ADMIN_KEY.to_string()),
        tokens: ssot_server::auth::TokenSettings {
            secret: Some(common::JWT_SECRET.as_bytes().to_vec()),
            ..Default::default()
        },
        ws: Some(ssot_server::ws::WsSettings { send_queue: 4, ..Default::default() }),
        ..Default::default()
    };
    let Some(server) = TestServer::start_configured(LIVE, common::Backend::Sqlite, "live_slow", settings).await else {
        return;
    };
    let ann = server.signup("ann@example.com").await;
    let query = json!({"orderBy": {"id": "desc"}, "take": 5});
    let (mut slow, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let mut copy = Copy::subscribe(&mut slow, "s", "Post:list", query.clone()).await;
    // Big rows, written one by one: far more than the queue and the socket's buffers hold.
    let title = "x".repeat(16 * 1024);
    let started = std::time::Instant::now();
    for _ in 0..300 {
        let data = json!({"title": title, "published": true, "authorId": ann.id});
        let (status, _) = server.request("POST", "/api/posts", Some(data), Some(&ann.token)).await;
        assert_eq!(status, 201);
    }
    let writing = started.elapsed();
    let (_, now) = server.request("POST", "/api/posts/query", Some(query), Some(&ann.token)).await;
    let mut resets = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while Json::Array(copy.data()) != now["data"] {
        assert!(std::time::Instant::now() < deadline, "never caught up ({resets} resets)");
        if let Some(Ok(message)) = slow.next_within(std::time::Duration::from_millis(200)).await {
            resets += usize::from(message["type"] == "reset");
            copy.apply(&message);
        }
    }
    assert!(resets > 0, "the slow subscriber was reset ({writing:?} of writes)");
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = metrics.text().await.unwrap_or_default();
    assert!(!text.contains("ssot_realtime_queue_overflows_total 0\n"), "{text}");
    server.stop().await;
}
