//! What one request may cost: relation filters are bounded in depth and number, database
//! work ends at its time budget (503) or when its client hangs up, and slow queries never
//! keep gets and health checks waiting. The attack is the one that used to stall the
//! server: relation filters nested through a many-to-many relation, OR-ed at each level
//! (no database can turn those into joins, so each level multiplies the work).

mod common;

use serde_json::{json, Value as Json};
use std::time::Duration;

use ssot_testkit::slow::{self, SCHEMA};

fn seed(server: &common::TestServer) {
    server.raw(|conn| slow::seed(conn).expect("seed"));
}

fn attack() -> Json {
    serde_json::from_str(&slow::attack()).unwrap_or(Json::Null)
}

fn list_path(filter: &Json) -> String {
    format!("/api/posts?where={}", common::percent_encode(&filter.to_string()))
}

/// Relation filters nested `depth` deep, alternating between the two sides of the link.
fn nested(depth: usize) -> Json {
    let mut filter = json!({"title": "x"});
    for level in (0..depth).rev() {
        let relation = if level % 2 == 0 { "tags" } else { "posts" };
        filter = json!({relation: {"some": filter}});
    }
    // The innermost condition must be on the right model: tags end on `name`.
    if depth % 2 == 1 {
        filter.to_string().replace("\"title\"", "\"name\"").parse().unwrap_or(filter)
    } else {
        filter
    }
}

on_every_backend!(relation_filters_are_bounded, SCHEMA, |server| {
    // Four levels (the default limit) are served.
    let (status, body) = server.request("GET", &list_path(&nested(4)), None, None).await;
    assert_eq!(status, 200, "{body}");

    // Five are refused before any database work, naming the limit and where it was passed.
    let (status, body) = server.request("GET", &list_path(&nested(5)), None, None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("relation_filter_depth")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("where.tags.some.posts.some")), "{body}");

    // So is the same depth reached through an `include`'s own `where`, over the socket's body route.
    let deep_include = json!({"include": {"tags": {"where": nested(5)["tags"]["some"]}}});
    let (status, body) = server.request("POST", "/api/posts/query", Some(deep_include), None).await;
    assert_eq!(status, 200, "four levels below an include: {body}");
    let deeper = json!({"include": {"tags": {"where": {"posts": {"some": nested(5)}}}}});
    let (status, body) = server.request("POST", "/api/posts/query", Some(deeper), None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("relation_filter_depth")), "{body}");

    // Many relation filters side by side: 16 pass, 17 do not; counts too.
    let many = |n: usize| json!({"OR": (0..n).map(|i| json!({"tags": {"some": {"name": format!("t{i}")}}})).collect::<Vec<_>>()});
    let (status, body) = server.request("GET", &list_path(&many(16)), None, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.request("GET", &list_path(&many(17)), None, None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("relation_filter_count")), "{body}");
    let count = format!("/api/posts/count?where={}", common::percent_encode(&many(17).to_string()));
    let (status, body) = server.request("GET", &count, None, None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("relation_filter_count")), "{body}");
});

on_every_backend!(a_slow_query_is_stopped_at_its_budget, SCHEMA, |server| {
    seed(&server);
    server.store.set_query_timeout(Some(Duration::from_millis(300)));
    let (status, body) = server.request("GET", &list_path(&attack()), None, None).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("query_timeout")), "{body}");
    assert_eq!(metric(&server, "ssot_db_jobs_timed_out_total").await, 1);
    let (status, body) = server.request("GET", &format!("{}/count", "/api/posts"), None, None).await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(slow::POSTS)), "the connection serves the next request");
    let (status, body) = server.request("GET", "/api/posts?take=2", None, None).await;
    assert_eq!(status, 200, "{body}");
});

on_every_backend!(slow_queries_do_not_keep_gets_and_health_waiting, SCHEMA, |server| {
    seed(&server);
    server.store.set_query_timeout(Some(Duration::from_secs(1)));
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let request = server.client.get(format!("{}{}", server.base, list_path(&attack())));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let (status, body) = server.request("GET", "/healthz", None, None).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = server.request("GET", "/api/posts/17", None, None).await;
        assert_eq!((status, body["title"].as_str()), (200, Some("post 17")));
        let (status, _) = server.request("GET", "/api/posts/count", None, None).await;
        assert_eq!(status, 200);
    }
    // All of that was answered while the slow queries still ran: none waited for them.
    assert!(attackers.iter().all(|a| !a.is_finished()), "the slow queries ended before the gets did");
    for attacker in attackers {
        let status = attacker.await.expect("join").expect("an answer");
        assert_eq!(status, 503, "each slow query ends at its budget");
    }
});

/// A metric's value from `/metrics`.
async fn metric(server: &common::TestServer, name: &str) -> i64 {
    let (_, text) = server.request("GET", "/metrics", None, None).await;
    let text = text.as_str().unwrap_or_default().to_string();
    let prefix = format!("{name} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(-1)
}

on_every_backend!(a_client_that_hangs_up_stops_its_query, SCHEMA, |server| {
    seed(&server);
    // No time budget: only the hang-up can stop these.
    server.store.set_query_timeout(None);
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    for _ in 0..3 {
        let gave_up = impatient.get(format!("{}{}", server.base, list_path(&attack()))).send().await;
        assert!(gave_up.is_err(), "the attack answered within 300 ms: the test proves nothing");
    }
    let mut in_flight = metric(&server, "ssot_db_jobs_in_flight").await;
    for _ in 0..100 {
        if in_flight == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        in_flight = metric(&server, "ssot_db_jobs_in_flight").await;
    }
    assert_eq!(in_flight, 0, "the abandoned queries still run");
    assert_eq!(metric(&server, "ssot_db_jobs_cancelled_total").await, 3);
    let (status, _) = server.request("GET", "/api/posts?take=1", None, None).await;
    assert_eq!(status, 200);
});
