//! The one guarded path every transport takes to the data: who the caller is (from a
//! bearer token, wherever it came from), whether any rule opens the operation to them,
//! and the operation run on a database worker under their guard, answered with the
//! change-log position a write committed at.
//!
//! REST ([`crate::rest`]), `$batch` ([`crate::batch`]) and the socket's RPC
//! ([`crate::ws`]) are adapters over these functions: they differ in how a request is
//! written down, never in what it may do.

use crate::auth;
use crate::problem::Problem;
use crate::search_cache::{self, SearchCache};
use crate::App;
use serde_json::Value as Json;
use ssot_access::operation::{self, Action, Operation, Outcome, Request};
use ssot_access::{Caller, KnownRows};
use ssot_store::conn::Conn;
use ssot_store::entity::Entities;
use ssot_store::StoreError;
use std::sync::Arc;

/// An operation's answer, and for a write the change-log position it committed at: once
/// a client's live queries have seen that `seq`, they show the write (read-your-writes).
#[derive(Debug)]
pub struct Executed {
    pub outcome: Outcome,
    pub seq: Option<i64>,
}

/// The caller a bearer token stands for (none: anonymous). The admin key, a token of
/// ssot's own (its session checked, `auth` made the user's current row:
/// [`auth::current`]) or a token of the configured issuer; anything else is a 401.
pub async fn caller_for_token(app: &App, token: Option<&str>) -> Result<Caller, Problem> {
    let caller = app.access.verify(token)?;
    match (&caller, &app.auth) {
        (Caller::User(claims), Some(auth))
            if claims.get("iss").and_then(Json::as_str) == Some(auth::tokens::ISSUER) =>
        {
            Ok(Caller::User(auth.current.resolve(app, claims).await?))
        }
        _ => Ok(caller),
    }
}

/// The caller of an HTTP request: its `Authorization` header read
/// ([`crate::access::bearer`]) and verified ([`caller_for_token`]).
pub async fn caller(app: &App, headers: &axum::http::HeaderMap) -> Result<Caller, Problem> {
    let token = crate::access::bearer(headers)?;
    caller_for_token(app, token).await
}

/// The admin key's request, or its refusal for anyone else: `401` for an anonymous caller
/// (the key would open it), `403` for a user; `what` names what needs the key.
pub async fn require_admin(app: &App, headers: &axum::http::HeaderMap, what: &str) -> Result<(), Problem> {
    let (status, code) = match caller(app, headers).await? {
        Caller::Admin => return Ok(()),
        Caller::Anonymous => (axum::http::StatusCode::UNAUTHORIZED, "unauthorized"),
        Caller::User(_) => (axum::http::StatusCode::FORBIDDEN, "forbidden"),
    };
    Err(Problem::new(status, code, format!("{what} need the admin key")))
}

/// The studio's gate: the admin key,
/// or a user whom `@@auth(studio: ...)` admits, decided on the caller's current row. The
/// caller, or `401` for an anonymous one (credentials would open it), `403` for another
/// user; `what` names what needs them.
pub async fn require_studio(app: &App, headers: &axum::http::HeaderMap, what: &str) -> Result<Caller, Problem> {
    let caller = caller(app, headers).await?;
    let admitted = match &caller {
        Caller::Admin => true,
        Caller::User(_) => app
            .access
            .policies
            .studio
            .as_ref()
            .is_some_and(|rule| ssot_policy::eval::decided(rule, caller.auth()) == Some(true)),
        Caller::Anonymous => false,
    };
    match (admitted, &caller) {
        (true, _) => Ok(caller),
        (false, Caller::Anonymous) => Err(Problem::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("{what} need the admin key or a user the studio's rule admits"),
        )),
        (false, _) => Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            format!("{what} are open to the admin key and to users the studio's rule admits"),
        )),
    }
}

/// Refuses an action no rule can open to `caller` on `model`, before its input is read: a
/// caller with no access learns nothing from validation errors. Returns the row filters
/// it built, for [`execute`].
pub fn authorize(app: &App, caller: &Caller, model: usize, action: Action) -> Result<Vec<KnownRows>, Problem> {
    app.access.authorize(caller, &app.store.entities, model, action.policy_op())
}

/// Reads `request` ([`Operation::read`]), prepares what it writes to users (identities
/// normalized, passwords hashed), and runs it in one job: reads in the cheap lane when
/// they are one statement, in the slow lane otherwise, writes on the writer.
pub async fn execute(app: &App, caller: Caller, known: Vec<KnownRows>, request: Request) -> Result<Executed, Problem> {
    let cache = app.search_cache.as_ref().and_then(|cache| Some((cache, SearchCache::key(&request, &caller)?)));
    let mut op = Operation::read(&app.store.entities, request)?;
    if matches!(&op, Operation::List { args, .. } if args.search.is_some()) {
        app.metrics.searches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut budget = auth::MAX_PASSWORDS_PER_REQUEST;
    prepare(app, &caller, &mut op, &mut budget).await?;
    let policies = Arc::clone(&app.access.policies);
    let (writes, single) = (op.writes(), op.single_statement());
    let run = move |conn: &mut dyn Conn, es: &Entities| {
        operation::run(conn, &ssot_access::Guard::new(&policies, es, &caller).with_known_rows(known), &op)
    };
    if let Some((cache, key)) = cache {
        return search_through(app, cache, key, run).await;
    }
    let executed = if writes {
        let (outcome, seq) = write_at_seq(app, run).await?;
        Executed { outcome, seq: Some(seq) }
    } else if single {
        Executed { outcome: app.store.read_single(run).await?, seq: None }
    } else {
        Executed { outcome: app.store.read(run).await?, seq: None }
    };
    Ok(executed)
}

/// A search answered from [`SearchCache`] when the log has not moved since it was stored;
/// otherwise run, with the log's position read in the same snapshot, and stored.
async fn search_through(
    app: &App,
    cache: &SearchCache,
    key: String,
    run: impl FnOnce(&mut dyn Conn, &Entities) -> Result<Outcome, StoreError> + Send + 'static,
) -> Result<Executed, Problem> {
    let now = app.store.read_single(|conn, _| ssot_store::query::read::current_seq(conn)).await?;
    if let Some(outcome) = cache.get(&key, now) {
        app.metrics.search_cache_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(Executed { outcome, seq: None });
    }
    let lead = match cache.begin(&key, now) {
        search_cache::Flight::Lead(lead) => lead,
        search_cache::Flight::Follow(answer) => match answer.await {
            Ok(outcome) => {
                app.metrics.search_cache_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(Executed { outcome, seq: None });
            }
            // The one it followed failed or was cancelled: this one runs (and leads no one).
            Err(_) => search_cache::Lead::alone(cache),
        },
    };
    let (outcome, seq) =
        app.store.read(move |conn, es| Ok((run(conn, es)?, ssot_store::query::read::current_seq(conn)?))).await?;
    // Stored first: a request that comes as the followers are told finds it in memory.
    cache.put(key, seq, &outcome);
    lead.finish(&outcome);
    Ok(Executed { outcome, seq: None })
}

/// What a write sets on the `@@auth` model, made ready before it runs: identities
/// normalized, passwords hashed (at most `budget` more in this request).
pub async fn prepare(app: &App, caller: &Caller, op: &mut Operation, budget: &mut usize) -> Result<(), Problem> {
    match &app.auth {
        Some(auth) => auth::prepare_user_fields(auth, &app.store.entities, caller, op, budget).await,
        None => Ok(()),
    }
}

/// Runs a write job, then, when the server has users, waits until the cache of users and
/// sessions has read the log past it: a change to a user (a role, a deletion) holds for
/// the very next request.
pub async fn write_and_settle<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&mut dyn Conn, &Entities) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    if app.auth.is_none() {
        return app.store.write(f).await;
    }
    Ok(write_at_seq(app, f).await?.0)
}

/// [`write_and_settle`], answering with the change-log position the write committed at
/// (read in its transaction: the log's writers are serialized, so that is its own last
/// entry, or where the log stood when it changed nothing).
pub async fn write_at_seq<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&mut dyn Conn, &Entities) -> Result<T, StoreError> + Send + 'static,
) -> Result<(T, i64), StoreError> {
    let (value, seq) = app
        .store
        .write(move |conn, es| {
            let value = f(conn, es)?;
            Ok((value, ssot_store::query::read::current_seq(conn)?))
        })
        .await?;
    if let Some(auth) = &app.auth {
        auth.current.wait_for(&app.store, seq).await;
    }
    Ok((value, seq))
}

/// A record's id as a REST path writes it (`5`, or `a,b` for a compound id, each part
/// percent-encoded) read as the id fields' values.
pub fn parse_id(es: &Entities, model: usize, raw: &str) -> Result<ssot_store::query::write::Key, Problem> {
    Ok(operation::parse_key(es, model, &crate::rest::id_parts(raw))?)
}
