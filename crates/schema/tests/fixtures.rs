//! Fixture suites under `tests/fixtures/`: every file in a `valid/` folder must check
//! clean (warnings allowed) and every file in an `invalid/` folder must fail. The
//! diagnostics of each invalid file, and the typed annotations of each valid annotation
//! fixture, are snapshots (`tests/snapshots/`), so a change in any message shows up in
//! review.

use std::path::{Path, PathBuf};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `(name relative to the suite, path, source)` for every `.prisma` file in a folder.
fn files(suite: &str, folder: &str) -> Vec<(String, PathBuf, String)> {
    let dir = fixtures_root().join(suite).join(folder);
    let mut out: Vec<(String, PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "prisma"))
        .map(|p| {
            let name = format!("{folder}/{}", p.file_name().unwrap_or_default().to_string_lossy());
            let source = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, p, source)
        })
        .collect();
    out.sort();
    out
}

fn snapshot_name(suite: &str, name: &str) -> String {
    format!("{suite}__{}", name.trim_end_matches(".prisma").replace('/', "__"))
}

fn check_suite(suite: &str, min_valid: usize, min_invalid: usize) {
    let valid = files(suite, "valid");
    let invalid = files(suite, "invalid");
    assert!(valid.len() >= min_valid, "{suite}: only {} valid fixtures", valid.len());
    assert!(invalid.len() >= min_invalid, "{suite}: only {} invalid fixtures", invalid.len());
    let mut wrong = Vec::new();
    for (name, _, source) in &valid {
        let checked = ssot_schema::check(source);
        if checked.has_errors() {
            let text = ssot_schema::render::human(&checked.diagnostics, source, name, false);
            wrong.push(format!("{name} should be valid:\n{text}"));
        }
    }
    for (name, _, source) in &invalid {
        let checked = ssot_schema::check(source);
        if !checked.has_errors() {
            wrong.push(format!("{name} should be invalid, but checks clean"));
            continue;
        }
        let text = ssot_schema::render::human(&checked.diagnostics, source, name, false);
        insta::assert_snapshot!(snapshot_name(suite, name), text);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn prisma_fixtures_match_their_folders() {
    check_suite("schemas", 100, 100);
}

#[test]
fn annotation_fixtures_match_their_folders() {
    check_suite("annotations", 10, 25);
}

#[test]
fn valid_annotations_become_typed_ir() {
    for (name, _, source) in files("annotations", "valid") {
        let checked = ssot_schema::check(&source);
        let schema = checked.valid_schema().unwrap_or_else(|| panic!("{name} is valid"));
        let annotations: Vec<(&str, &ssot_schema::annotations::Annotations)> =
            schema.models.iter().map(|m| (m.name.as_str(), &m.annotations)).collect();
        let json = serde_json::to_string_pretty(&annotations).unwrap_or_default();
        insta::assert_snapshot!(snapshot_name("annotations", &format!("{name}.ir")), json);
    }
}

#[test]
fn every_diagnostic_code_is_documented() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/diagnostics.md"))
        .unwrap_or_default();
    let mut missing = Vec::new();
    // This crate's codes, and the policy crate's (rule diagnostics share the document).
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![manifest.join("src"), manifest.join("../policy/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (i, _) in text.match_indices('"') {
                let code = text.get(i + 1..i + 6).unwrap_or("");
                let is_code = text.get(i + 6..i + 7) == Some("\"")
                    && (code.starts_with('E') || code.starts_with('W'))
                    && code[1..].chars().all(|c| c.is_ascii_digit());
                if is_code && !docs.contains(&format!("`{code}`")) {
                    missing.push(format!("{code} ({})", path.display()));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "codes missing from docs/diagnostics.md: {missing:?}");
}
