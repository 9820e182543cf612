//! Prometheus metrics, written by hand: a handful of counters and one histogram do not
//! need a metrics framework. Served at `GET /metrics` in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// One route and method's figures.
#[derive(Default)]
struct Series {
    /// status → requests.
    statuses: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// The socket's figures.
#[derive(Default)]
pub struct WsStats {
    /// Connections open now.
    pub connections: std::sync::atomic::AtomicI64,
    pub opened: std::sync::atomic::AtomicU64,
    pub messages_in: std::sync::atomic::AtomicU64,
    pub messages_out: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    pub ws: WsStats,
    /// Full-text searches run (`/search`, and lists with `search`, over every transport).
    pub searches: std::sync::atomic::AtomicU64,
    /// Of them, answered from the search cache.
    pub search_cache_hits: std::sync::atomic::AtomicU64,
    /// route → method → figures. Looked up by `&str` at both levels, so recording a
    /// request allocates nothing once its route and method have been seen.
    series: Mutex<BTreeMap<String, BTreeMap<String, Series>>>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !series.contains_key(route) {
            series.insert(route.to_string(), BTreeMap::new());
        }
        let Some(methods) = series.get_mut(route) else { return };
        if !methods.contains_key(method) {
            methods.insert(method.to_string(), Series::default());
        }
        let Some(s) = methods.get_mut(method) else { return };
        *s.statuses.entry(status).or_default() += 1;
        let h = &mut s.latency;
        let seconds = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The exposition text; `pool` adds the database gauges (workers, queued jobs).
    pub fn render(&self, pool: &ssot_store::conn::PoolStats, hub: &ssot_realtime::HubStats) -> String {
        let mut out = String::new();
        out.push_str("# HELP ssot_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE ssot_http_requests_total counter\n");
        let series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Sorted by method, route, status: Prometheus does not care, people reading it do.
        let mut requests: Vec<(&str, &str, u16, u64)> = Vec::new();
        let mut latency: Vec<(&str, &str, &Histogram)> = Vec::new();
        for (route, methods) in series.iter() {
            for (method, s) in methods {
                requests.extend(s.statuses.iter().map(|(status, n)| (method.as_str(), route.as_str(), *status, *n)));
                latency.push((method.as_str(), route.as_str(), &s.latency));
            }
        }
        requests.sort_unstable();
        latency.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (method, route, status, n) in requests {
            let _ = writeln!(
                out,
                "ssot_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP ssot_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE ssot_http_request_duration_seconds histogram\n");
        for (method, route, h) in latency {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ssot_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "ssot_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "ssot_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "ssot_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        let load = |v: &std::sync::atomic::AtomicU64| v.load(std::sync::atomic::Ordering::Relaxed).to_string();
        let ws = &self.ws;
        let figures: [(&str, &str, &str, String); 22] = [
            ("ssot_searches_total", "counter", "Full-text searches run, over every transport.", load(&self.searches)),
            (
                "ssot_search_cache_hits_total",
                "counter",
                "Full-text searches answered from the search cache (the database unchanged since) or by the same search already running.",
                load(&self.search_cache_hits),
            ),
            ("ssot_db_workers", "gauge", "Database worker threads (each owns a connection).", pool.workers.to_string()),
            ("ssot_db_jobs_in_flight", "gauge", "Database jobs queued or running.", pool.in_flight.to_string()),
            ("ssot_db_jobs_total", "counter", "Database jobs run.", pool.completed.to_string()),
            (
                "ssot_db_jobs_timed_out_total",
                "counter",
                "Database jobs stopped at the end of their time budget.",
                pool.timed_out.to_string(),
            ),
            (
                "ssot_db_jobs_cancelled_total",
                "counter",
                "Database jobs stopped because their client left.",
                pool.cancelled.to_string(),
            ),
            (
                "ssot_ws_connections",
                "gauge",
                "WebSocket connections open now.",
                ws.connections.load(std::sync::atomic::Ordering::Relaxed).to_string(),
            ),
            ("ssot_ws_connections_total", "counter", "WebSocket connections opened.", load(&ws.opened)),
            ("ssot_ws_messages_received_total", "counter", "WebSocket messages received.", load(&ws.messages_in)),
            (
                "ssot_ws_messages_sent_total",
                "counter",
                "WebSocket messages sent (several may share a frame).",
                load(&ws.messages_out),
            ),
            ("ssot_realtime_subscriptions", "gauge", "Live subscriptions open.", hub.subscriptions.to_string()),
            (
                "ssot_realtime_groups",
                "gauge",
                "Groups of subscriptions sharing one evaluation.",
                hub.groups.to_string(),
            ),
            ("ssot_realtime_batches_total", "counter", "Batches of the change log handled.", hub.batches.to_string()),
            ("ssot_realtime_evaluations_total", "counter", "Live queries run again.", hub.evaluations.to_string()),
            (
                "ssot_realtime_statements_total",
                "counter",
                "Statements that ran live queries again (the groups of one model in one batch share one).",
                hub.statements.to_string(),
            ),
            (
                "ssot_realtime_updates_total",
                "counter",
                "Update messages queued for connections.",
                hub.updates.to_string(),
            ),
            ("ssot_realtime_events_total", "counter", "Events in those updates.", hub.events.to_string()),
            (
                "ssot_realtime_queue_overflows_total",
                "counter",
                "Updates not queued: the connection's queue was full.",
                hub.overflows.to_string(),
            ),
            (
                "ssot_realtime_resets_total",
                "counter",
                "Resets sent to connections that fell behind.",
                hub.resets.to_string(),
            ),
            (
                "ssot_realtime_delivery_seconds_total",
                "counter",
                "Time from reading a batch to queueing its updates.",
                hub.delivery_seconds.to_string(),
            ),
            ("ssot_realtime_connections", "gauge", "Connections known to the hub.", hub.connections.to_string()),
        ];
        for (name, kind, help, value) in figures {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}
