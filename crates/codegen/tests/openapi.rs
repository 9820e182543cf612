//! The OpenAPI documents `ssot_codegen::openapi` writes, checked by a real OpenAPI 3.1
//! validator: `openapi-spec-validator` (Python, pinned in `tests/openapi/requirements.txt`,
//! run by `tests/openapi/validate.py`), which checks each document against the OpenAPI
//! 3.1 schema and every Schema Object in it against the 3.1 dialect of JSON Schema
//! 2020-12, and resolves every `$ref`. Over the example, the fixtures with policies, field
//! rules and `@@auth`, the benches' schemas and every real schema of
//! `../shared/corpus/prisma-real/`. Each document is generated twice: the same bytes.
//!
//! Needs `python3` with the validator (`.ci/run` installs it; `SSOT_TEST_PYTHON` names
//! another interpreter); without it the test says it was skipped, loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prisma_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "prisma"));
    files.sort();
    files
}

/// The schemas to validate: the example, fixtures with rules, the benches', the corpus.
fn schemas() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("examples/blog/schema.prisma")];
    files.extend(prisma_files(&root.join("crates/server/tests/fixtures")));
    files.extend(prisma_files(&root.join("sdk/test/fixtures")));
    files.push(root.join("crates/cli/tests/fixtures/migrate/auth.prisma"));
    for bench in ["attack", "policy", "realtime", "rest"] {
        files.push(root.join("bench").join(bench).join("schema.prisma"));
    }
    let corpus = root.join("../shared/corpus/prisma-real");
    if corpus.is_dir() {
        let real = prisma_files(&corpus);
        assert!(real.len() >= 20, "expected the corpus's schemas, found {}", real.len());
        files.extend(real);
    } else {
        eprintln!("SKIPPED the real-schema corpus: {} is absent", corpus.display());
    }
    files
}

/// The document of `file`, generated twice (the same bytes both times).
fn document(file: &Path) -> String {
    let source = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let checked = ssot_schema::check(&source);
    let schema = checked.valid_schema().unwrap_or_else(|| panic!("{} is not valid", file.display()));
    let first = ssot_codegen::openapi::generate(schema).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let second = ssot_codegen::openapi::generate(schema).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(first == second, "{}: two runs differ", file.display());
    let parsed: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(parsed["openapi"], "3.1.0");
    first
}

/// The validator's command, or `None` (after saying why) when it is not there.
fn validator() -> Option<Command> {
    let python = std::env::var("SSOT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = repo_root().join("tests/openapi/validate.py");
    let version = Command::new(&python).arg(&script).arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {
            eprintln!("openapi-spec-validator {}", String::from_utf8_lossy(&out.stdout).trim());
            let mut command = Command::new(python);
            command.arg(script);
            Some(command)
        }
        _ => {
            eprintln!(
                "SKIPPED OpenAPI validation: {python} has no openapi-spec-validator \
                 (`{python} -m pip install -r tests/openapi/requirements.txt`, or set SSOT_TEST_PYTHON)"
            );
            None
        }
    }
}

#[test]
fn every_document_is_valid_openapi_3_1() {
    let files = schemas();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut written = Vec::new();
    for file in &files {
        let name = file.to_string_lossy().replace(['/', '\\'], "_");
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, document(file)).expect("write");
        written.push(path);
    }
    let Some(mut validator) = validator() else { return };
    let output = validator.args(&written).output().expect("run the validator");
    assert!(output.status.success(), "the validator failed: {}", String::from_utf8_lossy(&output.stderr));
    let mut checked = 0;
    let mut invalid = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let result: serde_json::Value = serde_json::from_str(line).expect("the validator prints JSON lines");
        checked += 1;
        if result["valid"] != true {
            invalid.push(format!("{}: {}", result["path"], result["errors"]));
        }
    }
    assert_eq!(checked, written.len(), "the validator answered for every document");
    assert!(invalid.is_empty(), "{} invalid document(s):\n{}", invalid.len(), invalid.join("\n"));
    eprintln!("{checked} OpenAPI documents valid");
}
