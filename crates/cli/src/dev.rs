//! `ssot dev`: `ssot serve` that follows the schema file. Each time the file changes it is
//! checked (its diagnostics printed; an invalid version leaves the running one serving),
//! the database is brought to it (asking before a step that loses data), the typed client
//! is written again, and the new version takes over in the same process without dropping a
//! WebSocket connection (`ssot_server::Swapper`).

use crate::db::{self, say, ServeArgs, Server};
use crate::generate::{self, Fate, Target};
use anyhow::Context;
use ssot_store::migrate::MigrateError;
use ssot_store::Store;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How often the schema file is read to see whether it changed.
const POLL: Duration = Duration::from_millis(250);

pub struct DevOptions {
    pub serve: ServeArgs,
    /// Where the typed client and React hooks go; `None`: not written.
    pub client: Option<PathBuf>,
    /// Apply steps that lose data without asking.
    pub accept_data_loss: bool,
}

/// A version of the schema that checked, with its database brought to it.
struct Version {
    schema: ssot_schema::ir::Schema,
    store: Store,
    /// Whether bringing the database to it changed the database.
    migrated: bool,
}

pub fn dev(options: DevOptions) -> anyhow::Result<ExitCode> {
    let path = crate::schema_path(options.serve.schema.clone())?;
    // A browser app on another port (Vite's) is what `ssot dev` serves first.
    let server = Arc::new(Server::resolve(options.serve, None, &["*"])?);
    let accept = options.accept_data_loss;
    let client = options.client;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async move {
        // Ctrl-C or SIGTERM, heard from the start: while waiting for a first valid schema too.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = db::shutdown_signal();
        tokio::spawn(async move {
            signal.await;
            stop.send_replace(true);
        });
        let mut first = stopped.clone();
        let (mut text, version) = tokio::select! {
            version = first_version(&server, &path, accept) => version?,
            _ = first.wait_for(|stop| *stop) => {
                say("stopped");
                return anyhow::Ok(());
            }
        };
        let mut stopped = stopped;
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        write_client(client.as_deref(), &version.schema, &path);
        let mut current = Arc::new(server.app(Arc::new(version.store), &version.schema, None)?);
        let listener = db::bind(&server.listen).await?;
        let address = listener.local_addr()?;
        server.announce(&current, &path);
        say(&format!("listening on http://{address}"));
        say(&format!("watching {} for changes", path.display()));
        let (swapper, swaps) = ssot_server::swaps();
        let serving = tokio::spawn(ssot_server::serve_swapping(listener, Arc::clone(&current), swaps, shutdown));
        let watching = async {
            loop {
                text = changed(&path, &text).await;
                let Some(version) = next_version(&server, &path, accept).await else {
                    say("the running version goes on serving");
                    continue;
                };
                let store = Arc::new(version.store);
                // The database is at the new version already when it was migrated.
                let kept = if version.migrated {
                    "the running version goes on serving, on a database migrated past it: save the schema again to retry"
                } else {
                    "the running version goes on serving"
                };
                let next = match server.app(store, &version.schema, Some(&current)) {
                    Ok(app) => Arc::new(app),
                    Err(e) => {
                        say(&format!("error: {e:#}\n{kept}"));
                        continue;
                    }
                };
                match swapper.swap(Arc::clone(&next)).await {
                    Ok(()) => {
                        current = next;
                        write_client(client.as_deref(), &version.schema, &path);
                        say(&format!("serving the new version of {}", path.display()));
                    }
                    Err(e) => say(&format!("error: {e}\n{kept}")),
                }
            }
        };
        tokio::select! {
            served = serving => served??,
            () = watching => {}
        }
        say("stopped");
        anyhow::Ok(())
    });
    // A question about data loss may still be waiting for an answer on stdin: not waited for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The first version that checks and migrates: until there is one, the file is watched.
async fn first_version(server: &Arc<Server>, path: &Path, accept: bool) -> anyhow::Result<(String, Version)> {
    let mut text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    loop {
        if let Some(version) = next_version(server, path, accept).await {
            return Ok((text, version));
        }
        say(&format!("waiting for {} to change", path.display()));
        text = changed(path, &text).await;
    }
}

/// Waits until the file's text is no longer `last` (and has stayed the same for a moment,
/// so that an editor's save is read whole); its new text.
async fn changed(path: &Path, last: &str) -> String {
    loop {
        tokio::time::sleep(POLL).await;
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if text == last {
            continue;
        }
        tokio::time::sleep(POLL / 2).await;
        if std::fs::read_to_string(path).is_ok_and(|again| again == text) {
            return text;
        }
    }
}

/// Checks the schema and brings the database to it; `None` (having said why) when it does
/// not check, or its migration failed or was declined.
async fn next_version(server: &Arc<Server>, path: &Path, accept: bool) -> Option<Version> {
    let (server, path) = (Arc::clone(server), path.to_path_buf());
    // Reading the answer to a question blocks: off the runtime's workers.
    let prepared = tokio::task::spawn_blocking(move || prepare(&server, &path, accept)).await;
    match prepared {
        Ok(Ok(version)) => version,
        Ok(Err(e)) => {
            say(&format!("error: {e:#}"));
            None
        }
        Err(e) => {
            say(&format!("error: {e}"));
            None
        }
    }
}

fn prepare(server: &Server, path: &Path, accept: bool) -> anyhow::Result<Option<Version>> {
    let Some(loaded) = crate::load_schema(Some(path.to_path_buf()))? else { return Ok(None) };
    let store = server.open(&loaded.schema)?;
    let plan = store.plan()?;
    if plan.is_empty() {
        return Ok(Some(Version { schema: loaded.schema, store, migrated: false }));
    }
    let losses = plan.data_loss();
    if !losses.is_empty() && !accept && !ask(&losses) {
        say("not migrated: the database keeps its data");
        return Ok(None);
    }
    let summary: Vec<String> = plan.steps.iter().map(|s| s.summary.clone()).collect();
    match store.apply(plan, true) {
        Ok(()) => {
            say(&format!("migrated {} ({} steps)", server.url.redacted(), summary.len()));
            for line in &summary {
                say(&format!("  {line}"));
            }
            Ok(Some(Version { schema: loaded.schema, store, migrated: true }))
        }
        Err(e @ MigrateError::DataLoss(_)) => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e).context("the migration failed, and nothing of it was applied")),
    }
}

/// Asks on the terminal (stdin) whether to apply steps that lose data; no answer is no.
fn ask(losses: &[&str]) -> bool {
    eprintln!("bringing the database to the new schema loses data:\n  - {}", losses.join("\n  - "));
    eprint!("apply it? [y/N] ");
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(_) => matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"),
        Err(_) => false,
    }
}

/// Writes the typed client and React hooks for `schema` into `dir` (the files that changed).
fn write_client(dir: Option<&Path>, schema: &ssot_schema::ir::Schema, path: &Path) {
    let Some(dir) = dir else { return };
    let written = generate::emit(schema, path, &[Target::React], None, &mut |_, _| {})
        .and_then(|files| generate::write(dir, files, false));
    match written {
        Ok(fates) => {
            let wrote = fates.iter().filter(|(_, fate)| *fate == Fate::Wrote).count();
            if wrote > 0 {
                say(&format!("wrote the client in {} ({wrote} files changed)", dir.display()));
            }
        }
        Err(e) => say(&format!("error: the client could not be written: {e:#}")),
    }
}
