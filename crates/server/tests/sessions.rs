//! Sessions end, and `auth` is current: a demoted admin is an admin no more, a deleted
//! user's token stops working, logout ends the access token too, a password change asks
//! for the current password and ends every other session, an admin ends a user's
//! sessions; on every instance at once. Also: `nbf`, two `Authorization` headers, and
//! e-mail addresses compared as users expect.

mod common;

use common::{TestServer, ADMIN_KEY, JWT_SECRET};
use serde_json::{json, Value as Json};
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

async fn post(server: &TestServer, path: &str, body: Json, token: Option<&str>) -> (u16, Json) {
    server.request("POST", path, Some(body), token).await
}

async fn me(server: &TestServer, token: &str) -> (u16, Json) {
    server.request("GET", "/api/auth/me", None, Some(token)).await
}

on_every_backend!(a_demoted_admin_is_no_admin_at_the_next_request, SCHEMA, |server| {
    let boss = server.signup("boss@example.com").await;
    let victim = server.signup("victim@example.com").await;
    let (status, _) = server.admin("PATCH", &format!("/api/users/{}", boss.id), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, 200);
    // The token was issued before the promotion: rules see the row as it is now.
    let (status, body) = server.request("GET", &format!("/api/users/{}", victim.id), None, Some(&boss.token)).await;
    assert_eq!((status, body["email"].as_str()), (200, Some("victim@example.com")), "an admin reads emails: {body}");
    let (status, _) = server.admin("PATCH", &format!("/api/users/{}", boss.id), Some(json!({"role": "user"}))).await;
    assert_eq!(status, 200);
    let (status, body) = server.request("DELETE", &format!("/api/users/{}", victim.id), None, Some(&boss.token)).await;
    assert_eq!(status, 403, "demoted: {body}");
    assert_eq!(server.admin("GET", "/api/users/count", None).await.1["count"], json!(2));
});

on_every_backend!(a_deleted_users_token_stops_working, SCHEMA, |server| {
    let gone = server.signup("gone@example.com").await;
    assert_eq!(server.request("GET", "/api/posts", None, Some(&gone.token)).await.0, 200);
    let (status, _) = server.admin("DELETE", &format!("/api/users/{}", gone.id), None).await;
    assert_eq!(status, 200);
    let (status, body) = server.request("GET", "/api/posts", None, Some(&gone.token)).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("session_ended")), "{body}");
    let (status, _) = post(&server, "/api/auth/refresh", json!({"refreshToken": gone.refresh}), None).await;
    assert_eq!(status, 401);
});

on_every_backend!(logout_ends_the_access_token_and_the_refresh_token, SCHEMA, |server| {
    let ann = server.signup("ann@example.com").await;
    let (status, other) =
        post(&server, "/api/auth/login", json!({"email": "ann@example.com", "password": "correct horse"}), None).await;
    assert_eq!(status, 200, "{other}");
    let other_token = other["accessToken"].as_str().unwrap_or_default().to_string();
    // Logging out with the access token alone ends that session, at once.
    let (status, body) = server.request("POST", "/api/auth/logout", None, Some(&ann.token)).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = me(&server, &ann.token).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("session_ended")), "{body}");
    let (status, _) = post(&server, "/api/auth/refresh", json!({"refreshToken": ann.refresh}), None).await;
    assert_eq!(status, 401, "the session's refresh token ended with it");
    // The other session (another device) goes on, until it logs out by its refresh token.
    assert_eq!(me(&server, &other_token).await.0, 200);
    let (status, _) = post(&server, "/api/auth/logout", json!({"refreshToken": other["refreshToken"]}), None).await;
    assert_eq!(status, 204);
    assert_eq!(me(&server, &other_token).await.0, 401);
    // Nothing named: 400.
    let (status, _) = post(&server, "/api/auth/logout", json!({}), None).await;
    assert_eq!(status, 400);
});

on_every_backend!(a_password_change_asks_for_the_current_one_and_ends_other_sessions, SCHEMA, |server| {
    let bob = server.signup("bob@example.com").await;
    let (_, laptop) =
        post(&server, "/api/auth/login", json!({"email": "bob@example.com", "password": "correct horse"}), None).await;
    let laptop_token = laptop["accessToken"].as_str().unwrap_or_default().to_string();
    // The REST route does not change a password for its owner: it would not ask for the current one.
    let (status, body) = server
        .request(
            "PATCH",
            &format!("/api/users/{}", bob.id),
            Some(json!({"password": "new horse battery"})),
            Some(&bob.token),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let wrong = json!({"currentPassword": "not it at all", "newPassword": "new horse battery"});
    let (status, body) = post(&server, "/api/auth/password", wrong, Some(&bob.token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("wrong_password")), "{body}");
    let right = json!({"currentPassword": "correct horse", "newPassword": "new horse battery"});
    let (status, fresh) = post(&server, "/api/auth/password", right, Some(&bob.token)).await;
    assert_eq!(status, 200, "{fresh}");
    let fresh_token = fresh["accessToken"].as_str().unwrap_or_default().to_string();
    assert_eq!(me(&server, &fresh_token).await.0, 200, "the new session works");
    for old in [&bob.token, &laptop_token] {
        let (status, body) = me(&server, old).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("session_ended")), "{body}");
    }
    for refresh in [bob.refresh.clone(), laptop["refreshToken"].as_str().map(String::from)] {
        let (status, _) = post(&server, "/api/auth/refresh", json!({"refreshToken": refresh}), None).await;
        assert_eq!(status, 401, "refresh tokens of the old sessions are over");
    }
    let (status, _) =
        post(&server, "/api/auth/login", json!({"email": "bob@example.com", "password": "correct horse"}), None).await;
    assert_eq!(status, 401);
    let (status, _) =
        post(&server, "/api/auth/login", json!({"email": "bob@example.com", "password": "new horse battery"}), None)
            .await;
    assert_eq!(status, 200);
    // The admin key resets a password through REST: every session of the user ends.
    let (status, _) =
        server.admin("PATCH", &format!("/api/users/{}", bob.id), Some(json!({"password": "reset by admin"}))).await;
    assert_eq!(status, 200);
    assert_eq!(me(&server, &fresh_token).await.0, 401);
});

on_every_backend!(sessions_are_listed_and_ended_by_their_owner_or_the_admin, SCHEMA, |server| {
    let cy = server.signup("cy@example.com").await;
    let eve = server.signup("eve@example.com").await;
    let (status, list) = server.request("GET", "/api/auth/sessions", None, Some(&cy.token)).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["data"][0]["id"].as_str(), Some(cy.session.as_str()));
    assert_eq!(list["data"][0]["current"], json!(true));
    // Another user's session is not found, whoever asks for it but its owner and the admin.
    let path = format!("/api/auth/sessions/{}", cy.session);
    assert_eq!(server.request("DELETE", &path, None, Some(&eve.token)).await.0, 404);
    let (status, _) =
        server.request("GET", &format!("/api/auth/sessions?userId={}", cy.id), None, Some(&eve.token)).await;
    assert_eq!(status, 403);
    assert_eq!(me(&server, &cy.token).await.0, 200);
    // The admin ends all of Cy's sessions.
    let (status, body) = server.admin("DELETE", &format!("/api/auth/sessions?userId={}", cy.id), None).await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(1)), "{body}");
    assert_eq!(me(&server, &cy.token).await.0, 401);
    assert_eq!(me(&server, &eve.token).await.0, 200, "others' sessions go on");
    // Eve ends her own by its id.
    let path = format!("/api/auth/sessions/{}", eve.session);
    assert_eq!(server.request("DELETE", &path, None, Some(&eve.token)).await.0, 204);
    assert_eq!(me(&server, &eve.token).await.0, 401);
});

// Another program changes a user's row: the change reaches `auth` without a restart.
on_every_backend!(a_change_by_another_program_reaches_auth, SCHEMA, |server| {
    let dee = server.signup("dee@example.com").await;
    let other = server.signup("other@example.com").await;
    let path = format!("/api/users/{}", other.id);
    let (_, body) = server.request("GET", &path, None, Some(&dee.token)).await;
    assert!(body.get("email").is_none(), "not an admin yet: {body}");
    let id = dee.id.clone();
    server.raw(move |conn| {
        let sql = match conn.dialect() {
            ssot_store::dialect::Dialect::Sqlite => "UPDATE \"User\" SET \"role\" = 'admin' WHERE \"id\" = ?1",
            ssot_store::dialect::Dialect::Postgres => "UPDATE \"User\" SET \"role\" = 'admin' WHERE \"id\" = $1::text",
        };
        conn.execute(sql, &[ssot_store::conn::Value::Text(id)]).expect("update");
    });
    // SQLite: the follower looks every second; PostgreSQL: NOTIFY wakes it.
    let mut email = None;
    for _ in 0..50 {
        let (_, body) = server.request("GET", &path, None, Some(&dee.token)).await;
        email = body["email"].as_str().map(String::from);
        if email.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(email.as_deref(), Some("other@example.com"), "the role set by SQL counts");
});

/// Two instances on one PostgreSQL database: a logout on one ends the token on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_session_on_another() {
    let Some(first) = TestServer::start(SCHEMA, common::Backend::Postgres, "two_instances").await else { return };
    let schema = common::check(&common::for_backend(SCHEMA, common::Backend::Postgres));
    let url = first.url.clone();
    let store = tokio::task::block_in_place(|| Arc::new(ssot_store::Store::open(url, &schema, 2).expect("open")));
    let tokens =
        ssot_server::auth::TokenSettings { secret: Some(JWT_SECRET.as_bytes().to_vec()), ..Default::default() };
    let settings = ssot_server::Settings { admin_key: Some(ADMIN_KEY.to_string()), tokens, ..Default::default() };
    let app = Arc::new(ssot_server::App::new(Arc::clone(&store), &schema, settings).expect("app"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ssot_server::serve(listener, app, async move {
        let _ = stopped.await;
    }));

    let fay = first.signup("fay@example.com").await;
    let on_second = || first.client.get(format!("{second}/api/auth/me")).bearer_auth(&fay.token).send();
    assert_eq!(on_second().await.expect("me").status().as_u16(), 200, "the second instance knows the session");
    let (status, _) = first.request("POST", "/api/auth/logout", None, Some(&fay.token)).await;
    assert_eq!(status, 204);
    let mut status = 200;
    for _ in 0..30 {
        status = on_second().await.expect("me").status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "the other instance learned of the logout");
    let _ = stop.send(());
    let _ = task.await;
    first.stop().await;
}

on_every_backend!(tokens_not_yet_valid_and_two_headers_are_refused, SCHEMA, |server| {
    let gil = server.signup("gil@example.com").await;
    let now = ssot_server::auth::tokens::now_seconds();
    let claims =
        json!({"sub": gil.id, "sid": gil.session, "iss": "ssot", "aud": "ssot", "exp": now + 600, "nbf": now + 300});
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    let early = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign");
    assert_eq!(server.request("GET", "/api/posts", None, Some(&early)).await.0, 401, "nbf is honoured");
    let response = server
        .client
        .get(format!("{}/api/posts", server.base))
        .header("authorization", format!("Bearer {}", gil.token))
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401, "two Authorization headers: neither counts");
});

on_every_backend!(email_addresses_are_compared_as_users_expect, SCHEMA, |server| {
    let (status, body) =
        post(&server, "/api/auth/signup", json!({"email": "  Hal@Example.COM ", "password": "correct horse"}), None)
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], json!("hal@example.com"), "stored normalized");
    for look_alike in ["hal@example.com", "HAL@EXAMPLE.COM", " hal@example.com"] {
        let (status, body) =
            post(&server, "/api/auth/signup", json!({"email": look_alike, "password": "correct horse"}), None).await;
        assert_eq!(status, 409, "{look_alike}: {body}");
        let (status, _) =
            post(&server, "/api/auth/login", json!({"email": look_alike, "password": "correct horse"}), None).await;
        assert_eq!(status, 200, "{look_alike} logs in");
    }
    for bad in ["no-at-sign", "two@@example.com", "sp ace@example.com", "a@-example.com", "@example.com", "a@"] {
        let (status, body) =
            post(&server, "/api/auth/signup", json!({"email": bad, "password": "correct horse"}), None).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (400, Some("email")), "{bad}: {body}");
    }
    // One length limit at sign-up and at login.
    let long = format!("{}@example.com", "a".repeat(250));
    for path in ["/api/auth/signup", "/api/auth/login"] {
        let (status, body) = post(&server, path, json!({"email": long, "password": "correct horse"}), None).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (400, Some("email")), "{path}: {body}");
    }
    // REST writes of the address are normalized too, so no look-alike slips in through them.
    let (status, body) =
        server.admin("POST", "/api/users", Some(json!({"email": "HAL@example.com ", "password": "x-x-x-x-x"}))).await;
    assert_eq!(status, 409, "{body}");
});
