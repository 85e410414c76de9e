//! `alert-receiver`: receives Alertmanager webhooks and turns firing alerts into
//! ClusterActions calls (add/remove broker, add/grow disk) on the cluster controller.
//! Stateless and idempotent per alert, so it runs without leader election and scales
//! horizontally.
//!
//! Startup, in order: flags, tracing, signals, probes and metrics, kube client, CRD wait,
//! webhook server, shutdown. A missing kube config ends the process with the error (exit 1);
//! an unreachable apiserver or missing CRDs keep it running and not ready, retrying.
//! SIGTERM/SIGINT drain everything and exit 0.

use std::process::ExitCode;

use clap::Parser;
use crd_types::KafkaCluster;
use kube::CustomResourceExt as _;
use operator_runtime::{
    CancellationToken, MetricsRegistry, Readiness,
    cli::RuntimeArgs,
    crd_wait, http_server, kube_client, shutdown,
    telemetry::{self, TracingConfig},
};

const NAME: &str = env!("CARGO_PKG_NAME");

/// Receives Alertmanager webhooks and asks the cluster controller to scale brokers and disks.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// CRDs this deployable works with; it stays not ready until all are Established.
fn required_crds() -> [&'static str; 1] {
    [KafkaCluster::crd_name()]
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

    // No leader election: every replica serves webhooks, and the cluster controller
    // deduplicates actions by idempotency key.
    if crd_wait::wait_for_crds(&client, &required_crds(), &crds_established, &shutdown).await.is_ok() {
        serve_webhooks(shutdown.clone()).await;
    }

    probes_and_metrics.stopped().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Serves Alertmanager webhooks until `serving` is cancelled.
async fn serve_webhooks(serving: CancellationToken) {
    // TODO: the Alertmanager webhook server arrives with the alert handling issue; serve it here
    // with `serving` as its stop signal.
    tracing::info!("ready; the Alertmanager webhook will be served here once implemented");
    serving.cancelled().await;
}
