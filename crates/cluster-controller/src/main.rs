//! `cluster-controller`: reconciles KafkaCluster resources into brokers and serves the
//! ClusterAccess and ClusterActions gRPC services to the other deployables.
//!
//! The process around it (probes, CRD wait, leader election, shutdown) is
//! `operator_runtime::deployable`; the rest is the library (`lib.rs`).

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Parser;
use cluster_controller::{NAME, controller, grpc};
use crd_types::{CruiseControlOperation, KafkaCluster, KafkaTopic};
use kube::CustomResourceExt as _;
use kube::runtime::events::Reporter;
use operator_runtime::cli::{LeaderElectionArgs, RuntimeArgs};
use operator_runtime::deployable;

/// Each pass builds every desired object of a cluster and drops it again; glibc's allocator
/// keeps such short-lived memory, jemalloc returns it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings for this process; jemalloc reads the C symbol `malloc_conf` (a weak default
/// in its library, which this definition replaces) at its first allocation, and then `MALLOC_CONF`
/// from the environment, which still overrides it. Its defaults suit busy servers: four arenas per
/// core, each keeping free pages of its own, and a purging thread per arena. One arena and one
/// purging thread take ~0.8 MiB and three threads off this controller at rest
/// (`e2e/bench/memory.sh`). The topic controller keeps the defaults: with one arena it held more
/// after a burst of 10,000 KafkaTopics.
#[allow(unsafe_code, non_upper_case_globals)]
#[unsafe(no_mangle)]
static malloc_conf: AllocatorSettings = AllocatorSettings(c"narenas:1,max_background_threads:1".as_ptr());

/// A C string pointer, as jemalloc declares `malloc_conf` (`const char *`).
#[repr(transparent)]
struct AllocatorSettings(*const std::ffi::c_char);

// SAFETY: the pointer is to a static C string that nothing writes.
#[allow(unsafe_code)]
unsafe impl Sync for AllocatorSettings {}

/// Reconciles KafkaCluster resources: brokers, listeners, certificates, and the gRPC
/// services other deployables call.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    leader_election: LeaderElectionArgs,
    /// Address of the gRPC server (ClusterAccess, ClusterActions) other deployables call.
    #[arg(long, env = "GRPC_ADDR", default_value = "0.0.0.0:9090")]
    grpc_addr: std::net::SocketAddr,
}

/// One thread runs everything, as in the runner and the receiver: reconciles wait on the API
/// server and Kafka, not on the CPU (20 clusters keep it under a few percent of a core), and
/// each worker thread of a multi-threaded runtime kept ~0.2 MiB of stack and its allocator cache.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        let namespace = args.runtime.watch_namespace().map(str::to_owned);
        // Every replica serves gRPC; ClusterActions only acts while this one leads.
        let leading = grpc::Leading::default();
        let reporter = Reporter { controller: NAME.to_owned(), instance: args.leader_election.identity.clone() };
        let actions = grpc::ClusterActionsService::new(deployable.client.clone(), leading.clone(), reporter);
        let grpc = tokio::spawn(grpc::serve(
            args.grpc_addr,
            deployable.client.clone(),
            namespace.clone(),
            actions,
            deployable.shutdown.clone(),
        ));
        let crds = [KafkaCluster::crd_name(), CruiseControlOperation::crd_name(), KafkaTopic::crd_name()];
        if deployable.wait_for_crds(&crds).await {
            let counters = controller::register_counters(&deployable.metrics);
            let client = deployable.client.clone();
            let leading_flag = leading.clone();
            deployable
                .run_while_leading(&args.leader_election, |leading| {
                    let options = controller::ControllerOptions {
                        namespace: namespace.clone(),
                        reporter: NAME.to_owned(),
                        instance: args.leader_election.identity.clone(),
                        kafka_requests: counters.kafka_requests.clone(),
                        reconciles: counters.reconciles.clone(),
                        certificate_expiry: counters.certificate_expiry.clone(),
                    };
                    let leader = leading_flag.clone();
                    leader.store(true, Ordering::Relaxed);
                    let run = controller::run(client.clone(), options, leading);
                    async move {
                        run.await;
                        leader.store(false, Ordering::Relaxed);
                    }
                })
                .await?;
        }
        deployable.shutdown.cancel();
        grpc.await??;
        Ok(())
    })
    .await
}
