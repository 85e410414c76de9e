//! The Helm charts against the test bed: `helm` and `kubectl` from the bootstrap
//! (`$KOPERATOR_CACHE/toolchain.env`), the umbrella chart of this repository, releases named
//! after a test's namespace (cluster-scoped objects such as ClusterRoles carry the release
//! name, so parallel releases do not collide), and `kubectl auth can-i` for RBAC.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::manifests;
use crate::testbed::{kubeconfig_path, repo_root};

/// The umbrella chart, relative to the repository.
pub const UMBRELLA_CHART: &str = "charts/koperator-rs";
/// Its subcharts, one per deployable; each is also the deployable's binary and image name.
pub const SUBCHARTS: [&str; 4] = ["cluster-controller", "topic-controller", "cruise-control-runner", "alert-receiver"];

/// Most helm and kubectl calls answer in a second; install/upgrade wait for nothing.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A tool from the bootstrap's `toolchain.env` (`HELM`, `KUBECTL`); the environment wins.
pub fn tool(key: &str) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(key) {
        return Ok(PathBuf::from(path));
    }
    let cache = std::env::var_os("KOPERATOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/koperator"));
    let toolchain = cache.join("toolchain.env");
    let text = std::fs::read_to_string(&toolchain)
        .with_context(|| format!("failed to read {} (run `make bootstrap`)", toolchain.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|value| PathBuf::from(value.trim_matches('"')))
        .with_context(|| format!("{key} is not in {}", toolchain.display()))
}

/// What a finished command printed.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tool` (a toolchain.env key) with the test bed's kubeconfig from the repository root.
async fn run(key: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    let program = tool(key)?;
    let mut child = Command::new(&program)
        .args(args)
        .env("KUBECONFIG", kubeconfig_path())
        .current_dir(repo_root())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", program.display()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
    }
    let command = format!("{} {}", program.display(), args.join(" "));
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("`{command}` did not finish within {COMMAND_TIMEOUT:?}"))??;
    Ok(Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs `tool`; a non-zero exit is an error showing what it printed.
async fn run_ok(key: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
    let output = run(key, args, stdin).await?;
    if !output.success {
        bail!("`{key} {}` failed:\n{}{}", args.join(" "), output.stderr, output.stdout);
    }
    Ok(output.stdout)
}

/// `helm ARGS`; fails on a non-zero exit.
pub async fn helm(args: &[&str]) -> Result<String> {
    run_ok("HELM", args, None).await
}

/// `kubectl ARGS` with `stdin`; fails on a non-zero exit.
pub async fn kubectl(args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
    run_ok("KUBECTL", args, stdin).await
}

/// `kubectl ARGS`, whatever its exit (for commands expected to fail).
pub async fn kubectl_output(args: &[&str]) -> Result<Output> {
    run("KUBECTL", args, None).await
}

/// kubectl with the test bed's kubeconfig, for commands that keep running (port-forward).
pub fn kubectl_command() -> Result<Command> {
    let mut command = Command::new(tool("KUBECTL")?);
    command.env("KUBECONFIG", kubeconfig_path()).current_dir(repo_root()).kill_on_drop(true);
    Ok(command)
}

/// `--set` arguments for helm from `key=value` pairs.
fn set_args<'a>(sets: &[&'a str]) -> Vec<&'a str> {
    sets.iter().flat_map(|set| ["--set", set]).collect()
}

/// `helm template` of the umbrella chart: the rendered text.
pub async fn template_text(release: &str, namespace: &str, sets: &[&str]) -> Result<String> {
    let mut args = vec!["template", release, UMBRELLA_CHART, "--namespace", namespace];
    args.extend(set_args(sets));
    helm(&args).await
}

/// `helm template` of the umbrella chart: every rendered object.
pub async fn template(release: &str, namespace: &str, sets: &[&str]) -> Result<Vec<Value>> {
    manifests::documents(&template_text(release, namespace, sets).await?)
}

/// The rendered object of `kind` named `name`, if any.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
}

/// A release of the umbrella chart in a test's namespace, named like the namespace.
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    pub fn in_namespace(namespace: &str) -> Self {
        Self { name: namespace.to_owned(), namespace: namespace.to_owned() }
    }

    /// The full name the chart gives `subchart`'s objects (Deployment, ServiceAccount, ...).
    pub fn object_name(&self, subchart: &str) -> String {
        format!("{}-{subchart}", self.name)
    }

    /// `system:serviceaccount:<ns>:<sa>`, for `kubectl auth can-i --as`.
    pub fn service_account_user(&self, subchart: &str) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.object_name(subchart))
    }

    /// `helm install` (CRDs from the chart's crds/ are skipped when they exist already).
    pub async fn install(&self, sets: &[&str]) -> Result<String> {
        let mut args = vec!["install", &self.name, UMBRELLA_CHART, "--namespace", &self.namespace];
        args.extend(set_args(sets));
        helm(&args).await
    }

    /// `helm upgrade --reuse-values` with more `sets`.
    pub async fn upgrade(&self, sets: &[&str]) -> Result<String> {
        let mut args = vec!["upgrade", &self.name, UMBRELLA_CHART, "--namespace", &self.namespace, "--reuse-values"];
        args.extend(set_args(sets));
        helm(&args).await
    }

    /// `helm uninstall --wait`: also removes the release's ClusterRoles and bindings, which
    /// deleting the namespace would leave behind.
    pub async fn uninstall(&self) -> Result<String> {
        helm(&["uninstall", &self.name, "--namespace", &self.namespace, "--wait", "--timeout", "90s"]).await
    }

    /// Whether `subchart`'s ServiceAccount may `verb` `resource` in the release's namespace.
    pub async fn can_i(&self, subchart: &str, verb: &str, resource: &str) -> Result<bool> {
        let user = self.service_account_user(subchart);
        let args = ["auth", "can-i", verb, resource, "--namespace", &self.namespace, "--as", &user];
        let output = run("KUBECTL", &args, None).await?;
        match output.stdout.trim() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => bail!("kubectl auth can-i {verb} {resource} --as {user}: {}{}", output.stdout, output.stderr),
        }
    }
}
