//! Differential test: `ssot check` and Prisma's own validator (`@prisma/prisma-schema-wasm`,
//! 6.19 and the latest, run by `tests/oracle/validate.mjs`) must agree on valid/invalid
//! for every fixture in `tests/fixtures/schemas/` and every real schema in
//! `../shared/corpus/prisma-real/`. Each fixture's folder (`valid/`, `invalid/`) must
//! match both verdicts too.
//!
//! Needs Node and the oracle's packages (`npm ci` in `tests/oracle`, which `.ci/run`
//! does); without them the test says it was skipped, loudly.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prisma_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            prisma_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "prisma") {
            out.push(path);
        }
    }
}

/// Runs the oracle over `files`; `None` (after saying why) when it cannot run here.
fn oracle(files: &[PathBuf]) -> Option<BTreeMap<PathBuf, bool>> {
    let root = repo_root();
    let script = root.join("tests/oracle/validate.mjs");
    if !root.join("tests/oracle/node_modules").is_dir() {
        eprintln!("SKIPPED differential test: tests/oracle/node_modules is missing (run `npm ci` in tests/oracle)");
        return None;
    }
    let output = match Command::new("node").arg(&script).args(files).output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("SKIPPED differential test: cannot run node: {e}");
            return None;
        }
    };
    assert!(output.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&output.stderr));
    let mut verdicts = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let value: Value = serde_json::from_str(line).expect("the oracle prints JSON lines");
        let path = PathBuf::from(value["path"].as_str().expect("path"));
        verdicts.insert(path, value["valid"].as_bool().expect("valid"));
    }
    Some(verdicts)
}

#[test]
fn ssot_check_agrees_with_prisma() {
    let root = repo_root();
    let mut files = Vec::new();
    prisma_files(&root.join("tests/fixtures/schemas"), &mut files);
    let fixture_count = files.len();
    let corpus = root.join("../shared/corpus/prisma-real");
    if corpus.is_dir() {
        prisma_files(&corpus, &mut files);
    } else {
        eprintln!("SKIPPED the real-schema corpus: {} is absent", corpus.display());
    }
    assert!(fixture_count >= 100, "expected at least 100 fixtures, found {fixture_count}");
    let Some(verdicts) = oracle(&files) else {
        return;
    };
    assert_eq!(verdicts.len(), files.len(), "the oracle answered for every file");

    let mut disagreements = Vec::new();
    for file in &files {
        let prisma_valid = verdicts[file];
        let source = std::fs::read_to_string(file).expect("readable fixture");
        let ssot_valid = !ssot_schema::check(&source).has_errors();
        let folder_says = file
            .components()
            .any(|c| c.as_os_str() == "invalid")
            .then_some(false)
            .or_else(|| file.components().any(|c| c.as_os_str() == "valid").then_some(true));
        let corpus_file = file.starts_with(&corpus);
        let expected_by_folder = if corpus_file { Some(true) } else { folder_says };
        if ssot_valid != prisma_valid || expected_by_folder.is_some_and(|e| e != prisma_valid) {
            disagreements.push(format!(
                "{}: prisma {}, ssot {}, folder {:?}",
                file.display(),
                if prisma_valid { "valid" } else { "invalid" },
                if ssot_valid { "valid" } else { "invalid" },
                expected_by_folder
            ));
        }
    }
    println!(
        "differential: {} schemas ({} fixtures, {} real), {} disagreements",
        files.len(),
        fixture_count,
        files.len() - fixture_count,
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "ssot and Prisma disagree:\n{}", disagreements.join("\n"));
}
