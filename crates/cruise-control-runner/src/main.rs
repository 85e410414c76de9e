//! `cruise-control-runner`: runs CruiseControlOperations against each cluster's Cruise
//! Control, one execution at a time per cluster.
//!
//! The process around it (probes, CRD wait, leader election, shutdown) is
//! `operator_runtime::deployable`; `controller` wires the watch to one keyed worker per
//! cluster (`cluster_pass`), whose `pass` reads (`observe`) → plans (`plan` and `queue`, pure,
//! deciding a `decision`) → applies (`apply`) → writes status (`status`, pure; `kube_writes`).

mod apply;
mod cluster_pass;
mod controller;
mod decision;
mod kube_writes;
mod metrics;
mod model;
mod observe;
mod pass;
mod plan;
mod queue;
mod status;
mod task_state;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use crd_types::{CruiseControlOperation, KafkaCluster};
use kube::CustomResourceExt as _;
use kube::runtime::events::{Recorder, Reporter};
use operator_runtime::cli::{LeaderElectionArgs, RuntimeArgs, parse_duration};
use operator_runtime::deployable;
use operator_runtime::error_class::RetryPacing;
use operator_runtime::keyed_worker;
use operator_runtime::reconcile_report::{ReconcileMetrics, ReconcileReporter};

use crate::kube_writes::OperationWriter;
use crate::metrics::Metrics;
use crate::model::Pacing;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Runs CruiseControlOperations against Cruise Control.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    leader_election: LeaderElectionArgs,
    /// How often running tasks, and a busy or unreachable Cruise Control, are looked at.
    #[arg(long, env = "POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    poll_interval: Duration,
    /// Wait before retrying a failed task (errorPolicy retry); doubles with every retry.
    #[arg(long, env = "RETRY_BACKOFF", default_value = "20s", value_parser = parse_duration)]
    retry_backoff: Duration,
    /// Longest wait between retries.
    #[arg(long, env = "MAX_RETRY_BACKOFF", default_value = "5m", value_parser = parse_duration)]
    max_retry_backoff: Duration,
    /// Timeout of each request to Cruise Control; longer than its webserver.request.maxBlockTimeMs.
    #[arg(long, env = "CRUISE_CONTROL_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    cruise_control_timeout: Duration,
}

// One thread: the runner waits on Cruise Control and the apiserver, and a pass is a few
// small requests; each further worker would cost a stack and memory without adding throughput.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        let metrics = Metrics::register(&deployable.metrics);
        let reconciles = ReconcileMetrics::register(&deployable.metrics, NAME);
        let pacing = Pacing {
            poll_interval: args.poll_interval,
            backoff: args.retry_backoff,
            max_backoff: args.max_retry_backoff,
        };
        let cruise_control = cruise_control_client::ClientSettings {
            request_timeout: args.cruise_control_timeout,
            user_agent: format!("{NAME}/{}", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        if deployable.wait_for_crds(&[CruiseControlOperation::crd_name(), KafkaCluster::crd_name()]).await {
            let client = deployable.client.clone();
            let field_manager = deployable.field_manager();
            let namespace = args.runtime.watch_namespace().map(str::to_owned);
            let worker_pacing = keyed_worker::Pacing {
                // Gathers the create and status writes that set up one operation into one pass.
                debounce: Duration::from_millis(200),
                // Every pass says when it wants the next one; nothing drifts in between.
                resync: None,
                retry: RetryPacing {
                    min: args.poll_interval,
                    max: args.poll_interval.max(Duration::from_secs(30)),
                    ..RetryPacing::default()
                },
            };
            deployable
                .run_while_leading(&args.leader_election, |leading| {
                    let reporter =
                        Reporter { controller: NAME.to_owned(), instance: args.leader_election.identity.clone() };
                    let recorder = Recorder::new(client.clone(), reporter);
                    let reconcile_reporter = ReconcileReporter::new(reconciles.clone(), recorder.clone());
                    let writer =
                        OperationWriter { client: client.clone(), field_manager: field_manager.clone(), recorder };
                    let shared = Arc::new(pass::Shared {
                        client: client.clone(),
                        writer,
                        metrics: metrics.clone(),
                        pacing,
                        cruise_control: cruise_control.clone(),
                    });
                    let (client, namespace) = (client.clone(), namespace.clone());
                    async move {
                        controller::run(
                            client,
                            namespace.as_deref(),
                            shared,
                            worker_pacing,
                            reconcile_reporter,
                            leading,
                        )
                        .await
                    }
                })
                .await?;
        }
        Ok(())
    })
    .await
}
