//! `ssot init`: the starter project it writes runs at once. Its README's commands, run as
//! written (bash and curl) against `ssot serve` started in the project with no arguments
//! but a free port, answer as the README says; its client is what `generate` gives for its
//! schema; and a second `init` over it writes nothing and names what is in the way.

mod serving;

use serving::Serving;
use std::path::Path;
use std::process::{Command, Output};

fn ssot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssot"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ssot")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `sh` blocks of a README, in order.
fn sh_blocks(readme: &str) -> Vec<String> {
    readme.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()).map(String::from).collect()
}

#[test]
fn the_starter_project_serves_at_once_as_its_readme_says() {
    let parent = tempfile::tempdir().expect("temp dir");
    let made = ssot(parent.path(), &["init", "my-app"]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let stdout = text(&made.stdout);
    assert!(stdout.contains("cd my-app") && stdout.contains("ssot serve"), "next steps: {stdout}");
    let dir = parent.path().join("my-app");
    for file in [
        "schema.prisma",
        ".env.example",
        ".gitignore",
        "README.md",
        "client/ssot.ts",
        "client/react.ts",
        "client/runtime/index.ts",
    ] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let checked = ssot(&dir, &["check"]);
    assert_eq!(checked.status.code(), Some(0), "the starter schema is valid: {}", text(&checked.stderr));
    let current = ssot(&dir, &["generate", "--out", "client", "--target", "react", "--check"]);
    assert_eq!(current.status.code(), Some(0), "the client is the schema's: {}", text(&current.stdout));

    let readme = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
    assert!(readme.starts_with("# my-app\n"), "named after its directory: {readme}");
    let blocks = sh_blocks(&readme);
    assert_eq!(blocks.len(), 2, "a block to serve, a block to try it:\n{readme}");
    assert!(blocks[0].trim_start().starts_with("ssot serve "), "{}", blocks[0]);
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("SKIPPED the README's curl commands: no curl on this machine");
        return;
    }
    // As the README says: `ssot serve` in the project, nothing else (but a free port).
    let serving = Serving::start_in(&dir, &["--listen", "127.0.0.1:0"], &[]);
    let script = blocks[1].replace("localhost:4000", &serving.address()).replace("\ncurl ", "\necho; curl ");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(&dir)
        .output()
        .expect("bash");
    let (code, log) = serving.stop();
    let answers = text(&out.stdout);
    assert!(out.status.success(), "{script}\n{answers}\n{}\nserver:\n{log}", text(&out.stderr));
    assert_eq!(code, Some(0), "{log}");
    let lines: Vec<&str> = answers.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{answers}");
    assert!(lines[0].contains("\"path\":\"/api/notes\""), "the index names the notes: {}", lines[0]);
    assert!(lines[1].contains("\"accessToken\":"), "signed up: {}", lines[1]);
    assert!(dir.join("ssot.db").is_file(), "SQLite in ssot.db, in the project");

    // A second `init` writes nothing over the project, and says what is in the way.
    let schema_before = std::fs::read(dir.join("schema.prisma")).expect("schema");
    std::fs::write(dir.join("schema.prisma"), b"// mine\n").expect("edit");
    let again = ssot(parent.path(), &["init", "my-app"]);
    assert_eq!(again.status.code(), Some(2));
    let said = text(&again.stderr);
    assert!(
        said.contains("schema.prisma") && said.contains("client") && said.contains("nothing was written"),
        "{said}"
    );
    assert_eq!(std::fs::read(dir.join("schema.prisma")).expect("schema"), b"// mine\n");
    assert_ne!(schema_before, b"// mine\n");

    // A directory with other files (a repository, a package) is fine.
    let other = parent.path().join("existing");
    std::fs::create_dir_all(other.join(".git")).expect("mkdir");
    std::fs::write(other.join("package.json"), "{}").expect("write");
    let beside = ssot(&other, &["init"]);
    assert_eq!(beside.status.code(), Some(0), "{}", text(&beside.stderr));
    assert!(!text(&beside.stdout).contains("cd "), "no `cd` for the current directory");
    assert!(other.join("schema.prisma").is_file() && other.join("package.json").is_file());
}
