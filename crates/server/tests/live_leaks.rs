//! Nothing leaks through live queries: three users (an owner, a member, an outsider)
//! subscribe to everything while rooms, memberships and messages are written, changed,
//! unlinked and deleted. Each subscriber's copy always equals what REST shows them, a
//! field they may not read never appears in any event, rows that leave their view come
//! as bare ids, and the outsider receives no update at all.

mod common;

use common::ws::WsClient;
use serde_json::{json, Value as Json};
use ssot_realtime::diff::{apply, Row};
use std::time::Duration;

const ROOMS: &str = include_str!("fixtures/rooms.prisma");

/// One user's socket, subscribed to the list of every live model, and every message it got.
struct Watcher {
    token: String,
    id: String,
    ws: WsClient,
    copies: Vec<(String, String, Vec<Row>)>,
    seen: Vec<Json>,
}

const CHANNELS: [&str; 3] = ["Room:list", "Membership:list", "Message:list"];

impl Watcher {
    async fn start(server: &common::TestServer, user: common::User) -> Watcher {
        let (mut ws, _) = WsClient::ready(&server.base, Some(&user.token)).await;
        let mut copies = Vec::new();
        for (i, channel) in CHANNELS.iter().enumerate() {
            let sub = format!("s{i}");
            ws.send(json!({"type": "subscribe", "id": sub, "channel": channel, "args": {"orderBy": {"id": "asc"}}}))
                .await;
            let subscribed = ws.next().await.expect("subscribed");
            assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
            let rows = subscribed["data"].as_array().cloned().unwrap_or_default();
            copies.push((
                sub,
                channel.to_string(),
                rows.into_iter().map(|r| Row { id: r["id"].clone(), data: r }).collect(),
            ));
        }
        Watcher { token: user.token, id: user.id, ws, copies, seen: Vec::new() }
    }

    /// Reads until every copy equals what REST returns to this user now.
    async fn settle(&mut self, server: &common::TestServer) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut expected = Vec::new();
            for (_, channel, _) in &self.copies {
                let resource = match channel.as_str() {
                    "Room:list" => "rooms",
                    "Membership:list" => "memberships",
                    _ => "messages",
                };
                let path = format!("/api/{resource}?orderBy=%7B%22id%22%3A%22asc%22%7D");
                let (status, list) = server.request("GET", &path, None, Some(&self.token)).await;
                assert_eq!(status, 200, "{list}");
                expected.push(list["data"].clone());
            }
            let now: Vec<Json> = self
                .copies
                .iter()
                .map(|(_, _, rows)| Json::Array(rows.iter().map(|r| r.data.clone()).collect()))
                .collect();
            if now == expected {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{}: {now:?} != {expected:?}", self.id);
            if let Some(Ok(message)) = self.ws.next_within(Duration::from_millis(200)).await {
                assert_eq!(message["type"], "update", "{message}");
                for (sub, _, rows) in &mut self.copies {
                    let mine: Vec<Json> = message["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|e| e["sub"] == json!(sub))
                        .cloned()
                        .collect();
                    *rows = apply(rows, &mine);
                }
                self.seen.push(message);
            }
        }
    }

    fn events(&self) -> impl Iterator<Item = &Json> {
        self.seen.iter().flat_map(|m| m["events"].as_array().into_iter().flatten())
    }
}

on_every_backend!(no_event_reaches_anyone_the_rules_exclude, ROOMS, |server| {
    let owner = server.signup("owner@example.com").await;
    let member = server.signup("member@example.com").await;
    let outsider = server.signup("outsider@example.com").await;
    let (owner_id, member_id) = (owner.id.clone(), member.id.clone());
    let (owner_token, member_token) = (owner.token.clone(), member.token.clone());
    let mut watchers = [
        Watcher::start(&server, owner).await,
        Watcher::start(&server, member).await,
        Watcher::start(&server, outsider).await,
    ];
    let as_owner = |method: &'static str, path: String, body: Option<Json>| {
        let (server, token) = (&server, owner_token.clone());
        async move { server.request(method, &path, body, Some(&token)).await }
    };
    let as_member = |method: &'static str, path: String, body: Option<Json>| {
        let (server, token) = (&server, member_token.clone());
        async move { server.request(method, &path, body, Some(&token)).await }
    };

    // A room; the member joins; both write, with drafts.
    let (_, room) = as_owner("POST", "/api/rooms".into(), Some(json!({"name": "r", "ownerId": owner_id}))).await;
    let room_id = room["id"].as_i64().expect("room");
    let (status, membership) =
        as_owner("POST", "/api/memberships".into(), Some(json!({"userId": member_id, "roomId": room_id}))).await;
    assert_eq!(status, 201, "{membership}");
    let mut message_ids = Vec::new();
    for (i, (writer, author)) in [(true, &owner_id), (false, &member_id), (true, &owner_id)].into_iter().enumerate() {
        let body =
            json!({"body": format!("m{i}"), "draft": format!("secret {i}"), "roomId": room_id, "authorId": author});
        let (status, message) = if writer {
            as_owner("POST", "/api/messages".into(), Some(body)).await
        } else {
            as_member("POST", "/api/messages".into(), Some(body)).await
        };
        assert_eq!(status, 201, "{message}");
        message_ids.push(message["id"].clone());
    }
    as_owner(
        "PATCH",
        format!("/api/messages/{}", message_ids[0]),
        Some(json!({"body": "edited", "draft": "still secret"})),
    )
    .await;
    for w in &mut watchers {
        w.settle(&server).await;
    }

    // The owner removes the member, then writes again, and deletes a message.
    as_owner("DELETE", format!("/api/memberships/{}", membership["id"]), None).await;
    let body = json!({"body": "after", "draft": "later secret", "roomId": room_id, "authorId": owner_id});
    let (_, after) = as_owner("POST", "/api/messages".into(), Some(body)).await;
    as_owner("DELETE", format!("/api/messages/{}", message_ids[2]), None).await;
    for w in &mut watchers {
        w.settle(&server).await;
    }
    // Then deletes the room (cascading to its messages).
    as_owner("DELETE", format!("/api/rooms/{room_id}"), None).await;
    for w in &mut watchers {
        w.settle(&server).await;
    }

    let [owner_w, member_w, outsider_w] = &watchers;
    // The outsider got no update at all: nothing, not even that something changed.
    assert!(outsider_w.seen.is_empty(), "{:?}", outsider_w.seen);
    // Drafts reach only their author.
    for (w, id) in [(owner_w, &owner_id), (member_w, &member_id)] {
        for e in w.events() {
            if e["row"].get("draft").is_some() {
                assert_eq!(&e["row"]["authorId"], &json!(id), "a draft reached someone else: {e}");
            }
        }
    }
    assert!(member_w.events().any(|e| e["row"]["authorId"] == json!(owner_id)), "the member saw the owner's messages");
    // After the removal the member heard of the room's messages only as bare ids leaving.
    let removal = member_w
        .seen
        .iter()
        .position(|m| m["events"].as_array().into_iter().flatten().any(|e| e["op"] == "left" && e["sub"] == "s2"));
    let removal = removal.expect("the messages left the member's view");
    for m in &member_w.seen[removal..] {
        for e in m["events"].as_array().into_iter().flatten() {
            assert!(e.get("row").is_none(), "after the removal, no row of the room: {e}");
            assert!(matches!(e["op"].as_str(), Some("left" | "deleted")), "{e}");
        }
    }
    assert!(
        member_w.events().all(|e| e["id"] != after["id"] || e["op"] == "left"),
        "the new message never reached the member"
    );
    // Rows that leave a view carry their id only.
    for w in &watchers {
        for e in w.events().filter(|e| matches!(e["op"].as_str(), Some("left" | "deleted"))) {
            assert_eq!(e.as_object().map(|o| o.len()), Some(3), "{e}");
        }
    }
});
