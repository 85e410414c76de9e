//! node-agent: the test bed's kubelet. Registers Nodes and runs the Pods bound
//! to them as local processes in network/mount/UTS namespaces, with cluster
//! DNS, a userspace service proxy and a hostPath volume provisioner.

mod cluster;
mod context;
mod dns;
mod env;
mod expand;
mod host_exec;
mod images;
mod network;
mod nodes;
mod pods;
mod proxy;
mod sandbox;
mod storage;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::signal::unix::{SignalKind, signal};

use crate::{context::Context, network::NodeInfo};

#[derive(Parser)]
#[command(about = "Test bed kubelet: runs pods as local processes")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[arg(long, default_value = "target/testbed/kubeconfig")]
    kubeconfig: PathBuf,
    #[arg(long, default_value = "target/testbed/agent", global = true)]
    state_dir: PathBuf,
    #[arg(long, default_value = "e2e/images.yaml")]
    images: PathBuf,
    /// name=zone pairs, comma separated.
    #[arg(long, default_value = "testbed-node-1=zone-a,testbed-node-2=zone-b,testbed-node-3=zone-c")]
    nodes: String,
    /// Forward non-cluster DNS names here (off by default: the test bed only talks to its own addresses).
    #[arg(long)]
    dns_upstream: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a host command with cluster DNS and the Kafka CLI tools on PATH.
    HostExec {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    #[command(hide = true)]
    SandboxExec { spec: PathBuf },
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::SandboxExec { spec }) => sandbox::run(spec).map_err(|e| (e, 128)),
        Some(Command::HostExec { command }) => host_exec::run(&cli.state_dir, command).map_err(|e| (e, 127)),
        None => run_agent(cli).map_err(|e| (e, 1)),
    };
    if let Err((error, code)) = result {
        eprintln!("node-agent: {error:#}");
        std::process::exit(code);
    }
}

fn parse_nodes(list: &str) -> Result<Vec<NodeInfo>> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .enumerate()
        .map(|(i, entry)| {
            let (name, zone) =
                entry.trim().split_once('=').with_context(|| format!("bad node entry {entry}, want name=zone"))?;
            let index = u8::try_from(i + 1).ok().filter(|i| *i < 240).context("too many nodes")?;
            Ok(NodeInfo { name: name.into(), zone: zone.into(), index })
        })
        .collect()
}

/// Process env plus `$KOPERATOR_CACHE/toolchain.env`, for `${VAR}` in images.yaml.
fn image_environment() -> BTreeMap<String, String> {
    let mut environment: BTreeMap<String, String> = std::env::vars().collect();
    let home = environment.get("HOME").cloned().unwrap_or_else(|| "/root".into());
    let cache = environment.get("KOPERATOR_CACHE").cloned().unwrap_or_else(|| format!("{home}/.cache/koperator"));
    if let Ok(text) = std::fs::read_to_string(Path::new(&cache).join("toolchain.env")) {
        for (key, value) in images::parse_env_file(&text) {
            environment.entry(key).or_insert(value);
        }
    }
    environment.insert("KOPERATOR_CACHE".into(), cache);
    environment
}

/// The Kafka distribution used for the host's CLI tool wrappers.
fn default_kafka_home(images: &images::ImageMap) -> Option<PathBuf> {
    let cache = PathBuf::from(images.variable("KOPERATOR_CACHE")?).join("kafka");
    if let Some(version) = images.variable("KAFKA_DEFAULT_VERSION").or(images.variable("KAFKA_VERSION")) {
        return Some(cache.join(version));
    }
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir(&cache).ok()?.flatten().map(|e| e.path()).filter(|p| p.join("bin").is_dir()).collect();
    versions.sort();
    versions.pop()
}

#[tokio::main]
async fn run_agent(cli: Cli) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let nodes = parse_nodes(&cli.nodes)?;
    std::fs::create_dir_all(&cli.state_dir)?;
    let state_dir = cli.state_dir.canonicalize()?;
    for dir in ["logs", "pods", "volumes", "sandbox-root"] {
        std::fs::create_dir_all(state_dir.join(dir))?;
    }
    let images = images::ImageCatalog::load(&cli.images, image_environment())?;
    host_exec::prepare(&state_dir, default_kafka_home(&images.current()).as_deref())?;

    let kubeconfig = Kubeconfig::read_from(&cli.kubeconfig)
        .with_context(|| format!("failed to read {}", cli.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let apiserver = apiserver_address(&config.cluster_url.to_string())?;
    let client = kube::Client::try_from(config)?;

    network::setup_host(&nodes).await.context("failed to set up host networking")?;
    for node in &nodes {
        nodes::register(&client, node).await.with_context(|| format!("failed to register node {}", node.name))?;
    }
    tokio::spawn(nodes::heartbeat(client.clone(), nodes.clone()));
    storage::ensure_storage_class(&client)
        .await
        .context("failed to create the StorageClasses standard and local-path")?;
    let cache = cluster::ClusterCache::start(&client).await?;
    let dns = dns::DnsServer::new(cache.clone(), cli.dns_upstream);
    tokio::spawn(async move {
        if let Err(error) = dns.serve(SocketAddr::from((network::BRIDGE_IP, 53))).await {
            tracing::error!(%error, "dns server stopped");
        }
    });
    let node_ips = nodes.iter().map(NodeInfo::internal_ip).collect();
    tokio::spawn(proxy::ServiceProxy::new(cache.clone(), node_ips, apiserver).run());
    tokio::spawn(storage::run(client.clone(), cache.clone(), state_dir.join("volumes")));

    let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(Context {
        recorder: Context::recorder(&client),
        client,
        cache,
        images,
        state_dir,
        nodes,
        ips: network::IpAllocator::default(),
        shutdown,
        self_exe: std::env::current_exe()?,
    });
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!("shutting down: stopping pods");
        let _ = shutdown_tx.send(true);
    });
    tracing::info!("node agent ready");
    let result = pods::run(ctx).await;
    network::teardown_host().await;
    tracing::info!("node agent stopped");
    result
}

fn apiserver_address(url: &str) -> Result<SocketAddr> {
    let without_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = without_scheme.split('/').next().unwrap_or_default();
    let with_port = if authority.contains(':') { authority.to_string() } else { format!("{authority}:443") };
    let with_port = with_port.replace("localhost:", "127.0.0.1:");
    match with_port.parse() {
        Ok(address) => Ok(address),
        Err(_) => bail!("apiserver address {authority} must be an IP for the kubernetes service proxy"),
    }
}
