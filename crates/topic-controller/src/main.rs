//! `topic-controller`: reconciles KafkaTopic and KafkaUser resources against the Kafka
//! clusters they reference, which it reaches through the cluster controller's ClusterAccess.
//! The process around it (probes, CRD wait, leader election, shutdown) is
//! `operator_runtime::deployable`.

use std::process::ExitCode;

use clap::Parser;
use crd_types::{KafkaTopic, KafkaUser};
use kube::CustomResourceExt as _;
use operator_runtime::CancellationToken;
use operator_runtime::cli::{LeaderElectionArgs, RuntimeArgs};
use operator_runtime::deployable;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Reconciles KafkaTopic and KafkaUser resources against the Kafka clusters they name.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    leader_election: LeaderElectionArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        if deployable.wait_for_crds(&[KafkaTopic::crd_name(), KafkaUser::crd_name()]).await {
            deployable.run_while_leading(&args.leader_election, run_controllers).await?;
        }
        Ok(())
    })
    .await
}

/// Runs for as long as this replica leads; must return soon after `leading` is cancelled.
async fn run_controllers(leading: CancellationToken) {
    // TODO(topic issue): the KafkaTopic reconciler; KafkaUser comes with the security issue.
    tracing::info!("leading; the KafkaTopic and KafkaUser controllers will start here once implemented");
    leading.cancelled().await;
    tracing::info!("no longer leading; KafkaTopic and KafkaUser controllers stopped");
}
