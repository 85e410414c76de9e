//! `testbed`: a real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler) as local background processes and three nodes,
//! each a real kubelet, containerd and kube-proxy in namespaces of their own, with state,
//! logs and pid files under `<repo>/target/testbed`. Binaries come from
//! `e2e/bootstrap/bootstrap.sh` (see e2e/README.md).

mod addons;
mod cgroups;
mod components;
mod health;
mod host_exec;
mod kubeconfig;
mod kubelet_nodes;
mod layout;
mod lifecycle;
mod network;
mod node_config;
mod node_namespaces;
mod pki;
mod process;
mod settings;
mod toolchain;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::layout::Layout;
use crate::lifecycle::TestBed;
use crate::node_namespaces::NodeMounts;
use crate::settings::Settings;

#[derive(Parser)]
#[command(about = "Runs the local Kubernetes test bed")]
struct Cli {
    /// Repository root; found from the working directory when omitted.
    #[arg(long, global = true, env = "TESTBED_ROOT")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the control plane and the three kubelet nodes; no-op when already up.
    Up,
    /// Stop every test bed process: the nodes first, then the control plane.
    Down {
        /// Also delete target/testbed (etcd data, certificates, logs).
        #[arg(long)]
        purge: bool,
    },
    /// Show each component's process and health.
    Status,
    /// Print the path of the admin kubeconfig.
    Kubeconfig,
    /// Run a host command with cluster DNS and the Kafka CLI tools on PATH (kubelet nodes).
    Exec {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Import the image archives a list names (`<archive> <image> [<other name>...]` per
    /// line) into every kubelet node, e.g. e2e/images/deployables.sh's.
    ImportImages { list: PathBuf },
    /// Hold a kubelet node's mount namespace (inside its network namespace) until SIGTERM.
    #[command(hide = true)]
    NodeNamespaces {
        #[arg(long)]
        netns: String,
        #[arg(long)]
        node_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain on one line; no backtrace even when RUST_BACKTRACE is set.
            eprintln!("testbed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Command::NodeNamespaces { netns, node_dir } = &cli.command {
        return node_namespaces::hold(netns, &NodeMounts::under(node_dir));
    }
    let testbed = TestBed::new(Layout::discover(cli.root)?, Settings::from_env()?);
    match cli.command {
        Command::Up => testbed.up(),
        Command::Down { purge } => testbed.down(purge),
        Command::Status => testbed.status(),
        Command::Kubeconfig => {
            println!("{}", testbed.layout().admin_kubeconfig().display());
            Ok(())
        }
        Command::Exec { command } => host_exec::run(testbed.layout(), &command),
        Command::ImportImages { list } => testbed.import_images(&list),
        Command::NodeNamespaces { .. } => unreachable!("handled above"),
    }
}
