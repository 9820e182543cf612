//! `ssot init [DIR]`: a starter project that `ssot serve` runs at once: a schema with every
//! kind of annotation a first app needs (users, rules, live queries, search), the settings
//! `serve` reads from the environment, a `.gitignore`, a README with the next commands, and
//! the typed client and React hooks generated for the schema.
//!
//! It never overwrites: when one of its files exists it names it and writes nothing, so that
//! running it in the wrong directory costs nothing.

use crate::generate::{self, Target};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SCHEMA: &str = include_str!("init/schema.prisma");
const ENV_EXAMPLE: &str = include_str!("init/env.example");
const GITIGNORE: &str = include_str!("init/gitignore");
const README: &str = include_str!("init/README.md");

/// Where the generated client goes, inside the project.
pub const CLIENT_DIR: &str = "client";

pub fn init(dir: PathBuf) -> anyhow::Result<ExitCode> {
    let name = project_name(&dir)?;
    let files = [
        ("schema.prisma", SCHEMA.to_string()),
        (".env.example", ENV_EXAMPLE.to_string()),
        (".gitignore", GITIGNORE.to_string()),
        ("README.md", README.replace("{name}", &name)),
    ];
    let mut taken: Vec<String> =
        files.iter().map(|(f, _)| *f).chain([CLIENT_DIR]).filter(|f| dir.join(f).exists()).map(String::from).collect();
    if !taken.is_empty() {
        taken.sort();
        bail!(
            "{} already has {}: ssot init writes only into a new or empty project (nothing was written)",
            dir.display(),
            taken.join(", ")
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, text) in &files {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let schema_path = dir.join("schema.prisma");
    let Some(loaded) = crate::load_schema(Some(schema_path))? else {
        bail!("the starter schema does not check: this is a bug in ssot, please report it");
    };
    let client = generate::emit(&loaded.schema, &loaded.path, &[Target::React], None, &mut |_, _| {})?;
    generate::write(&dir.join(CLIENT_DIR), client, false)?;
    let shown = dir.display();
    println!(
        "created {shown}: schema.prisma, client/ (typed client and React hooks), .env.example, .gitignore, README.md"
    );
    println!();
    println!("next:");
    if dir != Path::new(".") {
        println!("  cd {shown}");
    }
    println!("  ssot serve        # http://127.0.0.1:4000, SQLite in ssot.db");
    Ok(ExitCode::SUCCESS)
}

/// The project's name for its README: the directory's own name (of the current directory
/// for `.`).
fn project_name(dir: &Path) -> anyhow::Result<String> {
    let absolute = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir()?.join(dir) };
    Ok(absolute
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "app".to_string()))
}
