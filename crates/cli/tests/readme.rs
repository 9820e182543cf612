//! The README's "Try it" commands, run as written (with bash and curl) against `ssot serve`
//! of the example on a fresh SQLite file with the admin key `dev`, so the README stays
//! true: every command succeeds, and the answers are the ones the README describes.

mod serving;

use serving::Serving;
use std::path::Path;
use std::process::Command;

/// The first `sh` block after the `## Try it` heading.
fn try_it(readme: &str) -> Option<String> {
    let section = readme.split("\n## Try it\n").nth(1)?;
    let block = section.split("```sh\n").nth(1)?;
    Some(block.split("```").next()?.to_string())
}

#[test]
fn the_readme_try_it_commands_run_as_written() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no curl on this machine to run the README's commands");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let script = try_it(&readme).expect("a sh block under ## Try it");
    assert!(script.contains("localhost:4000"), "{script}");

    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite:{}", dir.path().join("ssot.db").display());
    let schema = root.join("examples/blog/schema.prisma");
    let args = ["--database", database.as_str(), "--listen", "127.0.0.1:0"];
    let serving = Serving::start(schema.to_str().unwrap_or_default(), &args, &[("SSOT_ADMIN_KEY", "dev")]);
    let script = script.replace("localhost:4000", &serving.address());
    // Each printed answer on a line of its own (curl adds no newline), so the checks below
    // can tell them apart.
    let script = script.replace("\ncurl ", "\necho; curl ");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir.path())
        .output()
        .expect("bash runs");
    let (code, log) = serving.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the commands failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver:\n{log}"
    );
    assert_eq!(code, Some(0), "{log}");

    let answers: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    let expected = [
        ("sign-up", "\"accessToken\":"),
        ("anonymous list", "\"total\":0"),
        ("Ann's list", "\"title\":\"Hello\""),
        ("publish", "\"published\":true"),
        ("anonymous list after publishing", "\"total\":1"),
        ("refresh", "\"refreshToken\":"),
        ("admin filter", "\"name\":\"Ann\""),
    ];
    assert_eq!(answers.len(), expected.len(), "one answer per printed command:\n{stdout}");
    for ((what, part), answer) in expected.iter().zip(&answers) {
        assert!(answer.contains(part), "{what}: {part} not in {answer}\n{stdout}");
        assert!(!answer.contains("\"status\":4"), "{what}: {answer}");
    }
}
