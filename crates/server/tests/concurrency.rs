//! Many writes at once (which SQLite's writer commits in groups): every write answered
//! 201 is kept, every refused one leaves nothing, and the change log agrees.

mod common;

use serde_json::json;

const SHOP: &str = include_str!("fixtures/shop.prisma");

on_every_backend!(concurrent_writes_are_each_kept_or_refused, SHOP, |server| {
    let mut tasks = Vec::new();
    for i in 0..120 {
        let (client, url) = (server.client.clone(), format!("{}/api/users", server.base));
        // Every third email repeats an earlier one: a unique violation inside a group.
        let email = if i % 3 == 2 { format!("user{}@x", i - 2) } else { format!("user{i}@x") };
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(common::ADMIN_KEY)
                .header("content-type", "application/json")
                .body(json!({"email": email, "karma": i}).to_string())
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("JSON");
            (status, body)
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        match status {
            201 => created.push(body["email"].as_str().unwrap_or_default().to_string()),
            409 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let mut unique = created.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), created.len(), "no email was created twice");
    assert_eq!(created.len(), 80, "one of each repeated email wins");
    let (_, count) = server.admin("GET", "/api/users/count", None).await;
    assert_eq!(count["count"], 80, "exactly the answered writes are kept");
    let logged = server.raw(|conn| conn.query("SELECT COUNT(*) FROM _ssot_changes", &[]).expect("log"));
    assert_eq!(logged[0][0].as_i64(), Some(80), "one change-log entry per kept write");
    for email in created.iter().take(10) {
        let (_, found) = server.get_with("/api/users", &[("where", json!({"email": email}))]).await;
        assert_eq!(found["meta"]["total"], 1, "{email}");
    }
});
