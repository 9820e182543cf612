//! Users from `@@auth`: sign-up, login, token refresh with rotation, logout, `me`, the
//! password's invisibility, and login rate limits.

mod common;

use common::TestServer;
use serde_json::{json, Value as Json};
use ssot_store::conn::Value;

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

async fn post(server: &TestServer, path: &str, body: Json) -> (u16, Json) {
    server.request("POST", path, Some(body), None).await
}

fn stored_password(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server.raw(move |conn| {
        let sql = match conn.dialect() {
            ssot_store::dialect::Dialect::Sqlite => "SELECT \"password\" FROM \"User\" WHERE \"email\" = ?1",
            ssot_store::dialect::Dialect::Postgres => "SELECT \"password\" FROM \"User\" WHERE \"email\" = $1::text",
        };
        let rows = conn.query(sql, &[Value::Text(email)]).expect("query");
        rows[0][0].as_text().expect("text").to_string()
    })
}

on_every_backend!(signup_login_me_and_the_password_never_shown, SCHEMA, |server| {
    let (status, body) =
        post(&server, "/api/auth/signup", json!({"email": "a@example.com", "password": "correct horse", "name": "A"}))
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tokenType"], json!("Bearer"));
    assert_eq!(body["expiresIn"], json!(900));
    assert!(body["refreshToken"].is_string());
    assert_eq!(body["user"]["email"], json!("a@example.com"), "one's own email");
    assert!(body["user"].get("password").is_none(), "{body}");
    assert!(!body.to_string().contains("correct horse"));
    let stored = stored_password(&server, "a@example.com");
    assert!(stored.starts_with("$argon2id$"), "stored hashed: {stored}");

    // Bad sign-ups, each named.
    let cases = [
        (json!({"email": "a@example.com", "password": "correct horse"}), 409, None),
        (json!({"email": "b@example.com", "password": "short"}), 400, Some("password")),
        (json!({"password": "correct horse"}), 400, Some("email")),
        (json!({"email": "b@example.com", "password": 5}), 400, Some("password")),
        (json!({"email": "b@example.com", "password": "correct horse", "role": "admin"}), 403, Some("role")),
        (json!({"email": "b@example.com", "password": "correct horse", "id": "chosen"}), 403, Some("id")),
        (json!({"email": "b@example.com", "password": "correct horse", "posts": {"create": []}}), 400, Some("posts")),
    ];
    for (body, status, path) in cases {
        let (got, answer) = post(&server, "/api/auth/signup", body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        if let Some(path) = path {
            assert_eq!(answer["errors"][0]["path"], json!(path), "{answer}");
        }
    }
    assert_eq!(server.admin("GET", "/api/users/count", None).await.1["count"], json!(1), "no partial sign-up");

    // Login: a wrong password and an unknown account get the same answer.
    let (status, wrong) =
        post(&server, "/api/auth/login", json!({"email": "a@example.com", "password": "wrong horse"})).await;
    assert_eq!(status, 401);
    let (status, unknown) =
        post(&server, "/api/auth/login", json!({"email": "z@example.com", "password": "wrong horse"})).await;
    assert_eq!(status, 401);
    assert_eq!(wrong["detail"], unknown["detail"]);
    let (status, login) =
        post(&server, "/api/auth/login", json!({"email": "a@example.com", "password": "correct horse"})).await;
    assert_eq!(status, 200, "{login}");
    let token = login["accessToken"].as_str().expect("token").to_string();

    let (status, me) = server.request("GET", "/api/auth/me", None, Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!((&me["email"], &me["name"]), (&json!("a@example.com"), &json!("A")));
    assert!(me.get("password").is_none());

    // The password is write-only for everyone, the admin included.
    let filter = format!("/api/users?where={}", common::percent_encode(r#"{"password":{"startsWith":"$argon2"}}"#));
    assert_eq!(server.admin("GET", &filter, None).await.0, 403);
    assert_eq!(server.request("GET", &filter, None, Some(&token)).await.0, 403);
    let order = format!("/api/users?orderBy={}", common::percent_encode(r#"{"password":"asc"}"#));
    assert_eq!(server.admin("GET", &order, None).await.0, 403);
    let select = format!("/api/users?select={}", common::percent_encode(r#"{"password":true,"email":true}"#));
    let (status, rows) = server.admin("GET", &select, None).await;
    assert_eq!(status, 200);
    assert!(rows["data"][0].get("password").is_none() && rows["data"][0].get("email").is_some(), "{rows}");

    // A password set through REST (by the admin, here) is hashed too, and logs in.
    let (status, _) =
        server.admin("POST", "/api/users", Some(json!({"email": "c@example.com", "password": "battery staple"}))).await;
    assert_eq!(status, 201);
    assert!(stored_password(&server, "c@example.com").starts_with("$argon2id$"));
    let (status, _) =
        post(&server, "/api/auth/login", json!({"email": "c@example.com", "password": "battery staple"})).await;
    assert_eq!(status, 200);
});

on_every_backend!(refresh_tokens_rotate_and_logout_revokes, SCHEMA, |server| {
    let user = server.signup("r@example.com").await;
    let first = user.refresh.expect("refresh token");
    let (status, next) = post(&server, "/api/auth/refresh", json!({"refreshToken": first})).await;
    assert_eq!(status, 200, "{next}");
    let second = next["refreshToken"].as_str().expect("rotated").to_string();
    assert_ne!(second, first);
    let token = next["accessToken"].as_str().expect("access").to_string();
    assert_eq!(server.request("GET", "/api/auth/me", None, Some(&token)).await.0, 200);

    // Reusing a used token is refused, and revokes its whole family (the thief's copy
    // and the user's alike).
    assert_eq!(post(&server, "/api/auth/refresh", json!({"refreshToken": first})).await.0, 401);
    assert_eq!(post(&server, "/api/auth/refresh", json!({"refreshToken": second})).await.0, 401);

    // Logout revokes the session's refresh token.
    let (_, login) =
        post(&server, "/api/auth/login", json!({"email": "r@example.com", "password": "correct horse"})).await;
    let refresh = login["refreshToken"].as_str().expect("refresh").to_string();
    let (status, _) = server.request("POST", "/api/auth/logout", Some(json!({"refreshToken": refresh})), None).await;
    assert_eq!(status, 204);
    assert_eq!(post(&server, "/api/auth/refresh", json!({"refreshToken": refresh})).await.0, 401);
    assert_eq!(post(&server, "/api/auth/refresh", json!({"refreshToken": "made-up"})).await.0, 401);
    // Refresh tokens are stored as hashes only.
    let stored: Vec<String> = server.raw(|conn| {
        conn.query("SELECT \"hash\" FROM \"_ssot_refresh_tokens\"", &[])
            .expect("query")
            .into_iter()
            .map(|r| r[0].as_text().unwrap_or_default().to_string())
            .collect()
    });
    // (Besides the marks of revoked families.)
    let tokens: Vec<&String> = stored.iter().filter(|h| !h.starts_with("family:")).collect();
    assert!(!tokens.is_empty() && !stored.contains(&refresh) && tokens.iter().all(|h| h.len() == 64));
});

on_every_backend!(logins_are_rate_limited_per_account, SCHEMA, |server| {
    server.signup("l@example.com").await;
    for _ in 0..10 {
        let (status, _) =
            post(&server, "/api/auth/login", json!({"email": "l@example.com", "password": "guess guess"})).await;
        assert_eq!(status, 401);
    }
    // Now even the right password waits.
    let response = server
        .client
        .post(format!("{}/api/auth/login", server.base))
        .header("content-type", "application/json")
        .body(json!({"email": "l@example.com", "password": "correct horse"}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    // Another spelling of the address is the same account (addresses are compared as
    // users expect: case and surrounding spaces aside): it waits too.
    let (status, _) =
        post(&server, "/api/auth/login", json!({"email": " L@Example.com", "password": "correct horse"})).await;
    assert_eq!(status, 429);
    // Other accounts are not locked by it.
    server.signup("m@example.com").await;
    let (status, _) =
        post(&server, "/api/auth/login", json!({"email": "m@example.com", "password": "correct horse"})).await;
    assert_eq!(status, 200);
});

/// An external identity provider's tokens: RS256 with a key from a JWKS file, its issuer
/// and our audience; their claims become `auth`, with `sub` as `auth.id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_tokens_verify_with_a_jwks() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let jwks = ssot_server::auth::tokens::parse_jwks(include_str!("fixtures/idp/jwks.json")).expect("jwks");
    let key = EncodingKey::from_rsa_der(include_bytes!("fixtures/idp/key.der"));
    for backend in common::BACKENDS {
        let settings = ssot_server::auth::TokenSettings {
            secret: Some(common::JWT_SECRET.as_bytes().to_vec()),
            jwks: Some(jwks.clone()),
            issuer: Some("https://idp.example".into()),
            audience: Some("my-app".into()),
        };
        let Some(server) = TestServer::start_with(SCHEMA, backend, "external_tokens", settings).await else { continue };
        let user = json!({"id": "ext-1", "email": "ext@example.com", "password": "correct horse"});
        assert_eq!(server.admin("POST", "/api/users", Some(user)).await.0, 201);
        let draft = json!({"title": "mine", "authorId": "ext-1"});
        assert_eq!(server.admin("POST", "/api/posts", Some(draft)).await.0, 201);
        let exp = unix_now() + 600;
        let claims = json!({"sub": "ext-1", "iss": "https://idp.example", "aud": "my-app", "exp": exp});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-key".into());
        let sign = |claims: &Json, header: &Header| encode(header, claims, &key).expect("sign");
        let (status, posts) = server.request("GET", "/api/posts", None, Some(&sign(&claims, &header))).await;
        assert_eq!(status, 200, "{posts}");
        assert_eq!(posts["meta"]["total"], json!(1), "the provider's user owns the draft: {posts}");
        let with = |key: &str, value: Json| {
            let mut c = claims.clone();
            c[key] = value;
            c
        };
        let mut unknown_kid = header.clone();
        unknown_kid.kid = Some("other".into());
        for (what, token) in [
            ("wrong audience", sign(&with("aud", json!("ssot")), &header)),
            ("wrong issuer", sign(&with("iss", json!("https://evil.example")), &header)),
            ("unknown key id", sign(&claims, &unknown_kid)),
            ("expired", sign(&with("exp", json!(unix_now() - 120)), &header)),
        ] {
            assert_eq!(server.request("GET", "/api/posts", None, Some(&token)).await.0, 401, "{what}");
        }
        server.stop().await;
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

on_every_backend!(parallel_guesses_and_refreshes_gain_nothing, SCHEMA, |server| {
    let user = server.signup("p@example.com").await;
    // Thirty guesses at once: the account's ten are counted as they start.
    let guesses =
        (0..30).map(|_| post(&server, "/api/auth/login", json!({"email": "p@example.com", "password": "guess guess"})));
    let statuses: Vec<u16> = common::join_all(guesses).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20, "{statuses:?}");
    // One refresh token used five times at once: one use wins.
    let token = user.refresh.expect("refresh token");
    let uses = (0..5).map(|_| post(&server, "/api/auth/refresh", json!({"refreshToken": token})));
    let statuses: Vec<u16> = common::join_all(uses).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    // Passwords cost a hash each: a request sets a few at most.
    let users: Vec<Json> =
        (0..11).map(|i| json!({"email": format!("b{i}@example.com"), "password": "correct horse"})).collect();
    let (status, answer) = server.admin("POST", "/api/users/bulk", Some(json!({"data": users}))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["path"], json!("data[10].password"));
});

/// Ids that hold commas or look like numbers name exactly one user, in tokens as in paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_names_exactly_one_user() {
    let schema = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./test.db"
}

/// @@auth("JWT", identity: "username")
/// @@policy("read", rule: "isOwner")
model Account {
  username String @id
  password String
}
"#;
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(schema, backend, "subjects").await else { continue };
        for name in ["alice", "alice,x", "12", "a%2Cb"] {
            let body = json!({"username": name, "password": "correct horse"});
            let (status, session) = post(&server, "/api/auth/signup", body).await;
            assert_eq!(status, 201, "{name}: {session}");
            let access = session["accessToken"].as_str().expect("token").to_string();
            let (_, me) = server.request("GET", "/api/auth/me", None, Some(&access)).await;
            assert_eq!(me["username"], json!(name), "me for {name}");
            let (status, next) =
                post(&server, "/api/auth/refresh", json!({"refreshToken": session["refreshToken"]})).await;
            assert_eq!(status, 200, "{name}: {next}");
            assert_eq!(next["user"]["username"], json!(name), "refresh for {name}");
        }
        server.stop().await;
    }
}

// Sign-up runs on the one guarded path, through the auth model's own door: the model's
// row-level `create` rule (here only the admin's) does not close it, while a field rule
// holds there exactly as on a REST create, checked on the new row; outside the door the
// row rule applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_is_a_create_through_the_auth_models_door() {
    let schema = SCHEMA.replace(
        "/// @@policy(\"delete\", rule: \"isAdmin\")\nmodel User {",
        "/// @@policy(\"delete\", rule: \"isAdmin\")\n/// @@policy(\"create\", rule: \"isAdmin\")\n\
         /// @@policy(\"create\", rule: \"name != 'root'\", fields: [\"name\"])\nmodel User {",
    );
    assert_ne!(schema, SCHEMA);
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "signup_door").await else { continue };
        let body = json!({"email": "ann@example.com", "password": "correct horse", "name": "Ann"});
        let (status, answer) = post(&server, "/api/auth/signup", body).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["user"]["name"], "Ann", "{answer}");
        let body = json!({"email": "root@example.com", "password": "correct horse", "name": "root"});
        let (status, answer) = post(&server, "/api/auth/signup", body).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["code"], "forbidden", "{answer}");
        let body = json!({"email": "bob@example.com", "password": "correct horse"});
        let (status, answer) = server.request("POST", "/api/users", Some(body), None).await;
        assert!(status == 401 || status == 403, "the row rule holds outside the door: {status} {answer}");
        let (status, answer) = server
            .request(
                "POST",
                "/api/users",
                Some(json!({"email": "c@example.com", "password": "correct horse"})),
                Some(&server.signup("d@example.com").await.token),
            )
            .await;
        assert_eq!(status, 403, "a user is no admin: {answer}");
        assert_eq!(server.admin("GET", "/api/users/count", None).await.1["count"], json!(2), "Ann and D only");
        server.stop().await;
    }
}
