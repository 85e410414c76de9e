//! `topic-controller`: reconciles KafkaTopic and KafkaUser resources against the Kafka clusters
//! they name, which it reaches through the cluster controller's ClusterAccess gRPC service.
//!
//! The process around it (probes, CRD wait, leader election, shutdown) is
//! `operator_runtime::deployable`; `controller` wires the watch to one keyed worker per
//! cluster (`cluster_pass`), whose `sync` pass reads → plans (`plan`, pure) → applies
//! (`apply`) → writes status. KafkaUsers (`users`) have their own watch and workers of the
//! same shape.

mod access;
mod apply;
mod cache;
mod cluster_pass;
mod controller;
mod kube_writes;
mod outcome;
mod plan;
mod request;
mod status;
mod status_writer;
mod sync;
mod tls_material;
mod tls_secrets;
mod user_acls;
mod users;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use crd_types::{KafkaTopic, KafkaUser};
use kube::CustomResourceExt as _;
use kube::runtime::events::{Recorder, Reporter};
use operator_runtime::cli::{LeaderElectionArgs, RuntimeArgs, parse_duration};
use operator_runtime::error_class::RetryPacing;
use operator_runtime::keyed_worker::Pacing;
use operator_runtime::reconcile_report::{ReconcileMetrics, ReconcileReporter};
use operator_runtime::{MetricsRegistry, deployable};

use crate::kube_writes::TopicWriter;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Every pass allocates for all of a cluster's topics and frees it again. With glibc's
/// allocator (and with mimalloc) that memory stayed with the process: 70-100 MiB idle at
/// 10,000 topics. jemalloc gives it back within seconds (44 MiB idle).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Reconciles KafkaTopic and KafkaUser resources against the Kafka clusters they name.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    leader_election: LeaderElectionArgs,
    /// The cluster controller's gRPC address (ClusterAccess), e.g. http://cluster-controller:9090.
    #[arg(long, env = "CLUSTER_ACCESS_ENDPOINT", default_value = "http://127.0.0.1:9090")]
    cluster_access_endpoint: String,
    /// How often every topic is compared with Kafka even when nothing changed (drift correction).
    #[arg(long, env = "RESYNC_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    resync_interval: Duration,
    /// Timeout of each Kafka admin request.
    #[arg(long, env = "KAFKA_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    kafka_request_timeout: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        let access = access::ClusterAccess::new(&args.cluster_access_endpoint)?;
        let kafka_requests = register_kafka_requests(&deployable.metrics);
        let reconciles = ReconcileMetrics::register(&deployable.metrics, NAME);
        if deployable.wait_for_crds(&[KafkaTopic::crd_name(), KafkaUser::crd_name()]).await {
            let client = deployable.client.clone();
            let field_manager = deployable.field_manager();
            let namespace = args.runtime.watch_namespace().map(str::to_owned);
            let pacing = Pacing {
                // Gathers a burst of changes (10,000 topics applied at once) into few passes.
                debounce: Duration::from_millis(250),
                resync: Some(args.resync_interval),
                retry: RetryPacing::default(),
            };
            deployable
                .run_while_leading(&args.leader_election, |leading| {
                    let recorder = Recorder::new(
                        client.clone(),
                        Reporter { controller: NAME.to_owned(), instance: args.leader_election.identity.clone() },
                    );
                    let reporter = ReconcileReporter::new(reconciles.clone(), recorder.clone());
                    let users = Arc::new(users::pass::Shared {
                        writer: users::UserWriter {
                            client: client.clone(),
                            field_manager: field_manager.clone(),
                            recorder: recorder.clone(),
                        },
                        access: access.clone(),
                        kafka_requests: kafka_requests.clone(),
                        client_id: NAME.to_owned(),
                        request_timeout: args.kafka_request_timeout,
                    });
                    let shared = Arc::new(sync::Shared {
                        writer: TopicWriter { client: client.clone(), field_manager: field_manager.clone(), recorder },
                        access: access.clone(),
                        secrets: client.clone(),
                        kafka_requests: kafka_requests.clone(),
                        client_id: NAME.to_owned(),
                        request_timeout: args.kafka_request_timeout,
                    });
                    let (client, namespace) = (client.clone(), namespace.clone());
                    async move {
                        let users = users::controller::run(
                            client.clone(),
                            namespace.as_deref(),
                            users,
                            pacing,
                            reporter.clone(),
                            leading.clone(),
                        );
                        let topics = controller::run(client, namespace.as_deref(), shared, pacing, reporter, leading);
                        tokio::join!(topics, users);
                    }
                })
                .await?;
        }
        Ok(())
    })
    .await
}

/// Registered once per process (leadership may be won several times). API writes are
/// counted by the client (`operator_runtime::deployable`).
fn register_kafka_requests(metrics: &MetricsRegistry) -> kafka_admin::RequestCounter {
    let kafka_requests = kafka_admin::RequestCounter::default();
    metrics.register(
        "topic_controller_kafka_requests",
        "Requests the topic controller sent to Kafka",
        kafka_requests.clone(),
    );
    kafka_requests
}
