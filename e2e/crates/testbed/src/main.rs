//! `testbed`: a real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler) as local background processes, with its state,
//! logs and pid files under `<repo>/target/testbed`. Binaries come from
//! `e2e/bootstrap/bootstrap.sh` (see e2e/README.md).

mod components;
mod health;
mod kubeconfig;
mod layout;
mod lifecycle;
mod pki;
mod process;
mod toolchain;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::layout::Layout;
use crate::lifecycle::TestBed;

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
    /// Start the control plane (and the node agent when built); no-op when already up.
    Up,
    /// Stop every test bed process: node agent first, then the control plane.
    Down {
        /// Also delete target/testbed (etcd data, certificates, logs).
        #[arg(long)]
        purge: bool,
    },
    /// Show each component's process and health.
    Status,
    /// Print the path of the admin kubeconfig.
    Kubeconfig,
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
    let testbed = TestBed::new(Layout::discover(cli.root)?);
    match cli.command {
        Command::Up => testbed.up(),
        Command::Down { purge } => testbed.down(purge),
        Command::Status => testbed.status(),
        Command::Kubeconfig => {
            println!("{}", testbed.layout().admin_kubeconfig().display());
            Ok(())
        }
    }
}
