//! `ssot-services`: `@@service` at run time. The change log is the outbox: each service
//! follows it from a durable cursor (`_ssot_cursors`), delivers the events it wants as
//! Standard Webhooks (signed, retried with backoff, dead-lettered into
//! `_ssot_service_dead` after its retries), and moves its cursor only past what is
//! finished. One instance delivers per service (a lease in the cursor's row). The server
//! starts [`Services::run`] under its graceful shutdown and serves the admin endpoints
//! and metrics from [`Services`].
//!
//! Modules: `config` (annotations → runnable services, the environment read once),
//! `event` (a log record → an event and its payload), `worker` (the delivery loop and
//! lanes), `http` (the client and one signed POST), `sign` (Standard Webhooks signatures),
//! `tables` (the hidden tables' SQL), `admin` (status, dead letters, replay), `actions`
//! (forwarding a call to a service's action, the caller's identity signed).

pub mod actions;
mod admin;
pub mod config;
pub mod event;
pub mod http;
pub mod sign;
pub mod tables;
mod worker;

pub use admin::{DeadLetter, Replayed, ServiceStatus};

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("service `{service}`: the environment variable {variable} is not set")]
    MissingEnv { service: String, variable: String },
    #[error("service `{service}`: its url is not an http:// or https:// URL with a host")]
    BadUrl { service: String },
    #[error("service `{service}`: the secret in {variable} is empty or not valid whsec_ base64")]
    BadSecret { service: String, variable: String },
    #[error("service `{service}`: the value of header `{header}` is not a valid header value")]
    BadHeader { service: String, header: String },
    #[error("service `{service}`: a rule does not compile (run `ssot check`)")]
    Rule { service: String },
    #[error("service `{service}` is on `{model}`, which the API does not serve")]
    NotServed { service: String, model: String },
    #[error("no service `{0}`")]
    Unknown(String),
    #[error("the HTTPS client could not be set up: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Store(#[from] ssot_store::StoreError),
}

/// How deliveries are paced (the services' own settings are in the schema).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Backoff before retry `n` is a random time up to `min(cap, base · 2^(n-1))` (full jitter).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long a lease lasts without renewal: how long a crashed instance's services wait
    /// before another instance (or its restart) takes them over.
    pub lease: Duration,
    /// Requests in flight at most, over all services.
    pub concurrency: usize,
    /// How often the log is looked at when nothing said it grew.
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(300),
            lease: Duration::from_secs(15),
            concurrency: 32,
            poll: Duration::from_secs(1),
        }
    }
}

impl Settings {
    /// The wait before retry `attempt` (1 for the first retry).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20)).min(self.backoff_cap);
        let mut bytes = [0u8; 8];
        // Without randomness the wait is the ceiling: slower, never wrong.
        let fraction = match getrandom::fill(&mut bytes) {
            Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 1.0,
        };
        ceiling.mul_f64(fraction)
    }
}

/// A service running: its compiled settings and its counters (this instance's).
pub(crate) struct Running {
    pub(crate) index: usize,
    pub(crate) service: config::Service,
    pub(crate) delivered: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dead: AtomicU64,
    /// The cursor as last saved here, and the newest `seq` seen.
    pub(crate) cursor: AtomicI64,
    pub(crate) head: AtomicI64,
    /// Whether this instance holds the lease.
    pub(crate) leased: AtomicBool,
    /// Set when its endpoint answered 410 Gone: the delivery loop stops.
    pub(crate) gone: AtomicBool,
}

pub(crate) struct Shared {
    pub(crate) store: Arc<ssot_store::Store>,
    pub(crate) running: Vec<Running>,
    pub(crate) settings: Settings,
    pub(crate) client: http::Client,
    pub(crate) concurrency: tokio::sync::Semaphore,
    /// This instance's name in the leases.
    pub(crate) holder: String,
}

/// The schema's services, ready to run.
pub struct Services {
    shared: Arc<Shared>,
}

impl Services {
    /// The services of `schema` with their environment read now; `None` when it has none.
    pub fn new(
        store: Arc<ssot_store::Store>,
        schema: &ssot_schema::ir::Schema,
        policies: &ssot_policy::rules::Policies,
        settings: Settings,
    ) -> Result<Option<Services>, ServiceError> {
        let compiled = config::compile(schema, &store.entities, policies, &|var| std::env::var(var).ok())?;
        if compiled.is_empty() {
            return Ok(None);
        }
        let running = compiled
            .into_iter()
            .enumerate()
            .map(|(index, service)| Running {
                index,
                service,
                delivered: AtomicU64::new(0),
                retried: AtomicU64::new(0),
                dead: AtomicU64::new(0),
                cursor: AtomicI64::new(0),
                head: AtomicI64::new(0),
                leased: AtomicBool::new(false),
                gone: AtomicBool::new(false),
            })
            .collect();
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let holder = format!("{}-{:016x}", std::process::id(), u64::from_le_bytes(id));
        Ok(Some(Services {
            shared: Arc::new(Shared {
                store,
                running,
                settings,
                client: http::client()?,
                concurrency: tokio::sync::Semaphore::new(settings.concurrency.max(1)),
                holder,
            }),
        }))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.shared.running.iter().map(|r| r.service.name.as_str())
    }

    /// Creates the hidden tables and every service's cursor (at the log's newest `seq` the
    /// first time), and from then on keeps the log's retention from pruning undelivered
    /// entries. Run once at start, before [`Services::run`].
    pub async fn prepare(&self) -> Result<(), ServiceError> {
        let names: Vec<String> = self.names().map(str::to_string).collect();
        // Two instances starting together on PostgreSQL may race on CREATE TABLE IF NOT
        // EXISTS; the loser finds the table there when it tries again.
        let mut attempt = 0;
        loop {
            let names = names.clone();
            let result = self
                .shared
                .store
                .write(move |conn, _| {
                    tables::create(conn)?;
                    names.iter().try_for_each(|n| tables::ensure(conn, n))?;
                    tables::forget_others(conn, &names, ssot_store::time::now())
                })
                .await;
            match result {
                Ok(forgotten) => {
                    for name in forgotten {
                        tracing::info!(service = %name, "services: the schema no longer has this service; its cursor is gone, so the change log is pruned past it (its dead letters stay)");
                    }
                    break;
                }
                Err(e) if attempt < 3 => {
                    attempt += 1;
                    tracing::debug!(error = %e, "services: creating the tables failed; trying again");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.shared.store.keep_undelivered();
        Ok(())
    }

    /// Delivers until `closing` turns true (every service in a task of its own).
    pub async fn run(&self, closing: tokio::sync::watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..self.shared.running.len() {
            tasks.spawn(worker::run(Arc::clone(&self.shared), index, closing.clone()));
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Prometheus text: per service, delivered, retried and dead counters and the lag.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        use std::sync::atomic::Ordering::Relaxed;
        type Series = (&'static str, &'static str, &'static str, fn(&Running) -> i64);
        let series: [Series; 4] = [
            ("ssot_service_delivered_total", "counter", "Events a service accepted.", |r| {
                r.delivered.load(Relaxed) as i64
            }),
            ("ssot_service_retried_total", "counter", "Deliveries tried again.", |r| r.retried.load(Relaxed) as i64),
            ("ssot_service_dead_total", "counter", "Events dead-lettered.", |r| r.dead.load(Relaxed) as i64),
            ("ssot_service_lag_seq", "gauge", "Change-log entries after the service's cursor.", |r| {
                (r.head.load(Relaxed) - r.cursor.load(Relaxed)).max(0)
            }),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for running in &self.shared.running {
                let _ = writeln!(out, "{name}{{service=\"{}\"}} {}", running.service.name, value(running));
            }
        }
    }
}
