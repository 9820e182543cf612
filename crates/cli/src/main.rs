//! `ssot`: the command line. It ties the crates together and owns process concerns
//! (arguments, files, exit codes, output formats); every decision about schemas lives
//! in the library crates.

mod db;
mod dev;
mod generate;
mod init;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

// Checking a schema allocates many small values; mimalloc makes that a third faster
// than the system allocator (docs/benchmarks.md), and `ssot_alloc` enters it by its
// cheapest path.
#[global_allocator]
static GLOBAL: ssot_alloc::Mimalloc = ssot_alloc::Mimalloc;

#[derive(Parser)]
#[command(name = "ssot", version, about = "One Prisma schema in: a realtime backend and a typed SDK out")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// One value, parsed once per run: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Check a schema: exit 0 when valid (warnings allowed), 1 when invalid, 2 on a usage or I/O error.
    Check {
        /// The schema (default: ./schema.prisma, then ./prisma/schema.prisma).
        schema: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Start a project in DIR (default: the current directory): a starter schema, the typed
    /// client and React hooks for it, .env.example, .gitignore and a README. `ssot serve` in
    /// DIR runs it at once. Writes nothing when one of those files exists.
    Init { dir: Option<PathBuf> },
    /// Print the validated schema (models, fields, relations, annotations) as JSON.
    Inspect { schema: Option<PathBuf> },
    /// Bring a database to the schema: tables, keys, indexes, foreign keys, enums, change log.
    Migrate {
        schema: Option<PathBuf>,
        /// sqlite:PATH or postgres://... (default: $SSOT_DATABASE_URL, then sqlite:ssot.db).
        #[arg(long)]
        database: Option<String>,
        /// Print the SQL instead of applying it.
        #[arg(long)]
        print: bool,
        /// Apply steps that drop or narrow data.
        #[arg(long)]
        accept_data_loss: bool,
    },
    /// Serve the REST API (migrating a SQLite database first when that loses nothing).
    Serve {
        #[command(flatten)]
        args: db::ServeArgs,
        /// A NATS server shared with the other instances on this database, as
        /// nats://[user:password@]host[:port][?prefix=NAME]: change notices, broadcasts and
        /// presence go through it (default: $SSOT_BUS; none when unset: one instance).
        #[arg(long, value_name = "URL")]
        bus: Option<String>,
    },
    /// Serve as `ssot serve` does, and follow the schema file: on each change check it (an
    /// invalid version leaves the running one serving), migrate the database (asking before
    /// a step that loses data), write the typed client again, and serve the new version
    /// without dropping WebSocket connections. Browsers may call it from any origin unless
    /// --cors-origin or $SSOT_CORS_ORIGINS says otherwise.
    Dev {
        #[command(flatten)]
        args: db::ServeArgs,
        /// Where the typed client and React hooks are written (default: client/ beside the
        /// schema).
        #[arg(long, value_name = "DIR")]
        client: Option<PathBuf>,
        /// Do not write the client.
        #[arg(long, conflicts_with = "client")]
        no_client: bool,
        /// Apply steps that drop or narrow data without asking.
        #[arg(long)]
        accept_data_loss: bool,
    },
    /// Write generated artifacts: `--target sql` writes DIR/schema.sql (the database's DDL),
    /// `--target openapi` DIR/openapi.json (the REST API's OpenAPI 3.1 document), `--target ts`
    /// DIR/ssot.ts (the typed TypeScript client) and DIR/runtime/ (the client runtime it
    /// imports). Several targets: `--target ts,openapi` or `--target ts --target openapi`.
    Generate {
        schema: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [generate::Target::Sql])]
        target: Vec<generate::Target>,
        /// For `sql`: the dialect (default: the schema's provider).
        #[arg(long)]
        dialect: Option<String>,
        /// Write nothing: exit 1 and name each file that is missing or differs from what the
        /// schema gives.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { schema, format } => check(schema, format),
        Command::Init { dir } => init::init(dir.unwrap_or_else(|| PathBuf::from("."))),
        Command::Inspect { schema } => inspect(schema),
        Command::Migrate { schema, database, print, accept_data_loss } => {
            db::migrate(schema, database, print, accept_data_loss)
        }
        Command::Serve { args, bus } => {
            let _flush_logs_on_exit = init_logging();
            db::serve(args, bus)
        }
        Command::Dev { args, client, no_client, accept_data_loss } => {
            let _flush_logs_on_exit = init_logging();
            let client = match (no_client, client) {
                (true, _) => None,
                (false, Some(dir)) => Some(dir),
                (false, None) => {
                    let schema = schema_path(args.schema.clone())?;
                    Some(schema.parent().unwrap_or(Path::new(".")).join(init::CLIENT_DIR))
                }
            };
            dev::dev(dev::DevOptions { serve: args, client, accept_data_loss })
        }
        Command::Generate { schema, out, target, dialect, check } => {
            generate::generate(generate::GenerateOptions { schema, out, targets: target, dialect, check })
        }
    }
}

/// Logs go to stderr: human-readable, or one JSON object per line with
/// `SSOT_LOG_FORMAT=json`; the level comes from `SSOT_LOG` (default `info`). Lines are
/// handed to a writer thread (a write per request on the request's path costs a third of
/// the throughput); the returned guard flushes what is left when it drops.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_env("SSOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    if std::env::var("SSOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

/// The schema's own checks, then (when it is valid) its rules: one list of diagnostics
/// in file order.
fn check_everything(source: &str) -> ssot_schema::Checked {
    check_everything_phased(source, &mut |_, _| {})
}

/// The schema's checks (`parse`, `validate`, then `analyze`: the rules of every
/// `@@policy` and `@@realtime`), telling `phase` how long each took.
fn check_everything_phased(source: &str, phase: &mut dyn FnMut(&'static str, Duration)) -> ssot_schema::Checked {
    let mut checked = ssot_schema::check_phased(source, phase);
    if !checked.has_errors() {
        let started = Instant::now();
        checked.diagnostics.extend(ssot_policy::check_schema(&checked.schema, source));
        checked.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        phase("analyze", started.elapsed());
    }
    checked
}

/// A schema that checked clean, with its path.
pub struct Loaded {
    pub schema: ssot_schema::ir::Schema,
    pub path: PathBuf,
}

/// Reads and checks the schema; on errors prints them and returns `None`.
pub fn load_schema(given: Option<PathBuf>) -> anyhow::Result<Option<Loaded>> {
    load_schema_phased(given, &mut |_, _| {})
}

/// [`load_schema`], telling `phase` how long reading and each check took.
pub fn load_schema_phased(
    given: Option<PathBuf>,
    phase: &mut dyn FnMut(&'static str, Duration),
) -> anyhow::Result<Option<Loaded>> {
    let path = schema_path(given)?;
    let started = Instant::now();
    let source = read(&path)?;
    phase("read", started.elapsed());
    let checked = check_everything_phased(&source, phase);
    if checked.has_errors() {
        let shown = path.display().to_string();
        eprint!("{}", ssot_schema::render::human(&checked.diagnostics, &source, &shown, false));
        return Ok(None);
    }
    Ok(Some(Loaded { schema: checked.schema, path }))
}

/// The schema path given, or the first default that exists.
pub(crate) fn schema_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    ["schema.prisma", "prisma/schema.prisma"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("no schema given, and neither ./schema.prisma nor ./prisma/schema.prisma exists")
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn check(schema: Option<PathBuf>, format: Format) -> anyhow::Result<ExitCode> {
    let path = schema_path(schema)?;
    let source = read(&path)?;
    let checked = check_everything(&source);
    let shown = path.display().to_string();
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Human => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let text = ssot_schema::render::human(&checked.diagnostics, &source, &shown, color);
            eprint!("{text}");
            if !checked.has_errors() {
                let models = checked.schema.models.len();
                writeln!(stdout, "{shown}: valid ({models} models)")?;
            }
        }
        Format::Json => {
            let value = ssot_schema::render::json(&checked.diagnostics, &source, &shown);
            writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(if checked.has_errors() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn inspect(schema: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let Some(Loaded { schema, .. }) = load_schema(schema)? else { return Ok(ExitCode::from(1)) };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
