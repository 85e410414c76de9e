//! Our controllers, run on the host the way `make run` runs them (through `e2e/testbed exec`,
//! so they resolve cluster DNS), each scoped to one test's namespace so tests run in parallel.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result};
use tokio::process::{Child, Command};

use crate::testbed::{kubeconfig_path, repo_root};

/// A running controller; killed when dropped.
pub struct ControllerProcess {
    child: Child,
    pub log: PathBuf,
}

/// Tests run several controllers at once, each owning its namespace: none may wait for a
/// shared Lease. The alert receiver elects no leader and has no such flag.
fn leader_election_off(name: &str) -> &'static [&'static str] {
    if name == "alert-receiver" { &[] } else { &["--leader-election=false"] }
}

/// The binary `e2e/run-tests.sh` built: in `CARGO_TARGET_DIR`, else where `e2e/cargo-target-dir` says.
fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        std::process::Command::new(repo_root().join("e2e/cargo-target-dir"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
            .unwrap_or_else(|| repo_root().join("target"))
    });
    target.join("debug").join(name)
}

impl ControllerProcess {
    /// Starts `name`, a workspace binary (e2e/run-tests.sh builds them before the suite),
    /// watching only `namespace`, with `extra_args` after the common flags.
    pub async fn start(name: &str, namespace: &str, extra_args: &[&str]) -> Result<Self> {
        let mut args = vec!["--metrics-addr", "127.0.0.1:0"];
        args.extend_from_slice(extra_args);
        Self::start_with(name, namespace, &args).await
    }

    /// Like [`start`](Self::start), but `args` replace the default `--metrics-addr`.
    pub async fn start_with(name: &str, namespace: &str, args: &[&str]) -> Result<Self> {
        let log_dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&log_dir)?;
        let log = unused_log_path(&log_dir, &format!("{namespace}-{name}"));
        let log_file = std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let child = Command::new(repo_root().join("e2e/testbed"))
            .arg("exec")
            .arg("--")
            .arg(binary(name))
            .args(["--namespace", namespace])
            .args(leader_election_off(name))
            .args(args)
            .env("KUBECONFIG", kubeconfig_path())
            .env("RUST_LOG", "info")
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("failed to start {name}"))?;
        Ok(Self { child, log })
    }

    /// Sends SIGTERM, as Kubernetes does when it stops a pod.
    pub fn terminate(&self) -> Result<()> {
        let pid = self.child.id().context("the controller already exited")?;
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(())
    }

    /// The exit code once the process ended, waiting at most `timeout`.
    pub async fn wait_for_exit(&mut self, timeout: std::time::Duration) -> Result<Option<i32>> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .with_context(|| format!("the controller did not exit within {timeout:?}"))??;
        Ok(status.code())
    }

    /// Kills the process, as a crash would (no graceful shutdown).
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await.context("failed to kill the controller")
    }

    /// The last lines of the controller's log, for failure reports.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl ControllerProcess {
    /// Whether the process is still running (it did not crash or exit).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// `<dir>/<stem>.log`, or `<stem>-2.log`, `-3`, ... when this test binary already gave that
/// path to a process: two replicas of a deployable in one namespace (or one started again)
/// keep a log each instead of the second truncating the first's.
fn unused_log_path(dir: &std::path::Path, stem: &str) -> PathBuf {
    static GIVEN: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut path = dir.join(format!("{stem}.log"));
    for n in 2.. {
        if !given.contains(&path) {
            break;
        }
        path = dir.join(format!("{stem}-{n}.log"));
    }
    given.push(path.clone());
    path
}

/// Prints the error and then `tails()` (log tails of controllers or tools) to stderr when `outcome`
/// failed, and passes the outcome on unchanged. Attached as context instead, the tails would stand
/// between the error's first line and its cause. The error comes first because a CI log is cut
/// in the middle: the panic at the end, after pages of logs, may not survive the cut.
pub fn report_logs_on_failure<T>(outcome: Result<T>, tails: impl FnOnce() -> String) -> Result<T> {
    if let Err(error) = &outcome {
        let error: String = format!("{error:#}").chars().take(ERROR_EXCERPT_CHARS).collect();
        eprintln!("e2e: failed: {error}\ne2e: logs at the failure:\n{}", tails());
    }
    outcome
}

/// How much of the error [`report_logs_on_failure`] prints ahead of the logs (the whole error
/// still ends the test's output).
const ERROR_EXCERPT_CHARS: usize = 2_000;
