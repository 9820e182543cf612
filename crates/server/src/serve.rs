//! Serving: the listener, the background tasks an app runs (the users' cache following
//! the change log, the log's retention, the bus to other instances, the services'
//! deliveries), graceful shutdown, and swapping the app being served for another
//! (`ssot dev`, when the schema changes) without dropping a connection.

use crate::{auth, router, App};
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot, watch};

/// Hands a server started with [`serve_swapping`] the apps that take over from the one it
/// serves.
#[derive(Clone)]
pub struct Swapper(mpsc::Sender<(Arc<App>, oneshot::Sender<std::io::Result<()>>)>);

/// What [`serve_swapping`] reads the [`Swapper`]'s apps from.
pub struct Swaps(mpsc::Receiver<(Arc<App>, oneshot::Sender<std::io::Result<()>>)>);

/// A [`Swapper`] and the [`Swaps`] it sends to.
pub fn swaps() -> (Swapper, Swaps) {
    let (sender, receiver) = mpsc::channel(1);
    (Swapper(sender), Swaps(receiver))
}

impl Swapper {
    /// Makes `next` (built with [`App::succeeding`] from the app being served) the one
    /// served: its background tasks start, new requests go to it, and open sockets move to
    /// it (each subscription answered again from it). The app it replaces stops its tasks
    /// at once and its database after the shutdown grace, when the requests it was running
    /// are over. An error (its tasks could not start) leaves the old one serving.
    pub async fn swap(&self, next: Arc<App>) -> std::io::Result<()> {
        let (done, result) = oneshot::channel();
        self.0.send((next, done)).await.map_err(|_| std::io::Error::other("the server has stopped"))?;
        result.await.map_err(|_| std::io::Error::other("the server has stopped"))?
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and stops the database workers after their queued jobs. Whatever still runs
/// when [`App::shutdown_grace`] is over is stopped (its database work interrupted, its
/// client answered 503 where it still can), so a shutdown always ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (_swapper, swaps) = swaps();
    serve_swapping(listener, app, swaps, shutdown).await
}

/// [`serve`], taking over from the app served the apps `swaps` brings.
pub async fn serve_swapping(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    mut swaps: Swaps,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = app.shutdown_grace;
    let mut current = Background::start(Arc::clone(&app)).await?;
    let routes = Arc::new(RwLock::new(router(Arc::clone(&app))));
    let (stopping, stopped) = oneshot::channel::<()>();
    let (closing, sockets) = (app.closing.clone(), Arc::clone(&app.sockets));
    let signal = async move {
        shutdown.await;
        // Sockets are not requests: told to go away now, rather than at the end of the grace.
        closing.send_replace(true);
        sockets.alarms.raise_all(crate::ws::SHUTDOWN);
        let _ = stopping.send(());
    };
    let service = axum::Router::new()
        .fallback_service(Current(Arc::clone(&routes)))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Small messages go out at once: a socket's update would otherwise wait, under Nagle's
    // algorithm, for the client to acknowledge the one before.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
    });
    let server = std::future::IntoFuture::into_future(axum::serve(listener, service).with_graceful_shutdown(signal));
    tokio::pin!(server);
    let overdue = async move {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::pin!(overdue);
    loop {
        tokio::select! {
            result = &mut server => {
                result?;
                break;
            }
            () = &mut overdue => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown: the grace period is over; stopping the requests still running");
                current.app.store.halt();
                // The stopped requests answer 503 as their work ends; connections that still
                // do not close are dropped with the server.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), &mut server).await;
                break;
            }
            Some((next, done)) = swaps.0.recv() => {
                match Background::start(Arc::clone(&next)).await {
                    Ok(started) => {
                        *routes.write().unwrap_or_else(std::sync::PoisonError::into_inner) = router(Arc::clone(&next));
                        let old = std::mem::replace(&mut current, started);
                        old.app.successor.send_replace(Some(next));
                        old.app.sockets.alarms.raise_all(crate::ws::MOVED);
                        tokio::spawn(old.retire());
                        let _ = done.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                    }
                }
            }
        }
    }
    let store = Arc::clone(&current.app.store);
    current.stop().await;
    let drained = tokio::task::spawn_blocking(move || store.shutdown());
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("shutdown: a database worker did not stop in time; leaving it");
    }
    Ok(())
}

/// The router of the app being served, asked afresh for each request.
#[derive(Clone)]
struct Current(Arc<RwLock<axum::Router>>);

impl tower_service::Service<axum::extract::Request> for Current {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = <axum::Router as tower_service::Service<axum::extract::Request>>::Future;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        let mut router = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        // A router is always ready.
        tower_service::Service::call(&mut router, request)
    }
}

/// An app's background tasks, from their start to their stop.
struct Background {
    app: Arc<App>,
    /// Told when they are to stop: at the server's shutdown, or when another app takes over.
    stop: watch::Sender<bool>,
    /// Passes the server's shutdown on to `stop`.
    bridge: tokio::task::JoinHandle<()>,
    follower: Option<tokio::task::JoinHandle<()>>,
    services: Option<tokio::task::JoinHandle<()>>,
    pruner: tokio::task::JoinHandle<()>,
    hub: tokio::task::JoinHandle<()>,
    bus: Option<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Starts the app's tasks. What can fail runs first: an error leaves nothing running.
    async fn start(app: Arc<App>) -> std::io::Result<Background> {
        let store = Arc::clone(&app.store);
        if app.auth.is_some() {
            // Two instances starting at once on one PostgreSQL may both create these tables:
            // `CREATE TABLE IF NOT EXISTS` is not safe against that race (one of them fails on the
            // catalog's unique index), and the table is there when it is tried again.
            let mut attempt = 0;
            loop {
                let created = store
                    .write(|conn, _| {
                        auth::refresh::create_table(conn)?;
                        auth::sessions::create_table(conn)
                    })
                    .await;
                match created {
                    Ok(()) => break,
                    Err(e) if attempt < 3 => {
                        attempt += 1;
                        tracing::debug!(error = %e, "creating the sessions' tables failed; trying again");
                        tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                    }
                    Err(e) => return Err(std::io::Error::other(e)),
                }
            }
        }
        // Before the first pruning: from then on the log keeps what a service has not delivered.
        if let Some(services) = &app.services {
            services.prepare().await.map_err(std::io::Error::other)?;
        }
        store.listen_for_changes()?;

        let stop = watch::Sender::new(false);
        // The server's shutdown stops them too, as it closes the sockets.
        let (mut closing, stop_on_close) = (app.closing.subscribe(), stop.clone());
        let bridge = tokio::spawn(async move {
            if closing.wait_for(|closing| *closing).await.is_ok() {
                stop_on_close.send_replace(true);
            }
        });
        let follower = app.auth.as_ref().map(|auth| tokio::spawn(Arc::clone(&auth.current).follow(Arc::clone(&store))));
        let services = app.services.as_ref().map(|services| {
            let (services, stopped) = (Arc::clone(services), stop.subscribe());
            tokio::spawn(async move { services.run(stopped).await })
        });
        let pruner = tokio::spawn(prune_changes(Arc::clone(&store)));
        let hub = tokio::spawn(Arc::clone(&app.hub).follow(stop.subscribe(), app.log_poll));
        let bus = app.bus.clone().map(|settings| {
            ssot_realtime::bus::start(settings, Arc::clone(&app.hub), Arc::clone(&store), stop.subscribe())
        });
        Ok(Background { app, stop, bridge, follower, services, pruner, hub, bus })
    }

    /// Stops the tasks: at once, but for the bus's goodbye and the services giving up
    /// their leases.
    async fn stop(self) {
        self.stop.send_replace(true);
        self.bridge.abort();
        self.pruner.abort();
        self.hub.abort();
        if let Some(bus) = self.bus {
            // It says `bye` to the other instances as the sockets close; a moment for that.
            if tokio::time::timeout(std::time::Duration::from_secs(2), bus).await.is_err() {
                tracing::warn!("shutdown: the bus did not stop in time");
            }
        }
        if let Some(follower) = self.follower {
            follower.abort();
        }
        if let Some(services) = self.services {
            // They stop at once (in-flight deliveries go again after a restart) and give up
            // their leases; a moment for that.
            if tokio::time::timeout(std::time::Duration::from_secs(2), services).await.is_err() {
                tracing::warn!("shutdown: the services did not stop in time");
            }
        }
    }

    /// Stops the tasks of an app another took over from, then, once the requests it was
    /// running have had the shutdown grace to end, its database workers.
    async fn retire(self) {
        let (store, grace) = (Arc::clone(&self.app.store), self.app.shutdown_grace);
        self.stop().await;
        tokio::time::sleep(grace).await;
        store.halt();
        if tokio::task::spawn_blocking(move || store.shutdown()).await.is_err() {
            tracing::warn!("a replaced app's database workers did not stop cleanly");
        }
    }
}

/// Keeps the change log to the store's retention, checking every minute.
async fn prune_changes(store: Arc<ssot_store::Store>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = store.prune_changes().await {
            tracing::warn!(error = %e, "pruning the change log failed");
        }
    }
}
