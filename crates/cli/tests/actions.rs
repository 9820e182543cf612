//! `@@service` actions end to end: `ssot serve` forwarding `POST /api/actions/{name}` (and
//! the socket's `$action`) to a real receiver on 127.0.0.1, which verifies the signature
//! over the caller's identity and the body. Rules decide who may call (401 anonymous, 403
//! a user the rule refuses, the admin key always); the service's timeout is 504
//! `action_timeout`, its 4xx problem passes through, its 5xx is 502 `action_failed`.

mod receiver;
mod serving;

use receiver::{Behaviour, Receiver, SECRET};
use serde_json::{json, Value as Json};
use serving::socket::Client;
use serving::Serving;
use std::time::Duration;

const SCHEMA: &str = r#"
datasource db {
  provider = "sqlite"
  url      = env("DATABASE_URL")
}

/// @@auth("JWT")
/// @@policy("read", rule: "auth.id == id")
model User {
  id       String @id @default(uuid())
  email    String @unique
  password String
  role     String @default("user")
}

/// @@policy("all", rule: "true")
/// @@service("webhook", name: "crm", url: env("CRM_URL"), secret: env("CRM_SECRET"), events: ["created"], timeout: "500ms", actions: { invite: "auth != null", purge: "auth.role == \"admin\"" })
model Lead {
  id   Int    @id @default(autoincrement())
  name String
}
"#;

async fn call(address: &str, path: &str, token: Option<&str>, body: Option<Json>) -> (u16, String, Json) {
    let client = reqwest::Client::new();
    let mut request = client.post(format!("http://{address}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = response.text().await.expect("body");
    (status, content_type, serde_json::from_str(&text).unwrap_or(Json::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn actions_are_called_by_rule_signed_and_answered() {
    let answer = Some((200, "application/json", r#"{"invited": true}"#.to_string()));
    let crm = Receiver::start(3, Behaviour { action: answer.clone(), ..Behaviour::default() }).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("schema.prisma");
    std::fs::write(&schema, SCHEMA).expect("schema");
    let database = format!("sqlite:{}", dir.path().join("app.db").display());
    let url = crm.base_url();
    let server = Serving::start(
        schema.to_str().unwrap_or_default(),
        &["--database", &database, "--listen", "127.0.0.1:0", "--admin-key", "key"],
        &[("CRM_URL", url.as_str()), ("CRM_SECRET", SECRET)],
    );
    let address = server.address();

    // Fail-closed: anonymous 401, a user the rule refuses 403, an unknown action 404.
    let (status, content_type, problem) = call(&address, "/api/actions/invite", None, Some(json!({}))).await;
    assert_eq!((status, content_type.as_str()), (401, "application/problem+json"), "{problem}");
    let (_, _, session) = call(
        &address,
        "/api/auth/signup",
        None,
        Some(json!({"email": "ada@example.com", "password": "correct horse battery"})),
    )
    .await;
    let token = session["accessToken"].as_str().expect("token").to_string();
    let user_id = session["user"]["id"].clone();
    let (status, _, _) = call(&address, "/api/actions/purge", Some(&token), Some(json!({}))).await;
    assert_eq!(status, 403);
    let (status, _, _) = call(&address, "/api/actions/nope", Some("key"), Some(json!({}))).await;
    assert_eq!(status, 404);
    assert!(crm.received().is_empty(), "a refused call reached the service");

    // Allowed: forwarded with the caller's identity, signed; the service's answer returned.
    let body = json!({"email": "bob@example.com"});
    let (status, _, answered) = call(&address, "/api/actions/invite", Some(&token), Some(body.clone())).await;
    assert_eq!((status, answered.clone()), (200, json!({"invited": true})));
    let got = crm.received();
    let request = got.last().expect("forwarded");
    assert_eq!(request.path, "/actions/invite");
    let caller = request.header("ssot-caller").expect("ssot-caller").to_string();
    let identity: Json = serde_json::from_str(&caller).expect("identity");
    assert_eq!(identity["id"], user_id);
    assert!(identity.get("password").is_none() && identity.get("exp").is_none(), "{identity}");
    assert_eq!(serde_json::from_str::<Json>(&request.body).expect("body"), body);
    assert!(
        receiver::verify(SECRET, request, &format!("{caller}.{}", request.body)),
        "signature over identity and body"
    );
    assert!(!receiver::verify(SECRET, request, &request.body), "the identity must be covered");
    let (status, _, _) = call(&address, "/api/actions/purge", Some("key"), None).await;
    assert_eq!(status, 200, "the admin key may call any action");

    // The socket's request reaches the same handler.
    let mut socket = Client::connect(&address, &token).await;
    for (id, name) in [(1, "invite"), (2, "purge")] {
        socket.send(json!({"type": "request", "id": id, "action": "$action", "name": name, "data": {"x": 1}})).await;
    }
    let mut answers = std::collections::BTreeMap::new();
    while answers.len() < 2 {
        let message =
            socket.wait_for(Duration::from_secs(5), |m| m["type"] == "response").await.expect("an answer in time");
        answers.insert(message["id"].as_i64().unwrap_or(0), message);
    }
    assert_eq!((answers[&1]["status"].clone(), answers[&1]["body"].clone()), (json!(200), json!({"invited": true})));
    assert_eq!(answers[&2]["status"], 403, "{}", answers[&2]);

    // The service's failures, as ours.
    crm.set(Behaviour {
        action: answer.clone(),
        slow: 1.0,
        slow_for: Duration::from_millis(1500),
        ..Behaviour::default()
    });
    let (status, _, problem) = call(&address, "/api/actions/invite", Some(&token), Some(json!({}))).await;
    assert_eq!((status, problem["code"].as_str()), (504, Some("action_timeout")), "{problem}");
    let refusal = json!({"type": "about:blank", "title": "Unprocessable", "status": 422, "detail": "bad email"});
    crm.set(Behaviour { action: Some((422, "application/problem+json", refusal.to_string())), ..Behaviour::default() });
    let (status, content_type, problem) = call(&address, "/api/actions/invite", Some(&token), Some(json!({}))).await;
    assert_eq!(
        (status, content_type.as_str(), problem["detail"].as_str()),
        (422, "application/problem+json", Some("bad email"))
    );
    crm.set(Behaviour { action: Some((500, "text/plain", "boom".into())), ..Behaviour::default() });
    let (status, _, problem) = call(&address, "/api/actions/invite", Some(&token), Some(json!({}))).await;
    assert_eq!((status, problem["code"].as_str()), (502, Some("action_failed")), "{problem}");
    assert!(!problem.to_string().contains("boom"), "the service's text stays out: {problem}");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}
