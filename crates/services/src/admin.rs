//! What the admin endpoints show and do: each service's cursor and lag, its dead letters,
//! replaying them (one attempt each, now) and dropping them.

use crate::http;
use crate::{tables, Running, ServiceError, Services};
use serde_json::{json, Value as Json};
use ssot_store::time::now as now_ms;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Debug, Clone)]
pub struct ServiceStatus {
    pub name: String,
    pub model: String,
    /// The durable cursor (from the database: whichever instance delivers).
    pub cursor: i64,
    /// The log's newest `seq` minus the cursor.
    pub lag: i64,
    /// Whether this instance delivers it now.
    pub leased: bool,
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    /// Dead letters stored now (every instance's).
    pub dead_letters: i64,
    /// Why the service is disabled (its endpoint answered 410 Gone), if it is.
    pub disabled: Option<String>,
}

impl ServiceStatus {
    pub fn to_json(&self) -> Json {
        json!({
            "name": self.name,
            "model": self.model,
            "cursor": self.cursor,
            "lag": self.lag,
            "leased": self.leased,
            "delivered": self.delivered,
            "retried": self.retried,
            "dead": self.dead,
            "deadLetters": self.dead_letters,
            "disabled": self.disabled,
        })
    }
}

#[derive(Debug, Clone)]
pub struct DeadLetter(pub tables::Dead);

impl DeadLetter {
    pub fn to_json(&self) -> Json {
        let d = &self.0;
        let payload: Json = serde_json::from_str(&d.payload).unwrap_or(Json::Null);
        json!({
            "id": d.id,
            "eventId": d.event_id,
            "seq": d.seq,
            "error": d.error,
            "attempts": d.attempts,
            "at": ssot_store::time::format(d.at),
            "payload": payload,
        })
    }
}

/// What a replay did: delivered (and removed) and still failing (kept, attempts counted).
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    pub delivered: u64,
    pub failed: u64,
}

impl Services {
    fn running(&self, name: &str) -> Result<&Running, ServiceError> {
        self.shared.running.iter().find(|r| r.service.name == name).ok_or_else(|| ServiceError::Unknown(name.into()))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.running(name).is_ok()
    }

    pub async fn status(&self) -> Result<Vec<ServiceStatus>, ServiceError> {
        let names: Vec<String> = self.names().map(str::to_string).collect();
        let rows = self
            .shared
            .store
            .read_single(move |conn, _| {
                let head = ssot_store::query::read::current_seq(conn)?;
                let mut out = Vec::new();
                for name in &names {
                    out.push((
                        tables::cursor(conn, name)?.unwrap_or(head),
                        tables::dead_count(conn, name)?,
                        tables::disabled(conn, name)?,
                    ));
                }
                Ok((head, out))
            })
            .await?;
        let (head, rows) = rows;
        Ok(self
            .shared
            .running
            .iter()
            .zip(rows)
            .map(|(r, (cursor, dead_letters, disabled))| ServiceStatus {
                name: r.service.name.clone(),
                model: r.service.label.clone(),
                cursor,
                lag: (head - cursor).max(0),
                leased: r.leased.load(Relaxed),
                delivered: r.delivered.load(Relaxed),
                retried: r.retried.load(Relaxed),
                dead: r.dead.load(Relaxed),
                dead_letters,
                disabled,
            })
            .collect())
    }

    /// Enables a disabled service from the log's end; whether it was disabled.
    pub async fn enable(&self, name: &str) -> Result<bool, ServiceError> {
        self.running(name)?;
        let name = name.to_string();
        Ok(self.shared.store.write(move |conn, _| tables::enable(conn, &name)).await?)
    }

    /// The service's dead letters, oldest first, at most `limit`.
    pub async fn dead_letters(&self, name: &str, limit: i64) -> Result<Vec<DeadLetter>, ServiceError> {
        self.running(name)?;
        let name = name.to_string();
        let rows = self.shared.store.read_single(move |conn, _| tables::dead_letters(conn, &name, None, limit)).await?;
        Ok(rows.into_iter().map(DeadLetter).collect())
    }

    /// Delivers dead letter `id` (every one with `None`, oldest first) once more, now, with
    /// its id and payload as first sent: delivered ones are removed, the others stay.
    /// `Ok(None)`: no such dead letter.
    pub async fn replay(&self, name: &str, id: Option<i64>) -> Result<Option<Replayed>, ServiceError> {
        let running = self.running(name)?;
        let service = &running.service;
        let owned = name.to_string();
        let letters =
            self.shared.store.read_single(move |conn, _| tables::dead_letters(conn, &owned, id, 10_000)).await?;
        if letters.is_empty() && id.is_some() {
            return Ok(None);
        }
        let mut out = Replayed::default();
        for letter in letters {
            let message = http::Message {
                url: &service.url,
                id: &letter.event_id,
                body: letter.payload.clone().into(),
                headers: &service.headers,
                extra: Vec::new(),
                signed: None,
            };
            let result = http::send(&self.shared.client, &service.secret, message, service.timeout).await;
            let owned = name.to_string();
            match result {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    out.delivered += 1;
                    running.delivered.fetch_add(1, Relaxed);
                    self.shared.store.write(move |conn, _| tables::forget(conn, &owned, Some(letter.id))).await?;
                }
                other => {
                    out.failed += 1;
                    let error = match other {
                        Ok(answer) => format!("answered {}", answer.status),
                        Err(e) => e.to_string(),
                    };
                    let dead = tables::Dead { attempts: letter.attempts + 1, error, at: now_ms(), ..letter };
                    self.shared.store.write(move |conn, _| tables::failed_again(conn, &owned, &dead)).await?;
                }
            }
        }
        Ok(Some(out))
    }

    /// Drops dead letter `id` (every one with `None`); how many went.
    pub async fn drop_dead(&self, name: &str, id: Option<i64>) -> Result<u64, ServiceError> {
        self.running(name)?;
        let name = name.to_string();
        Ok(self.shared.store.write(move |conn, _| tables::forget(conn, &name, id)).await?)
    }
}
