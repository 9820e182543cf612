//! One client message handled: requests, subscriptions and channels, each answered in the
//! connection's outbox or by the hub, in tasks of their own where they wait on the database.

use super::connection::authenticate;
use super::messages::{Call, Incoming, Refused};
use super::writer::Outbox;
use super::*;

/// Handles one text frame. Its own answers go in the outbox (a close among them when the
/// connection is to end); the tasks it spawns hand theirs back through the outbox's sender.
pub(super) async fn handle(
    app: &Arc<App>,
    outbox: &mut Outbox,
    in_flight: &Arc<tokio::sync::Semaphore>,
    speaker: &mut Speaker,
    text: &str,
) {
    let out = &outbox.tasks;
    match messages::read(&app.store.entities, text) {
        Err(refused) => refuse(outbox, refused),
        Ok(Incoming::Ping) => outbox.push(json!({"type": "pong"})),
        // Through the hub, in order with the updates it answers for.
        Ok(Incoming::Sync { seq }) => app.hub.sync(speaker.conn, seq),
        Ok(Incoming::Auth { token }) => {
            let before = speaker.who.clone();
            match authenticate(app, speaker, Some(token)).await {
                Ok(caller) => {
                    outbox.push(json!({"type": "authenticated", "caller": caller}));
                    // A refreshed token of the same caller changes nothing they see; another
                    // caller is present elsewhere (channels are joined again by the client)
                    // and sees their own rows.
                    if speaker.who != before {
                        app.hub.leave_channels(speaker.conn, "reauthenticated");
                        resubscribe(app, speaker, &HashMap::new()).await;
                    }
                }
                Err(problem) => outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail)),
            }
        }
        Ok(Incoming::Subscribe { id, channel, args, since }) => {
            let Ok(permit) = Arc::clone(in_flight).acquire_owned().await else { return };
            let (app, out, token, conn, subs) =
                (Arc::clone(app), out.clone(), speaker.token.clone(), speaker.conn, Arc::clone(&speaker.subs));
            tokio::spawn(async move {
                match execute::caller_for_token(&app, token.as_deref()).await {
                    Ok(caller) => {
                        let text = Json::Object(args.clone()).to_string();
                        if subscribe(&app, conn, caller, &id, &channel, args, since).await {
                            let mut subs = lock(&subs);
                            subs.retain(|asked| asked.id != id);
                            subs.push(Asked { id, channel, args: text });
                        }
                    }
                    Err(problem) => {
                        let _ = out.send(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail)).await;
                    }
                }
                drop(permit);
            });
        }
        Ok(Incoming::Unsubscribe { id }) => {
            lock(&speaker.subs).retain(|asked| asked.id != id);
            let told = json!({"type": "unsubscribed", "id": id});
            if !app.hub.unsubscribe(speaker.conn, &id, Some(told)) {
                refuse(
                    outbox,
                    Refused {
                        code: "unknown_subscription",
                        message: format!("no subscription `{id}` is open"),
                        id: Some(json!(id)),
                    },
                );
            }
        }
        Ok(Incoming::Join { channel, state }) => {
            let Ok(permit) = Arc::clone(in_flight).acquire_owned().await else { return };
            let (app, out, token, conn) = (Arc::clone(app), out.clone(), speaker.token.clone(), speaker.conn);
            tokio::spawn(async move {
                match execute::caller_for_token(&app, token.as_deref()).await {
                    Ok(caller) => {
                        if let Err(error) = app.hub.join_channel(conn, &channel, caller, state).await {
                            let _ = out.send(Outgoing::message(&channel_error(&channel, error))).await;
                        }
                    }
                    Err(problem) => {
                        let _ = out.send(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail)).await;
                    }
                }
                drop(permit);
            });
        }
        Ok(Incoming::Leave { channel }) => {
            if !app.hub.leave_channel(speaker.conn, &channel) {
                app.hub.tell(
                    speaker.conn,
                    channel_error(
                        &channel,
                        ssot_realtime::SubscribeError::refused("not_joined", format!("not in `{channel}`")),
                    ),
                );
            }
        }
        Ok(Incoming::Send { channel, event, payload }) => {
            if let Err(error) = app.hub.send(speaker.conn, &channel, event, payload) {
                outbox.push(channel_error(&channel, error));
            }
        }
        Ok(Incoming::Request { id, call }) => {
            let Ok(permit) = Arc::clone(in_flight).acquire_owned().await else { return };
            let (app, out, token) = (Arc::clone(app), out.clone(), speaker.token.clone());
            tokio::spawn(async move {
                let answer = respond(&app, token.as_deref(), id, *call).await;
                let _ = out.send(answer).await;
                drop(permit);
            });
        }
    }
}

pub(super) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Subscribes and tells the connection (`subscribed`, or an `error` naming the
/// subscription); whether it is open.
async fn subscribe(
    app: &App,
    conn: ssot_realtime::ConnId,
    caller: Caller,
    id: &str,
    channel: &str,
    args: serde_json::Map<String, Json>,
    since: Option<i64>,
) -> bool {
    let start = since.map_or(ssot_realtime::Start::Fresh, ssot_realtime::Start::Since);
    match app.hub.subscribe(conn, id.to_string(), caller, channel, args, start).await {
        Ok(()) => true,
        Err(error) => {
            app.hub.tell(conn, subscribe_error(id, error));
            false
        }
    }
}

fn subscribe_error(id: &str, error: ssot_realtime::SubscribeError) -> Json {
    match error {
        ssot_realtime::SubscribeError::Refused { code, message } => {
            json!({"type": "error", "id": id, "code": code, "message": message})
        }
        ssot_realtime::SubscribeError::Store(e) => {
            let problem = Problem::from(e);
            json!({"type": "error", "id": id, "code": problem.code, "message": problem.detail, "problem": problem.body()})
        }
    }
}

fn channel_error(channel: &str, error: ssot_realtime::SubscribeError) -> Json {
    let mut message = subscribe_error("", error);
    if let Some(m) = message.as_object_mut() {
        m.remove("id");
    }
    message["channel"] = json!(channel);
    message
}

/// Every subscription asked again as the caller is now: after `auth` changed the caller
/// (`held` empty: a fresh `subscribed` each), or in the app that took over from another
/// (`held`: the rows each had there; unchanged, an empty `resumed`, else a `reset`).
/// Those no longer allowed end (`unsubscribed` with the reason).
pub(super) async fn resubscribe(app: &App, speaker: &Speaker, held: &HashMap<String, Json>) {
    let subs: Vec<Asked> = lock(&speaker.subs).clone();
    if subs.is_empty() {
        return;
    }
    let Ok(caller) = execute::caller_for_token(app, speaker.token.as_deref()).await else { return };
    for Asked { id, channel, args } in subs {
        app.hub.unsubscribe(speaker.conn, &id, None);
        // The options were read from JSON and written back: they read again.
        let args = serde_json::from_str(&args).unwrap_or_default();
        let start = held.get(&id).cloned().map_or(ssot_realtime::Start::Fresh, ssot_realtime::Start::Had);
        if let Err(error) = app.hub.subscribe(speaker.conn, id.clone(), caller.clone(), &channel, args, start).await {
            lock(&speaker.subs).retain(|asked| asked.id != id);
            let reason = subscribe_error(&id, error);
            app.hub.tell(
                speaker.conn,
                json!({"type": "unsubscribed", "id": id, "code": reason["code"], "message": reason["message"]}),
            );
        }
    }
}

/// Runs a request as its caller is now: its `response`, or a close when the caller's
/// token no longer holds.
async fn respond(app: &App, token: Option<&str>, id: Json, call: Call) -> Outgoing {
    let caller = match execute::caller_for_token(app, token).await {
        Ok(caller) => caller,
        Err(problem) => return Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail),
    };
    let result = match call {
        Call::One(request) => match execute::authorize(app, &caller, request.model, request.action) {
            Ok(known) => execute::execute(app, caller, known, request).await.map(|Executed { outcome, seq }| {
                let status = if outcome.created { 201 } else { 200 };
                (status, outcome.body, seq)
            }),
            Err(problem) => Err(problem),
        },
        Call::Batch(requests) => match crate::batch::authorize(app, &caller, &requests) {
            Ok(known) => crate::batch::run(app, caller, requests, known)
                .await
                .map(|(results, seq)| (200, json!({ "results": results }), Some(seq))),
            Err(problem) => Err(problem),
        },
        Call::Action { name, data } => match crate::actions::authorize(app, &caller, &name) {
            Ok(()) => match crate::actions::call(app, &caller, &name, data).await {
                crate::actions::Reply::Ok(status, body) => Ok((status, body, None)),
                crate::actions::Reply::Passed(status, problem) => {
                    return Outgoing::message(
                        &json!({"type": "response", "id": id, "status": status, "problem": problem}),
                    )
                }
                crate::actions::Reply::Problem(problem) => Err(problem),
            },
            Err(problem) => Err(problem),
        },
    };
    Outgoing::message(&match result {
        Ok((status, body, seq)) => {
            let mut message = json!({"type": "response", "id": id, "status": status, "body": body});
            if let Some(seq) = seq {
                message["seq"] = json!(seq);
            }
            message
        }
        Err(problem) => {
            json!({"type": "response", "id": id, "status": problem.status.as_u16(), "problem": problem.body()})
        }
    })
}

pub(super) fn refuse(outbox: &mut Outbox, refused: Refused) {
    outbox.push(refused.to_json());
}
