//! `ssot serve` run as a user runs it, for the CLI tests: started with arguments and
//! environment, read until it says it listens, stopped with SIGTERM.
#![allow(dead_code)]

pub mod socket;

use std::process::{Command, Stdio};

/// `ssot serve` running as a user runs it, until [`Serving::stop`].
pub struct Serving {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    /// Everything it printed up to and including the line saying it listens.
    pub banner: String,
}

impl Serving {
    /// Starts `ssot serve SCHEMA ARGS` (without `SSOT_JWT_SECRET` from the environment,
    /// with `env`) and waits until it says it listens. (The child is waited for by
    /// `stop`, or when this is dropped.)
    pub fn start(schema: &str, args: &[&str], env: &[(&str, &str)]) -> Serving {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ssot"));
        command.arg("serve").arg(schema).args(args);
        Serving::spawn(command, env)
    }

    /// `ssot serve ARGS` in `dir`, with no schema named: as a user runs it in a project.
    pub fn start_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Serving {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ssot"));
        command.arg("serve").args(args).current_dir(dir);
        Serving::spawn(command, env)
    }

    #[allow(clippy::zombie_processes)]
    fn spawn(mut command: Command, env: &[(&str, &str)]) -> Serving {
        use std::io::BufRead;
        command.env("NO_COLOR", "1").env_remove("SSOT_JWT_SECRET").env_remove("SSOT_DATABASE_URL");
        command.stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start ssot serve");
        let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let mut banner = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("read") == 0 {
                let _ = child.wait();
                panic!("serve exited early:\n{banner}");
            }
            banner.push_str(&line);
            if line.contains("listening on http://") {
                return Serving { child, stderr, banner };
            }
        }
    }

    /// The address it listens on, from its banner.
    pub fn address(&self) -> String {
        let after = self.banner.rsplit("listening on http://").next().unwrap_or_default();
        after.chars().take_while(|c| !c.is_whitespace() && *c != '"').collect()
    }

    /// Sends SIGTERM and waits: the exit code, and what it printed after the banner.
    pub fn stop(mut self) -> (Option<i32>, String) {
        use std::io::Read;
        let killed = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        (self.child.wait().expect("wait").code(), rest)
    }
}

impl Serving {
    /// Kills it with SIGKILL, as a crash or the out-of-memory killer would: no shutdown.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serving {
    /// A test that fails half-way leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
