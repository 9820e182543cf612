//! The `ssot` binary as a user runs it: exit codes, output formats, default paths.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ssot(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssot"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the ssot binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ssot-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn check_valid_schema_exits_zero() {
    let out = ssot(&["check", "examples/blog/schema.prisma"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid (4 models)"));
}

#[test]
fn check_invalid_schema_exits_one_with_rustc_style_diagnostics() {
    let out = ssot(&["check", "tests/fixtures/schemas/invalid/types-unknown-type-near-typo.prisma"], &root());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[E0120]: unknown type `Strin`"), "{stderr}");
    assert!(stderr.contains("--> tests/fixtures/schemas/invalid/types-unknown-type-near-typo.prisma:9:8"), "{stderr}");
    assert!(stderr.contains("^^^^^"), "{stderr}");
    assert!(stderr.contains("help: did you mean `String`?"), "{stderr}");
}

#[test]
fn check_json_format_for_editors() {
    let out = ssot(
        &["check", "--format", "json", "tests/fixtures/schemas/invalid/relation-missing-back-relation.prisma"],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(value["valid"], false);
    assert_eq!(value["errors"], 1);
    let d = &value["diagnostics"][0];
    assert_eq!(d["code"], "E0302");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["span"]["line"], 14);
    assert_eq!(d["span"]["column"], 3);

    let ok = ssot(&["check", "--format", "json", "examples/blog/schema.prisma"], &root());
    assert_eq!(ok.status.code(), Some(0));
    let value: Value = serde_json::from_slice(&ok.stdout).expect("JSON on stdout");
    assert_eq!(value["valid"], true);
}

#[test]
fn warnings_do_not_fail_the_check() {
    let out = ssot(&["check", "tests/fixtures/annotations/valid/unknown-annotation-warning.prisma"], &root());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[W0401]"));
}

#[test]
fn usage_and_io_errors_exit_two() {
    let missing = ssot(&["check", "no/such/schema.prisma"], &root());
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read no/such/schema.prisma"));
    let bad_flag = ssot(&["check", "--format", "yaml"], &root());
    assert_eq!(bad_flag.status.code(), Some(2));
    let empty = temp_dir("empty");
    let no_default = ssot(&["check"], &empty);
    assert_eq!(no_default.status.code(), Some(2));
    assert!(text(&no_default.stderr).contains("neither ./schema.prisma nor ./prisma/schema.prisma exists"));
}

#[test]
fn default_schema_paths() {
    let dir = temp_dir("defaults");
    std::fs::create_dir_all(dir.join("prisma")).expect("mkdir");
    std::fs::copy(root().join("examples/blog/schema.prisma"), dir.join("prisma/schema.prisma")).expect("copy");
    assert_eq!(ssot(&["check"], &dir).status.code(), Some(0));
    std::fs::write(dir.join("schema.prisma"), "model {\n").expect("write");
    // ./schema.prisma comes first.
    assert_eq!(ssot(&["check"], &dir).status.code(), Some(1));
}

#[test]
fn inspect_prints_the_ir() {
    let out = ssot(&["inspect", "examples/blog/schema.prisma"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ir: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(ir["datasource"]["provider"], "sqlite");
    let post = ir["models"].as_array().and_then(|m| m.iter().find(|m| m["name"] == "Post")).expect("Post");
    assert_eq!(post["annotations"]["search"]["weights"], serde_json::json!([3.0, 1.0]));
    assert_eq!(post["annotations"]["realtime"]["subscribe"], serde_json::json!(["list", "item"]));
    let relation =
        ir["relations"].as_array().and_then(|r| r.iter().find(|r| r["name"] == "PostToUser")).expect("relation");
    assert_eq!(relation["kind"], "oneToMany");
    assert_eq!(relation["referencing"]["model"], "Post");
    assert_eq!(relation["fields"], serde_json::json!(["authorId"]));
    let tags = ir["relations"].as_array().and_then(|r| r.iter().find(|r| r["kind"] == "manyToMany")).expect("m-n");
    assert_eq!(tags["joinTable"], "_PostToTag");

    let with_options =
        ssot(&["inspect", "tests/fixtures/schemas/valid/index-field-options-postgresql.prisma"], &root());
    let ir: Value = serde_json::from_slice(&with_options.stdout).expect("JSON");
    let doc = &ir["models"][0];
    assert_eq!(doc["uniques"][0]["options"], serde_json::json!([{"sort": "Desc"}]));
    assert_eq!(doc["indexes"][0]["options"], serde_json::json!([{"sort": "Desc"}, {}]));
    assert_eq!(doc["indexes"][0]["dbName"], "Doc_title_id_idx");
    assert_eq!(doc["indexes"][2]["options"][0]["ops"], serde_json::json!({"raw": "jsonb_ops"}));

    let invalid = ssot(&["inspect", "tests/fixtures/schemas/invalid/enum-empty.prisma"], &root());

    assert_eq!(invalid.status.code(), Some(1));
    assert!(invalid.stdout.is_empty());
}

#[test]
fn check_reports_rule_errors_inside_the_rule_string() {
    let dir = temp_dir("rules");
    let schema = r#"datasource db {
  provider = "sqlite"
  url      = "file:dev.db"
}

model Post {
  id        Int     @id
  published Boolean
  /// @@policy("read", rule: "published || titel == \"x\"")
}
"#;
    std::fs::write(dir.join("schema.prisma"), schema).expect("write");
    let out = ssot(&["check", "schema.prisma"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[E0502]: `Post` has no field `titel`"), "{stderr}");
    assert!(stderr.contains("schema.prisma:9:44"), "the span starts at `titel` inside the string: {stderr}");
    let json = ssot(&["check", "schema.prisma", "--format", "json"], &dir);
    let value: Value = serde_json::from_str(&text(&json.stdout)).expect("JSON");
    assert_eq!(value["diagnostics"][0]["code"], "E0502", "{value}");
}

#[test]
fn generate_ts_writes_types_and_leaves_an_unchanged_file_alone() {
    let out = temp_dir("generate-ts");
    let dir = out.to_str().unwrap_or_default();
    let first = ssot(&["generate", "examples/blog/schema.prisma", "--target", "ts", "--out", dir], &root());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(text(&first.stdout).starts_with("wrote "), "{}", text(&first.stdout));
    let file = out.join("ssot.ts");
    let types = std::fs::read_to_string(&file).expect("ssot.ts");
    assert!(types.contains("export interface Post {") && types.contains("export type $Schema = {"), "{types}");
    let modified = std::fs::metadata(&file).and_then(|m| m.modified()).expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = ssot(&["generate", "examples/blog/schema.prisma", "--target", "ts", "--out", dir], &root());
    assert!(text(&second.stdout).starts_with("unchanged "), "{}", text(&second.stdout));
    assert_eq!(std::fs::metadata(&file).and_then(|m| m.modified()).expect("mtime"), modified, "not written again");
    assert_eq!(std::fs::read_to_string(&file).expect("ssot.ts"), types);
    for phase in ["read", "parse", "validate", "analyze", "emit ts", "write", "total"] {
        assert!(text(&second.stderr).contains(phase), "the phase {phase} and its time: {}", text(&second.stderr));
    }
    let runtime = std::fs::read_to_string(out.join("runtime/index.ts")).expect("the runtime beside ssot.ts");
    assert!(runtime.starts_with("// Copied by `ssot generate --target ts` from ssot's client runtime"), "{runtime}");
    assert!(types.contains("from './runtime/index.js'"), "ssot.ts imports it");
    // Several targets in one run.
    let both = ssot(&["generate", "examples/blog/schema.prisma", "--target", "ts,openapi", "--out", dir], &root());
    assert_eq!(both.status.code(), Some(0), "{}", text(&both.stderr));
    assert!(
        out.join("openapi.json").is_file() && text(&both.stderr).contains("emit openapi"),
        "{}",
        text(&both.stderr)
    );

    // `--check` writes nothing: 0 while the file is current, 1 naming it once it is stale.
    let check = |dir: &str| {
        ssot(&["generate", "examples/blog/schema.prisma", "--target", "ts", "--out", dir, "--check"], &root())
    };
    assert_eq!(check(dir).status.code(), Some(0));
    std::fs::write(&file, format!("{types}// edited by hand\n")).expect("edit");
    let stale = check(dir);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale.stdout));
    assert!(
        text(&stale.stdout).contains("stale ") && text(&stale.stdout).contains("ssot.ts"),
        "{}",
        text(&stale.stdout)
    );
    assert!(std::fs::read_to_string(&file).expect("ssot.ts").ends_with("// edited by hand\n"), "left as it was");
    let elsewhere = out.join("never-written");
    assert_eq!(check(elsewhere.to_str().unwrap_or_default()).status.code(), Some(1), "a missing file is stale");
    assert!(!elsewhere.exists(), "--check creates nothing");
    let invalid = ssot(
        &[
            "generate",
            "tests/fixtures/schemas/invalid/types-unknown-type-near-typo.prisma",
            "--target",
            "ts",
            "--out",
            dir,
        ],
        &root(),
    );
    assert_eq!(invalid.status.code(), Some(1), "an invalid schema generates nothing");
    let _ = std::fs::remove_dir_all(&out);
}
