//! A connection's own task: its loop (reading, writing what is ready, heartbeats, the
//! token's expiry, the server's shutdown), who it speaks for, and its move to the app
//! that takes over when `ssot dev` swaps the schema.

use super::alarms;
use super::handle::{handle, lock, refuse, resubscribe};
use super::messages::Refused;
use super::writer::{self, Outbox, Queues};
use super::*;

pub(super) async fn connection(
    mut app: Arc<App>,
    mut socket: WebSocket,
    token: Result<Option<String>, Problem>,
    seat: Seat,
) {
    let settings = app.ws;
    let metrics = Arc::clone(&app.metrics);
    let stats = &metrics.ws;
    stats.opened.fetch_add(1, Ordering::Relaxed);
    let (tasks, tasks_queue) = mpsc::channel::<Outgoing>(settings.send_queue);
    let (hub_sink, hub_queue) = mpsc::channel::<ssot_realtime::Frame>(settings.send_queue);
    let mut queues = Queues { tasks: tasks_queue, hub: hub_queue, hub_open: true };
    let mut outbox = Outbox { ready: Vec::new(), tasks };
    let in_flight = Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight));

    let conn = app.hub.connect(hub_sink);
    let mut speaker = Speaker { token: None, expires: None, who: Json::Null, conn, subs: Arc::default() };
    let first = match token {
        Ok(token) => authenticate(&app, &mut speaker, token).await,
        Err(problem) => Err(problem),
    };
    match first {
        Ok(ready) => outbox.push(json!({"type": "ready", "protocol": SUBPROTOCOL, "caller": ready})),
        Err(problem) => outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail)),
    }

    // The heartbeat, the server's shutdown and a swap come as alarms ([`super::alarms`]).
    // Given before the alarm was registered: raised here (an upgrade in flight is told too).
    let alarm = app.sockets.alarms.register(settings.heartbeat);
    if *app.closing.borrow() {
        alarm.raise(alarms::SHUTDOWN);
    }
    if app.successor.borrow().is_some() {
        alarm.raise(alarms::MOVED);
    }
    let mut last_heard = tokio::time::Instant::now();
    let mut client_closed = false;
    let mut told_to_go = false;
    let expiry = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(expiry);
    let mut expiry_for = None;
    loop {
        // What this task made itself goes first, with what the queues hold by then.
        if !outbox.ready.is_empty() {
            let ready = std::mem::take(&mut outbox.ready);
            if !writer::send(&mut socket, ready, &mut queues, &app).await {
                break;
            }
            continue;
        }
        if speaker.expires != expiry_for {
            expiry_for = speaker.expires;
            if let Some(at) = expiry_for {
                let left = Duration::from_secs(at.saturating_sub(crate::auth::tokens::now_seconds()));
                expiry.as_mut().reset(tokio::time::Instant::now() + left);
            }
        }
        tokio::select! {
            item = queues.tasks.recv() => {
                // The outbox holds a sender: the queue cannot end while this runs.
                outbox.ready.extend(item);
            }
            text = queues.hub.recv(), if queues.hub_open => match text {
                Some(text) => outbox.ready.push(Outgoing::Text(text)),
                None => queues.hub_open = false,
            },
            frame = socket.recv() => {
                last_heard = tokio::time::Instant::now();
                match frame {
                    None | Some(Ok(Message::Close(_))) => {
                        client_closed = true;
                        break;
                    }
                    Some(Err(error)) => {
                        let too_big = error.to_string().contains("too long") || error.to_string().contains("too big");
                        if !too_big {
                            break;
                        }
                        let reason = format!("a message is at most {} bytes", settings.max_message_bytes);
                        outbox.ready.push(Outgoing::close(CLOSE_TOO_BIG, reason));
                    }
                    Some(Ok(Message::Text(text))) => {
                        stats.messages_in.fetch_add(1, Ordering::Relaxed);
                        // Boxed: the handling of a message is large and short-lived, and an idle
                        // connection should not carry room for it.
                        Box::pin(handle(&app, &mut outbox, &in_flight, &mut speaker, text.as_str())).await;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        refuse(&mut outbox, Refused { code: "binary_not_supported", message: "send JSON text frames".into(), id: None });
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                }
            }
            raised = std::future::poll_fn(|cx| alarm.poll_take(cx)) => {
                if raised & alarms::SHUTDOWN != 0 && !told_to_go {
                    told_to_go = true;
                    outbox.ready.push(Outgoing::close(CLOSE_GOING_AWAY, "the server is shutting down"));
                }
                if raised & alarms::TICK != 0 {
                    if last_heard.elapsed() >= settings.idle_timeout {
                        outbox.ready.push(Outgoing::close(CLOSE_IDLE, "idle for too long"));
                    } else {
                        outbox.ready.push(Outgoing::Ping);
                    }
                }
                let next = if raised & alarms::MOVED != 0 { app.successor.borrow().clone() } else { None };
                if let Some(next) = next {
                    // What this connection still has running (a subscription being made, a request)
                    // ends on the old app first, so that it moves too.
                    let permits = u32::try_from(settings.max_in_flight).unwrap_or(u32::MAX);
                    let all = Arc::clone(&in_flight).acquire_many_owned(permits).await;
                    Box::pin(relocate(&mut app, next, &mut speaker, &mut queues, &mut outbox)).await;
                    drop(all);
                    // Swapped again meanwhile.
                    if app.successor.borrow().is_some() {
                        alarm.raise(alarms::MOVED);
                    }
                }
            }
            () = &mut expiry, if expiry_for.is_some() => {
                let reason = "the token has expired; send `auth` with a fresh one before it does";
                outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, reason));
                expiry_for = None;
                speaker.expires = None;
            }
        }
    }
    app.hub.disconnect(speaker.conn);
    drop(seat);
    if !client_closed {
        // The closing handshake: the client answers the close frame. Until then its
        // socket stays open, so that it reads the close (and its code) rather than a reset.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(frame)) = socket.recv().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Moves a connection from `app` to `next`, the app that took over from it: out of the old
/// hub (what it queued still goes out first, and its channels tell the client `left` with
/// code `reloaded`, which the client answers by joining again), into the new one, each
/// subscription asked again there as the caller is now: `subscribed` with an empty
/// `resumed` where its rows are the same, a `reset` with the rows where they changed (a new
/// field, another rule), or `unsubscribed` naming why it no longer can be. A token the new
/// app refuses closes the connection with 4401.
async fn relocate(app: &mut Arc<App>, next: Arc<App>, speaker: &mut Speaker, queues: &mut Queues, outbox: &mut Outbox) {
    // What each subscription holds, as its client has it once the old hub's queue is sent.
    let held: HashMap<String, Json> = lock(&speaker.subs)
        .iter()
        .filter_map(|asked| app.hub.rows_of(speaker.conn, &asked.id).map(|rows| (asked.id.clone(), rows)))
        .collect();
    app.hub.leave_channels(speaker.conn, "reloaded");
    app.hub.disconnect(speaker.conn);
    while let Ok(frame) = queues.hub.try_recv() {
        outbox.ready.push(Outgoing::Text(frame));
    }
    let (sink, queue) = mpsc::channel::<ssot_realtime::Frame>(next.ws.send_queue);
    queues.hub = queue;
    queues.hub_open = true;
    speaker.conn = next.hub.connect(sink);
    *app = next;
    match execute::caller_for_token(app, speaker.token.as_deref()).await {
        Ok(caller) => speaker.who = who(&caller),
        Err(problem) => {
            outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail));
            return;
        }
    }
    resubscribe(app, speaker, &held).await;
}

/// Verifies `token` and makes it the connection's: the caller's description for `ready`
/// or `authenticated`.
pub(super) async fn authenticate(app: &App, speaker: &mut Speaker, token: Option<String>) -> Result<Json, Problem> {
    let caller = execute::caller_for_token(app, token.as_deref()).await?;
    let expires = match &caller {
        Caller::User(claims) => claims.get("exp").and_then(Json::as_u64),
        _ => None,
    };
    speaker.token = token;
    speaker.expires = expires;
    speaker.who = who(&caller);
    Ok(describe(&caller, expires))
}

/// Who a caller is to the rules: their kind and, for a user, their claims but those that
/// only a new token changes (its times and session). A refreshed token of the same user
/// is the same caller.
pub(super) fn who(caller: &Caller) -> Json {
    match caller {
        Caller::Anonymous => json!("anonymous"),
        Caller::Admin => json!("admin"),
        Caller::User(claims) => {
            let mut claims = (**claims).clone();
            for fleeting in ["iat", "exp", "nbf", "sid", "jti"] {
                claims.remove(fleeting);
            }
            Json::Object(claims)
        }
    }
}

fn describe(caller: &Caller, expires: Option<u64>) -> Json {
    match caller {
        Caller::Anonymous => json!({"kind": "anonymous"}),
        Caller::Admin => json!({"kind": "admin"}),
        Caller::User(claims) => json!({"kind": "user", "sub": claims.get("sub"), "expiresAt": expires}),
    }
}

#[cfg(test)]
mod tests {
    /// The size of the future `f` returns.
    fn future_size<A, B, C, D, Fut, F: Fn(A, B, C, D) -> Fut>(_: &F) -> usize {
        std::mem::size_of::<Fut>()
    }

    // An idle connection's memory is mostly its task (the connection's future) and its
    // queues (a block of 32 items each, allocated with the queue): both stay small, so
    // that 19,000 connections fit in a few hundred MiB (docs/benchmarks.md).
    #[test]
    fn an_idle_connection_stays_small() {
        let task = future_size(&super::connection);
        assert!(task <= 3072, "the connection's future is {task} bytes: box what an idle connection does not need");
        let item = std::mem::size_of::<super::super::Outgoing>();
        assert!(item <= 32, "a queued item is {item} bytes: box its larger variants");
    }
}
