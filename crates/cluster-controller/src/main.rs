//! `cluster-controller`: reconciles KafkaCluster resources into brokers and serves the
//! ClusterAccess and ClusterActions gRPC services to the other deployables.
//!
//! Startup, in order: flags, tracing, signals, probes and metrics, kube client, CRD wait,
//! leader election, controllers while leading, shutdown. A missing kube config ends the
//! process with the error (exit 1); an unreachable apiserver or missing CRDs keep it running
//! and not ready, retrying. SIGTERM/SIGINT drain everything and exit 0.

use std::process::ExitCode;

use clap::Parser;
use crd_types::{CruiseControlOperation, KafkaCluster};
use kube::CustomResourceExt as _;
use operator_runtime::{
    CancellationToken, MetricsRegistry, Readiness,
    cli::{LeaderElectionArgs, RuntimeArgs},
    crd_wait, http_server, kube_client, leader_election, shutdown,
    telemetry::{self, TracingConfig},
};

const NAME: &str = env!("CARGO_PKG_NAME");

/// Reconciles KafkaCluster resources: brokers, listeners, certificates, and the gRPC
/// services other deployables call.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    leader_election: LeaderElectionArgs,
}

/// CRDs this deployable works with; it stays not ready until all are Established.
fn required_crds() -> [&'static str; 2] {
    [KafkaCluster::crd_name(), CruiseControlOperation::crd_name()]
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let tracing_config = TracingConfig {
        service_name: NAME,
        log_format: args.runtime.log_format,
        otlp_endpoint: args.runtime.otlp_endpoint.clone(),
    };
    let telemetry = match telemetry::init_tracing(&tracing_config) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{NAME}: {}", operator_runtime::error_chain(&error));
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(args).await;
    if let Err(error) = &outcome {
        tracing::error!("{NAME} stopped: {error:#}");
    }
    telemetry.shutdown().await;
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signals()?;
    let metrics = MetricsRegistry::default();
    let readiness = Readiness::new();
    let crds_established = readiness.gate("crds", "not checked yet");
    let probes_and_metrics =
        http_server::spawn(args.runtime.metrics_addr, metrics.clone(), readiness.clone(), shutdown.clone()).await?;
    let client = kube_client::connect().await?;

    // A shutdown while waiting for CRDs skips straight to draining.
    if crd_wait::wait_for_crds(&client, &required_crds(), &crds_established, &shutdown).await.is_ok() {
        let election = leader_election::start(&args.leader_election, NAME, &client, &metrics, shutdown.clone())?;
        election.leadership().run_while_leading(&shutdown, run_controllers).await;
        election.release().await;
    }

    probes_and_metrics.stopped().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Runs for as long as this replica leads; must return soon after `leading` is cancelled.
async fn run_controllers(leading: CancellationToken) {
    // TODO: the KafkaCluster reconciler and the ClusterAccess/ClusterActions gRPC servers
    // arrive with the cluster reconciliation issue; start them here with `leading` as their
    // stop signal.
    tracing::info!("leading; the KafkaCluster controller and gRPC servers will start here once implemented");
    leading.cancelled().await;
    tracing::info!("no longer leading; KafkaCluster controller and gRPC servers stopped");
}
