//! A real server on a real socket for the integration tests: a fresh SQLite file, or a
//! fresh PostgreSQL database (created from `SSOT_TEST_DATABASE_URL` and dropped after),
//! migrated by ssot, served by ssot-server on 127.0.0.1, talked to over HTTP.
#![allow(dead_code)]

pub mod json_schema;
pub mod live;
pub mod ws;

use serde_json::Value as Json;
use ssot_store::conn::{Conn, PgConn, SqliteConn};
use ssot_store::{DatabaseUrl, Store};
use std::sync::Arc;

pub const ADMIN_KEY: &str = "test-admin-key";
/// The JWT signing secret of test servers (tests forge tokens with it and with others).
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<Store>,
    pub url: DatabaseUrl,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    database: Option<TestDatabase>,
}

pub use ssot_testkit::TestDatabase;

/// The schema text for `backend` (fixtures are written for SQLite).
pub fn for_backend(schema: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => schema.to_string(),
        Backend::Postgres => schema.replacen("\"sqlite\"", "\"postgresql\"", 1),
    }
}

/// A plain connection to the database at `url`, as another program would open it.
pub fn connect(url: &DatabaseUrl) -> Box<dyn Conn> {
    match url {
        DatabaseUrl::Sqlite(path) => Box::new(SqliteConn::open(path, false).expect("open sqlite")),
        DatabaseUrl::Postgres(url) => Box::new(PgConn::connect(url).expect("connect")),
    }
}

/// Migrates the database at `url` to `schema` (written for SQLite, as the fixtures are);
/// the summaries of the steps it took. A second plan must be empty.
pub fn migrate(url: &DatabaseUrl, schema: &str) -> Vec<String> {
    let backend = if matches!(url, DatabaseUrl::Sqlite(_)) { Backend::Sqlite } else { Backend::Postgres };
    let schema = check(&for_backend(schema, backend));
    let store = Store::open(url.clone(), &schema, 1).expect("open");
    let plan = store.plan().expect("plan");
    let steps = plan.steps.iter().map(|s| s.summary.clone()).collect();
    store.apply(plan, false).expect("apply");
    assert!(store.plan().expect("plan again").steps.is_empty(), "a second migrate plans nothing");
    store.shutdown();
    steps
}

pub fn check(schema: &str) -> ssot_schema::ir::Schema {
    let checked = ssot_schema::check(schema);
    assert!(!checked.has_errors(), "fixture schema has errors: {:?}", checked.diagnostics);
    checked.schema
}

impl TestServer {
    /// Migrates a fresh database for `schema` and serves it; `None` when the backend is
    /// not available here (PostgreSQL without `SSOT_TEST_DATABASE_URL`).
    pub async fn start(schema: &str, backend: Backend, test: &str) -> Option<TestServer> {
        let tokens =
            ssot_server::auth::TokenSettings { secret: Some(JWT_SECRET.as_bytes().to_vec()), ..Default::default() };
        Self::start_with(schema, backend, test, tokens).await
    }

    /// [`TestServer::start`] with these token settings.
    pub async fn start_with(
        schema: &str,
        backend: Backend,
        test: &str,
        tokens: ssot_server::auth::TokenSettings,
    ) -> Option<TestServer> {
        let settings = ssot_server::Settings { admin_key: Some(ADMIN_KEY.to_string()), tokens, ..Default::default() };
        Self::start_configured(schema, backend, test, settings).await
    }

    /// [`TestServer::start`] with these settings (CORS origins, admin key, tokens, ...).
    pub async fn start_configured(
        schema: &str,
        backend: Backend,
        test: &str,
        settings: ssot_server::Settings,
    ) -> Option<TestServer> {
        // Server logs (database errors among them) show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, database) = match backend {
            Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("test.db")), None),
            Backend::Postgres => {
                let database = TestDatabase::create(test)?;
                (DatabaseUrl::Postgres(database.url.clone()), Some(database))
            }
        };
        let schema = check(&for_backend(schema, backend));
        let store = tokio::task::block_in_place(|| -> Arc<Store> {
            let store = Store::open(url.clone(), &schema, 2).expect("open store");
            let plan = store.plan().expect("plan");
            store.apply(plan, false).expect("migrate");
            Arc::new(store)
        });
        let app = Arc::new(ssot_server::App::new(Arc::clone(&store), &schema, settings).expect("app"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = ssot_server::serve(listener, app, async {
                let _ = rx.await;
            })
            .await;
        });
        Some(TestServer {
            base,
            client: reqwest::Client::new(),
            store,
            url,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
            database,
        })
    }

    /// Runs `f` on a plain connection to the same database, as another program would
    /// (on a thread of its own: the PostgreSQL client cannot block inside async code).
    pub fn raw<T: Send>(&self, f: impl FnOnce(&mut dyn Conn) -> T + Send) -> T {
        let url = self.url.clone();
        std::thread::scope(|scope| {
            scope.spawn(move || f(connect(&url).as_mut())).join().expect("raw connection thread")
        })
    }

    pub fn backend(&self) -> Backend {
        match self.url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A second `ssot serve` on the same database (with the same settings as
    /// [`TestServer::start`]): what several instances behind a load balancer are.
    pub async fn another_instance(&self, schema: &str) -> Instance {
        let schema = check(&for_backend(schema, self.backend()));
        let url = self.url.clone();
        let store = tokio::task::block_in_place(|| Arc::new(Store::open(url, &schema, 2).expect("open store")));
        let tokens =
            ssot_server::auth::TokenSettings { secret: Some(JWT_SECRET.as_bytes().to_vec()), ..Default::default() };
        let settings = ssot_server::Settings { admin_key: Some(ADMIN_KEY.to_string()), tokens, ..Default::default() };
        let app = Arc::new(ssot_server::App::new(store, &schema, settings).expect("app"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = ssot_server::serve(listener, app, async move {
                let _ = stopped.await;
            })
            .await;
            if let Err(e) = served {
                eprintln!("the second instance stopped: {e}");
            }
        });
        Instance { base, stop: Some(stop), task: Some(task) }
    }

    /// Tells the server to shut down, without waiting for it to end.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// An admin request; returns the status and the JSON body (or the text as a string).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Json>) -> (u16, Json) {
        self.request(method, path, body, Some(ADMIN_KEY)).await
    }

    /// Sends a request as is: the status, the `Content-Type` and the body's text.
    pub async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Json>,
        key: Option<&str>,
    ) -> (u16, String, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, content_type, response.text().await.expect("body"))
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<Json>, key: Option<&str>) -> (u16, Json) {
        let (status, content_type, text) = self.exchange(method, path, body, key).await;
        let is_problem = content_type.starts_with("application/problem+json");
        if status >= 400 {
            assert!(is_problem, "error {status} without problem+json: {text}");
        }
        assert_ne!(status, 500, "server error: {text}");
        let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        (status, json)
    }

    /// `GET path?key=<json>&...` with the values URL-encoded.
    pub async fn get_with(&self, path: &str, params: &[(&str, Json)]) -> (u16, Json) {
        let query: Vec<String> =
            params.iter().map(|(k, v)| format!("{k}={}", percent_encode(&v.to_string()))).collect();
        self.admin("GET", &format!("{path}?{}", query.join("&")), None).await
    }
}

pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Runs a test body on every backend available here.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, $schema:expr, |$server:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in common::BACKENDS {
                let Some($server) = common::TestServer::start($schema, backend, stringify!($name)).await else { continue };
                $body
                $server.stop().await;
            }
        }
    };
}

/// A user signed up through `/api/auth/signup`: their access token and id.
pub struct User {
    pub token: String,
    pub id: String,
    pub refresh: Option<String>,
    /// The session the sign-up opened.
    pub session: String,
}

impl TestServer {
    pub async fn signup(&self, email: &str) -> User {
        let (status, body) = self
            .request(
                "POST",
                "/api/auth/signup",
                Some(serde_json::json!({"email": email, "password": "correct horse"})),
                None,
            )
            .await;
        assert_eq!(status, 201, "signup {email}: {body}");
        User {
            token: body["accessToken"].as_str().expect("accessToken").to_string(),
            id: body["user"]["id"].as_str().expect("user id").to_string(),
            refresh: body["refreshToken"].as_str().map(String::from),
            session: body["sessionId"].as_str().expect("sessionId").to_string(),
        }
    }
}

/// Runs the futures concurrently on this task; their outputs, in order.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, result) in pinned.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *result = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Another instance of a [`TestServer`] (see [`TestServer::another_instance`]).
pub struct Instance {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Instance {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
