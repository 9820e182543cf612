//! Every REST route under four callers (anonymous, the owner, a stranger, the admin key),
//! with the answer each must get, and the semantics behind them: reads filtered to
//! what the caller may see, hidden rows as 404, writes checked before and after, bulk
//! operations touching only permitted rows, field-level rules.

mod common;

use common::{TestServer, User, ADMIN_KEY};
use serde_json::{json, Value as Json};

const SCHEMA: &str = include_str!("fixtures/blog.prisma");

struct World {
    owner: User,
    stranger: User,
    /// A third user, for the route that deletes users.
    victim: User,
    /// The owner's draft and published posts.
    draft: i64,
    published: i64,
}

async fn world(server: &TestServer) -> World {
    let owner = server.signup("owner@example.com").await;
    let stranger = server.signup("stranger@example.com").await;
    let victim = server.signup("victim@example.com").await;
    let draft = post(server, &owner, false).await;
    let published = post(server, &owner, true).await;
    World { owner, stranger, victim, draft, published }
}

/// A post by `user`, created by the admin.
async fn post(server: &TestServer, user: &User, published: bool) -> i64 {
    let body = json!({"title": "p", "notes": "private", "published": published, "authorId": user.id});
    let (status, row) = server.admin("POST", "/api/posts", Some(body)).await;
    assert_eq!(status, 201, "{row}");
    row["id"].as_i64().expect("post id")
}

/// The four callers, in the order of the expected answers: anonymous, owner, stranger, admin.
fn callers(w: &World) -> [Option<String>; 4] {
    [None, Some(w.owner.token.clone()), Some(w.stranger.token.clone()), Some(ADMIN_KEY.to_string())]
}

const WHO: [&str; 4] = ["anonymous", "owner", "stranger", "admin"];

struct Case {
    method: &'static str,
    /// `{draft}` and `{published}` stand for the owner's posts; `{fresh}` for a new
    /// draft of the owner's made for each caller (for routes that delete).
    path: &'static str,
    body: Option<Json>,
    expect: [u16; 4],
}

fn case(method: &'static str, path: &'static str, body: Option<Json>, expect: [u16; 4]) -> Case {
    Case { method, path, body, expect }
}

async fn run_matrix(server: &TestServer, w: &World, cases: &[Case]) {
    for c in cases {
        for (i, caller) in callers(w).iter().enumerate() {
            let mut path = c
                .path
                .replace("{draft}", &w.draft.to_string())
                .replace("{published}", &w.published.to_string())
                .replace("{victim}", &w.victim.id);
            if path.contains("{fresh}") {
                path = path.replace("{fresh}", &post(server, &w.owner, false).await.to_string());
            }
            let body = c.body.as_ref().map(|b| {
                let text = b
                    .to_string()
                    .replace("{owner}", &w.owner.id)
                    .replace("{stranger}", &w.stranger.id)
                    .replace("{draft}", &w.draft.to_string());
                serde_json::from_str(&text).expect("body")
            });
            let (status, answer) = server.request(c.method, &path, body, caller.as_deref()).await;
            assert_eq!(status, c.expect[i], "{} {path} as {}: {answer}", c.method, WHO[i]);
        }
    }
}

on_every_backend!(every_route_under_four_callers, SCHEMA, |server| {
    let w = world(&server).await;
    let create = json!({"title": "new", "authorId": "{owner}"});
    run_matrix(
        &server,
        &w,
        &[
            // Reads: hidden rows are "not found"; lists and counts simply leave them out.
            case("GET", "/api/posts", None, [200, 200, 200, 200]),
            case("POST", "/api/posts/query", Some(json!({})), [200, 200, 200, 200]),
            case("GET", "/api/posts/count", None, [200, 200, 200, 200]),
            case("GET", "/api/posts/{draft}", None, [404, 200, 404, 200]),
            case("GET", "/api/posts/{published}", None, [200, 200, 200, 200]),
            // Closed to anonymous callers by every rule: 401 (credentials may open it).
            case("GET", "/api/users", None, [401, 200, 200, 200]),
            case("GET", "/api/auth/me", None, [401, 200, 200, 401]),
            case("GET", "/api/tags", None, [200, 200, 200, 200]),
            case(
                "POST",
                "/api/auth/login",
                Some(json!({"email": "owner@example.com", "password": "wrong!!"})),
                [401, 401, 401, 401],
            ),
            case("POST", "/api/auth/refresh", Some(json!({"refreshToken": "made-up"})), [401, 401, 401, 401]),
            case(
                "POST",
                "/api/$batch",
                Some(json!({"operations": [{"method": "GET", "path": "/api/posts/{draft}"}]})),
                [404, 200, 404, 200],
            ),
            // Open to all: the API's shape and the server's health.
            case("GET", "/api/openapi.json", None, [200, 200, 200, 200]),
            case("GET", "/healthz", None, [200, 200, 200, 200]),
            case("GET", "/metrics", None, [200, 200, 200, 200]),
            // Creates: the row as written must satisfy `create` (a post of one's own).
            case("POST", "/api/posts", Some(create.clone()), [401, 201, 403, 201]),
            case("POST", "/api/posts/bulk", Some(json!({"data": [create.clone()]})), [401, 200, 403, 200]),
            case("POST", "/api/tags", Some(json!({"name": "t-{stranger}"})), [401, 403, 403, 201]),
            // Updates: a hidden row is "not found"; a visible one not theirs is refused.
            case("PATCH", "/api/posts/{draft}", Some(json!({"title": "t"})), [401, 200, 404, 200]),
            case("PUT", "/api/posts/{published}", Some(json!({"title": "t"})), [401, 200, 403, 200]),
            case("PATCH", "/api/posts/bulk", Some(json!({"where": {}, "data": {"views": 1}})), [401, 200, 200, 200]),
            // Deletes, each on a fresh draft of the owner's.
            case("DELETE", "/api/posts/{fresh}", None, [401, 200, 404, 200]),
            case("DELETE", "/api/users/{victim}", None, [401, 403, 403, 200]),
        ],
    )
    .await;

    // What each caller saw: the counts behind the 200s above.
    let count = |key: Option<String>| {
        let server = &server;
        async move { server.request("GET", "/api/posts/count", None, key.as_deref()).await.1["count"].clone() }
    };
    let owned = server.admin("GET", "/api/posts/count", None).await.1["count"].as_i64().expect("count");
    assert_eq!(count(None).await, json!(1), "anonymous sees the one published post");
    assert_eq!(count(Some(w.stranger.token.clone())).await, json!(1));
    assert_eq!(count(Some(w.owner.token.clone())).await, json!(owned));

    // Bulk updates touch only permitted rows: the stranger's touched none.
    let (_, body) = server
        .request("PATCH", "/api/posts/bulk", Some(json!({"where": {}, "data": {"views": 7}})), Some(&w.stranger.token))
        .await;
    assert_eq!(body["count"], json!(0));
    let (_, body) =
        server.request("DELETE", "/api/posts/bulk", Some(json!({"where": {}})), Some(&w.stranger.token)).await;
    assert_eq!(body["count"], json!(0));
    assert_eq!(
        server.admin("GET", "/api/posts/count", None).await.1["count"],
        json!(owned),
        "the stranger deleted nothing"
    );
    let (_, body) = server.request("DELETE", "/api/posts/bulk", Some(json!({"where": {}})), Some(&w.owner.token)).await;
    assert_eq!(body["count"], json!(owned), "the owner deletes all of theirs");
});

on_every_backend!(batches_apply_the_same_rules, SCHEMA, |server| {
    let w = world(&server).await;
    let read_draft = json!({"operations": [{"method": "GET", "path": format!("/api/posts/{}", w.draft)}]});
    let (status, _) = server.request("POST", "/api/$batch", Some(read_draft.clone()), Some(&w.stranger.token)).await;
    assert_eq!(status, 404);
    let (status, body) = server.request("POST", "/api/$batch", Some(read_draft), Some(&w.owner.token)).await;
    assert_eq!(status, 200, "{body}");
    // One refused operation undoes the batch.
    let ops = json!({"operations": [
        {"method": "PATCH", "path": format!("/api/posts/{}", w.published), "body": {"title": "mine now"}},
        {"method": "POST", "path": "/api/posts", "body": {"title": "x", "authorId": w.owner.id}},
    ]});
    let (status, body) = server.request("POST", "/api/$batch", Some(ops), Some(&w.stranger.token)).await;
    assert_eq!(status, 403, "{body}");
    let (_, post) = server.admin("GET", &format!("/api/posts/{}", w.published), None).await;
    assert_eq!(post["title"], json!("p"));
});

on_every_backend!(field_rules_hide_and_guard_fields, SCHEMA, |server| {
    let w = world(&server).await;
    // `email` shows on one's own row only; `password` on none, not even the admin's.
    let (_, users) = server.request("GET", "/api/users", None, Some(&w.stranger.token)).await;
    for user in users["data"].as_array().expect("rows") {
        assert!(user.get("password").is_none());
        assert_eq!(user.get("email").is_some(), user["id"] == json!(w.stranger.id), "{user}");
    }
    let (_, users) = server.admin("GET", "/api/users", None).await;
    assert!(users["data"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|u| u.get("password").is_none() && u.get("email").is_some()));
    // A published post's `notes` only for its owner.
    let path = format!("/api/posts/{}", w.published);
    let (_, post) = server.request("GET", &path, None, Some(&w.stranger.token)).await;
    assert!(post.get("notes").is_none() && post.get("title").is_some(), "{post}");
    let (_, post) = server.request("GET", &path, None, Some(&w.owner.token)).await;
    assert_eq!(post["notes"], json!("private"));
    // Included rows follow their own model's rules.
    let (_, posts) = server
        .request(
            "GET",
            &format!("/api/posts?include={}", common::percent_encode(r#"{"author":true}"#)),
            None,
            Some(&w.stranger.token),
        )
        .await;
    let author = &posts["data"][0]["author"];
    assert_eq!(author["id"], json!(w.owner.id));
    assert!(author.get("email").is_none() && author.get("password").is_none(), "{author}");
    // The same in every statement shape: a page of related rows per parent, and a cursor.
    let include = common::percent_encode(r#"{"posts": {"take": 5, "orderBy": {"id": "asc"}}}"#);
    for (user, sees) in [(&w.owner, true), (&w.stranger, false)] {
        let (_, users) = server.request("GET", &format!("/api/users?include={include}"), None, Some(&user.token)).await;
        let owner_row = users["data"].as_array().expect("rows").iter().find(|u| u["id"] == json!(w.owner.id)).cloned();
        let posts = owner_row.expect("the owner's row")["posts"].as_array().cloned().expect("posts");
        assert!(!posts.is_empty());
        assert!(posts.iter().all(|p| p.get("notes").is_some() == sees), "{posts:?}");
        let cursor = common::percent_encode(&json!({"id": w.published}).to_string());
        let (_, page) =
            server.request("GET", &format!("/api/posts?cursor={cursor}&take=2"), None, Some(&user.token)).await;
        assert_eq!(page["data"][0]["id"], json!(w.published));
        assert_eq!(page["data"][0].get("notes").is_some(), sees, "{page}");
    }
    // `role` is set by admins only, at creation and later.
    let (status, body) = server
        .request(
            "PATCH",
            &format!("/api/users/{}", w.stranger.id),
            Some(json!({"role": "admin"})),
            Some(&w.stranger.token),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["path"], json!("data.role"));
    let (status, _) = server
        .request("PATCH", &format!("/api/users/{}", w.stranger.id), Some(json!({"name": "S"})), Some(&w.stranger.token))
        .await;
    assert_eq!(status, 200);
    let (status, _) =
        server.admin("PATCH", &format!("/api/users/{}", w.stranger.id), Some(json!({"role": "editor"}))).await;
    assert_eq!(status, 200);
});

on_every_backend!(writes_are_checked_before_and_after, SCHEMA, |server| {
    let w = world(&server).await;
    // Handing one's post to someone else: allowed before, not after.
    let (status, _) = server
        .request(
            "PATCH",
            &format!("/api/posts/{}", w.draft),
            Some(json!({"authorId": w.stranger.id})),
            Some(&w.owner.token),
        )
        .await;
    assert_eq!(status, 403);
    // Taking someone's post through the relation, from the other side.
    let (status, body) = server
        .request(
            "PATCH",
            &format!("/api/users/{}", w.stranger.id),
            Some(json!({"posts": {"connect": [{"id": w.published}]}})),
            Some(&w.stranger.token),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Connecting to a row one cannot see reads as "no such row".
    let (status, body) = server
        .request(
            "POST",
            "/api/comments",
            Some(json!({"body": "hi", "post": {"connect": {"id": w.draft}}, "author": {"connect": {"id": w.stranger.id}}})),
            Some(&w.stranger.token),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // A comment on a published post, as oneself: allowed; on behalf of another: not.
    let mine = json!({"body": "hi", "postId": w.published, "authorId": w.stranger.id});
    assert_eq!(server.request("POST", "/api/comments", Some(mine), Some(&w.stranger.token)).await.0, 201);
    let theirs = json!({"body": "hi", "postId": w.published, "authorId": w.owner.id});
    assert_eq!(server.request("POST", "/api/comments", Some(theirs), Some(&w.stranger.token)).await.0, 403);
    // Nested creates are checked like top-level ones.
    let (status, _) = server
        .request(
            "PATCH",
            &format!("/api/users/{}", w.stranger.id),
            Some(json!({"posts": {"create": [{"title": "nested"}]}})),
            Some(&w.stranger.token),
        )
        .await;
    assert_eq!(status, 200, "a nested post of one's own");
    let (status, _) = server
        .request(
            "PATCH",
            &format!("/api/users/{}", w.stranger.id),
            Some(json!({"posts": {"create": [{"title": "nested", "tags": {"create": [{"name": "x"}]}}]}})),
            Some(&w.stranger.token),
        )
        .await;
    assert_eq!(status, 403, "tags are the admin's to create");
    let (_, tags) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(tags["count"], json!(0), "a refused write leaves nothing");
    // The created row comes back as the caller may read it.
    let (status, row) = server
        .request(
            "POST",
            "/api/posts",
            Some(json!({"title": "n", "notes": "mine", "authorId": w.owner.id})),
            Some(&w.owner.token),
        )
        .await;
    assert_eq!((status, &row["notes"]), (201, &json!("mine")));
});

on_every_backend!(connect_or_create_is_checked_like_connect_and_create, SCHEMA, |server| {
    let w = world(&server).await;
    let stranger = format!("/api/users/{}", w.stranger.id);
    let take = |id: i64| json!({"posts": {"connectOrCreate": [{"where": {"id": id}, "create": {"title": "x"}}]}});
    // Someone's published post is found, and connecting it would take it: refused.
    let (status, body) = server.request("PATCH", &stranger, Some(take(w.published)), Some(&w.stranger.token)).await;
    assert_eq!(status, 403, "{body}");
    // A draft they cannot see is a missing row: a post of their own is created instead.
    let (status, body) = server.request("PATCH", &stranger, Some(take(w.draft)), Some(&w.stranger.token)).await;
    assert_eq!(status, 200, "{body}");
    let (_, draft) = server.admin("GET", &format!("/api/posts/{}", w.draft), None).await;
    assert_eq!(draft["authorId"], json!(w.owner.id), "the hidden draft stays the owner's");
    // Creating a tag through a many-to-many is the admin's: refused, nothing left behind.
    let (_, mine) = server
        .request("POST", "/api/posts", Some(json!({"title": "m", "authorId": w.stranger.id})), Some(&w.stranger.token))
        .await;
    let tag = json!({"tags": {"connectOrCreate": [{"where": {"name": "new"}, "create": {"name": "new"}}]}});
    let path = format!("/api/posts/{}", mine["id"]);
    let (status, body) = server.request("PATCH", &path, Some(tag.clone()), Some(&w.stranger.token)).await;
    assert_eq!(status, 403, "{body}");
    let (_, tags) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(tags["count"], json!(0));
    // Once the tag exists, linking it is refused exactly as `connect` refuses it (a link
    // changes the tag's side too, and tags are the admin's to write).
    server.admin("POST", "/api/tags", Some(json!({"name": "new"}))).await;
    let (status, body) = server.request("PATCH", &path, Some(tag), Some(&w.stranger.token)).await;
    let connect = json!({"tags": {"connect": [{"name": "new"}]}});
    let (connect_status, _) = server.request("PATCH", &path, Some(connect), Some(&w.stranger.token)).await;
    assert_eq!((status, connect_status), (403, 403), "{body}");
    let (_, post) = server.admin("GET", &format!("{path}?include=%7B%22tags%22%3Atrue%7D"), None).await;
    assert_eq!(post["tags"], json!([]), "{post}");
});

/// Found by examples/chat: a private room readable by its members only, created with its owner's membership
/// nested (`members: {create: ...}`). The nested row's foreign key to the room is set by the nesting; it used to be
/// looked up through the caller's view of the room, which the same write is creating and which becomes readable only
/// through that very membership (`409` "no `Room` record has this id"). The `create` rules after the write decide:
/// the room's `isOwner` and the membership's `room.ownerId == auth.id` hold. A separate create of the membership is
/// still refused (the room is not the caller's to see), and so is a nested create the membership's rule refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_create_under_a_parent_readable_only_through_it() {
    const ROOMS: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./test.db"
}

/// @@auth("JWT")
/// @@policy("read", rule: "authenticated")
model User {
  id          String       @id @default(cuid())
  email       String       @unique
  password    String
  rooms       Room[]
  memberships Membership[]
}

/// @@policy("read", rule: "members.some(userId == auth.id)")
/// @@policy("create", rule: "isOwner")
model Room {
  id      Int          @id @default(autoincrement())
  ownerId String
  owner   User         @relation(fields: [ownerId], references: [id])
  members Membership[]
}

/// @@policy("read", rule: "room.members.some(userId == auth.id)")
/// @@policy("create", rule: "room.ownerId == auth.id")
model Membership {
  id     Int    @id @default(autoincrement())
  roomId Int
  room   Room   @relation(fields: [roomId], references: [id])
  userId String
  user   User   @relation(fields: [userId], references: [id])
}
"#;
    let Some(server) = TestServer::start(ROOMS, common::Backend::Sqlite, "nested_new_parent").await else { return };
    let ann = server.signup("ann@example.com").await;
    let body = json!({"ownerId": ann.id, "members": {"create": [{"userId": ann.id}]}});
    let (status, row) =
        server.request("POST", "/api/rooms?include=%7B%22members%22%3Atrue%7D", Some(body), Some(&ann.token)).await;
    assert_eq!(status, 201, "{row}");
    assert_eq!(row["members"].as_array().map(Vec::len), Some(1), "{row}");
    // Not so for someone else's membership nested under one's room the rule does not allow, nor a room of another.
    let bob = server.signup("bob@example.com").await;
    let body = json!({"ownerId": ann.id, "members": {"create": [{"userId": ann.id}]}});
    let (status, _) = server.request("POST", "/api/rooms", Some(body), Some(&bob.token)).await;
    assert_eq!(status, 403, "a room owned by another is refused");
    let (status, _) = server
        .request("POST", "/api/memberships", Some(json!({"roomId": row["id"], "userId": bob.id})), Some(&bob.token))
        .await;
    assert_eq!(status, 409, "a room one cannot see is not found");
    server.stop().await;
}
