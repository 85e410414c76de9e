//! `alert-receiver`: receives Alertmanager webhooks and turns firing alerts into
//! ClusterActions calls (add/remove broker, add/grow disk) on the cluster controller.
//! Stateless and idempotent per alert, so it runs without leader election and scales
//! horizontally. The process around it (probes, CRD wait, shutdown) is
//! `operator_runtime::deployable`.

use std::process::ExitCode;

use clap::Parser;
use crd_types::KafkaCluster;
use kube::CustomResourceExt as _;
use operator_runtime::CancellationToken;
use operator_runtime::cli::RuntimeArgs;
use operator_runtime::deployable;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Receives Alertmanager webhooks and asks the cluster controller to scale brokers and disks.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        // No leader election: every replica serves webhooks, and the cluster controller
        // deduplicates actions by idempotency key.
        if deployable.wait_for_crds(&[KafkaCluster::crd_name()]).await {
            serve_webhooks(deployable.shutdown.clone()).await;
        }
        Ok(())
    })
    .await
}

/// Serves Alertmanager webhooks until `serving` is cancelled.
async fn serve_webhooks(serving: CancellationToken) {
    // TODO(alerts issue): the Alertmanager webhook server, with `serving` as its stop signal.
    tracing::info!("ready; the Alertmanager webhook will be served here once implemented");
    serving.cancelled().await;
}
