//! Attaching to the test bed: its kubeconfig, a client, and starting it once when it is down.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Node;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::sync::Mutex;

/// The test bed's kubelets; tests that schedule pods need all of them Ready.
const EXPECTED_NODES: usize = 3;

/// Serializes `e2e/testbed up` between the tests of one binary (each has its own runtime).
static START_LOCK: Mutex<()> = Mutex::const_new(());

pub fn repo_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../../..");
    root.canonicalize().unwrap_or(root)
}

pub fn kubeconfig_path() -> PathBuf {
    repo_root().join("target/testbed/kubeconfig")
}

/// A client for the test bed's apiserver, starting the test bed (once) if it does not answer.
///
/// Each `#[tokio::test]` has its own runtime and a client's connection pool belongs to the
/// runtime that made it, so every test attaches for itself.
pub async fn client() -> Result<Client> {
    if let Ok(client) = answering_client().await {
        return Ok(client);
    }
    let _guard = START_LOCK.lock().await;
    if let Ok(client) = answering_client().await {
        return Ok(client);
    }
    start().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match answering_client().await {
            Ok(client) => return Ok(client),
            Err(error) if tokio::time::Instant::now() > deadline => {
                return Err(error.context("the test bed did not answer 120 s after `e2e/testbed up`"));
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// A client that returns a 429 instead of retrying it (kube's default retries 429, 503 and 504
/// with backoff): for a test that checks a refusal, such as an eviction a budget forbids.
pub async fn client_without_retries() -> Result<Client> {
    let mut config = client_config().await?;
    config.default_retry = false;
    Ok(Client::try_from(config)?)
}

/// The client configuration of the test bed's kubeconfig.
async fn client_config() -> Result<Config> {
    let path = kubeconfig_path();
    let kubeconfig = Kubeconfig::read_from(&path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?)
}

async fn answering_client() -> Result<Client> {
    let client = Client::try_from(client_config().await?)?;
    tokio::time::timeout(Duration::from_secs(5), client.apiserver_version())
        .await
        .context("the apiserver did not answer within 5 s")??;
    let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await?;
    let ready = nodes.items.iter().filter(|node| node_is_ready(node)).count();
    if ready < EXPECTED_NODES {
        bail!("{ready} of {EXPECTED_NODES} nodes are Ready: see `e2e/testbed status` and target/testbed/logs");
    }
    Ok(client)
}

fn node_is_ready(node: &Node) -> bool {
    let conditions = node.status.as_ref().and_then(|status| status.conditions.as_ref());
    conditions.is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn start() -> Result<()> {
    eprintln!("e2e: the test bed does not answer; running `e2e/testbed up`");
    let status = tokio::process::Command::new(repo_root().join("e2e/testbed"))
        .arg("up")
        .current_dir(repo_root())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .await
        .context("failed to run e2e/testbed up")?;
    if !status.success() {
        bail!("`e2e/testbed up` failed ({status})");
    }
    Ok(())
}

/// Serializes building our images between the tests of one binary.
static IMAGES_LOCK: Mutex<()> = Mutex::const_new(());

/// Our four deployables as images built from the repository's Dockerfiles
/// (e2e/images/deployables.sh: cached by content, so seconds when `make test` built them
/// already) and imported into every kubelet node, tagged as the chart names them.
pub async fn deployable_images() -> Result<()> {
    let _guard = IMAGES_LOCK.lock().await;
    let output = run_script(repo_root().join("e2e/images/deployables.sh"), &[]).await?;
    let list = output.lines().last().unwrap_or_default().trim().to_owned();
    run_script(repo_root().join("e2e/testbed"), &["import-images", &list]).await?;
    Ok(())
}

/// Runs a script of the repository; its stderr goes to the test's, its stdout is returned.
async fn run_script(script: PathBuf, args: &[&str]) -> Result<String> {
    let output = tokio::process::Command::new(&script)
        .args(args)
        .current_dir(repo_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("failed to run {}", script.display()))?;
    if !output.status.success() {
        bail!("{} {} failed ({})", script.display(), args.join(" "), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
