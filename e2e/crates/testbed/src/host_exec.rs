//! `testbed exec -- CMD...`: runs a host command as a client outside the cluster would, but
//! resolving cluster names: in a private mount namespace whose /etc/resolv.conf names the
//! cluster DNS Service (the host routes the service range to a node, whose kube-proxy
//! forwards it to CoreDNS), with the Kafka CLI tools (`kafka-topics`, ...) on PATH.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::execve;

use crate::layout::Layout;
use crate::settings::Settings;

/// JVM options of the Kafka CLI tools run through `testbed exec`.
const CLI_JVM_OPTS: &str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true";

fn resolv_conf(layout: &Layout) -> PathBuf {
    layout.base.join("host-resolv.conf")
}

fn tools_dir(layout: &Layout) -> PathBuf {
    layout.base.join("bin")
}

/// Writes the resolv.conf and one wrapper per script in `kafka_home/bin` (`kafka-topics` for
/// `kafka-topics.sh`).
pub fn prepare(layout: &Layout, settings: &Settings, kafka_home: Option<&Path>) -> Result<()> {
    std::fs::write(
        resolv_conf(layout),
        format!(
            "nameserver {}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
            settings.dns_service_ip()
        ),
    )?;
    let tools = tools_dir(layout);
    std::fs::create_dir_all(&tools)?;
    let Some(kafka_home) = kafka_home else { return Ok(()) };
    for entry in std::fs::read_dir(kafka_home.join("bin"))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(tool) = name.strip_suffix(".sh") else { continue };
        let wrapper = tools.join(tool);
        // Short-lived JVMs on a shared 2-core machine: the C1 compiler alone and the serial
        // collector start them with a fraction of the CPU C2 and G1 spend (a caller's own
        // KAFKA_JVM_PERFORMANCE_OPTS wins).
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexport KAFKA_JVM_PERFORMANCE_OPTS=\"${{KAFKA_JVM_PERFORMANCE_OPTS:-{CLI_JVM_OPTS}}}\"\nexec {} \"$@\"\n",
                entry.path().display()
            ),
        )?;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// The newest Kafka distribution in the cache (`KAFKA_DEFAULT_VERSION` picks another).
pub fn default_kafka_home(cache: &Path) -> Option<PathBuf> {
    let kafka = cache.join("kafka");
    if let Ok(version) = std::env::var("KAFKA_DEFAULT_VERSION") {
        return Some(kafka.join(version));
    }
    let mut homes: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(&kafka)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("bin").is_dir())
        .filter_map(|path| {
            let version =
                path.file_name()?.to_str()?.split('.').map(|part| part.parse().ok()).collect::<Option<_>>()?;
            Some((version, path))
        })
        .collect();
    homes.sort();
    homes.pop().map(|(_, path)| path)
}

/// Replaces this process with `command` (never returns on success).
pub fn run(layout: &Layout, command: &[String]) -> Result<()> {
    let Some(program) = command.first() else { bail!("usage: testbed exec -- CMD [ARGS...]") };
    let resolv = resolv_conf(layout);
    if !resolv.exists() {
        bail!("{} is missing: is the test bed up (e2e/testbed up)?", resolv.display());
    }
    unshare(CloneFlags::CLONE_NEWNS).context("failed to make a mount namespace (needs root)")?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)?;
    // /etc/resolv.conf may be a symlink (to systemd-resolved's file, say): bind over its target.
    let etc_resolv = std::fs::canonicalize("/etc/resolv.conf").unwrap_or_else(|_| "/etc/resolv.conf".into());
    mount(Some(&resolv), &etc_resolv, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .context("failed to bind the cluster's resolv.conf")?;
    let path = format!("{}:{}", tools_dir(layout).display(), std::env::var("PATH").unwrap_or_default());
    let resolved = resolve_program(program, &path).with_context(|| format!("{program}: command not found"))?;
    let c_string = |text: &str| CString::new(text).context("a NUL byte in an argument");
    let args = command.iter().map(|arg| c_string(arg)).collect::<Result<Vec<_>>>()?;
    let mut env: Vec<CString> = std::env::vars()
        .filter(|(key, _)| key != "PATH")
        .map(|(key, value)| c_string(&format!("{key}={value}")))
        .collect::<Result<_>>()?;
    env.push(c_string(&format!("PATH={path}"))?);
    execve(&c_string(&resolved)?, &args, &env).with_context(|| format!("failed to run {program}"))?;
    unreachable!("execve returns only on failure")
}

fn resolve_program(program: &str, path: &str) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_string());
    }
    path.split(':').map(|dir| format!("{dir}/{program}")).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_kafka_wins_by_version_not_by_text() {
        let cache = std::env::temp_dir().join(format!("testbed-kafka-{}", std::process::id()));
        for version in ["3.9.1", "4.10.0", "4.3.1"] {
            std::fs::create_dir_all(cache.join("kafka").join(version).join("bin")).expect("dirs");
        }
        assert_eq!(default_kafka_home(&cache), Some(cache.join("kafka/4.10.0")));
        std::fs::remove_dir_all(&cache).expect("cleanup");
    }

    #[test]
    fn finds_programs_on_the_path() {
        assert_eq!(resolve_program("/x/y", ""), Some("/x/y".to_string()));
        assert_eq!(resolve_program("sh", "/nonexistent:/bin"), Some("/bin/sh".to_string()));
    }
}
