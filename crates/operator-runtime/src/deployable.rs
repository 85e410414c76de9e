//! The process around every deployable: tracing, signals, probes and metrics, the kube
//! client (counting its writes as `koperator_<deployable>_writes_total`), CRD wait and leader
//! election, so each binary's `main` only says what it runs.
//!
//! A missing kube config ends the process with the error (exit 1); an unreachable apiserver or
//! missing CRDs keep it running and not ready, retrying. SIGTERM/SIGINT drain everything and
//! exit 0.

use std::future::Future;
use std::process::ExitCode;

use kube::Client;

use crate::api_writes::WriteCounter;
use crate::cli::{LeaderElectionArgs, RuntimeArgs};
use crate::telemetry::{self, TracingConfig};
use crate::{
    CancellationToken, MetricsRegistry, Readiness, crd_wait, http_server, kube_client, leader_election, shutdown,
};

/// What a deployable's body gets to work with.
pub struct Deployable {
    pub name: &'static str,
    /// Counts every write it sends into `koperator_<name>_writes_total{kind,verb}`.
    pub client: Client,
    pub metrics: MetricsRegistry,
    pub readiness: Readiness,
    /// Cancelled on SIGTERM/SIGINT.
    pub shutdown: CancellationToken,
}

impl Deployable {
    /// The field manager of this deployable's server-side applies: `koperator-rs-<name>`.
    pub fn field_manager(&self) -> String {
        field_manager(self.name)
    }

    /// Waits (not ready, naming what is missing) until `crds` are Established; false when
    /// shut down first.
    pub async fn wait_for_crds(&self, crds: &[&str]) -> bool {
        let gate = self.readiness.gate("crds", "not checked yet");
        crd_wait::wait_for_crds(&self.client, crds, &gate, &self.shutdown).await.is_ok()
    }

    /// Runs `work` whenever this replica holds the lease (always, when election is off) until
    /// shutdown; `work` must return soon after its token is cancelled. Releases the lease last.
    pub async fn run_while_leading<F, Fut>(&self, args: &LeaderElectionArgs, work: F) -> anyhow::Result<()>
    where
        F: FnMut(CancellationToken) -> Fut,
        Fut: Future<Output = ()>,
    {
        let election = leader_election::start(args, self.name, &self.client, &self.metrics, self.shutdown.clone())?;
        election.leadership().run_while_leading(&self.shutdown, work).await;
        election.release().await;
        Ok(())
    }
}

/// Runs a deployable named `name` whose work is `body`, and turns the outcome into the
/// process exit code.
pub async fn run<F, Fut>(name: &'static str, args: &RuntimeArgs, body: F) -> ExitCode
where
    F: FnOnce(Deployable) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let tracing_config =
        TracingConfig { service_name: name, log_format: args.log_format, otlp_endpoint: args.otlp_endpoint.clone() };
    let telemetry = match telemetry::init_tracing(&tracing_config) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{name}: {}", crate::error_chain(&error));
            return ExitCode::FAILURE;
        }
    };
    let outcome = serve(name, args, body).await;
    if let Err(error) = &outcome {
        tracing::error!("{name} stopped: {error:#}");
    }
    telemetry.shutdown().await;
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn serve<F, Fut>(name: &'static str, args: &RuntimeArgs, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Deployable) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let shutdown = shutdown::on_signals()?;
    let metrics = MetricsRegistry::default();
    let readiness = Readiness::new();
    let probes_and_metrics =
        http_server::spawn(args.metrics_addr, metrics.clone(), readiness.clone(), shutdown.clone()).await?;
    let writes = register_writes(name, &metrics);
    let client = kube_client::connect(&writes).await?;
    let outcome = body(Deployable { name, client, metrics, readiness, shutdown: shutdown.clone() }).await;
    // The body may also end without a shutdown (an error): stop the servers either way.
    shutdown.cancel();
    probes_and_metrics.stopped().await?;
    outcome?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// `koperator-rs-<deployable>`: who owns the fields a deployable applies.
pub fn field_manager(deployable: &str) -> String {
    format!("koperator-rs-{deployable}")
}

/// `topic_controller_<suffix>` for `topic-controller`: the prefix of a deployable's metrics.
pub fn metric_name(deployable: &str, suffix: &str) -> String {
    format!("{}_{suffix}", deployable.replace('-', "_"))
}

/// Registered before the body runs, so that a deployable registering a writes counter of
/// its own under the same name (the cluster controller's `Writer`, until it counts through
/// the client) does not export it a second time: the registry keeps the first.
fn register_writes(name: &str, metrics: &MetricsRegistry) -> WriteCounter {
    let writes = WriteCounter::default();
    metrics.register(
        &metric_name(name, "writes"),
        "Write requests sent to the API server (dry runs excepted), by resource and verb",
        writes.clone(),
    );
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_deployable() {
        assert_eq!(field_manager("cluster-controller"), "koperator-rs-cluster-controller");
        assert_eq!(metric_name("cruise-control-runner", "writes"), "cruise_control_runner_writes");
    }
}
