//! `cruise-control-runner`: runs CruiseControlOperations against each cluster's Cruise
//! Control, one at a time per cluster. The process around it (probes, CRD wait, leader
//! election, shutdown) is `operator_runtime::deployable`.

use std::process::ExitCode;

use clap::Parser;
use crd_types::{CruiseControlOperation, KafkaCluster};
use kube::CustomResourceExt as _;
use operator_runtime::CancellationToken;
use operator_runtime::cli::{LeaderElectionArgs, RuntimeArgs};
use operator_runtime::deployable;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Runs CruiseControlOperations against Cruise Control.
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
        if deployable.wait_for_crds(&[CruiseControlOperation::crd_name(), KafkaCluster::crd_name()]).await {
            deployable.run_while_leading(&args.leader_election, run_controllers).await?;
        }
        Ok(())
    })
    .await
}

/// Runs for as long as this replica leads; must return soon after `leading` is cancelled.
async fn run_controllers(leading: CancellationToken) {
    // TODO(Cruise Control issue): the CruiseControlOperation task runner.
    tracing::info!("leading; the CruiseControlOperation runner will start here once implemented");
    leading.cancelled().await;
    tracing::info!("no longer leading; CruiseControlOperation runner stopped");
}
