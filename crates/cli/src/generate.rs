//! `ssot generate`: the schema in, files out, in named phases (read and check the schema,
//! emit the target's files, write or compare them), each printed with its time on stderr.
//!
//! Files are written only when their text changes, so that a build watching them does not
//! run again for nothing; `--check` writes nothing and exits 1 when a file is missing or
//! differs from what the schema gives (for CI: generated code committed and current).

use crate::{load_schema_phased, Loaded};
use anyhow::{bail, Context};
use ssot_store::catalog::Catalog;
use ssot_store::dialect::Dialect;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Target {
    /// DIR/schema.sql: the database's DDL and change log.
    Sql,
    /// DIR/openapi.json: the REST API's OpenAPI 3.1 document.
    Openapi,
    /// DIR/ssot.ts: the typed client (rows, filters, orders, writes, results, a delegate per
    /// model), and DIR/runtime/: the client runtime it imports.
    Ts,
    /// DIR/react.ts: typed React hooks per model (`usePosts`, `useCreatePost`, ...), and
    /// DIR/runtime/react/: the React adapter they wrap; implies `ts`.
    React,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Sql => "sql",
            Target::Openapi => "openapi",
            Target::Ts => "ts",
            Target::React => "react",
        }
    }
}

pub struct GenerateOptions {
    pub schema: Option<PathBuf>,
    pub out: PathBuf,
    pub targets: Vec<Target>,
    /// For `sql`: `sqlite` or `postgresql` (default: the schema's provider).
    pub dialect: Option<String>,
    /// Compare, do not write.
    pub check: bool,
}

/// Prints a phase's name and how long it took.
fn phase(name: &str, took: Duration) {
    eprintln!("  {name:<14} {:>8.1} ms", took.as_secs_f64() * 1000.0);
}

pub fn generate(o: GenerateOptions) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let Some(Loaded { schema, path }) = load_schema_phased(o.schema, &mut phase)? else {
        return Ok(ExitCode::from(1));
    };
    let files = emit(&schema, &path, &o.targets, o.dialect.as_deref(), &mut phase)?;
    let writing = Instant::now();
    let mut stale = 0;
    for (file, fate) in write(&o.out, files, o.check)? {
        match fate {
            Fate::Unchanged => println!("unchanged {}", file.display()),
            Fate::Stale => {
                println!("stale {}", file.display());
                stale += 1;
            }
            Fate::Wrote => println!("wrote {}", file.display()),
        }
    }
    phase(if o.check { "compare" } else { "write" }, writing.elapsed());
    phase("total", started.elapsed());
    Ok(if stale > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// What [`write`] did with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It already held this text.
    Unchanged,
    /// It is missing or differs, and `check` kept it as it was.
    Stale,
    Wrote,
}

/// Writes each of `files` (name inside `out`, text) whose text changed, creating the
/// directories it needs; with `check`, writes nothing. Each file's path and fate, in order.
pub fn write(out: &std::path::Path, files: Vec<(String, String)>, check: bool) -> anyhow::Result<Vec<(PathBuf, Fate)>> {
    let mut fates = Vec::with_capacity(files.len());
    for (name, text) in files {
        let file = out.join(&name);
        let current = std::fs::read_to_string(&file).is_ok_and(|old| old == text);
        let fate = match (check, current) {
            (_, true) => Fate::Unchanged,
            (true, false) => Fate::Stale,
            (false, false) => {
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
                Fate::Wrote
            }
        };
        fates.push((file, fate));
    }
    Ok(fates)
}

/// Each target's files (name in the output directory, text), telling `phase` how long each
/// target took. `react` implies `ts` (react.ts imports ssot.ts and the runtime).
pub fn emit(
    schema: &ssot_schema::ir::Schema,
    path: &std::path::Path,
    targets: &[Target],
    dialect: Option<&str>,
    phase: &mut dyn FnMut(&str, Duration),
) -> anyhow::Result<Vec<(String, String)>> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut targets = targets.to_vec();
    if targets.contains(&Target::React) {
        targets.push(Target::Ts);
    }
    targets.sort_by_key(|t| *t as u8);
    targets.dedup();
    // The file's name only: the text must not depend on where the schema sits.
    let source = path.file_name().map_or_else(|| "the schema".into(), |n| n.to_string_lossy().to_string());
    for target in targets {
        let emitting = Instant::now();
        match target {
            Target::Sql => files.push(("schema.sql".into(), sql(schema, dialect)?)),
            // The bytes `ssot serve` answers `GET /api/openapi.json` with.
            Target::Openapi => files.push(("openapi.json".into(), ssot_codegen::openapi::generate(schema)?)),
            Target::Ts => files.extend(ssot_codegen::typescript::files(schema, &source)),
            Target::React => files.extend(ssot_codegen::typescript::react::files(schema, &source)),
        }
        phase(&format!("emit {}", target.name()), emitting.elapsed());
    }
    Ok(files)
}

/// Every statement that creates the schema's database from nothing: tables, search
/// indexes (`@@search`), then the change log.
fn sql(schema: &ssot_schema::ir::Schema, dialect: Option<&str>) -> anyhow::Result<String> {
    let dialect = match dialect {
        None => Catalog::of(schema)?.dialect,
        Some("sqlite") => Dialect::Sqlite,
        Some("postgresql" | "postgres") => Dialect::Postgres,
        Some(other) => bail!("unknown dialect `{other}`: use sqlite or postgresql"),
    };
    let catalog = Catalog::for_dialect(schema, dialect);
    let mut sql = String::from(
        "-- Generated by ssot from the schema: the tables, indexes and change log of an empty database.\n\n",
    );
    let search = catalog.searches.iter().flat_map(|index| ssot_store::search::ddl::create(dialect, index));
    let statements = ssot_store::ddl::create_all(&catalog).into_iter().chain(search);
    for statement in statements.chain(ssot_store::changelog::statements(&catalog)) {
        sql.push_str(&statement);
        sql.push_str(";\n\n");
    }
    Ok(sql)
}
