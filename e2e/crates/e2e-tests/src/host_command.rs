//! Commands run on the host through `e2e/testbed exec` (cluster DNS, Kafka CLI tools, kcat),
//! or as they are, for a client outside the cluster.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::testbed::repo_root;

pub struct CommandOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Where a command runs: through `e2e/testbed exec` (cluster DNS, the Kafka CLI on PATH), or
/// as the host runs it, a client outside the cluster's network and DNS.
#[derive(Clone, Copy, Debug)]
pub enum Via<'a> {
    TestBed,
    Host,
    /// As the host runs it, with this hosts file as its /etc/hosts (in a private mount
    /// namespace): a client whose own DNS knows names the cluster advertises, such as a
    /// listener's `hostnameOverride`.
    HostResolving(&'a Path),
}

/// Runs `args` through `e2e/testbed exec`, feeding `stdin`, killing it after `timeout`.
/// A non-zero exit is not an error here (see [`run_ok`]).
pub async fn run(args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<CommandOutput> {
    run_via(Via::TestBed, args, stdin, timeout).await
}

/// [`run`], where `via` says.
pub async fn run_via(via: Via<'_>, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<CommandOutput> {
    let (program, first) = args.split_first().context("no command")?;
    let mut command = match via {
        Via::TestBed => {
            let mut command = Command::new(repo_root().join("e2e/testbed"));
            command.args(["exec", "--", program]);
            command
        }
        Via::Host => Command::new(program),
        Via::HostResolving(hosts) => {
            let mut command = Command::new("unshare");
            let bind = r#"mount --bind "$0" "$(readlink -f /etc/hosts)" && exec "$@""#;
            command.args(["--mount", "--propagation", "private", "sh", "-c", bind]).arg(hosts).arg(program);
            command
        }
    };
    let mut child = command
        .args(first)
        .current_dir(repo_root())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start `{}` ({via:?})", args.join(" ")))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        // Written concurrently: a large input must not block while the child fills stdout.
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
    }
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .with_context(|| format!("`{}` did not finish within {timeout:?}", args.join(" ")))?
        .with_context(|| format!("failed to wait for `{}`", args.join(" ")))?;
    Ok(CommandOutput {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Like [`run`], but a non-zero exit is an error showing stderr; returns stdout.
pub async fn run_ok(args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<String> {
    run_ok_via(Via::TestBed, args, stdin, timeout).await
}

/// [`run_ok`], where `via` says.
pub async fn run_ok_via(via: Via<'_>, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<String> {
    let output = run_via(via, args, stdin, timeout).await?;
    if !output.success {
        bail!("`{}` exited with {:?}:\n{}{}", args.join(" "), output.code, output.stderr, output.stdout);
    }
    Ok(output.stdout)
}
