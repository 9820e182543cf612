//! Which live queries run after a change, and who shares them: a change runs only the
//! queries it can change (decided by pinned values and, in memory, by the subscribers'
//! rules), and subscribers alike to the rules a query runs share one evaluation.

mod common;

use common::live::Copy;
use common::ws::WsClient;
use common::TestServer;
use serde_json::json;

const LIVE: &str = include_str!("fixtures/live.prisma");

/// A figure from `/metrics`.
async fn metric(server: &TestServer, name: &str) -> u64 {
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = metrics.text().await.unwrap_or_default();
    let prefix = format!("{name} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).map(str::to_string);
    line.and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok())).unwrap_or(0)
}

// A write runs again only the live queries it can change: of twenty-two queries pinned to
// an author, a post of one author re-runs one; a post that moves to another author leaves
// one view and enters the other.
on_every_backend!(a_change_runs_only_the_queries_it_can_change, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let by = |id: &str| json!({"where": {"authorId": id}, "orderBy": {"id": "asc"}});
    let (mut ann_ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let (mut bob_ws, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    let mut anns = Copy::subscribe(&mut ann_ws, "a", "Post:list", by(&ann.id)).await;
    let mut bobs = Copy::subscribe(&mut bob_ws, "b", "Post:list", by(&bob.id)).await;
    let (mut others, _) = WsClient::ready(&server.base, Some(common::ADMIN_KEY)).await;
    for i in 0..20 {
        Copy::subscribe(&mut others, &format!("o{i}"), "Post:list", by(&format!("nobody-{i}"))).await;
    }
    let evaluations = || metric(&server, "ssot_realtime_evaluations_total");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = evaluations().await;
    let (_, post) =
        server.request("POST", "/api/posts", Some(json!({"title": "b1", "authorId": bob.id})), Some(&bob.token)).await;
    let seq = bobs.seq + 1;
    bobs.catch_up(&mut bob_ws, seq).await;
    assert_eq!(bobs.rows.len(), 1);
    assert_eq!(evaluations().await - before, 1, "one query of twenty-two ran again");

    // The admin moves the post to Ann: it leaves Bob's view and enters Ann's.
    let (status, moved) =
        server.admin("PATCH", &format!("/api/posts/{}", post["id"]), Some(json!({"authorId": ann.id}))).await;
    assert_eq!(status, 200, "{moved}");
    let left = bob_ws.next().await.expect("update");
    assert_eq!(left["events"], json!([{"op": "left", "id": post["id"], "sub": "b"}]), "{left}");
    let entered = anns.catch_up(&mut ann_ws, anns.seq + 1).await;
    assert_eq!((entered[0]["op"].as_str(), &entered[0]["id"]), (Some("entered"), &post["id"]), "{entered:?}");
    assert_eq!(anns.rows.len(), 1);
});

// Rules decide in memory too: eight users on the same query of drafts (`published ==
// false`, under the rule `published || isOwner`) each have a group of their own, and a
// draft of one of them, or its publication, runs only that user's query again.
on_every_backend!(rules_decide_in_memory_which_queries_a_change_can_change, LIVE, |server| {
    let query = json!({"where": {"published": false}, "orderBy": {"id": "asc"}});
    let mut users = Vec::new();
    for i in 0..8 {
        let user = server.signup(&format!("user{i}@example.com")).await;
        let (mut ws, _) = WsClient::ready(&server.base, Some(&user.token)).await;
        let copy = Copy::subscribe(&mut ws, "drafts", "Post:list", query.clone()).await;
        users.push((user, ws, copy));
    }
    let evaluations = || metric(&server, "ssot_realtime_evaluations_total");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = evaluations().await;
    let (user, ws, copy) = &mut users[3];
    let (_, draft) =
        server.request("POST", "/api/posts", Some(json!({"title": "d", "authorId": user.id})), Some(&user.token)).await;
    copy.catch_up(ws, copy.seq + 1).await;
    assert_eq!(copy.rows.len(), 1, "the author sees their draft");
    assert_eq!(evaluations().await - before, 1, "one query of eight ran again");

    let (status, _) = server
        .request("PATCH", &format!("/api/posts/{}", draft["id"]), Some(json!({"published": true})), Some(&user.token))
        .await;
    assert_eq!(status, 200);
    copy.catch_up(ws, copy.seq + 1).await;
    assert!(copy.rows.is_empty(), "a published post is no draft");
    assert_eq!(evaluations().await - before, 2, "again one query of eight ran");
    // Nobody else heard of it.
    for (i, (_, ws, _)) in users.iter_mut().enumerate().filter(|(i, _)| *i != 3) {
        assert!(ws.next_within(std::time::Duration::from_millis(50)).await.is_none(), "user {i} heard of a draft");
    }
});

const NOTICES: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./test.db"
}

/// @@auth("JWT")
/// @@policy("read", rule: "isOwner")
/// @@policy("write", rule: "isAdmin", fields: ["role"])
model User {
  id       String   @id @default(cuid())
  email    String   @unique
  password String
  role     String   @default("member")
  notices  Notice[]
}

/// @@realtime(subscribe: ["list"], permissions: { list: "authenticated" })
/// @@policy("read", rule: "authenticated")
/// @@policy("read", rule: "isAdmin", fields: ["internal"])
model Notice {
  id       Int     @id @default(autoincrement())
  title    String
  internal String?
  authorId String?
  author   User?   @relation(fields: [authorId], references: [id])
}
"#;

// Users alike to the rules a query runs share its group: the notices' rules read only
// whether there is a caller and `auth.role`, so two members share one evaluation and an
// admin (who reads `internal`) has one of their own; including the author brings in the
// users' rule (`isOwner`, reading `auth.id`), and then each user has their own.
on_every_backend!(subscribers_alike_to_the_rules_share_one_evaluation, NOTICES, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let cat = server.signup("cat@example.com").await;
    let path = format!("/api/users/{}", cat.id);
    assert_eq!(server.admin("PATCH", &path, Some(json!({"role": "admin"}))).await.0, 200);
    let query = json!({"orderBy": {"id": "asc"}});
    let mut sockets = Vec::new();
    for user in [&ann, &bob, &cat] {
        let (mut ws, _) = WsClient::ready(&server.base, Some(&user.token)).await;
        let copy = Copy::subscribe(&mut ws, "all", "Notice:list", query.clone()).await;
        sockets.push((ws, copy));
    }
    assert_eq!(metric(&server, "ssot_realtime_groups").await, 2, "the members share one group, the admin has one");

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = metric(&server, "ssot_realtime_evaluations_total").await;
    let (status, notice) =
        server.admin("POST", "/api/notices", Some(json!({"title": "hello", "internal": "staff only"}))).await;
    assert_eq!(status, 201, "{notice}");
    for (i, (ws, copy)) in sockets.iter_mut().enumerate() {
        copy.catch_up(ws, copy.seq + 1).await;
        assert_eq!(copy.rows.len(), 1, "subscriber {i}");
        let internal = copy.rows[0].data.get("internal").cloned();
        let expected = if i == 2 { Some(json!("staff only")) } else { None };
        assert_eq!(internal, expected, "only the admin reads `internal` (subscriber {i})");
    }
    assert_eq!(metric(&server, "ssot_realtime_evaluations_total").await - before, 2, "one evaluation per group");

    let with_author = json!({"orderBy": {"id": "asc"}, "include": {"author": true}});
    for (ws, _) in sockets.iter_mut().take(2) {
        Copy::subscribe(ws, "authored", "Notice:list", with_author.clone()).await;
    }
    assert_eq!(metric(&server, "ssot_realtime_groups").await, 4, "the author's rule reads `auth.id`");
});

// Frames are shared where the events are: two connections on one query under one
// subscription id get the same update; a connection with two subscriptions that a change
// touches gets both subscriptions' events in one update, and one under another id its own.
on_every_backend!(one_frame_per_connection_shared_where_it_can_be, NOTICES, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let all = json!({"orderBy": {"id": "asc"}});
    let newest = json!({"orderBy": {"id": "desc"}, "take": 1});
    let (mut a, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let (mut b, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    let (mut c, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    Copy::subscribe(&mut a, "all", "Notice:list", all.clone()).await;
    Copy::subscribe(&mut a, "newest", "Notice:list", newest).await;
    Copy::subscribe(&mut b, "all", "Notice:list", all.clone()).await;
    Copy::subscribe(&mut c, "mine", "Notice:list", all).await;
    let (status, notice) = server.admin("POST", "/api/notices", Some(json!({"title": "hello"}))).await;
    assert_eq!(status, 201, "{notice}");
    let update = a.next().await.expect("update");
    let mut subs: Vec<&str> =
        update["events"].as_array().expect("events").iter().filter_map(|e| e["sub"].as_str()).collect();
    subs.sort_unstable();
    assert_eq!(subs, ["all", "newest"], "both subscriptions in one update: {update}");
    let for_b = b.next().await.expect("update");
    let for_c = c.next().await.expect("update");
    assert_eq!(for_b["events"][0]["sub"], "all", "{for_b}");
    assert_eq!(for_c["events"][0]["sub"], "mine", "{for_c}");
    assert_eq!(for_b["events"][0]["row"], for_c["events"][0]["row"], "the same event");
    assert_eq!((for_b["seq"].clone(), for_b["events"][0]["op"].clone()), (update["seq"].clone(), json!("created")));
});

const ROOMS: &str = include_str!("fixtures/rooms.prisma");

// A rule that reaches through relations (messages are read by their room's members) no
// longer runs every member's query on every message: the parts decided in memory (the
// room a query asks for) skip the others' rooms, while a change to a model the rule
// reads (a new membership) still runs them, and the new member sees the room's messages.
// The members' queries that do run, each under its own caller's rule, share one statement.
on_every_backend!(rules_through_relations_skip_what_their_own_rows_decide, ROOMS, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let cat = server.signup("cat@example.com").await;
    let post = |path: &str, body: serde_json::Value| {
        let (server, token, path) = (&server, ann.token.clone(), path.to_string());
        async move { server.request("POST", &path, Some(body), Some(&token)).await.1 }
    };
    let a = post("/api/rooms", json!({"name": "a", "ownerId": ann.id})).await["id"].clone();
    let b = post("/api/rooms", json!({"name": "b", "ownerId": ann.id})).await["id"].clone();
    post("/api/memberships", json!({"userId": bob.id, "roomId": a})).await;
    post("/api/memberships", json!({"userId": cat.id, "roomId": b})).await;
    let in_room = |room: &serde_json::Value| json!({"where": {"roomId": room}, "orderBy": {"id": "asc"}});
    let (mut bob_ws, _) = WsClient::ready(&server.base, Some(&bob.token)).await;
    let (mut cat_ws, _) = WsClient::ready(&server.base, Some(&cat.token)).await;
    let mut bob_a = Copy::subscribe(&mut bob_ws, "a", "Message:list", in_room(&a)).await;
    let mut bob_b = Copy::subscribe(&mut bob_ws, "b", "Message:list", in_room(&b)).await;
    let mut cat_b = Copy::subscribe(&mut cat_ws, "b", "Message:list", in_room(&b)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let before = metric(&server, "ssot_realtime_evaluations_total").await;
    let statements = metric(&server, "ssot_realtime_statements_total").await;
    let message = post("/api/messages", json!({"body": "in b", "roomId": b, "authorId": ann.id})).await;
    assert!(message["id"].is_number(), "{message}");
    cat_b.catch_up(&mut cat_ws, cat_b.seq + 1).await;
    assert_eq!(cat_b.rows.len(), 1, "a member of b sees it");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        metric(&server, "ssot_realtime_evaluations_total").await - before,
        2,
        "only the queries of room b ran (Bob's and Cat's), not Bob's of room a"
    );
    assert_eq!(
        metric(&server, "ssot_realtime_statements_total").await - statements,
        1,
        "Bob's and Cat's queries, each under its own rule, in one statement"
    );
    assert!(bob_b.rows.is_empty() && bob_a.rows.is_empty());

    // Bob joins b: a membership is another model the rule reads, so his query of b runs
    // and the message enters his view.
    post("/api/memberships", json!({"userId": bob.id, "roomId": b})).await;
    let entered = bob_b.catch_up(&mut bob_ws, bob_b.seq + 1).await;
    assert_eq!(bob_b.rows.len(), 1, "the new member sees the room's message: {entered:?}");
    assert_eq!(bob_b.rows[0].data["body"], "in b");
    let _ = &mut bob_a;
});

// An order through a relation reads the related rows: a new comment that moves a post to
// the top of a list ordered by its comments' count is delivered, though the post did not change.
on_every_backend!(an_order_through_a_relation_follows_the_related_rows, LIVE, |server| {
    let ann = server.signup("ann@example.com").await;
    let post = |title: &str| {
        let (server, token) = (&server, ann.token.clone());
        let body = json!({"title": title, "published": true, "authorId": ann.id});
        async move { server.request("POST", "/api/posts", Some(body), Some(&token)).await.1 }
    };
    let first = post("first").await;
    let second = post("second").await;
    let comment = |on: &serde_json::Value| {
        let (server, token) = (&server, ann.token.clone());
        let body = json!({"body": "c", "postId": on["id"], "authorId": ann.id});
        async move { server.request("POST", "/api/comments", Some(body), Some(&token)).await }
    };
    assert_eq!(comment(&first).await.0, 201);
    let (mut ws, _) = WsClient::ready(&server.base, Some(&ann.token)).await;
    let query = json!({"orderBy": [{"comments": {"_count": "desc"}}, {"id": "asc"}], "take": 1});
    let mut top = Copy::subscribe(&mut ws, "top", "Post:list", query).await;
    assert_eq!(top.rows[0].id, first["id"]);
    assert_eq!(comment(&second).await.0, 201);
    let (status, answer) = comment(&second).await;
    assert_eq!(status, 201, "{answer}");
    top.catch_up(&mut ws, top.seq + 1).await;
    for _ in 0..5 {
        if top.rows.first().map(|r| &r.id) == Some(&second["id"]) {
            break;
        }
        top.catch_up(&mut ws, top.seq + 1).await;
    }
    assert_eq!(top.rows.first().map(|r| r.id.clone()), Some(second["id"].clone()), "the post with more comments leads");
});

const SCHEDULED: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./test.db"
}

/// @@realtime(subscribe: ["list"], permissions: { list: "true" })
/// @@policy("read", rule: "publishAt <= now()")
/// @@policy("write", rule: "true")
model Notice {
  id        Int      @id @default(autoincrement())
  title     String
  publishAt DateTime
}
"#;

// A rule that reads `now()` admits rows as time passes: a change to a notice that was not
// yet published when the subscription began, made once it is, reaches the subscriber.
on_every_backend!(rules_reading_now_are_not_decided_at_the_subscriptions_time, SCHEDULED, |server| {
    let soon = std::time::SystemTime::now() + std::time::Duration::from_millis(1500);
    let ms = soon.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let at = ssot_store::time::format(i64::try_from(ms).unwrap_or(i64::MAX));
    let (status, notice) =
        server.request("POST", "/api/notices", Some(json!({"title": "a", "publishAt": at})), None).await;
    assert_eq!(status, 201, "{notice}");
    let (mut ws, _) = WsClient::ready(&server.base, None).await;
    let mut copy = Copy::subscribe(&mut ws, "all", "Notice:list", json!({})).await;
    assert!(copy.rows.is_empty(), "not published yet");
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let path = format!("/api/notices/{}", notice["id"]);
    assert_eq!(server.request("PATCH", &path, Some(json!({"title": "b"})), None).await.0, 200);
    copy.catch_up(&mut ws, copy.seq + 1).await;
    assert_eq!(copy.rows.len(), 1, "published now, and changed: it is shown");
    assert_eq!(copy.rows[0].data["title"], "b");
});
