//! The application state every transport shares: the store, who may do what, users and
//! tokens, metrics, and the documents rendered once at start.

use crate::access::Access;
use crate::{auth, cors, index, metrics};
use ssot_store::Store;
use std::sync::Arc;

/// The largest request body accepted (1 MiB): larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub struct App {
    pub store: Arc<Store>,
    pub access: Access,
    /// Users, when a model has `@@auth`.
    pub auth: Option<auth::Auth>,
    /// Shared with the apps that take over from this one ([`App::succeeding`]).
    pub metrics: Arc<metrics::Metrics>,
    pub max_body_bytes: usize,
    /// How long a shutdown waits for requests in flight before it stops them.
    pub shutdown_grace: std::time::Duration,
    /// The OpenAPI document, rendered once.
    pub(crate) openapi: String,
    /// The index at `/` and `/api`, rendered once.
    pub(crate) index: String,
    pub cors: cors::Cors,
    /// The socket's limits and timers.
    pub ws: crate::ws::WsSettings,
    /// Set when the server shuts down: open sockets are closed (1001).
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Where the sockets' connections run ([`crate::ws::runtime`]).
    pub(crate) sockets: Arc<crate::ws::runtime::SocketRuntime>,
    /// The app that took over from this one (`ssot dev` swapped the schema): its open
    /// sockets move to it, keeping their connections ([`crate::ws`]).
    pub(crate) successor: tokio::sync::watch::Sender<Option<Arc<App>>>,
    /// Live queries: every socket's subscriptions, kept current from the change log.
    pub hub: Arc<ssot_realtime::Hub>,
    /// The bus to the other instances on this database, when there is one.
    pub bus: Option<ssot_realtime::bus::BusSettings>,
    /// How often live queries look at the change log when nothing told them it grew.
    pub log_poll: std::time::Duration,
    /// `@@service`s: webhooks delivered from the change log, when the schema has any.
    pub services: Option<Arc<ssot_services::Services>>,
    /// Search answers kept while the database does not change; `None`: off.
    pub(crate) search_cache: Option<crate::search_cache::SearchCache>,
}

/// How long a shutdown waits for the requests in flight when not told otherwise: longer
/// than a request's default time budget, so every one of them can end by itself.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How often live queries look at the change log when nothing told them it grew: a
/// writer ssot cannot hear (another program on SQLite) is seen within this.
pub const DEFAULT_LOG_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// How a server authenticates callers.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub admin_key: Option<String>,
    pub tokens: auth::TokenSettings,
    pub limits: auth::limits::LimitSettings,
    /// See [`App::shutdown_grace`]; `None`: [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Option<std::time::Duration>,
    /// The origins browsers may call the API from (`*` for any); none by default.
    pub cors_origins: Vec<String>,
    /// The socket's limits and timers (defaults: [`crate::ws::WsSettings::default`]).
    pub ws: Option<crate::ws::WsSettings>,
    /// `--bus`: change notices, broadcasts and presence shared with other instances.
    pub bus: Option<ssot_realtime::bus::BusSettings>,
    /// See [`App::log_poll`]; `None`: [`DEFAULT_LOG_POLL`].
    pub log_poll: Option<std::time::Duration>,
    /// How the services' deliveries are paced (backoff, lease, concurrency).
    pub services: ssot_services::Settings,
    /// Memory for search answers ([`crate::search_cache`]); `None`: 64 MiB; `Some(0)`: off.
    pub search_cache_bytes: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Policies(#[from] ssot_access::CompileError),
    #[error("`@@auth` on `{0}` needs a signing secret: set SSOT_JWT_SECRET (or --jwt-secret)")]
    NoSecret(String),
    #[error(transparent)]
    Cors(#[from] cors::CorsError),
    #[error(transparent)]
    Services(#[from] ssot_services::ServiceError),
    #[error("cannot start the sockets' worker threads: {0}")]
    Threads(#[from] std::io::Error),
}

/// What a server keeps across the apps it serves one after the other: its shutdown
/// signal, the sockets' runtime and the metrics.
struct Lasting {
    closing: tokio::sync::watch::Sender<bool>,
    sockets: Arc<crate::ws::runtime::SocketRuntime>,
    metrics: Arc<metrics::Metrics>,
}

impl App {
    pub fn new(store: Arc<Store>, schema: &ssot_schema::ir::Schema, settings: Settings) -> Result<App, AppError> {
        let lasting = Lasting {
            closing: tokio::sync::watch::Sender::new(false),
            sockets: Arc::new(crate::ws::runtime::SocketRuntime::new()?),
            metrics: Arc::default(),
        };
        App::build(store, schema, settings, lasting)
    }

    /// An app for a new version of the schema, to take over from `previous` in the same
    /// server ([`crate::serve::Swapper`]): the same shutdown signal, sockets' runtime and
    /// metrics, so that the sockets it takes over go on as they were.
    pub fn succeeding(
        previous: &App,
        store: Arc<Store>,
        schema: &ssot_schema::ir::Schema,
        settings: Settings,
    ) -> Result<App, AppError> {
        let lasting = Lasting {
            closing: previous.closing.clone(),
            sockets: Arc::clone(&previous.sockets),
            metrics: Arc::clone(&previous.metrics),
        };
        App::build(store, schema, settings, lasting)
    }

    fn build(
        store: Arc<Store>,
        schema: &ssot_schema::ir::Schema,
        settings: Settings,
        lasting: Lasting,
    ) -> Result<App, AppError> {
        let policies = ssot_access::Policies::compile(schema, &store.entities)?;
        let auth_annotation =
            schema.auth_model().and_then(|m| m.annotations.auth.clone().map(|a| (m.name.to_string(), a)));
        let auth = match &auth_annotation {
            Some((_, a)) => auth::Auth::new(&policies, &store.entities, a.refresh, settings.limits),
            None => None,
        };
        if let (Some((name, _)), None) = (&auth_annotation, &settings.tokens.secret) {
            return Err(AppError::NoSecret(name.clone()));
        }
        let expiry = auth_annotation.as_ref().map_or(15 * 60, |(_, a)| a.expiry_seconds);
        let tokens = (settings.tokens.secret.is_some() || settings.tokens.jwks.is_some())
            .then(|| auth::Tokens::new(settings.tokens.clone(), expiry));
        // What `ssot generate --target openapi` writes, byte for byte.
        let openapi = ssot_codegen::openapi::text(&store.entities, &policies);
        let realtime = ssot_realtime::Realtime::compile(schema, &store.entities);
        let index = index::document(&store.entities, policies.auth.as_ref().filter(|_| auth.is_some())).to_string();
        let cors = cors::Cors::new(&settings.cors_origins)?;
        let access = Access::new(settings.admin_key, policies, tokens);
        let services = ssot_services::Services::new(Arc::clone(&store), schema, &access.policies, settings.services)?
            .map(Arc::new);
        let hub = ssot_realtime::Hub::new(Arc::clone(&store), Arc::clone(&access.policies), realtime);
        // A rule reading `now()` changes its answer without a write: nothing can be kept then.
        let timeless = (0..store.entities.entities.len()).all(|model| !access.policies.reads_now(model));
        let search_cache = crate::search_cache::SearchCache::new(
            settings.search_cache_bytes.unwrap_or(crate::search_cache::DEFAULT_BYTES) * usize::from(timeless),
        );
        Ok(App {
            store,
            access,
            auth,
            metrics: lasting.metrics,
            max_body_bytes: MAX_BODY_BYTES,
            shutdown_grace: settings.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
            openapi,
            index,
            cors,
            ws: settings.ws.unwrap_or_default(),
            closing: lasting.closing,
            sockets: lasting.sockets,
            successor: tokio::sync::watch::Sender::new(None),
            hub,
            bus: settings.bus,
            log_poll: settings.log_poll.unwrap_or(DEFAULT_LOG_POLL),
            services,
            search_cache,
        })
    }
}
