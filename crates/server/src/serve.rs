//! Serving: the listener, the background tasks a server runs (the users' cache following
//! the change log, the log's retention, the bus to other instances, the services'
//! deliveries), and graceful shutdown.

use crate::{auth, router, App};
use std::sync::Arc;

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and stops the database workers after their queued jobs. Whatever still runs
/// when [`App::shutdown_grace`] is over is stopped (its database work interrupted, its
/// client answered 503 where it still can), so a shutdown always ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = Arc::clone(&app.store);
    let grace = app.shutdown_grace;
    let mut follower = None;
    if let Some(auth) = &app.auth {
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
        follower = Some(tokio::spawn(Arc::clone(&auth.current).follow(Arc::clone(&store))));
    }
    // Before the first pruning: from then on the log keeps what a service has not delivered.
    let services = match &app.services {
        Some(services) => {
            services.prepare().await.map_err(std::io::Error::other)?;
            let (services, closing) = (Arc::clone(services), app.closing.subscribe());
            Some(tokio::spawn(async move { services.run(closing).await }))
        }
        None => None,
    };
    let pruner = tokio::spawn(prune_changes(Arc::clone(&store)));
    store.listen_for_changes()?;
    let hub = tokio::spawn(Arc::clone(&app.hub).follow(app.closing.subscribe(), app.log_poll));
    let bus = app.bus.clone().map(|settings| {
        ssot_realtime::bus::start(settings, Arc::clone(&app.hub), Arc::clone(&store), app.closing.subscribe())
    });
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let closing = app.closing.clone();
    let signal = async move {
        shutdown.await;
        // Sockets are not requests: told to go away now, rather than at the end of the grace.
        closing.send_replace(true);
        let _ = stopping.send(());
    };
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
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
    tokio::select! {
        result = &mut server => result?,
        () = overdue => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown: the grace period is over; stopping the requests still running");
            store.halt();
            // The stopped requests answer 503 as their work ends; connections that still
            // do not close are dropped with the server.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), &mut server).await;
        }
    }
    pruner.abort();
    hub.abort();
    if let Some(bus) = bus {
        // It says `bye` to the other instances as the sockets close; a moment for that.
        if tokio::time::timeout(std::time::Duration::from_secs(2), bus).await.is_err() {
            tracing::warn!("shutdown: the bus did not stop in time");
        }
    }
    if let Some(follower) = follower {
        follower.abort();
    }
    if let Some(services) = services {
        // They stop at once (in-flight deliveries go again after a restart) and give up
        // their leases; a moment for that.
        if tokio::time::timeout(std::time::Duration::from_secs(2), services).await.is_err() {
            tracing::warn!("shutdown: the services did not stop in time");
        }
    }
    let drained = tokio::task::spawn_blocking(move || store.shutdown());
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("shutdown: a database worker did not stop in time; leaving it");
    }
    Ok(())
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
