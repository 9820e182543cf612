//! Ephemeral channels over the socket: presence and broadcasts scoped to a room, open to
//! its owner and members only, rate-limited, and closed to a member the moment they are
//! removed.

mod common;

use common::ws::WsClient;
use serde_json::{json, Value as Json};

const ROOMS: &str = include_str!("fixtures/rooms.prisma");

/// The next message of `kind` (other kinds are skipped).
async fn next_of(ws: &mut WsClient, kind: &str) -> Json {
    loop {
        let message = ws.next().await.unwrap_or_else(|c| panic!("closed waiting for {kind}: {c:?}"));
        if message["type"] == kind {
            return message;
        }
    }
}

on_every_backend!(presence_and_broadcasts_reach_the_members_only, ROOMS, |server| {
    let owner = server.signup("owner@example.com").await;
    let member = server.signup("member@example.com").await;
    let outsider = server.signup("outsider@example.com").await;
    let (_, room) =
        server.request("POST", "/api/rooms", Some(json!({"name": "r", "ownerId": owner.id})), Some(&owner.token)).await;
    let (_, membership) = server
        .request(
            "POST",
            "/api/memberships",
            Some(json!({"userId": member.id, "roomId": room["id"]})),
            Some(&owner.token),
        )
        .await;
    let channel = format!("Room:channel:{}", room["id"]);
    let (mut o, _) = WsClient::ready(&server.base, Some(&owner.token)).await;
    let (mut m, _) = WsClient::ready(&server.base, Some(&member.token)).await;
    let (mut x, _) = WsClient::ready(&server.base, Some(&outsider.token)).await;

    o.send(json!({"type": "join", "channel": channel, "state": {"typing": false}})).await;
    let joined = next_of(&mut o, "joined").await;
    assert_eq!(joined["members"].as_array().map(Vec::len), Some(1), "{joined}");
    m.send(json!({"type": "join", "channel": channel, "state": {"typing": false}})).await;
    let joined = next_of(&mut m, "joined").await;
    assert_eq!(joined["members"].as_array().map(Vec::len), Some(2), "{joined}");
    let presence = next_of(&mut o, "presence").await;
    assert_eq!(
        (presence["event"].as_str(), &presence["member"]["user"]),
        (Some("join"), &json!(member.id)),
        "{presence}"
    );

    // The outsider cannot join, nor a room that does not exist: the same answer.
    for name in [channel.clone(), "Room:channel:999999".to_string()] {
        x.send(json!({"type": "join", "channel": name})).await;
        let error = next_of(&mut x, "error").await;
        assert_eq!((error["code"].as_str(), &error["channel"]), (Some("forbidden"), &json!(name)), "{error}");
    }
    for (name, code) in [("Message:channel:1", "not_subscribable"), ("Room:everything", "unknown_channel")] {
        x.send(json!({"type": "join", "channel": name})).await;
        assert_eq!(next_of(&mut x, "error").await["code"], code);
    }

    // A typing indicator and a presence state reach the other member, not the sender.
    m.send(json!({"type": "broadcast", "channel": channel, "event": "typing", "payload": {"on": true}})).await;
    let broadcast = next_of(&mut o, "broadcast").await;
    assert_eq!(broadcast["payload"], json!({"on": true}));
    assert_eq!((broadcast["event"].as_str(), &broadcast["from"]["user"]), (Some("typing"), &json!(member.id)));
    m.send(json!({"type": "state", "channel": channel, "state": {"typing": true}})).await;
    let presence = next_of(&mut o, "presence").await;
    assert_eq!((presence["event"].as_str(), &presence["member"]["state"]), (Some("state"), &json!({"typing": true})));
    // Nothing for anyone outside; nothing of it echoed to the sender.
    m.send(json!({"type": "ping"})).await;
    assert_eq!(m.next().await.expect("pong")["type"], "pong", "the sender got no echo");
    x.send(json!({"type": "ping"})).await;
    assert_eq!(x.next().await.expect("pong")["type"], "pong", "the outsider got nothing");

    // Limits: the size of a payload, and the rate.
    let big = "x".repeat(20_000);
    m.send(json!({"type": "broadcast", "channel": channel, "event": "big", "payload": big})).await;
    assert_eq!(next_of(&mut m, "error").await["code"], "payload_too_large");
    let mut limited = 0;
    for i in 0..100 {
        m.send(json!({"type": "broadcast", "channel": channel, "event": "spam", "payload": i})).await;
    }
    m.send(json!({"type": "ping"})).await;
    loop {
        let message = m.next().await.expect("message");
        if message["type"] == "pong" {
            break;
        }
        limited += usize::from(message["code"] == "rate_limited");
    }
    assert!(limited >= 40, "at most 40 at once pass: {limited} refused");

    // The owner removes the member: out of the channel at once, told why; the owner sees
    // them leave; the member can no longer send.
    let (status, _) =
        server.request("DELETE", &format!("/api/memberships/{}", membership["id"]), None, Some(&owner.token)).await;
    assert_eq!(status, 200);
    let left = next_of(&mut m, "left").await;
    assert_eq!(
        (left["channel"].as_str(), left["code"].as_str()),
        (Some(channel.as_str()), Some("forbidden")),
        "{left}"
    );
    loop {
        let presence = next_of(&mut o, "presence").await;
        if presence["event"] == "leave" {
            assert_eq!(presence["member"]["user"], json!(member.id));
            break;
        }
    }
    m.send(json!({"type": "broadcast", "channel": channel, "event": "typing", "payload": {}})).await;
    assert_eq!(next_of(&mut m, "error").await["code"], "not_joined");

    // A connection that goes leaves: the channel is empty again, and joinable.
    drop(o);
    let (mut o2, _) = WsClient::ready(&server.base, Some(&owner.token)).await;
    o2.send(json!({"type": "join", "channel": channel})).await;
    let joined = next_of(&mut o2, "joined").await;
    assert_eq!(joined["members"].as_array().map(Vec::len), Some(1), "the closed connection left: {joined}");
});

// A refreshed token of the same user changes nothing the others see: the member stays in
// the channel (no leave, no join) and keeps their subscriptions (no new snapshot); a token
// of another user takes the connection out of its channels.
on_every_backend!(a_refreshed_token_keeps_channels_and_subscriptions, ROOMS, |server| {
    let owner = server.signup("owner@example.com").await;
    let member = server.signup("member@example.com").await;
    let (_, room) =
        server.request("POST", "/api/rooms", Some(json!({"name": "r", "ownerId": owner.id})), Some(&owner.token)).await;
    let body = json!({"userId": member.id, "roomId": room["id"]});
    server.request("POST", "/api/memberships", Some(body), Some(&owner.token)).await;
    let channel = format!("Room:channel:{}", room["id"]);
    let (mut o, _) = WsClient::ready(&server.base, Some(&owner.token)).await;
    let (mut m, _) = WsClient::ready(&server.base, Some(&member.token)).await;
    o.send(json!({"type": "join", "channel": channel})).await;
    next_of(&mut o, "joined").await;
    m.send(json!({"type": "join", "channel": channel})).await;
    next_of(&mut m, "joined").await;
    next_of(&mut o, "presence").await;
    m.send(json!({"type": "subscribe", "id": "rooms", "channel": "Room:list"})).await;
    next_of(&mut m, "subscribed").await;

    let refreshed =
        server.request("POST", "/api/auth/refresh", Some(json!({"refreshToken": member.refresh})), None).await.1
            ["accessToken"]
            .as_str()
            .expect("a refreshed access token")
            .to_string();
    m.send(json!({"type": "auth", "token": refreshed})).await;
    let authenticated = next_of(&mut m, "authenticated").await;
    assert_eq!(authenticated["caller"]["sub"], json!(member.id));
    m.send(json!({"type": "ping"})).await;
    let next = m.next().await.expect("pong");
    assert_eq!(next["type"], "pong", "no `left`, no new `subscribed` before it: {next}");
    m.send(json!({"type": "broadcast", "channel": channel, "event": "typing", "payload": {}})).await;
    let heard = o.next().await.expect("broadcast");
    assert_eq!(heard["type"], "broadcast", "the owner heard no leave or join, only this: {heard}");

    // Another user's token: out of the channel.
    m.send(json!({"type": "auth", "token": owner.token})).await;
    next_of(&mut m, "authenticated").await;
    let left = next_of(&mut m, "left").await;
    assert_eq!(left["code"], "reauthenticated", "{left}");
});
