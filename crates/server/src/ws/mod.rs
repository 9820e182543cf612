//! The WebSocket gateway at `GET /api/ws` (subprotocol `ssot.v1`, JSON text frames; the
//! protocol is written down in `docs/protocol.md`).
//!
//! A connection speaks for one caller at a time: the token of `?token=` or of an
//! `Authorization` header at the handshake, then of each `auth` message. Requests run
//! through the one guarded path ([`crate::execute`]) exactly as REST runs them, the
//! caller resolved again for each (a session ended or a token expired refuses the next
//! one, and closes the connection with 4401). Each request runs in a task of its own,
//! at most [`WsSettings::max_in_flight`] at once per connection. The connection's own task
//! owns its socket: it reads, and it writes what is ready ([`writer`]), several messages
//! in one frame (a JSON array) when they are ready together. The server pings; a connection that sends nothing for
//! [`WsSettings::idle_timeout`] (not even a pong) is closed.

mod messages;
pub(crate) mod runtime;
mod writer;

use crate::execute::{self, Executed};
use crate::problem::Problem;
use crate::App;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use messages::{Call, Incoming, Refused};
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use writer::{Outbox, Queues};

/// The protocol's name and version, as the `Sec-WebSocket-Protocol` a client offers.
pub const SUBPROTOCOL: &str = "ssot.v1";
/// Close code: the token was refused, has expired, or its session has ended.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code: nothing came from the client for longer than the idle timeout.
pub const CLOSE_IDLE: u16 = 4408;
/// Close code: the server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: a frame larger than the server takes.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// The socket's limits and timers.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// How often the server pings.
    pub heartbeat: Duration,
    /// How long a connection may stay silent (no frame, no pong) before it is closed.
    pub idle_timeout: Duration,
    /// The largest message a client may send.
    pub max_message_bytes: usize,
    /// Requests of one connection running at once; more wait (the connection is not read).
    pub max_in_flight: usize,
    /// Messages waiting to be sent to one connection.
    pub send_queue: usize,
    /// Connections open at once; more are refused (503) until some close. Each holds a
    /// file descriptor, and a process may hold 20,000 here.
    pub max_connections: usize,
}

impl Default for WsSettings {
    fn default() -> WsSettings {
        WsSettings {
            heartbeat: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
            max_message_bytes: crate::MAX_BODY_BYTES,
            max_in_flight: 16,
            send_queue: 1024,
            max_connections: 19_000,
        }
    }
}

/// `GET /api/ws`: the upgrade. A client that offers subprotocols must offer `ssot.v1`.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let offered = headers.get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    if offered.is_some_and(|list| !list.split(',').any(|p| p.trim() == SUBPROTOCOL)) {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("this server speaks the subprotocol `{SUBPROTOCOL}`"),
        )
        .into_response();
    }
    let Some(seat) = Seat::take(&app) else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!("the server holds {} WebSocket connections, its limit; try again later", app.ws.max_connections),
        )
        .into_response();
    };
    // A refused token is told after the upgrade, as close code 4401: a browser cannot
    // read the status of a failed handshake.
    let token = match query.get("token") {
        Some(token) => Ok(Some(token.clone())),
        None => crate::access::bearer(&headers).map(|t| t.map(str::to_string)),
    };
    let settings = app.ws;
    upgrade
        .protocols([SUBPROTOCOL])
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        // Clients send small messages; a larger one is read in several calls.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let sockets = Arc::clone(&app);
            sockets.sockets.spawn(connection(app, socket, token, seat));
        })
}

/// A place among the server's `max_connections`, taken at the handshake (so that two
/// handshakes at once cannot both take the last one) and given back when dropped: when
/// the connection ends, or when the upgrade never happens. It holds the metrics, not the
/// app: a connection outlives the app it started on when `ssot dev` swaps it.
struct Seat(Arc<crate::metrics::Metrics>);

impl Seat {
    fn take(app: &App) -> Option<Seat> {
        let limit = i64::try_from(app.ws.max_connections).unwrap_or(i64::MAX);
        let connections = &app.metrics.ws.connections;
        connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < limit).then_some(open + 1))
            .ok()
            .map(|_| Seat(Arc::clone(&app.metrics)))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.ws.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a connection sends: each item is small (its queue holds a block of them whether
/// or not they are used).
enum Outgoing {
    /// A message's JSON text (the hub's perhaps shared with other connections).
    Text(ssot_realtime::Frame),
    Ping,
    /// A close frame: its code and reason.
    Close(Box<(u16, String)>),
}

impl Outgoing {
    fn message(message: &Json) -> Outgoing {
        Outgoing::Text(ssot_realtime::Frame::from(message.to_string()))
    }

    fn close(code: u16, reason: impl Into<String>) -> Outgoing {
        Outgoing::Close(Box::new((code, reason.into())))
    }
}

/// A subscription as the client asked for it: its id, its channel and its options (as
/// JSON text: kept for every open subscription, read again only after an `auth`).
#[derive(Debug, Clone)]
struct Asked {
    id: String,
    channel: String,
    args: String,
}

/// The caller a connection speaks for: the token it gave (verified again for each
/// request, so that an ended session or an expired token stops it at once).
struct Speaker {
    token: Option<String>,
    /// When the token expires (epoch seconds), for the timer that closes the connection.
    expires: Option<u64>,
    /// Who the caller is to the rules ([`who`]): an `auth` that changes it takes the
    /// connection out of its channels and asks its subscriptions again.
    who: Json,
    /// The connection's place in the hub of live queries.
    conn: ssot_realtime::ConnId,
    /// Its subscriptions as asked for (channel and options): asked again for a new caller.
    subs: Arc<std::sync::Mutex<Vec<Asked>>>,
}

async fn connection(mut app: Arc<App>, mut socket: WebSocket, token: Result<Option<String>, Problem>, seat: Seat) {
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
    // The server's, kept by the apps that take over from this one.
    let mut closing = app.closing.subscribe();
    let mut moved = app.successor.subscribe();
    match first {
        Ok(ready) => outbox.push(json!({"type": "ready", "protocol": SUBPROTOCOL, "caller": ready})),
        Err(problem) => outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, problem.detail)),
    }

    let mut heartbeat = tokio::time::interval(settings.heartbeat);
    heartbeat.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut client_closed = false;
    // Made once, not at every turn of the loop: the task wakes for every update it sends,
    // and registering with the server-wide shutdown signal (or a timer) each time would
    // have every connection take the same lock for every update.
    // `wait_for`, not `changed`: a connection that starts after the signal was given (an
    // upgrade in flight) is told too.
    let shutdown = async move {
        let _ = closing.wait_for(|closing| *closing).await;
    };
    tokio::pin!(shutdown);
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
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= settings.idle_timeout {
                    outbox.ready.push(Outgoing::close(CLOSE_IDLE, "idle for too long"));
                } else {
                    outbox.ready.push(Outgoing::Ping);
                }
            }
            () = &mut expiry, if expiry_for.is_some() => {
                let reason = "the token has expired; send `auth` with a fresh one before it does";
                outbox.ready.push(Outgoing::close(CLOSE_UNAUTHORIZED, reason));
                expiry_for = None;
                speaker.expires = None;
            }
            Ok(()) = moved.changed() => {
                let next = moved.borrow_and_update().clone();
                if let Some(next) = next {
                    Box::pin(relocate(&mut app, next, &mut speaker, &mut queues, &mut outbox)).await;
                    moved = app.successor.subscribe();
                    // Swapped again meanwhile: a new receiver has seen that already.
                    if moved.borrow().is_some() {
                        moved.mark_changed();
                    }
                }
            }
            () = &mut shutdown, if !told_to_go => {
                told_to_go = true;
                outbox.ready.push(Outgoing::close(CLOSE_GOING_AWAY, "the server is shutting down"));
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
/// subscription asked again there as the caller is now (a fresh `subscribed` each, or an
/// `unsubscribed` naming why it no longer can be). A token the new app refuses closes the
/// connection with 4401.
async fn relocate(app: &mut Arc<App>, next: Arc<App>, speaker: &mut Speaker, queues: &mut Queues, outbox: &mut Outbox) {
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
    resubscribe(app, speaker).await;
}

/// Verifies `token` and makes it the connection's: the caller's description for `ready`
/// or `authenticated`.
async fn authenticate(app: &App, speaker: &mut Speaker, token: Option<String>) -> Result<Json, Problem> {
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
fn who(caller: &Caller) -> Json {
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

/// Handles one text frame. Its own answers go in the outbox (a close among them when the
/// connection is to end); the tasks it spawns hand theirs back through the outbox's sender.
async fn handle(
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
                        resubscribe(app, speaker).await;
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

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
    match app.hub.subscribe(conn, id.to_string(), caller, channel, args, since).await {
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

/// After `auth` changed the caller: every subscription asked again as the new caller (a
/// fresh `subscribed` each); those no longer allowed end (`unsubscribed` with the reason).
async fn resubscribe(app: &App, speaker: &Speaker) {
    let subs: Vec<Asked> = lock(&speaker.subs).clone();
    if subs.is_empty() {
        return;
    }
    let Ok(caller) = execute::caller_for_token(app, speaker.token.as_deref()).await else { return };
    for Asked { id, channel, args } in subs {
        app.hub.unsubscribe(speaker.conn, &id, None);
        // The options were read from JSON and written back: they read again.
        let args = serde_json::from_str(&args).unwrap_or_default();
        if let Err(error) = app.hub.subscribe(speaker.conn, id.clone(), caller.clone(), &channel, args, None).await {
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

fn refuse(outbox: &mut Outbox, refused: Refused) {
    outbox.push(refused.to_json());
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
        let item = std::mem::size_of::<super::Outgoing>();
        assert!(item <= 32, "a queued item is {item} bytes: box its larger variants");
    }
}
