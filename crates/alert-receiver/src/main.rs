//! `alert-receiver`: receives Alertmanager webhooks and turns firing alerts into
//! ClusterActions calls (add/remove broker, add/grow disk) on the cluster controller.
//! Stateless and idempotent per alert, so it runs without leader election and scales
//! horizontally. The process around it (probes, CRD wait, shutdown) is
//! `operator_runtime::deployable`.

mod actions;
mod auth;
mod commands;
mod dedupe;
mod metrics;
mod payload;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use crd_types::KafkaCluster;
use kube::CustomResourceExt as _;
use operator_runtime::cli::{RuntimeArgs, parse_duration};
use operator_runtime::deployable;

const NAME: &str = env!("CARGO_PKG_NAME");

/// Receives Alertmanager webhooks and asks the cluster controller to scale brokers and disks.
#[derive(Debug, Parser)]
#[command(name = NAME, version, about)]
struct Args {
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// Address the webhook (POST /webhook, and POST / as Koperator's receiver) listens on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:9001")]
    listen_addr: SocketAddr,
    /// File holding the bearer token Alertmanager sends (a mounted Secret).
    #[arg(long, env = "TOKEN_FILE", default_value = "/etc/alert-receiver/token")]
    token_file: PathBuf,
    /// Accept webhooks without a bearer token, as Koperator's receiver does: anyone who reaches
    /// the port can then scale the clusters. For migrating from Koperator; off by default.
    #[arg(long, env = "ACCEPT_UNAUTHENTICATED_WEBHOOKS", default_value_t = false)]
    accept_unauthenticated_webhooks: bool,
    /// The cluster controller's gRPC endpoint (ClusterActions).
    #[arg(long, env = "CLUSTER_ACTIONS_ENDPOINT", default_value = "http://cluster-controller:9090")]
    cluster_actions_endpoint: String,
    /// Largest webhook body accepted; larger ones get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    max_body_bytes: usize,
    /// How long the answer to an action is reused for repeats of the same alert firing.
    #[arg(long, env = "DEDUPE_TTL", default_value = "5m", value_parser = parse_duration)]
    dedupe_ttl: Duration,
}

// One thread: a webhook is parsed and answered from the dedupe cache in microseconds, so a
// second worker thread (and its malloc arena) would cost memory without adding throughput.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    deployable::run(NAME, &args.runtime, async |deployable| {
        // Read first: without a token nothing may be served, unless the user switched it off.
        let webhook_auth = if args.accept_unauthenticated_webhooks {
            tracing::warn!(
                "--accept-unauthenticated-webhooks: webhooks are accepted without a bearer token; anyone \
                 who can reach the webhook port can add and remove brokers and grow disks"
            );
            auth::WebhookAuth::Unauthenticated
        } else {
            auth::WebhookAuth::BearerToken(auth::Token::read(&args.token_file)?)
        };
        let metrics = metrics::Metrics::register(&deployable.metrics);
        let executor =
            actions::Executor::new(&args.cluster_actions_endpoint, deployable.client.clone(), args.dedupe_ttl, metrics)
                .context("invalid --cluster-actions-endpoint")?;
        // No leader election: every replica serves webhooks, and the cluster controller
        // deduplicates actions by idempotency key.
        if deployable.wait_for_crds(&[KafkaCluster::crd_name()]).await {
            let listener = tokio::net::TcpListener::bind(args.listen_addr)
                .await
                .with_context(|| format!("failed to listen on {}", args.listen_addr))?;
            tracing::info!(
                address = %listener.local_addr()?,
                paths = ?server::WEBHOOK_PATHS,
                "serving Alertmanager webhooks (POST)"
            );
            let router = server::router(Arc::new(executor), webhook_auth, args.max_body_bytes);
            let serving = deployable.shutdown.clone();
            axum::serve(listener, router).with_graceful_shutdown(async move { serving.cancelled().await }).await?;
        }
        Ok(())
    })
    .await
}
