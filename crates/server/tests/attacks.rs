//! Attacks, each refused with nothing leaked: bad tokens, SQL text wherever a request
//! carries text, hidden fields read through filters, orders, selections, includes and
//! counts, mass assignment, handing rows to others, and reading others' rows by id.

mod common;

use base64::Engine;
use common::{percent_encode, TestServer, User, JWT_SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value as Json};

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn sign(claims: &Json, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

fn b64(value: &Json) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn status_with(server: &TestServer, token: &str) -> u16 {
    server.request("GET", "/api/posts", None, Some(token)).await.0
}

on_every_backend!(bad_tokens_are_refused, SCHEMA, |server| {
    let user = server.signup("u@example.com").await;
    assert_eq!(status_with(&server, &user.token).await, 200);
    let good = json!({"sub": user.id, "sid": user.session, "id": user.id, "role": "admin", "iss": "ssot", "aud": "ssot", "exp": now() + 600});
    // The right key signs a valid token (so the cases below fail for their one flaw).
    assert_eq!(status_with(&server, &sign(&good, JWT_SECRET)).await, 200);
    let with = |key: &str, value: Json| {
        let mut claims = good.clone();
        claims[key] = value;
        claims
    };
    let cases: Vec<(&str, String)> = vec![
        ("signed with another key", sign(&good, "another-secret-0123456789abcdef0123456789")),
        ("expired", sign(&with("exp", json!(now() - 120)), JWT_SECRET)),
        ("wrong audience", sign(&with("aud", json!("someone-else")), JWT_SECRET)),
        ("wrong issuer", sign(&with("iss", json!("evil")), JWT_SECRET)),
        ("no expiry", sign(&json!({"sub": user.id, "iss": "ssot", "aud": "ssot"}), JWT_SECRET)),
        ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good))),
        ("garbage", "not.a.token".to_string()),
        ("empty", String::new()),
    ];
    for (what, token) in &cases {
        let (status, body) = server.request("GET", "/api/posts", None, Some(token)).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
    // A valid token with its claims edited: the signature no longer matches.
    let parts: Vec<&str> = user.token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64(&with("role", json!("admin"))), parts[2]);
    assert_eq!(status_with(&server, &forged).await, 401);
    // The WebSocket-style close code aside, a refused token never falls back to anonymous.
    let (status, _) = server.request("GET", "/api/tags", None, Some(&cases[0].1)).await;
    assert_eq!(status, 401);
});

async fn world(server: &TestServer) -> (User, User, i64) {
    let owner = server.signup("owner@example.com").await;
    let stranger = server.signup("stranger@example.com").await;
    let mut published = 0;
    for (notes, p) in [("aaa", true), ("zzz", true), ("mmm", false)] {
        let body = json!({"title": "t", "notes": notes, "published": p, "authorId": owner.id});
        let (_, row) = server.admin("POST", "/api/posts", Some(body)).await;
        if !p {
            published = row["id"].as_i64().expect("id");
        }
    }
    (owner, stranger, published)
}

async fn get(server: &TestServer, path: &str, params: &[(&str, &str)], user: &User) -> (u16, Json) {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    server.request("GET", &format!("{path}?{}", query.join("&")), None, Some(&user.token)).await
}

on_every_backend!(sql_text_goes_nowhere, SCHEMA, |server| {
    let (_, stranger, _) = world(&server).await;
    let before = server.admin("GET", "/api/posts/count", None).await.1;
    let injections = [
        r#"{"title": "' OR 1=1 --"}"#,
        r#"{"title": {"contains": "%' OR '1'='1"}}"#,
        r#"{"title": {"in": ["x'); DROP TABLE \"Post\"; --"]}}"#,
        r#"{"notes": {"startsWith": "a' UNION SELECT password FROM \"User\" --"}}"#,
    ];
    for filter in injections {
        let (status, body) = get(&server, "/api/posts", &[("where", filter)], &stranger).await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(body["data"], json!([]), "{filter}: matched nothing");
    }
    let refused = [
        ("where", r#"{"title": {"' OR 1=1 --": "x"}}"#),
        ("where", r#"{"title\" OR 1=1 --": "x"}"#),
        ("where", r#"{"OR 1=1": true}"#),
        ("orderBy", r#"{"title; DROP TABLE \"Post\"": "asc"}"#),
        ("orderBy", r#"{"title": "asc; DROP TABLE \"Post\""}"#),
        ("select", r#"{"title FROM \"User\" --": true}"#),
        ("include", r#"{"author\"; --": true}"#),
        ("cursor", r#"{"id": "1 OR 1=1"}"#),
        ("take", r#""1; DROP TABLE \"Post\"""#),
    ];
    for (key, value) in refused {
        let (status, body) = get(&server, "/api/posts", &[(key, value)], &stranger).await;
        assert_eq!(status, 400, "{key}={value}: {body}");
    }
    let (status, _) = server.request("GET", "/api/posts/1%20OR%201=1", None, Some(&stranger.token)).await;
    assert_eq!(status, 404);
    assert_eq!(server.admin("GET", "/api/posts/count", None).await.1, before, "every table still there, unchanged");
});

on_every_backend!(hidden_fields_leak_through_nothing, SCHEMA, |server| {
    let (owner, stranger, _) = world(&server).await;
    // `notes` is the owner's to read. Conditions on it hold on no row for the stranger,
    // whatever the value asked, so every answer is the same.
    let mut answers = Vec::new();
    for value in ["aaa", "zzz", "no such notes"] {
        for filter in [json!({"notes": value}), json!({"NOT": {"notes": value}}), json!({"notes": {"gt": value}})] {
            let text = filter.to_string();
            let (status, list) = get(&server, "/api/posts", &[("where", &text)], &stranger).await;
            assert_eq!(status, 200);
            let (_, count) = get(&server, "/api/posts/count", &[("where", &text)], &stranger).await;
            answers.push((
                filter.to_string().replace(value, "?"),
                list["meta"]["total"].clone(),
                count["count"].clone(),
            ));
        }
    }
    for (shape, total, count) in &answers {
        let first = answers.iter().find(|(s, _, _)| s == shape).expect("shape");
        assert_eq!((total, count), (&first.1, &first.2), "{shape}: the answer depends on the hidden value");
    }
    // The owner's own filter does see the value.
    let (_, mine) = get(&server, "/api/posts/count", &[("where", r#"{"notes": "aaa"}"#)], &owner).await;
    assert_eq!(mine["count"], json!(1));
    // Ordering by it orders the stranger's rows as if it were null: both directions agree.
    let ids = |body: &Json| body["data"].as_array().expect("rows").iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
    let (_, asc) = get(&server, "/api/posts", &[("orderBy", r#"{"notes": "asc"}"#)], &stranger).await;
    let (_, desc) = get(&server, "/api/posts", &[("orderBy", r#"{"notes": "desc"}"#)], &stranger).await;
    assert_eq!(ids(&asc).len(), 2);
    assert_eq!(ids(&asc), ids(&desc), "the order reveals nothing");
    let (_, owner_asc) = get(&server, "/api/posts", &[("orderBy", r#"{"notes": "asc"}"#)], &owner).await;
    let (_, owner_desc) = get(&server, "/api/posts", &[("orderBy", r#"{"notes": "desc"}"#)], &owner).await;
    assert_ne!(ids(&owner_asc), ids(&owner_desc), "the owner's order follows the value");
    // Selecting it: left out.
    let (_, selected) = get(&server, "/api/posts", &[("select", r#"{"notes": true, "id": true}"#)], &stranger).await;
    assert!(selected["data"].as_array().expect("rows").iter().all(|r| r.get("notes").is_none()));
    // Through an include and a relation filter: the owner's email.
    let (_, posts) = get(&server, "/api/posts", &[("include", r#"{"author": true}"#)], &stranger).await;
    assert!(posts["data"].as_array().expect("rows").iter().all(|p| p["author"].get("email").is_none()));
    let mut counts = Vec::new();
    for email in ["owner@example.com", "nobody@example.com"] {
        let filter = json!({"author": {"is": {"email": email}}}).to_string();
        let (status, count) = get(&server, "/api/posts/count", &[("where", &filter)], &stranger).await;
        assert_eq!(status, 200, "{count}");
        counts.push(count["count"].clone());
    }
    assert_eq!(counts[0], counts[1], "a relation filter on a hidden field tells nothing");
    let (_, users) = get(&server, "/api/users", &[("where", r#"{"email": {"contains": "owner"}}"#)], &stranger).await;
    assert_eq!(users["data"], json!([]));
    // Hidden rows count for nothing in relation filters or relation counts either.
    let (_, with_drafts) =
        get(&server, "/api/users", &[("where", r#"{"posts": {"some": {"published": false}}}"#)], &stranger).await;
    assert_eq!(with_drafts["data"], json!([]), "the owner's draft is invisible to the stranger");
});

on_every_backend!(mass_assignment_and_theft_are_refused, SCHEMA, |server| {
    let (owner, stranger, draft) = world(&server).await;
    let forbidden = [
        ("POST", "/api/posts".to_string(), json!({"id": 999, "title": "t", "authorId": stranger.id})),
        ("POST", "/api/posts".to_string(), json!({"title": "t", "authorId": owner.id})),
        ("PATCH", format!("/api/users/{}", stranger.id), json!({"role": "admin"})),
        ("PATCH", format!("/api/users/{}", stranger.id), json!({"id": "someone"})),
        ("POST", "/api/posts/bulk".to_string(), json!({"data": [{"title": "t", "authorId": owner.id}]})),
    ];
    for (method, path, body) in forbidden {
        let (status, answer) = server.request(method, &path, Some(body.clone()), Some(&stranger.token)).await;
        assert_eq!(status, 403, "{method} {path} {body}: {answer}");
    }
    // The owner cannot hand posts away, one by one or in bulk.
    let (status, _) = server
        .request(
            "PATCH",
            "/api/posts/bulk",
            Some(json!({"where": {}, "data": {"authorId": stranger.id}})),
            Some(&owner.token),
        )
        .await;
    assert_eq!(status, 403);
    let (_, count) = server
        .admin(
            "GET",
            &format!("/api/posts/count?where={}", percent_encode(&json!({"authorId": owner.id}).to_string())),
            None,
        )
        .await;
    assert_eq!(count["count"], json!(3), "nothing moved");
    // Another user's hidden row, by id: exactly like a row that does not exist.
    for method in ["GET", "PATCH", "DELETE"] {
        let body = (method == "PATCH").then(|| json!({"title": "x"}));
        let (hidden_status, hidden) =
            server.request(method, &format!("/api/posts/{draft}"), body.clone(), Some(&stranger.token)).await;
        let (missing_status, missing) = server.request(method, "/api/posts/987654", body, Some(&stranger.token)).await;
        assert_eq!((hidden_status, missing_status), (404, 404), "{method}");
        assert_eq!(hidden["detail"], missing["detail"], "{method}: the answers differ");
    }
    let (_, row) = server.admin("GET", &format!("/api/posts/{draft}"), None).await;
    assert_eq!(row["title"], json!("t"), "the hidden row is untouched");
});

/// The blog schema without the field rule on `role`: rules read `auth.role` (`isAdmin`),
/// so `role` still cannot be set by its user.
fn unguarded_role() -> String {
    let schema = SCHEMA.replace("/// @@policy(\"write\", rule: \"isAdmin\", fields: [\"role\"])\n", "");
    assert_ne!(schema, SCHEMA);
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_rules_read_from_auth_are_not_self_assigned() {
    let schema = unguarded_role();
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "privileged_fields").await else { continue };
        let body = json!({"email": "e@example.com", "password": "correct horse", "role": "admin"});
        let (status, answer) = server.request("POST", "/api/auth/signup", Some(body), None).await;
        assert_eq!(status, 403, "{answer}");
        let user = server.signup("e@example.com").await;
        let path = format!("/api/users/{}", user.id);
        let (status, answer) = server.request("PATCH", &path, Some(json!({"role": "admin"})), Some(&user.token)).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["errors"][0]["path"], json!("data.role"));
        assert_eq!(server.request("PATCH", &path, Some(json!({"name": "E"})), Some(&user.token)).await.0, 200);
        assert_eq!(server.admin("PATCH", &path, Some(json!({"role": "admin"}))).await.0, 200);
        server.stop().await;
    }
}

on_every_backend!(lookups_by_hidden_values_tell_nothing, SCHEMA, |server| {
    let (owner, stranger, draft) = world(&server).await;
    // A cursor on a field readable on some rows only is refused, whoever asks.
    for user in [&stranger, &owner] {
        let (status, _) = get(&server, "/api/users", &[("cursor", r#"{"email": "owner@example.com"}"#)], user).await;
        assert_eq!(status, 403);
    }
    // Connecting by a hidden unique value answers as if no row had it.
    let mut answers = Vec::new();
    for email in ["owner@example.com", "nobody@example.com"] {
        let body = json!({"title": "t", "author": {"connect": {"email": email}}});
        answers.push(server.request("POST", "/api/posts", Some(body), Some(&stranger.token)).await);
    }
    assert_eq!((answers[0].0, answers[1].0), (404, 404), "{answers:?}");
    assert_eq!(answers[0].1["detail"], answers[1].1["detail"]);
    // A foreign key to a hidden row answers as one to no row.
    let mut answers = Vec::new();
    for post in [draft, 987_654] {
        let body = json!({"body": "hi", "postId": post, "authorId": stranger.id});
        answers.push(server.request("POST", "/api/comments", Some(body), Some(&stranger.token)).await);
    }
    assert_eq!((answers[0].0, answers[1].0), (409, 409), "{answers:?}");
    assert_eq!(answers[0].1["detail"], answers[1].1["detail"]);
    assert_eq!(server.admin("GET", "/api/comments/count", None).await.1["count"], json!(0));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_rules_on_foreign_keys_hold_through_relations() {
    let schema = SCHEMA.replace(
        "/// @@policy(\"update\", rule: \"isOwner\")\n/// @@policy(\"delete\", rule: \"isOwner || isAdmin\")\nmodel Post",
        "/// @@policy(\"update\", rule: \"isOwner\")\n/// @@policy(\"update\", rule: \"isAdmin\", fields: [\"authorId\"])\n/// @@policy(\"delete\", rule: \"isOwner || isAdmin\")\nmodel Post",
    );
    assert_ne!(schema, SCHEMA);
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "fk_field_rules").await else { continue };
        let (owner, _, draft) = world(&server).await;
        let path = format!("/api/posts/{draft}");
        for data in [json!({"authorId": owner.id}), json!({"author": {"connect": {"id": owner.id}}})] {
            let (status, answer) = server.request("PATCH", &path, Some(data.clone()), Some(&owner.token)).await;
            assert_eq!(status, 403, "{data}: {answer}");
        }
        assert_eq!(server.request("PATCH", &path, Some(json!({"title": "ok"})), Some(&owner.token)).await.0, 200);
        server.stop().await;
    }
}

on_every_backend!(links_in_join_tables_need_both_rows, SCHEMA, |server| {
    let (owner, _, draft) = world(&server).await;
    let (_, tag) = server.admin("POST", "/api/tags", Some(json!({"name": "rust"}))).await;
    let tag = tag["id"].as_i64().expect("tag id");
    let path = format!("/api/posts/{draft}");
    // Tags are the admin's to change, links included: linking and unlinking are refused.
    let link = json!({"tags": {"connect": [{"id": tag}]}});
    assert_eq!(server.request("PATCH", &path, Some(link.clone()), Some(&owner.token)).await.0, 403);
    assert_eq!(server.admin("PATCH", &path, Some(link)).await.0, 200);
    for unlink in [json!({"tags": {"set": []}}), json!({"tags": {"disconnect": [{"id": tag}]}})] {
        let (status, answer) = server.request("PATCH", &path, Some(unlink.clone()), Some(&owner.token)).await;
        assert_eq!(status, 403, "{unlink}: {answer}");
    }
    let (_, post) = server.admin("GET", &format!("{path}?include={}", percent_encode(r#"{"tags":true}"#)), None).await;
    assert_eq!(post["tags"].as_array().map(Vec::len), Some(1), "still linked");
    // Deleting one's post removes its links without asking the tag.
    assert_eq!(server.request("DELETE", &path, None, Some(&owner.token)).await.0, 200);
});

/// The blog schema with a post's author hidden from all but the author.
fn anonymous_authors() -> String {
    let schema = SCHEMA.replace(
        "/// @@policy(\"read\", rule: \"isOwner\", fields: [\"notes\"])",
        "/// @@policy(\"read\", rule: \"isOwner\", fields: [\"notes\", \"authorId\"])",
    );
    assert_ne!(schema, SCHEMA);
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_foreign_key_hides_its_relation() {
    let schema = anonymous_authors();
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "hidden_fk").await else { continue };
        let (owner, stranger, _) = world(&server).await;
        let (_, posts) = get(&server, "/api/posts", &[("include", r#"{"author": true}"#)], &stranger).await;
        for post in posts["data"].as_array().expect("rows") {
            assert!(post.get("authorId").is_none() && post.get("author").is_none(), "{post}");
        }
        let (_, mine) = get(&server, "/api/posts", &[("include", r#"{"author": true}"#)], &owner).await;
        assert!(mine["data"].as_array().expect("rows").iter().all(|p| p["author"]["id"] == json!(owner.id)));
        // Who wrote what cannot be asked from the user's side either.
        let (_, users) = get(&server, "/api/users", &[("include", r#"{"posts": true}"#)], &stranger).await;
        for user in users["data"].as_array().expect("rows") {
            if user["id"] == json!(owner.id) {
                assert_eq!(user["posts"], json!([]), "{user}");
            }
        }
        let filter = json!({"posts": {"some": {"title": "t"}}}).to_string();
        let (_, users) = get(&server, "/api/users", &[("where", &filter)], &stranger).await;
        assert_eq!(users["data"], json!([]));
        // Ordering through the hidden key is refused; counting posts counts only those
        // whose author the caller may know (none of the owner's).
        let (status, _) =
            get(&server, "/api/posts", &[("orderBy", r#"{"author": {"email": "asc"}}"#)], &stranger).await;
        assert_eq!(status, 403);
        let mine = json!({"title": "mine", "published": true, "authorId": stranger.id});
        assert_eq!(server.request("POST", "/api/posts", Some(mine), Some(&stranger.token)).await.0, 201);
        let (_, counted) =
            get(&server, "/api/users", &[("orderBy", r#"{"posts": {"_count": "desc"}}"#)], &stranger).await;
        assert_eq!(
            counted["data"][0]["id"],
            json!(stranger.id),
            "the stranger's one post outranks the owner's hidden ones"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_from_the_other_side_checks_the_row_before() {
    // Anyone signed in may edit a post, but only its author may hand it over.
    let schema = SCHEMA.replace(
        "/// @@policy(\"update\", rule: \"isOwner\")\n/// @@policy(\"delete\", rule: \"isOwner || isAdmin\")\nmodel Post",
        "/// @@policy(\"update\", rule: \"authenticated\")\n/// @@policy(\"update\", rule: \"authorId == auth.id\", fields: [\"authorId\"])\n/// @@policy(\"delete\", rule: \"isOwner || isAdmin\")\nmodel Post",
    );
    assert_ne!(schema, SCHEMA);
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "link_before").await else { continue };
        let (owner, stranger, _) = world(&server).await;
        let (_, posts) = get(&server, "/api/posts", &[("take", "1")], &stranger).await;
        let id = posts["data"][0]["id"].clone();
        let direct = json!({"authorId": stranger.id});
        let (status, _) =
            server.request("PATCH", &format!("/api/posts/{id}"), Some(direct), Some(&stranger.token)).await;
        assert_eq!(status, 403);
        let through = json!({"posts": {"connect": [{"id": id}]}});
        let path = format!("/api/users/{}", stranger.id);
        let (status, answer) = server.request("PATCH", &path, Some(through), Some(&stranger.token)).await;
        assert_eq!(status, 403, "{answer}");
        let (_, post) = server.admin("GET", &format!("/api/posts/{id}"), None).await;
        assert_eq!(post["authorId"], json!(owner.id));
        server.stop().await;
    }
}

/// The blog schema where posts may lose their author (so `disconnect` and `set` reach the
/// rows they name) and comments are editable by their authors.
fn linkable() -> String {
    let schema = SCHEMA
        .replace(
            "  authorId  String\n  author    User      @relation(",
            "  authorId  String?\n  author    User?     @relation(",
        )
        .replace(
            "/// @@policy(\"create\", rule: \"isOwner && post.published\")\n",
            "/// @@policy(\"create\", rule: \"isOwner && post.published\")\n/// @@policy(\"update\", rule: \"isOwner\")\n",
        );
    assert_eq!(schema.matches("String?\n  author    User?").count(), 1, "the variant applies");
    assert!(schema.contains("/// @@policy(\"update\", rule: \"isOwner\")\n/// @@policy(\"delete\", rule: \"isOwner || isAdmin\")\nmodel Comment"));
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_rows_are_missing_rows_in_nested_writes() {
    let schema = linkable();
    for backend in common::BACKENDS {
        let Some(server) = TestServer::start(&schema, backend, "hidden_is_missing").await else { continue };
        let (_, stranger, draft) = world(&server).await;
        let me = format!("/api/users/{}", stranger.id);
        // The same request naming a hidden row and a missing one gets the same answer.
        let cases = [
            ("PATCH", me.clone(), json!({"posts": {"connect": [{"id": "{target}"}]}}), 404),
            ("PATCH", me.clone(), json!({"posts": {"disconnect": [{"id": "{target}"}]}}), 200),
            ("PATCH", me.clone(), json!({"posts": {"set": [{"id": "{target}"}]}}), 404),
            (
                "POST",
                "/api/comments".to_string(),
                json!({"body": "x", "authorId": stranger.id, "post": {"connect": {"id": "{target}"}}}),
                404,
            ),
            (
                "POST",
                "/api/comments".to_string(),
                json!({"body": "x", "authorId": stranger.id, "postId": "{target}"}),
                409,
            ),
        ];
        for (method, path, body, status) in cases {
            let mut answers = Vec::new();
            for target in [draft, 987_654] {
                let body: Json =
                    serde_json::from_str(&body.to_string().replace("\"{target}\"", &target.to_string())).expect("body");
                answers.push(server.request(method, &path, Some(body), Some(&stranger.token)).await);
            }
            assert_eq!((answers[0].0, answers[1].0), (status, status), "{method} {path} {body}: {answers:?}");
            assert_eq!(answers[0].1["detail"], answers[1].1["detail"], "{body}");
        }
        let (_, row) = server.admin("GET", &format!("/api/posts/{draft}"), None).await;
        assert_ne!(row["authorId"], json!(stranger.id), "the hidden draft stayed its owner's");
        // A foreign key in its `{set: ...}` form is checked the same.
        let published = world_published(&server).await;
        let (status, mine) = server
            .request(
                "POST",
                "/api/comments",
                Some(json!({"body": "x", "authorId": stranger.id, "postId": published})),
                Some(&stranger.token),
            )
            .await;
        assert_eq!(status, 201, "{mine}");
        let path = format!("/api/comments/{}", mine["id"]);
        let mut answers = Vec::new();
        for target in [draft, 987_654] {
            answers.push(
                server.request("PATCH", &path, Some(json!({"postId": {"set": target}})), Some(&stranger.token)).await,
            );
        }
        assert_eq!((answers[0].0, answers[1].0), (409, 409), "{answers:?}");
        assert_eq!(answers[0].1["detail"], answers[1].1["detail"]);
        server.stop().await;
    }
}

/// The id of a published post.
async fn world_published(server: &TestServer) -> Json {
    let (_, posts) =
        server.admin("GET", &format!("/api/posts?where={}", percent_encode(r#"{"published": true}"#)), None).await;
    posts["data"][0]["id"].clone()
}

on_every_backend!(oversized_and_ambiguous_writes_are_bad_requests, SCHEMA, |server| {
    let (owner, _, draft) = world(&server).await;
    let path = format!("/api/posts/{draft}");
    for data in [
        json!({"views": {"increment": 1, "set": 2}}),
        json!({"authorId": owner.id, "author": {"connect": {"id": owner.id}}}),
    ] {
        let (status, answer) = server.request("PATCH", &path, Some(data.clone()), Some(&owner.token)).await;
        assert_eq!(status, 400, "{data}: {answer}");
    }
    let many: Vec<i64> = (0..40_000).collect();
    let filter = json!({"OR": [{"id": {"in": many}}, {"views": {"in": (0..40_000).collect::<Vec<i64>>()}}]});
    let (status, answer) =
        server.request("POST", "/api/posts/query", Some(json!({"where": filter})), Some(&owner.token)).await;
    assert_eq!(status, 400, "{answer}");
});

/// On PostgreSQL, a caller whose id is no UUID compared with a `uuid` column matches
/// nothing (as in memory), instead of failing the statement; the same for ids in paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_another_form_match_nothing() {
    let schema = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./test.db"
}

/// @@policy("read", rule: "ownerId == auth.id || ownerId != auth.id && published")
model Note {
  id        String  @id @default(uuid()) @db.Uuid
  ownerId   String  @db.Uuid
  published Boolean @default(false)
}
"#;
    let Some(server) = TestServer::start(schema, common::Backend::Postgres, "uuid_claims").await else { return };
    let owner = "5f0c6a52-3c53-4d55-9a4f-3f7f1e2b9c11";
    for published in [true, false] {
        let body = json!({"ownerId": owner, "published": published});
        assert_eq!(server.admin("POST", "/api/notes", Some(body)).await.0, 201);
    }
    let claims = json!({"sub": "auth0|12345", "iss": "ssot", "aud": "ssot", "exp": now() + 600});
    let token = sign(&claims, JWT_SECRET);
    let (status, notes) = server.request("GET", "/api/notes", None, Some(&token)).await;
    assert_eq!(status, 200, "{notes}");
    assert_eq!(notes["meta"]["total"], json!(1), "the published note only: {notes}");
    let (status, _) = server.request("GET", "/api/notes/not-a-uuid", None, Some(&token)).await;
    assert_eq!(status, 404);
    server.stop().await;
}
