//! `auth` is the caller's current row: what rules see is the user as they are now, not as
//! their token was issued, and a session that ended stops working at once.
//!
//! Resolving a token costs no query: users and sessions are cached in memory, and the
//! cache follows the change log. A follower task reads the log's entries for the user
//! model and for ended sessions ([`super::sessions::LABEL`]) whenever it may have grown
//! (after this process's writes; on PostgreSQL after any instance's commit, through
//! `LISTEN`; and every second, for other programs writing to SQLite) and drops what they
//! changed. A write answers only once the follower has read past it, so the writer's
//! next request, and anyone's, sees its effect.

use super::sessions::{self, Session};
use crate::problem::Problem;
use axum::http::StatusCode;
use serde_json::{Map, Value as Json};
use ssot_store::query::args::Selection;
use ssot_store::query::read;
use ssot_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A user as rules see them: the fields their token would carry, as the row is now.
#[derive(Debug)]
pub struct User {
    pub fields: Map<String, Json>,
    /// See [`sessions::credential`].
    pub credential: String,
}

#[derive(Default)]
struct State {
    /// The log position up to which every change has been applied to the caches.
    applied: i64,
    /// Users by token subject; `None`: no such user (deleted).
    users: HashMap<String, Option<Arc<User>>>,
    /// Sessions by id; `None`: no such session.
    sessions: HashMap<String, Option<Arc<Session>>>,
    /// `auth` as last built for a session: good while the token's claims are the very ones
    /// it was built from and no user or session entry has been dropped since (then one
    /// lookup answers a request).
    resolved: HashMap<String, Resolved>,
    /// Counts the drops of user and session entries.
    generation: u64,
}

struct Resolved {
    claims: Arc<Map<String, Json>>,
    generation: u64,
    auth: Arc<Map<String, Json>>,
}

/// Entries cached before the caches are cleared and start again.
const CAPACITY: usize = 100_000;

/// Claims of the token itself (not the user's fields) that `auth` keeps.
const TOKEN_CLAIMS: [&str; 7] = ["sub", "iss", "aud", "iat", "exp", "nbf", "sid"];

pub struct Current {
    /// The user model: its name is its label in the log.
    model: usize,
    label: String,
    state: Mutex<State>,
    caught_up: tokio::sync::watch::Sender<i64>,
}

fn ended(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "session_ended", detail)
}

impl Current {
    pub fn new(model: usize, label: String) -> Current {
        Current { model, label, state: Mutex::default(), caught_up: tokio::sync::watch::channel(0).0 }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `auth` for a verified token of ssot's own: the claims of the token and the fields of
    /// the user as they are now; 401 when its session ended or its user is gone.
    pub async fn resolve(
        &self,
        app: &crate::App,
        claims: &Arc<Map<String, Json>>,
    ) -> Result<Arc<Map<String, Json>>, Problem> {
        let text = |name: &str| claims.get(name).and_then(Json::as_str);
        let (Some(sid), Some(sub)) = (text("sid"), text("sub")) else {
            return Err(ended("the token names no session (it was issued by an older version): sign in again"));
        };
        let cached = {
            let state = self.state();
            if let Some(resolved) = state.resolved.get(sid) {
                // Built from this very token after the checks below passed, and nothing it
                // rests on has changed since.
                if resolved.generation == state.generation && Arc::ptr_eq(&resolved.claims, claims) {
                    return Ok(Arc::clone(&resolved.auth));
                }
            }
            match (state.sessions.get(sid), state.users.get(sub)) {
                (Some(session), Some(user)) => Some((session.clone(), user.clone(), Some(state.generation))),
                _ => None,
            }
        };
        let (sid, sub) = (sid.to_string(), sub.to_string());
        let (session, user, generation) = match cached {
            Some(found) => found,
            None => self.load(app, sid.clone(), sub.clone()).await?,
        };
        let now = i64::try_from(super::tokens::now_seconds()).unwrap_or(i64::MAX);
        let session = session.filter(|s| s.is_live(now) && s.user == sub);
        let Some(session) = session else { return Err(ended("the session has ended: sign in again")) };
        let Some(user) = user else { return Err(ended("the token's user no longer exists")) };
        if user.credential != session.credential {
            return Err(ended("the password has changed since this session began: sign in again"));
        }
        let mut auth = user.fields.clone();
        for name in TOKEN_CLAIMS {
            if let Some(value) = claims.get(name) {
                auth.insert(name.to_string(), value.clone());
            }
        }
        let auth = Arc::new(auth);
        let mut state = self.state();
        // Only when what it was built from is still what the cache holds.
        if generation == Some(state.generation) {
            let resolved =
                Resolved { claims: Arc::clone(claims), generation: state.generation, auth: Arc::clone(&auth) };
            state.resolved.insert(sid, resolved);
        }
        Ok(auth)
    }

    /// Reads a session and its user in one snapshot, and caches them unless the follower
    /// has already read past that snapshot (a change it applied could be missing from it).
    async fn load(
        &self,
        app: &crate::App,
        sid: String,
        sub: String,
    ) -> Result<(Option<Arc<Session>>, Option<Arc<User>>, Option<u64>), Problem> {
        let model = self.model;
        let key = crate::execute::parse_id(&app.store.entities, model, &sub).ok();
        let (seq, session, row) = app
            .store
            .read_single(move |conn, es| {
                ssot_store::conn::transaction(conn, false, |conn| {
                    let seq = read::current_seq(conn)?;
                    let session = sessions::get(conn, &sid)?;
                    let row = match &key {
                        Some(key) => read::get(conn, es, model, key, &Selection::every_field(&es.entities[model]))?,
                        None => None,
                    };
                    Ok((seq, session, row))
                })
            })
            .await?;
        let user = match row {
            Some(Json::Object(row)) => Some(Arc::new(self.user(app, &row))),
            _ => None,
        };
        let session = session.map(Arc::new);
        let mut state = self.state();
        if seq < state.applied {
            return Ok((session, user, None));
        }
        if state.users.len() >= CAPACITY || state.sessions.len() >= CAPACITY {
            state.users.clear();
            state.sessions.clear();
            state.resolved.clear();
            state.generation += 1;
        }
        if let Some(s) = &session {
            state.sessions.insert(s.id.clone(), Some(Arc::clone(s)));
        }
        state.users.insert(sub, user.clone());
        Ok((session, user, Some(state.generation)))
    }

    /// A user row as rules see it.
    pub fn user(&self, app: &crate::App, row: &Map<String, Json>) -> User {
        let es = &app.store.entities;
        let password = app.auth.as_ref().map(|a| es.entities[self.model].fields[a.user.password].name.as_str());
        let hash = password.and_then(|p| row.get(p)).and_then(Json::as_str);
        User {
            fields: super::public_fields(&app.access.policies, es, self.model, row),
            credential: sessions::credential(hash),
        }
    }

    /// Follows the change log until the store shuts down (see the module's doc).
    pub async fn follow(self: Arc<Self>, store: Arc<Store>) {
        let mut changed = store.changed();
        // The log before now holds nothing for empty caches: start from its end.
        if let Ok(seq) = store.read_single(|conn, _| read::current_seq(conn)).await {
            let mut state = self.state();
            state.users.clear();
            state.sessions.clear();
            state.resolved.clear();
            state.generation += 1;
            state.applied = state.applied.max(seq);
            drop(state);
            self.caught_up.send_replace(seq);
        }
        let mut failures = 0u32;
        loop {
            let wait =
                if failures > 0 { Duration::from_secs(u64::from(failures.min(5))) } else { Duration::from_secs(1) };
            let _ = tokio::time::timeout(wait, changed.changed()).await;
            match self.catch_up(&store).await {
                Ok(()) => failures = 0,
                Err(ssot_store::StoreError::Closed(_)) => return,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, "reading the change log for users and sessions failed");
                }
            }
        }
    }

    /// Applies the log's entries since the last catch-up.
    async fn catch_up(&self, store: &Store) -> Result<(), ssot_store::StoreError> {
        loop {
            let after = self.state().applied;
            let labels = [self.label.clone(), sessions::LABEL.to_string()];
            let (entries, reached) = store
                .read_single(move |conn, _| {
                    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                    ssot_store::changelog::entries_after(conn, after, &labels, 1000)
                })
                .await?;
            let more = !entries.is_empty() && entries.last().map(|e| e.seq) == Some(reached);
            {
                let mut state = self.state();
                for entry in &entries {
                    if entry.change.label == sessions::LABEL {
                        if let Some(id) = entry.change.pk.get("id").and_then(Json::as_str) {
                            state.sessions.remove(id);
                            state.resolved.remove(id);
                        }
                    } else {
                        match self.subject(store, &entry.change.pk) {
                            Some(sub) => {
                                state.users.remove(&sub);
                            }
                            None => state.users.clear(),
                        }
                    }
                    state.generation += 1;
                }
                state.applied = state.applied.max(reached);
            }
            self.caught_up.send_replace(reached);
            if !more {
                return Ok(());
            }
        }
    }

    /// The token subject of a user whose key the log holds (by column, as stored); `None`
    /// when the key's representation may differ from the API's (then every user is
    /// dropped from the cache, which is always safe).
    fn subject(&self, store: &Store, pk: &Map<String, Json>) -> Option<String> {
        let entity = &store.entities.entities[self.model];
        let mut row = Map::new();
        for &f in &entity.id {
            let field = &entity.fields[f];
            let value = pk.get(&store.entities.column(self.model, f).name)?;
            match (field.kind, value) {
                (ssot_store::entity::Kind::Scalar(ssot_schema::ir::ScalarType::String), Json::String(_))
                | (ssot_store::entity::Kind::Scalar(ssot_schema::ir::ScalarType::Int), Json::Number(_)) => {
                    row.insert(field.name.clone(), value.clone());
                }
                _ => return None,
            }
        }
        Some(super::subject(&store.entities, self.model, &row))
    }

    /// Waits (a few seconds at most) until the follower has applied the log up to `seq`:
    /// a write's effects on users and sessions hold for the requests after it.
    pub async fn wait_for(&self, store: &Store, seq: i64) {
        let mut caught_up = self.caught_up.subscribe();
        if *caught_up.borrow() >= seq {
            return;
        }
        store.signal_changed();
        let _ = tokio::time::timeout(Duration::from_secs(3), caught_up.wait_for(|&applied| applied >= seq)).await;
    }
}
