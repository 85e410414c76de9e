//! `node-agent host-exec -- CMD...`: run a host command that resolves cluster
//! names (private mount namespace whose /etc/resolv.conf points at the agent's
//! DNS) with the Kafka CLI tools on PATH.

use std::{ffi::CString, fs, path::Path};

use anyhow::{Context, Result, bail};
use nix::{
    mount::{MsFlags, mount},
    sched::{CloneFlags, unshare},
    unistd::execve,
};

use crate::sandbox::resolve_program;

pub const RESOLV_FILE: &str = "host-resolv.conf";
pub const TOOLS_DIR: &str = "bin";

pub fn run(state_dir: &Path, command: &[String]) -> Result<()> {
    let Some(program) = command.first() else { bail!("usage: node-agent host-exec -- CMD [ARGS...]") };
    let state_dir = state_dir
        .canonicalize()
        .with_context(|| format!("state dir {} missing: is the node agent running?", state_dir.display()))?;
    let resolv = state_dir.join(RESOLV_FILE);
    if !resolv.exists() {
        bail!("{} missing: is the node agent running?", resolv.display());
    }
    unshare(CloneFlags::CLONE_NEWNS).context("failed to unshare the mount namespace (needs root)")?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)?;
    let etc_resolv = fs::canonicalize("/etc/resolv.conf").unwrap_or_else(|_| "/etc/resolv.conf".into());
    mount(Some(&resolv), &etc_resolv, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .context("failed to bind resolv.conf")?;
    let tools = state_dir.join(TOOLS_DIR);
    let path = std::env::var("PATH").unwrap_or_default();
    let new_path = format!("{}:{path}", tools.display());
    let c = |s: &str| CString::new(s).context("nul byte in argument");
    let args = command.iter().map(|a| c(a)).collect::<Result<Vec<_>>>()?;
    let mut env: Vec<CString> =
        std::env::vars().filter(|(k, _)| k != "PATH").map(|(k, v)| c(&format!("{k}={v}"))).collect::<Result<_>>()?;
    env.push(c(&format!("PATH={new_path}"))?);
    let resolved = resolve_program(program, &new_path).with_context(|| format!("{program}: command not found"))?;
    execve(&c(&resolved)?, &args, &env).with_context(|| format!("failed to exec {program}"))?;
    unreachable!("execve returned without error")
}

/// Writes the host resolv.conf and the Kafka CLI wrappers (called by the agent).
pub fn prepare(state_dir: &Path, kafka_home: Option<&Path>) -> Result<()> {
    fs::write(
        state_dir.join(RESOLV_FILE),
        "nameserver 100.64.0.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
    )?;
    let tools = state_dir.join(TOOLS_DIR);
    fs::create_dir_all(&tools)?;
    let Some(kafka_home) = kafka_home else { return Ok(()) };
    let bin = kafka_home.join("bin");
    let Ok(entries) = fs::read_dir(&bin) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(tool) = name.strip_suffix(".sh") else { continue };
        let script = format!("#!/bin/sh\nexec {} \"$@\"\n", entry.path().display());
        let wrapper = tools.join(tool);
        fs::write(&wrapper, script)?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
