//! Every REST route against a real server, on SQLite and PostgreSQL: create, read,
//! update, delete, lists with filters, orders and pages, selections, nested writes,
//! bulk operations and `$batch`.

mod common;

use serde_json::{json, Value as Json};

const SHOP: &str = include_str!("fixtures/shop.prisma");

async fn user(server: &common::TestServer, email: &str, karma: i64) -> Json {
    let (status, body) = server.admin("POST", "/api/users", Some(json!({"email": email, "karma": karma}))).await;
    assert_eq!(status, 201, "{body}");
    body
}

on_every_backend!(create_read_update_delete, SHOP, |server| {
    let (status, created) =
        server.admin("POST", "/api/users", Some(json!({"email": "ann@example.com", "name": "Ann"}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email"], "ann@example.com");
    assert_eq!(created["role"], "member", "enum default");
    assert_eq!(created["karma"], 0);
    assert!(created["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{created}");
    let id = created["id"].as_i64().expect("autoincrement id");

    let (status, got) = server.admin("GET", &format!("/api/users/{id}"), None).await;
    assert_eq!((status, &got), (200, &created));

    let (status, updated) = server
        .admin(
            "PATCH",
            &format!("/api/users/{id}"),
            Some(json!({"name": "Annie", "role": "admin", "karma": {"increment": 5}})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["name"].as_str(), updated["role"].as_str(), updated["karma"].as_i64()),
        (Some("Annie"), Some("admin"), Some(5))
    );
    let (_, again) = server.admin("PUT", &format!("/api/users/{id}"), Some(json!({"karma": {"decrement": 2}}))).await;
    assert_eq!(again["karma"], 3);

    // The mapped enum value is what the database holds.
    let rows = server.raw(|conn| conn.query("SELECT CAST(role AS TEXT) FROM users", &[]).expect("raw read"));
    assert_eq!(rows[0][0].as_text(), Some("ADMIN"));

    let (status, deleted) = server.admin("DELETE", &format!("/api/users/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["email"], "ann@example.com");
    let (status, problem) = server.admin("GET", &format!("/api/users/{id}"), None).await;
    assert_eq!(status, 404, "{problem}");
    let (status, _) = server.admin("DELETE", &format!("/api/users/{id}"), None).await;
    assert_eq!(status, 404);
});

on_every_backend!(every_scalar_type_round_trips, SHOP, |server| {
    let product = json!({
        "name": "Lamp",
        "price": "1234567890.125",
        "weight": 1.5,
        "stock": "9007199254740993",
        "active": false,
        "meta": {"colors": ["red", "blue"], "nested": {"n": 1}},
        "image": "AAECAwQ=",
        "releaseAt": "2024-05-01T14:30:00.250+02:00",
    });
    let (status, created) = server.admin("POST", "/api/products", Some(product)).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].as_str().is_some_and(|id| id.starts_with('c') && id.len() == 25), "cuid: {created}");
    assert_eq!(created["stock"], "9007199254740993", "BigInt as a string, exact");
    assert_eq!(created["weight"], 1.5);
    assert_eq!(created["active"], false);
    assert_eq!(created["meta"], json!({"colors": ["red", "blue"], "nested": {"n": 1}}));
    assert_eq!(created["image"], "AAECAwQ=");
    assert_eq!(created["releaseAt"], "2024-05-01T12:30:00.250Z", "DateTime in UTC");
    let price = created["price"].as_str().expect("Decimal as a string");
    assert!(price.starts_with("1234567890.125"), "{price}");
    assert!(created["updatedAt"].as_str().is_some());

    let id = created["id"].as_str().unwrap_or_default().to_string();
    let (_, fetched) = server.admin("GET", &format!("/api/products/{id}"), None).await;
    assert_eq!(fetched, created);
    let (_, cleared) = server
        .admin("PATCH", &format!("/api/products/{id}"), Some(json!({"meta": null, "image": null, "weight": null})))
        .await;
    assert_eq!(
        (cleared["meta"].clone(), cleared["image"].clone(), cleared["weight"].clone()),
        (Json::Null, Json::Null, Json::Null)
    );
});

on_every_backend!(lists_filter_order_and_page, SHOP, |server| {
    for (email, karma) in [("a@x.io", 5), ("b@x.io", 1), ("c@y.io", 9), ("d@y.io", 3), ("E@Y.IO", 7)] {
        user(&server, email, karma).await;
    }
    let emails = |body: &Json| -> Vec<String> {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|u| u["email"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let cases = [
        (json!({"karma": {"gte": 5}}), vec!["a@x.io", "c@y.io", "E@Y.IO"]),
        (json!({"karma": {"lt": 3}}), vec!["b@x.io"]),
        (json!({"karma": {"in": [1, 9]}}), vec!["b@x.io", "c@y.io"]),
        (json!({"karma": {"notIn": [1, 9], "not": 5}}), vec!["d@y.io", "E@Y.IO"]),
        (json!({"email": {"endsWith": "@x.io"}}), vec!["a@x.io", "b@x.io"]),
        (json!({"email": {"startsWith": "c"}}), vec!["c@y.io"]),
        (json!({"email": {"contains": "y.io"}}), vec!["c@y.io", "d@y.io"]),
        (json!({"email": {"contains": "y.io", "mode": "insensitive"}}), vec!["c@y.io", "d@y.io", "E@Y.IO"]),
        (json!({"OR": [{"karma": 1}, {"karma": 3}]}), vec!["b@x.io", "d@y.io"]),
        (json!({"email": {"in": ["e@y.io", "A@X.IO"], "mode": "insensitive"}}), vec!["a@x.io", "E@Y.IO"]),
        (json!({"email": {"notIn": ["e@y.io"], "mode": "insensitive", "endsWith": "y.io"}}), vec!["c@y.io", "d@y.io"]),
        (json!({"NOT": {"email": {"contains": "x.io"}}, "karma": {"gt": 3}}), vec!["c@y.io", "E@Y.IO"]),
        (json!({"name": null}), vec!["a@x.io", "b@x.io", "c@y.io", "d@y.io", "E@Y.IO"]),
        (json!({"name": {"not": null}}), vec![]),
        // A comparison with null is false, and NOT of it true (two-valued logic).
        (json!({"NOT": {"name": "x"}, "karma": 1}), vec!["b@x.io"]),
        (json!({"email": {"contains": "%"}}), vec![]),
        (json!({"email": {"contains": "_"}}), vec![]),
    ];
    for (filter, expected) in cases {
        let (status, body) =
            server.get_with("/api/users", &[("where", filter.clone()), ("orderBy", json!({"email": "asc"}))]).await;
        assert_eq!(status, 200, "{filter}: {body}");
        let mut got = emails(&body);
        got.sort_by_key(|e| e.to_lowercase());
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort_by_key(|e| e.to_lowercase());
        assert_eq!(got, want, "where {filter}");
        assert_eq!(body["meta"]["total"], json!(want.len()), "total for {filter}");
    }

    let (_, page) = server.get_with("/api/users", &[("orderBy", json!({"karma": "desc"})), ("take", json!(2))]).await;
    assert_eq!(emails(&page), ["c@y.io", "E@Y.IO"]);
    assert_eq!(page["meta"]["hasMore"], true);
    assert_eq!(page["meta"]["total"], 5);
    let (_, next) = server
        .get_with("/api/users", &[("orderBy", json!({"karma": "desc"})), ("take", json!(2)), ("skip", json!(2))])
        .await;
    assert_eq!(emails(&next), ["a@x.io", "d@y.io"]);
    let (_, last) = server
        .get_with("/api/users", &[("orderBy", json!({"karma": "desc"})), ("take", json!(2)), ("skip", json!(4))])
        .await;
    assert_eq!(emails(&last), ["b@x.io"]);
    assert_eq!(last["meta"]["hasMore"], false);
    let (_, from_cursor) = server
        .get_with(
            "/api/users",
            &[("orderBy", json!([{"karma": "desc"}])), ("cursor", json!({"email": "a@x.io"})), ("take", json!(10))],
        )
        .await;
    assert_eq!(emails(&from_cursor), ["a@x.io", "d@y.io", "b@x.io"]);
    // A negative take pages backwards: the rows up to the cursor, in the order asked.
    let (_, before_cursor) = server
        .get_with(
            "/api/users",
            &[("orderBy", json!({"karma": "desc"})), ("cursor", json!({"email": "a@x.io"})), ("take", json!(-2))],
        )
        .await;
    assert_eq!(emails(&before_cursor), ["E@Y.IO", "a@x.io"]);
    assert_eq!(before_cursor["meta"]["hasMore"], true, "c@y.io comes before");
    let (_, last_two) =
        server.get_with("/api/users", &[("orderBy", json!({"karma": "desc"})), ("take", json!(-2))]).await;
    assert_eq!(emails(&last_two), ["d@y.io", "b@x.io"]);
    let (status, _) = server.get_with("/api/users", &[("take", json!(-5000))]).await;
    assert_eq!(status, 400);

    let (status, queried) = server
        .admin(
            "POST",
            "/api/users/query",
            Some(json!({"where": {"karma": {"gt": 4}}, "orderBy": {"karma": "asc"}, "select": {"email": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(queried["data"], json!([{"email": "a@x.io"}, {"email": "E@Y.IO"}, {"email": "c@y.io"}]));
    let (_, count) = server.get_with("/api/users/count", &[("where", json!({"karma": {"gt": 4}}))]).await;
    assert_eq!(count, json!({"count": 3}));
});

on_every_backend!(relations_nest_filter_and_include, SHOP, |server| {
    let ann = user(&server, "ann@x.io", 1).await;
    let bob = user(&server, "bob@x.io", 2).await;
    let (status, lamp) = server
        .admin(
            "POST",
            "/api/products?include=%7B%22tags%22%3Atrue%7D",
            Some(json!({"name": "Lamp", "price": "10", "tags": {"create": [{"label": "home"}, {"label": "light"}]}})),
        )
        .await;
    assert_eq!(status, 201, "{lamp}");
    assert_eq!(lamp["tags"].as_array().map(Vec::len), Some(2));
    let (_, desk) = server
        .admin(
            "POST",
            "/api/products",
            Some(json!({"name": "Desk", "price": "99.5", "tags": {"connect": [{"label": "home"}]}})),
        )
        .await;
    let (lamp_id, desk_id) = (lamp["id"].as_str().unwrap_or_default(), desk["id"].as_str().unwrap_or_default());

    // Nested create through a to-many relation, and a compound id.
    let (status, order) = server
        .admin(
            "POST",
            "/api/orders?include=%7B%22lines%22%3Atrue%2C%22user%22%3Atrue%7D",
            Some(json!({
                "number": "A-1",
                "user": {"connect": {"email": "ann@x.io"}},
                "lines": {"create": [{"product": {"connect": {"id": lamp_id}}, "quantity": 2}, {"productId": desk_id, "quantity": 1}]},
            })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["user"]["email"], "ann@x.io");
    assert_eq!(order["lines"].as_array().map(Vec::len), Some(2));
    let order_id = order["id"].as_i64().unwrap_or_default();
    let (status, line) = server.admin("GET", &format!("/api/order-lines/{order_id},{lamp_id}"), None).await;
    assert_eq!((status, line["quantity"].as_i64()), (200, Some(2)), "{line}");

    // One-to-one from the side without the foreign key.
    let (status, _) = server
        .admin("PATCH", &format!("/api/users/{}", bob["id"]), Some(json!({"profile": {"create": {"bio": "hi"}}})))
        .await;
    assert_eq!(status, 200);
    server.admin("POST", "/api/reviews", Some(json!({"stars": 5, "userId": ann["id"], "productId": lamp_id}))).await;
    server.admin("POST", "/api/reviews", Some(json!({"stars": 2, "userId": bob["id"], "productId": lamp_id}))).await;
    server.admin("POST", "/api/reviews", Some(json!({"stars": 4, "userId": bob["id"], "productId": desk_id}))).await;

    let names = |body: &Json, key: &str| -> Vec<String> {
        body["data"].as_array().expect("data").iter().map(|r| r[key].as_str().unwrap_or_default().to_string()).collect()
    };
    let product_cases = [
        (json!({"reviews": {"some": {"stars": {"gte": 5}}}}), vec!["Lamp"]),
        (json!({"reviews": {"every": {"stars": {"gte": 4}}}}), vec!["Desk"]),
        (json!({"reviews": {"none": {"stars": 2}}}), vec!["Desk"]),
        (json!({"tags": {"some": {"label": "light"}}}), vec!["Lamp"]),
        (json!({"tags": {"every": {"label": "home"}}}), vec!["Desk"]),
        (json!({"lines": {"some": {"order": {"is": {"user": {"is": {"email": "ann@x.io"}}}}}}}), vec!["Desk", "Lamp"]),
    ];
    for (filter, expected) in product_cases {
        let (status, body) =
            server.get_with("/api/products", &[("where", filter.clone()), ("orderBy", json!({"name": "asc"}))]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(names(&body, "name"), expected, "where {filter}");
    }
    let (_, with_profile) = server.get_with("/api/users", &[("where", json!({"profile": {"isNot": null}}))]).await;
    assert_eq!(names(&with_profile, "email"), ["bob@x.io"]);
    let (_, without) = server.get_with("/api/users", &[("where", json!({"profile": {"is": null}}))]).await;
    assert_eq!(names(&without, "email"), ["ann@x.io"]);

    // Include with nested where, orderBy and take; order by a relation's field and count.
    let (status, users) = server
        .get_with(
            "/api/users",
            &[
                ("orderBy", json!({"email": "asc"})),
                ("include", json!({"reviews": {"where": {"stars": {"gt": 1}}, "orderBy": {"stars": "desc"}, "take": 1, "select": {"stars": true, "product": {"select": {"name": true}}}}})),
            ],
        )
        .await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["data"][0]["reviews"], json!([{"stars": 5, "product": {"name": "Lamp"}}]));
    assert_eq!(users["data"][1]["reviews"], json!([{"stars": 4, "product": {"name": "Desk"}}]));
    let (_, by_count) = server.get_with("/api/products", &[("orderBy", json!({"reviews": {"_count": "desc"}}))]).await;
    assert_eq!(names(&by_count, "name"), ["Lamp", "Desk"]);
    let (_, by_user) =
        server.get_with("/api/reviews", &[("orderBy", json!([{"user": {"email": "desc"}}, {"stars": "asc"}]))]).await;
    let stars: Vec<i64> =
        by_user["data"].as_array().map(|a| a.iter().filter_map(|r| r["stars"].as_i64()).collect()).unwrap_or_default();
    assert_eq!(stars, [2, 4, 5]);

    // Disconnect and set on many-to-many; disconnect an optional to-one.
    let (_, untagged) = server
        .admin(
            "PATCH",
            &format!("/api/products/{lamp_id}?include=%7B%22tags%22%3Atrue%7D"),
            Some(json!({"tags": {"disconnect": [{"label": "home"}]}})),
        )
        .await;
    assert_eq!(untagged["tags"], json!([{"id": 2, "label": "light"}]));
    let (_, reset) = server
        .admin(
            "PATCH",
            &format!("/api/products/{lamp_id}?include=%7B%22tags%22%3Atrue%7D"),
            Some(json!({"tags": {"set": [{"label": "home"}]}})),
        )
        .await;
    assert_eq!(reset["tags"], json!([{"id": 1, "label": "home"}]));
    let (_, orphan) =
        server.admin("PATCH", &format!("/api/orders/{order_id}"), Some(json!({"user": {"disconnect": true}}))).await;
    assert_eq!(orphan["userId"], Json::Null);
});

on_every_backend!(bulk_and_batch, SHOP, |server| {
    let (status, created) = server
        .admin(
            "POST",
            "/api/users/bulk",
            Some(json!({"data": [{"email": "1@x"}, {"email": "2@x"}, {"email": "3@x", "karma": 9}]})),
        )
        .await;
    assert_eq!((status, created), (200, json!({"count": 3})));
    let (_, updated) = server
        .admin("PATCH", "/api/users/bulk", Some(json!({"where": {"karma": 0}, "data": {"karma": {"increment": 1}}})))
        .await;
    assert_eq!(updated, json!({"count": 2}));
    let (_, count) = server.get_with("/api/users/count", &[("where", json!({"karma": 1}))]).await;
    assert_eq!(count["count"], 2);
    let (status, _) = server.admin("DELETE", "/api/users/bulk", Some(json!({}))).await;
    assert_eq!(status, 400, "a bulk delete must say `where`");
    let (_, deleted) = server.admin("DELETE", "/api/users/bulk", Some(json!({"where": {"karma": 1}}))).await;
    assert_eq!(deleted, json!({"count": 2}));

    // All or nothing: the third operation fails, so the first two leave no trace.
    let (status, problem) = server
        .admin(
            "POST",
            "/api/$batch",
            Some(json!({"operations": [
                {"method": "POST", "path": "/api/users", "body": {"email": "batch@x"}},
                {"method": "POST", "path": "/api/tags", "body": {"label": "t"}},
                {"method": "POST", "path": "/api/users", "body": {"email": "3@x"}},
            ]})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().starts_with("operations[2]"), "{problem}");
    let (_, users) = server.admin("GET", "/api/users", None).await;
    assert_eq!(users["meta"]["total"], 1, "nothing of the failed batch was written");
    let (_, tags) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(tags["count"], 0);

    let (status, done) = server
        .admin(
            "POST",
            "/api/$batch",
            Some(json!({"operations": [
                {"method": "POST", "path": "/api/tags", "body": {"label": "t"}},
                {"method": "GET", "path": "/api/tags?where=%7B%22label%22%3A%22t%22%7D"},
                {"method": "PATCH", "path": "/api/users/bulk", "body": {"where": {}, "data": {"name": "n"}}},
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["results"][0]["status"], 201);
    assert_eq!(done["results"][1]["body"]["data"][0]["label"], "t");
    assert_eq!(done["results"][2]["body"]["count"], 1);
});

/// The `key` strings of a list of rows.
fn strings<'a>(rows: &'a Json, key: &str) -> Vec<&'a str> {
    rows.as_array().map(|r| r.iter().filter_map(|row| row[key].as_str()).collect()).unwrap_or_default()
}

/// `connectOrCreate` items naming rows by `key`, creating them with that value alone.
fn connect_or_create(key: &str, values: &[&str]) -> Json {
    values.iter().map(|v| json!({"where": {key: v}, "create": {key: v}})).collect()
}

on_every_backend!(connect_or_create_through_to_many_relations, SHOP, |server| {
    let include_tags = "?include=%7B%22tags%22%3Atrue%7D";
    server.admin("POST", "/api/tags", Some(json!({"label": "home"}))).await;
    // Many-to-many: `home` exists and is linked, `new` is created and linked.
    let tags = connect_or_create("label", &["home", "new"]);
    let lamp = json!({"name": "Lamp", "price": "10", "tags": {"connectOrCreate": tags}});
    let (status, lamp) = server.admin("POST", &format!("/api/products{include_tags}"), Some(lamp)).await;
    assert_eq!(status, 201, "{lamp}");
    assert_eq!(strings(&lamp["tags"], "label"), ["home", "new"], "{lamp}");
    let (_, tags) = server.admin("GET", "/api/tags/count", None).await;
    assert_eq!(tags["count"], 2, "`home` was not created again");
    // On update, a single object works as a list of one.
    let (status, lamp) = server
        .admin(
            "PATCH",
            &format!("/api/products/{}{include_tags}", lamp["id"].as_str().unwrap_or_default()),
            Some(json!({"tags": {"connectOrCreate": {"where": {"label": "third"}, "create": {"label": "third"}}}})),
        )
        .await;
    assert_eq!((status, lamp["tags"].as_array().map(Vec::len)), (200, Some(3)), "{lamp}");

    // One-to-many from the side without the foreign key: the existing order is moved to
    // Ann, the missing one created for her.
    server.admin("POST", "/api/orders", Some(json!({"number": "A-1"}))).await;
    let ann = json!({"email": "ann@example.com", "orders": {"connectOrCreate": connect_or_create("number", &["A-1", "A-2"])}});
    let (status, ann) = server.admin("POST", "/api/users?include=%7B%22orders%22%3Atrue%7D", Some(ann)).await;
    assert_eq!(status, 201, "{ann}");
    assert_eq!(strings(&ann["orders"], "number"), ["A-1", "A-2"], "{ann}");
});
