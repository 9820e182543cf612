//! `ssot migrate` and `ssot serve`, and what `ssot dev` shares with `serve`: the commands
//! that open a database.

use crate::{load_schema, Loaded};
use anyhow::{bail, Context};
use ssot_store::migrate::MigrateError;
use ssot_store::{DatabaseUrl, Store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub const DEFAULT_DATABASE: &str = "sqlite:ssot.db";

/// A line of the server's own story (start-up, migration, shutdown): plain text on stderr,
/// or a log event when logs are JSON (`SSOT_LOG_FORMAT=json`), so the stream stays JSON.
pub fn say(line: &str) {
    if std::env::var("SSOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing::info!(target: "ssot", "{line}");
    } else {
        eprintln!("{line}");
    }
}

/// The database URL: the flag, else `SSOT_DATABASE_URL`, else `sqlite:ssot.db`.
fn database_url(flag: Option<String>) -> anyhow::Result<DatabaseUrl> {
    let url = flag.or_else(|| std::env::var("SSOT_DATABASE_URL").ok()).unwrap_or_else(|| DEFAULT_DATABASE.to_string());
    Ok(DatabaseUrl::parse(&url)?)
}

fn workers(url: &DatabaseUrl) -> usize {
    match url {
        // Readers beside the one writer; WAL lets them all run at once.
        DatabaseUrl::Sqlite(_) => 4,
        DatabaseUrl::Postgres(_) => 8,
    }
}

pub fn migrate(
    schema: Option<PathBuf>,
    database: Option<String>,
    print: bool,
    accept_data_loss: bool,
) -> anyhow::Result<ExitCode> {
    let Some(Loaded { schema, .. }) = load_schema(schema)? else { return Ok(ExitCode::from(1)) };
    let url = database_url(database)?;
    let store = Store::open(url.clone(), &schema, 0)?;
    let plan = store.plan()?;
    if print {
        if plan.is_empty() {
            println!("-- the database {} matches the schema: nothing to do", url.redacted());
        } else {
            print!("{}", plan.sql());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if plan.is_empty() {
        println!("{}: already up to date", url.redacted());
        return Ok(ExitCode::SUCCESS);
    }
    if plan.existing_tables > 0 && plan.steps.is_empty() {
        println!(
            "{}: the tables match the schema (created by Prisma or an earlier run); adding the change log",
            url.redacted()
        );
    }
    let summary: Vec<String> = plan.steps.iter().map(|s| s.summary.clone()).collect();
    match store.apply(plan, accept_data_loss) {
        Ok(()) => {
            for line in &summary {
                println!("  {line}");
            }
            println!("{}: migrated ({} steps, change log current)", url.redacted(), summary.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(MigrateError::DataLoss(losses)) => {
            eprintln!("error: {}", MigrateError::DataLoss(losses));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// The flags `ssot serve` and `ssot dev` share.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The schema (default: ./schema.prisma, then ./prisma/schema.prisma).
    pub schema: Option<PathBuf>,
    /// sqlite:PATH or postgres://... (default: $SSOT_DATABASE_URL, then sqlite:ssot.db).
    #[arg(long)]
    pub database: Option<String>,
    /// Address to listen on (default: $SSOT_LISTEN, then 127.0.0.1:4000).
    #[arg(long)]
    pub listen: Option<String>,
    /// Bearer key that may do anything (default: $SSOT_ADMIN_KEY).
    #[arg(long)]
    pub admin_key: Option<String>,
    /// An origin browsers may call the API from, such as https://app.example.com
    /// (repeatable; `*` for any origin, then without credentials; default:
    /// $SSOT_CORS_ORIGINS, comma-separated; when unset, none for `serve` and any for `dev`).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    #[command(flatten)]
    pub tokens: TokenArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// What one request may cost, and how long a shutdown waits.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BudgetArgs {
    /// Milliseconds a request's database work may take before it is stopped with a 503
    /// (default: $SSOT_QUERY_TIMEOUT_MS, then 5000; 0: no limit).
    #[arg(long, value_name = "MS")]
    pub query_timeout: Option<u64>,
    /// How deep relation filters may nest in one request (default: $SSOT_MAX_RELATION_DEPTH, then 4).
    #[arg(long, value_name = "N")]
    pub max_relation_depth: Option<usize>,
    /// How many relation filters one request may hold (default: $SSOT_MAX_RELATION_FILTERS, then 16).
    #[arg(long, value_name = "N")]
    pub max_relation_filters: Option<usize>,
    /// Milliseconds a shutdown waits for requests in flight before stopping them
    /// (default: $SSOT_SHUTDOWN_GRACE_MS, then 10000).
    #[arg(long, value_name = "MS")]
    pub shutdown_grace: Option<u64>,
    /// WebSocket connections the server holds at once; more are refused with a 503
    /// (default: $SSOT_MAX_CONNECTIONS, then 15000; each takes a file descriptor).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Milliseconds a WebSocket connection may stay silent (no frame, no pong) before it
    /// is closed with 4408 (default: $SSOT_IDLE_TIMEOUT_MS, then 60000).
    #[arg(long, value_name = "MS")]
    pub idle_timeout: Option<u64>,
    /// MiB of memory for search answers, kept while the database does not change
    /// (default: $SSOT_SEARCH_CACHE_MB, then 64; 0: none).
    #[arg(long, value_name = "MIB")]
    pub search_cache_mb: Option<usize>,
}

impl BudgetArgs {
    /// The flag, else the environment variable, else `None`; a variable that is not a
    /// number is an error naming it.
    fn pick<T: std::str::FromStr>(flag: Option<T>, variable: &str) -> anyhow::Result<Option<T>> {
        if flag.is_some() {
            return Ok(flag);
        }
        match std::env::var(variable) {
            Ok(text) => match text.trim().parse() {
                Ok(value) => Ok(Some(value)),
                Err(_) => bail!("{variable} must be a whole number, not `{text}`"),
            },
            Err(_) => Ok(None),
        }
    }

    /// Sets the store's limits.
    fn limit(&self, store: &mut Store) -> anyhow::Result<()> {
        let defaults = ssot_store::query::args::QueryLimits::default();
        let limits = ssot_store::query::args::QueryLimits {
            relation_depth: Self::pick(self.max_relation_depth, "SSOT_MAX_RELATION_DEPTH")?
                .unwrap_or(defaults.relation_depth),
            relation_filters: Self::pick(self.max_relation_filters, "SSOT_MAX_RELATION_FILTERS")?
                .unwrap_or(defaults.relation_filters),
        };
        store.set_query_limits(limits);
        let timeout = match Self::pick(self.query_timeout, "SSOT_QUERY_TIMEOUT_MS")? {
            Some(0) => None,
            Some(ms) => Some(std::time::Duration::from_millis(ms)),
            None => Some(ssot_store::DEFAULT_QUERY_TIMEOUT),
        };
        store.set_query_timeout(timeout);
        Ok(())
    }

    /// The shutdown grace and the socket's settings.
    fn server(&self) -> anyhow::Result<(std::time::Duration, ssot_server::ws::WsSettings)> {
        let grace = Self::pick(self.shutdown_grace, "SSOT_SHUTDOWN_GRACE_MS")?
            .map_or(ssot_server::DEFAULT_SHUTDOWN_GRACE, std::time::Duration::from_millis);
        let mut ws = ssot_server::ws::WsSettings::default();
        if let Some(n) = Self::pick(self.max_connections, "SSOT_MAX_CONNECTIONS")? {
            ws.max_connections = n;
        }
        if let Some(ms) = Self::pick(self.idle_timeout, "SSOT_IDLE_TIMEOUT_MS")? {
            ws.idle_timeout = std::time::Duration::from_millis(ms.max(1));
            // Pings come often enough for a client that answers them never to be idle.
            ws.heartbeat = ws.heartbeat.min(ws.idle_timeout / 2).max(std::time::Duration::from_millis(1));
        }
        Ok((grace, ws))
    }
}

/// How access tokens are signed and verified.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenArgs {
    /// HS256 secret that signs ssot's tokens and verifies external ones (default:
    /// $SSOT_JWT_SECRET; on SQLite, generated once and kept beside the database file).
    #[arg(long)]
    pub jwt_secret: Option<String>,
    /// A JWKS file with an identity provider's public keys (RS256, ES256, EdDSA tokens).
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// The identity provider's issuer (`iss`), accepted besides `ssot`.
    #[arg(long)]
    pub jwt_issuer: Option<String>,
    /// The audience (`aud`) every token must name (default: ssot).
    #[arg(long)]
    pub jwt_audience: Option<String>,
}

/// The signing secret: given, from the environment, or (SQLite only) kept in a file
/// beside the database, created on first use with owner-only permissions.
fn jwt_secret(given: Option<String>, url: &DatabaseUrl, needed: bool) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(secret) = given.or_else(|| std::env::var("SSOT_JWT_SECRET").ok()).filter(|s| !s.is_empty()) {
        if secret.len() < 32 {
            bail!("the JWT secret must be at least 32 characters long");
        }
        return Ok(Some(secret.into_bytes()));
    }
    if !needed {
        return Ok(None);
    }
    let DatabaseUrl::Sqlite(path) = url else {
        bail!("the schema has `@@auth`: set SSOT_JWT_SECRET (or --jwt-secret) to a secret of at least 32 characters, the same on every instance");
    };
    let file = PathBuf::from(format!("{}.jwt-secret", path.display()));
    if let Ok(text) = std::fs::read_to_string(&file) {
        return Ok(Some(text.trim().as_bytes().to_vec()));
    }
    let secret = ssot_server::auth::tokens::generate_secret().map_err(anyhow::Error::msg)?;
    write_private(&file, &secret).with_context(|| format!("cannot write {}", file.display()))?;
    say(&format!("generated a JWT signing secret in {} (set SSOT_JWT_SECRET in production)", file.display()));
    Ok(Some(secret.into_bytes()))
}

fn write_private(file: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(text.as_bytes())
}

/// What `ssot serve` and `ssot dev` make of their flags and the environment, once: the
/// schema itself may change (under `ssot dev`), these do not.
pub struct Server {
    pub url: DatabaseUrl,
    pub listen: String,
    admin_key: Option<String>,
    cors_origins: Vec<String>,
    bus: Option<ssot_realtime::bus::BusSettings>,
    tokens: TokenArgs,
    jwks: Option<ssot_server::auth::tokens::JwkSet>,
    budget: BudgetArgs,
    log_poll: Option<std::time::Duration>,
    services: ssot_services::Settings,
}

impl Server {
    /// Reads the flags, falling back on the environment; `cors_default` is the origins
    /// allowed when neither names any.
    pub fn resolve(options: ServeArgs, bus: Option<String>, cors_default: &[&str]) -> anyhow::Result<Server> {
        let cors_origins = if !options.cors_origins.is_empty() {
            options.cors_origins
        } else if let Ok(list) = std::env::var("SSOT_CORS_ORIGINS") {
            list.split(',').map(str::to_string).collect()
        } else {
            cors_default.iter().map(|o| o.to_string()).collect()
        };
        let jwks = match &options.tokens.jwks {
            Some(file) => {
                let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
                Some(
                    ssot_server::auth::tokens::parse_jwks(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
                )
            }
            None => None,
        };
        Ok(Server {
            url: database_url(options.database)?,
            listen: options
                .listen
                .or_else(|| std::env::var("SSOT_LISTEN").ok())
                .unwrap_or_else(|| "127.0.0.1:4000".to_string()),
            admin_key: options.admin_key.or_else(|| std::env::var("SSOT_ADMIN_KEY").ok()),
            cors_origins,
            bus: bus_settings(bus)?,
            tokens: options.tokens,
            jwks,
            budget: options.budget,
            log_poll: BudgetArgs::pick::<u64>(None, "SSOT_LOG_POLL_MS")?
                .map(|ms| std::time::Duration::from_millis(ms.max(1))),
            services: services_settings()?,
        })
    }

    /// The store for `schema`, with the request budget applied (not migrated).
    pub fn open(&self, schema: &ssot_schema::ir::Schema) -> anyhow::Result<Store> {
        let mut store = Store::open(self.url.clone(), schema, workers(&self.url))?;
        self.budget.limit(&mut store)?;
        Ok(store)
    }

    /// The app serving `store` for `schema`, taking over from `previous` when given.
    pub fn app(
        &self,
        store: Arc<Store>,
        schema: &ssot_schema::ir::Schema,
        previous: Option<&ssot_server::App>,
    ) -> anyhow::Result<ssot_server::App> {
        let (shutdown_grace, ws) = self.budget.server()?;
        let settings = ssot_server::Settings {
            admin_key: self.admin_key.clone(),
            tokens: ssot_server::auth::TokenSettings {
                secret: jwt_secret(self.tokens.jwt_secret.clone(), &self.url, schema.auth_model().is_some())?,
                jwks: self.jwks.clone(),
                issuer: self.tokens.jwt_issuer.clone(),
                audience: self.tokens.jwt_audience.clone(),
            },
            limits: Default::default(),
            shutdown_grace: Some(shutdown_grace),
            cors_origins: self.cors_origins.clone(),
            ws: Some(ws),
            bus: self.bus.clone(),
            log_poll: self.log_poll,
            services: self.services,
            search_cache_bytes: BudgetArgs::pick(self.budget.search_cache_mb, "SSOT_SEARCH_CACHE_MB")?
                .map(|mb| mb.saturating_mul(1 << 20)),
        };
        Ok(match previous {
            Some(previous) => ssot_server::App::succeeding(previous, store, schema, settings)?,
            None => ssot_server::App::new(store, schema, settings)?,
        })
    }

    /// Says what the server serves and who may do what, as it starts.
    pub fn announce(&self, app: &ssot_server::App, path: &std::path::Path) {
        say(&format!("ssot serving {} on {} with {}", path.display(), self.url.redacted(), self.url.dialect().name()));
        say("access (per model and operation, the rules that open it; no rule means nobody):");
        for line in app.access.describe(&app.store.entities).lines() {
            say(line);
        }
        if let Some(bus) = &self.bus {
            say(&format!("sharing changes, broadcasts and presence with other instances over {}", bus.redacted()));
        }
        if let Some(services) = &app.services {
            say(&format!("delivering changes to: {}", services.names().collect::<Vec<_>>().join(", ")));
        }
        if app.cors.enabled() {
            say(&format!("browsers may call the API from: {}", app.cors));
        }
    }
}

pub fn serve(options: ServeArgs, bus: Option<String>) -> anyhow::Result<ExitCode> {
    let Some(Loaded { schema, path }) = load_schema(options.schema.clone())? else { return Ok(ExitCode::from(1)) };
    let server = Server::resolve(options, bus, &[])?;
    let url = &server.url;
    let store = server.open(&schema)?;
    let plan = store.plan()?;
    if !plan.is_empty() {
        match url {
            DatabaseUrl::Sqlite(_) if plan.data_loss().is_empty() => {
                let steps = plan.steps.len();
                store.apply(plan, false)?;
                say(&format!("migrated {} ({steps} steps)", url.redacted()));
            }
            DatabaseUrl::Sqlite(_) => bail!(
                "the database {} does not match the schema, and bringing it there loses data:\n  - {}\nrun `ssot migrate {} --database {} --accept-data-loss` to apply it",
                url.redacted(),
                plan.data_loss().join("\n  - "),
                path.display(),
                url.redacted()
            ),
            DatabaseUrl::Postgres(_) => bail!(
                "the database {} does not match the schema ({} steps to go); run `ssot migrate {} --database <the same URL>` first (add --print to see the SQL)",
                url.redacted(),
                plan.steps.len() + usize::from(!plan.changelog.is_empty()),
                path.display()
            ),
        }
    }
    let app = Arc::new(server.app(Arc::new(store), &schema, None)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = bind(&server.listen).await?;
        let address = listener.local_addr()?;
        server.announce(&app, &path);
        let shutdown = shutdown_signal();
        say(&format!("listening on http://{address}"));
        ssot_server::serve(listener, app, shutdown).await?;
        say("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))
}

/// How the services' deliveries are paced: `SSOT_SERVICES_BACKOFF_MS` (the first retry's
/// ceiling; tests make it small), `SSOT_SERVICES_BACKOFF_CAP_MS`, `SSOT_SERVICES_LEASE_MS`,
/// `SSOT_SERVICES_CONCURRENCY`.
fn services_settings() -> anyhow::Result<ssot_services::Settings> {
    let mut settings = ssot_services::Settings::default();
    let ms = |name: &str| -> anyhow::Result<Option<std::time::Duration>> {
        Ok(BudgetArgs::pick::<u64>(None, name)?.map(std::time::Duration::from_millis))
    };
    if let Some(base) = ms("SSOT_SERVICES_BACKOFF_MS")? {
        settings.backoff_base = base;
    }
    if let Some(cap) = ms("SSOT_SERVICES_BACKOFF_CAP_MS")? {
        settings.backoff_cap = cap;
    }
    if let Some(lease) = ms("SSOT_SERVICES_LEASE_MS")? {
        settings.lease = lease.max(std::time::Duration::from_millis(300));
    }
    if let Some(n) = BudgetArgs::pick::<usize>(None, "SSOT_SERVICES_CONCURRENCY")? {
        settings.concurrency = n.max(1);
    }
    if let Some(poll) = ms("SSOT_LOG_POLL_MS")? {
        settings.poll = poll.max(std::time::Duration::from_millis(1));
    }
    Ok(settings)
}

/// The bus: `--bus`, else `SSOT_BUS`, else none; its heartbeat from
/// `SSOT_BUS_HEARTBEAT_MS` (for tests and networks that need another pace).
fn bus_settings(flag: Option<String>) -> anyhow::Result<Option<ssot_realtime::bus::BusSettings>> {
    let Some(url) = flag.or_else(|| std::env::var("SSOT_BUS").ok()).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let mut settings = ssot_realtime::bus::BusSettings::parse(&url)?;
    if let Some(ms) = BudgetArgs::pick::<u64>(None, "SSOT_BUS_HEARTBEAT_MS")? {
        settings.heartbeat = std::time::Duration::from_millis(ms.max(10));
    }
    Ok(Some(settings))
}

/// Resolves on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called
/// (not when first polled), so a signal sent once the server says it listens is never
/// the default "terminate now".
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        say("shutting down: finishing requests in flight");
    }
}
