//! Full-text search (`@@search`) on both databases, over a real socket: the query
//! language, relevance and weights, the list options it combines with, highlights, bad
//! input, writes from outside ssot, the socket's RPC, and above all the policies: a row
//! or a field the caller may not read never matches, counts, highlights or moves a result.

mod common;

use common::{TestServer, ADMIN_KEY};
use serde_json::{json, Value as Json};

const SCHEMA: &str = include_str!("fixtures/search.prisma");

/// Creates an article as the admin; its id.
async fn article(server: &TestServer, body: Json) -> i64 {
    let (status, row) = server.admin("POST", "/api/articles", Some(body)).await;
    assert_eq!(status, 201, "{row}");
    row["id"].as_i64().expect("id")
}

/// `GET /api/articles/search?q=...&<options>` as `key`; the status and the body.
async fn search(server: &TestServer, q: &str, options: &[(&str, Json)], key: Option<&str>) -> (u16, Json) {
    let mut query = format!("q={}", common::percent_encode(q));
    for (k, v) in options {
        query.push_str(&format!("&{k}={}", common::percent_encode(&v.to_string())));
    }
    server.request("GET", &format!("/api/articles/search?{query}"), None, key).await
}

fn ids(body: &Json) -> Vec<i64> {
    body["data"].as_array().map(|rows| rows.iter().filter_map(|r| r["id"].as_i64()).collect()).unwrap_or_default()
}

async fn admin_ids(server: &TestServer, q: &str) -> Vec<i64> {
    let (status, body) = search(server, q, &[], Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{q}: {body}");
    ids(&body)
}

on_every_backend!(the_query_language_and_relevance, SCHEMA, |server| {
    let a = article(&server, json!({"title": "Rust async in practice", "body": "futures and tasks"})).await;
    let b = article(&server, json!({"title": "Cooking", "body": "rust on a pan is bad; rust rust"})).await;
    let c = article(&server, json!({"title": "Async Python", "body": "the event loop, asyncio"})).await;
    let d = article(&server, json!({"title": "Café notes", "body": "Old news: a java applet"})).await;

    // Words all match; case does not matter; a title match (weight 3) ranks first.
    assert_eq!(admin_ids(&server, "RUST ").await, [a, b]);
    assert_eq!(admin_ids(&server, "rust async ").await, [a]);
    // Phrases keep their order; exclusions drop rows.
    assert_eq!(admin_ids(&server, "\"async python\"").await, [c]);
    assert_eq!(admin_ids(&server, "\"python async\"").await, Vec::<i64>::new());
    assert_eq!(admin_ids(&server, "async -python").await, [a]);
    assert_eq!(admin_ids(&server, "rust -\"in practice\"").await, [b]);
    // The last word, still being typed, is a prefix; after a space it is a word.
    assert_eq!(admin_ids(&server, "asyn").await, [c, a], "c also matches in its body (asyncio)");
    assert_eq!(admin_ids(&server, "asyn ").await, Vec::<i64>::new());
    // Punctuation separates words and never reaches the engine.
    assert_eq!(admin_ids(&server, "rust) OR (title:*").await, Vec::<i64>::new());
    assert_eq!(admin_ids(&server, "news: java").await, [d]);
    // Diacritics: the SQLite tokenizer folds them; PostgreSQL's `simple` does not.
    assert_eq!(admin_ids(&server, "café ").await, [d]);

    // The list answer: total, paging, hasMore.
    let (_, page) = search(&server, "rust", &[("take", json!(1))], Some(ADMIN_KEY)).await;
    assert_eq!(ids(&page), [a]);
    assert_eq!(page["meta"]["total"], 2);
    assert_eq!(page["meta"]["hasMore"], true);
    let (_, page) = search(&server, "rust", &[("take", json!(1)), ("skip", json!(1))], Some(ADMIN_KEY)).await;
    assert_eq!((ids(&page), page["meta"]["hasMore"].clone()), (vec![b], json!(false)));
    // Backwards from the end, and from a cursor, in the same order.
    let (_, page) = search(&server, "rust", &[("take", json!(-1))], Some(ADMIN_KEY)).await;
    assert_eq!(ids(&page), [b], "{page}");
    let (_, page) = search(&server, "rust", &[("cursor", json!({"id": a})), ("skip", json!(1))], Some(ADMIN_KEY)).await;
    assert_eq!(ids(&page), [b], "{page}");

    // `search` on lists, with `where`, `orderBy`, `select` and `include`.
    let (status, page) =
        server.get_with("/api/articles", &[("search", json!("rust")), ("orderBy", json!({"id": "desc"}))]).await;
    assert_eq!((status, ids(&page)), (200, vec![b, a]), "{page}");
    let (_, page) = server
        .admin(
            "POST",
            "/api/articles/query",
            Some(json!({"search": "async", "where": {"title": {"contains": "Python"}}, "select": {"title": true}})),
        )
        .await;
    assert_eq!(page["data"], json!([{"title": "Async Python"}]), "{page}");
    assert_eq!(page["meta"]["total"], 1);
    let (_, page) = search(&server, "rust", &[("include", json!({"author": true}))], Some(ADMIN_KEY)).await;
    assert_eq!(page["data"][0]["author"], Json::Null, "{page}");

    // Highlights: per row, the matching fields, escaped, matches marked.
    article(&server, json!({"title": "<b>Tags</b> & rust", "body": "nothing"})).await;
    let (_, page) = search(&server, "rust", &[("highlight", json!(true))], Some(ADMIN_KEY)).await;
    let highlights = page["meta"]["highlights"].as_array().expect("highlights").clone();
    assert_eq!(highlights.len(), page["data"].as_array().map_or(0, Vec::len));
    assert_eq!(highlights[0], json!({"title": "<mark>Rust</mark> async in practice"}), "{page}");
    assert!(
        highlights.iter().any(|h| h == &json!({"title": "&lt;b&gt;Tags&lt;/b&gt; &amp; <mark>rust</mark>"})),
        "{page}"
    );
    assert!(highlights
        .iter()
        .any(|h| h["body"].as_str().is_some_and(|b| b.contains("<mark>rust</mark> <mark>rust</mark>"))));
});

on_every_backend!(weights_order_the_results_and_ties_go_by_id, SCHEMA, |server| {
    // The same word once in the title (weight 3) beats three times in the body (weight 1).
    let in_body = article(&server, json!({"title": "x", "body": "kiwi kiwi kiwi"})).await;
    let in_title = article(&server, json!({"title": "kiwi", "body": "x"})).await;
    let tie_1 = article(&server, json!({"title": "y", "body": "mango"})).await;
    let tie_2 = article(&server, json!({"title": "y", "body": "mango"})).await;
    assert_eq!(admin_ids(&server, "kiwi ").await, [in_title, in_body]);
    assert_eq!(admin_ids(&server, "mango ").await, [tie_1, tie_2]);
});

on_every_backend!(hidden_rows_and_fields_never_match_count_highlight_or_order, SCHEMA, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    // Ann's draft: only she reads it.
    let draft =
        article(&server, json!({"title": "walrus draft", "body": "b", "published": false, "authorId": ann.id})).await;
    let public = article(&server, json!({"title": "walrus", "body": "b"})).await;
    // A word only in the admins' `secret` field.
    let secret = article(&server, json!({"title": "t", "body": "b", "secret": "narwhal"})).await;
    // Two rows identical in what users read, one with the word many times in the hidden field.
    let plain = article(&server, json!({"title": "orca", "body": "orca", "secret": ""})).await;
    let loaded = article(&server, json!({"title": "orca", "body": "orca", "secret": "orca orca orca orca"})).await;

    for key in [None, Some(bob.token.as_str())] {
        let (_, page) = search(&server, "walrus", &[("highlight", json!(true))], key).await;
        assert_eq!(ids(&page), [public], "a hidden row never appears: {page}");
        assert_eq!(page["meta"]["total"], 1, "nor counts");
        let (_, page) = search(&server, "narwhal", &[("highlight", json!(true))], key).await;
        assert_eq!((ids(&page), page["meta"]["total"].clone()), (vec![], json!(0)), "a hidden field never matches");
        let (_, page) = search(&server, "narwhal t", &[], key).await;
        assert_eq!(ids(&page), Vec::<i64>::new(), "not even beside a visible word");
        let (_, page) = search(&server, "t -narwhal", &[], key).await;
        assert_eq!(ids(&page), [secret], "nor excludes");
        let (_, page) = search(&server, "orca", &[("highlight", json!(true))], key).await;
        assert_eq!(ids(&page), [plain, loaded], "hidden text does not move the order: {page}");
        assert!(page["meta"]["highlights"].as_array().expect("highlights").iter().all(|h| h.get("secret").is_none()));
    }
    // The author reads her draft; the admin reads the secret field, which then counts.
    let (_, page) = search(&server, "walrus", &[], Some(&ann.token)).await;
    assert_eq!(ids(&page), [draft, public]);
    assert_eq!(admin_ids(&server, "narwhal").await, [secret]);
    assert_eq!(admin_ids(&server, "orca").await, [loaded, plain], "for the admin the hidden field counts");
    let (_, page) = search(&server, "narwhal", &[("highlight", json!(true))], Some(ADMIN_KEY)).await;
    assert_eq!(page["meta"]["highlights"], json!([{"secret": "<mark>narwhal</mark>"}]));
});

on_every_backend!(bad_searches_are_400_with_a_code, SCHEMA, |server| {
    for (q, words) in [
        ("", "no words"),
        (" ,;. ", "no words"),
        ("\"open", "not closed"),
        ("-a -\"b c\"", "only excludes"),
        (&"a".repeat(300), "longer than"),
        (&"w ".repeat(20), "more than"),
    ] {
        let (status, body) = search(&server, q, &[], Some(ADMIN_KEY)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_search")), "{q}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains(words)), "{q}: {body}");
    }
    let (status, body) = server.get_with("/api/notes", &[("search", json!("x"))]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_search")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("`Note` has no `@@search`")), "{body}");
    let (status, body) = server.admin("GET", "/api/notes/search?q=x", None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_search")), "{body}");
    let (status, body) = server.get_with("/api/articles", &[("highlight", json!(true))]).await;
    assert_eq!((status, body["errors"][0]["path"].as_str()), (400, Some("highlight")), "{body}");
    let (status, _) = server.get_with("/api/articles", &[("search", json!(3))]).await;
    assert_eq!(status, 400);
    let (status, _) = server.admin("GET", "/api/articles/search", None).await;
    assert_eq!(status, 400, "q is required");
    let (status, _) = server.admin("POST", "/api/articles/search", Some(json!({}))).await;
    assert_eq!(status, 405);
});

on_every_backend!(writes_from_outside_ssot_are_searchable, SCHEMA, |server| {
    let kept = article(&server, json!({"title": "heron", "body": "b"})).await;
    let sql = [
        "INSERT INTO \"Article\" (title, body, secret, published, category) VALUES ('egret outside', 'b', '', true, 'misc')",
        "UPDATE \"Article\" SET title = 'stork' WHERE title = 'heron'",
    ];
    match server.backend() {
        // An older SQLite library (Debian's shell, Python's module) runs the triggers.
        common::Backend::Sqlite => {
            let ssot_store::DatabaseUrl::Sqlite(path) = &server.url else { unreachable!() };
            let script = sql.join(";\n").replace("true", "1") + ";";
            let ran = std::process::Command::new("sqlite3").arg(path).arg(&script).output();
            match ran {
                Ok(out) => assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr)),
                Err(_) => server.raw(|conn| conn.batch(&script).expect("sql")),
            }
        }
        common::Backend::Postgres => server.raw(|conn| conn.batch(&sql.join(";\n")).expect("sql")),
    }
    assert_eq!(admin_ids(&server, "egret").await.len(), 1);
    assert_eq!(admin_ids(&server, "stork").await, [kept]);
    assert_eq!(admin_ids(&server, "heron").await, Vec::<i64>::new());
    server.raw(|conn| conn.batch("DELETE FROM \"Article\" WHERE title = 'stork'").expect("delete"));
    assert_eq!(admin_ids(&server, "stork").await, Vec::<i64>::new());
});

on_every_backend!(the_socket_and_batch_search_too, SCHEMA, |server| {
    let a = article(&server, json!({"title": "puffin", "body": "b"})).await;
    let (mut ws, _) = common::ws::WsClient::ready(&server.base, None).await;
    let answer =
        ws.request(json!({"model": "Article", "action": "list", "args": {"search": "puff", "highlight": true}})).await;
    assert_eq!(ids(&answer["body"]), [a], "{answer}");
    assert_eq!(answer["body"]["meta"]["highlights"], json!([{"title": "<mark>puffin</mark>"}]));
    let answer = ws.request(json!({"model": "Article", "action": "list", "args": {"search": "\"x"}})).await;
    assert_eq!((answer["status"].as_u64(), answer["problem"]["code"].as_str()), (Some(400), Some("invalid_search")));
    let (status, body) = server
        .admin(
            "POST",
            "/api/$batch",
            Some(json!({"operations": [{"method": "GET", "path": "/api/articles/search?q=puffin"}]})),
        )
        .await;
    assert_eq!((status, ids(&body["results"][0]["body"])), (200, vec![a]), "{body}");
});

on_every_backend!(a_search_considers_at_most_a_thousand_matches, SCHEMA, |server| {
    server.raw(|conn| {
        conn.batch(
            "INSERT INTO \"Article\" (title, body, secret, published, category) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1005) \
             SELECT 'gannet', 'b', '', true, 'misc' FROM n",
        )
        .expect("rows")
    });
    let (_, page) = search(&server, "gannet", &[("take", json!(5))], Some(ADMIN_KEY)).await;
    assert_eq!((page["meta"]["total"].clone(), page["meta"]["capped"].clone()), (json!(1000), json!(true)), "{page}");
    assert_eq!(ids(&page).len(), 5);
    let (_, page) = search(&server, "gannet", &[("where", json!({"id": {"lte": 10}}))], Some(ADMIN_KEY)).await;
    assert_eq!((page["meta"]["total"].clone(), page["meta"]["capped"].clone()), (json!(10), Json::Null));
});

/// `ssot_search_cache_hits_total` from `/metrics`.
async fn cache_hits(server: &TestServer) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.base)).await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix("ssot_search_cache_hits_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the search cache's hits in /metrics")
}

on_every_backend!(the_search_cache_answers_only_what_the_database_still_says, SCHEMA, |server| {
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;
    let draft =
        article(&server, json!({"title": "puffin draft", "body": "b", "published": false, "authorId": ann.id})).await;
    let public = article(&server, json!({"title": "puffin", "body": "b", "secret": "auk"})).await;
    let before = cache_hits(&server).await;
    // The same search by two callers, twice each: each gets their own rows, the second time from memory.
    for _ in 0..2 {
        assert_eq!(ids(&search(&server, "puffin", &[], Some(&ann.token)).await.1), [draft, public]);
        assert_eq!(ids(&search(&server, "puffin", &[], Some(&bob.token)).await.1), [public], "never Ann's answer");
        assert_eq!(ids(&search(&server, "puffin", &[], None).await.1), [public]);
    }
    assert_eq!(cache_hits(&server).await - before, 3, "the second round came from memory");

    // A write through the API: the next search reads it.
    let (status, _) = server.admin("PATCH", &format!("/api/articles/{draft}"), Some(json!({"published": true}))).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&search(&server, "puffin", &[], Some(&bob.token)).await.1), [draft, public]);
    // A write from outside ssot: read at once, not a moment later.
    server.raw(|conn| conn.batch("UPDATE \"Article\" SET title = 'gannet' WHERE title = 'puffin'").expect("sql"));
    assert_eq!(ids(&search(&server, "puffin", &[], Some(&bob.token)).await.1), [draft]);
    // The caller's own row changes what they may read: Bob made an admin reads the secret field.
    assert_eq!(ids(&search(&server, "auk", &[], Some(&bob.token)).await.1), Vec::<i64>::new());
    let (status, _) = server.admin("PATCH", &format!("/api/users/{}", bob.id), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&search(&server, "auk", &[], Some(&bob.token)).await.1), [public]);
});

on_every_backend!(the_same_search_asked_at_once_gives_everyone_the_database_answer, SCHEMA, |server| {
    for i in 0..40 {
        article(&server, json!({"title": format!("kittiwake {i}"), "body": "b"})).await;
    }
    // Twenty at once, from a cold cache: those that find the same search running wait for
    // its answer; whoever ran and whoever waited, each gets the same page.
    let take = [("take", json!(25))];
    let asked = (0..20).map(|_| search(&server, "kittiwake", &take, Some(ADMIN_KEY)));
    let answers = futures_util::future::join_all(asked).await;
    let expected = answers[0].1["data"].clone();
    assert_eq!(expected.as_array().map(Vec::len), Some(25));
    for (status, page) in &answers {
        assert_eq!((*status, &page["data"]), (200, &expected));
    }
    let titles: Vec<&str> = expected.as_array().into_iter().flatten().filter_map(|r| r["title"].as_str()).collect();
    assert!(titles.len() == 25 && titles.iter().all(|t| t.starts_with("kittiwake")), "{titles:?}");
});
