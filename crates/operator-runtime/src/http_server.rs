//! The HTTP server every deployable runs: `/metrics` (Prometheus/OpenMetrics text from a
//! shared registry), `/healthz` (the process serves requests) and `/readyz` (all readiness
//! gates hold; the body names each unmet gate and why).

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use prometheus_client::registry::{Metric, Registry};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::readiness::Readiness;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum HttpServerError {
    /// The address is taken or not ours.
    #[error("failed to listen on {address} for /metrics, /healthz and /readyz")]
    Bind {
        /// The address from --metrics-addr.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("the metrics and probe server failed")]
    Serve(#[source] std::io::Error),
}

/// Prefix of every metric name, so dashboards can select all koperator-rs series at once.
const METRIC_PREFIX: &str = "koperator";

/// The registry behind `/metrics`, shared by everything that records metrics. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MetricsRegistry {
    registry: Arc<Mutex<NamedRegistry>>,
}

#[derive(Debug)]
struct NamedRegistry {
    registry: Registry,
    /// Names registered through [`MetricsRegistry::register`]: a second metric of the same
    /// name would be exported twice, which scrapers reject or sum.
    names: HashSet<String>,
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        let named = NamedRegistry { registry: Registry::with_prefix(METRIC_PREFIX), names: HashSet::new() };
        Self { registry: Arc::new(Mutex::new(named)) }
    }
}

impl MetricsRegistry {
    /// Registers `metric` as `koperator_<name>`; keep a clone of the metric to update it.
    ///
    /// The first registration of a name wins: a later one is not exported (and says so in
    /// the log), so that a deployable registering a metric `deployable::run`
    /// registers for it already (its write counter) exports it once. Returns whether
    /// `metric` was registered.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) -> bool {
        let mut named = self.lock();
        if !named.names.insert(name.to_owned()) {
            tracing::warn!(metric = name, "a metric of this name is registered already; not exporting the second");
            return false;
        }
        named.registry.register(name, help, metric);
        true
    }

    /// Gives access to the registry itself, e.g. for sub-registries with their own prefix.
    pub fn with_registry<T>(&self, edit: impl FnOnce(&mut Registry) -> T) -> T {
        edit(&mut self.lock().registry)
    }

    /// The OpenMetrics text exposition of all registered metrics.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.lock().registry)?;
        Ok(text)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NamedRegistry> {
        // Registration is a single push; a panic elsewhere cannot corrupt the registry.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct ServerState {
    metrics: MetricsRegistry,
    readiness: Readiness,
}

/// The routes, for tests and for binaries that serve more on the same port.
pub fn router(metrics: MetricsRegistry, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness_report))
        .with_state(ServerState { metrics, readiness })
}

/// How long to wait for in-flight requests after shutdown was requested.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The running server; see [`spawn`].
pub struct HttpServer {
    address: SocketAddr,
    task: JoinHandle<Result<(), HttpServerError>>,
}

/// Binds `address` (failing at once if taken) and serves [`router`] until `shutdown`.
pub async fn spawn(
    address: SocketAddr,
    metrics: MetricsRegistry,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> Result<HttpServer, HttpServerError> {
    let listener = TcpListener::bind(address).await.map_err(|source| HttpServerError::Bind { address, source })?;
    let address = listener.local_addr().unwrap_or(address);
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    let app = router(metrics, readiness);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(HttpServerError::Serve)
    });
    Ok(HttpServer { address, task })
}

impl HttpServer {
    /// The bound address (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Waits until the server has stopped after shutdown, giving in-flight requests a few
    /// seconds; a server failure before shutdown is returned too.
    pub async fn stopped(self) -> Result<(), HttpServerError> {
        match tokio::time::timeout(DRAIN_TIMEOUT, self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(HttpServerError::Serve(std::io::Error::other(join_error))),
            Err(_) => {
                tracing::warn!("gave up waiting for HTTP requests after {DRAIN_TIMEOUT:?}");
                Ok(())
            }
        }
    }
}

async fn metrics_text(State(state): State<ServerState>) -> impl IntoResponse {
    match state.metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to encode metrics: {error}\n")).into_response()
        }
    }
}

async fn readiness_report(State(state): State<ServerState>) -> impl IntoResponse {
    let report = state.readiness.report();
    let status = if report.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, report.to_string())
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    async fn get_path(address: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send request");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read response");
        response
    }

    #[tokio::test]
    async fn serves_probes_and_metrics_until_shutdown() {
        let metrics = MetricsRegistry::default();
        let reconciles = Counter::<u64>::default();
        metrics.register("reconciles", "Reconcile runs", reconciles.clone());
        reconciles.inc();
        let readiness = Readiness::new();
        let crds = readiness.gate("crds", "crd kafkaclusters.kafka.banzaicloud.io not established");
        let shutdown = CancellationToken::new();
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = spawn(localhost, metrics, readiness, shutdown.clone()).await.expect("bind");
        let address = server.address();

        assert!(get_path(address, "/healthz").await.starts_with("HTTP/1.1 200"));

        let not_ready = get_path(address, "/readyz").await;
        assert!(not_ready.starts_with("HTTP/1.1 503"), "{not_ready}");
        assert!(
            not_ready.ends_with("not ready\ncrds: crd kafkaclusters.kafka.banzaicloud.io not established\n"),
            "{not_ready}"
        );
        crds.set_ready();
        let ready = get_path(address, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 200") && ready.ends_with("ready\n"), "{ready}");

        let exposition = get_path(address, "/metrics").await;
        assert!(exposition.contains("application/openmetrics-text"), "{exposition}");
        assert!(exposition.contains("koperator_reconciles_total 1"), "{exposition}");

        shutdown.cancel();
        server.stopped().await.expect("clean shutdown");
    }

    #[test]
    fn a_name_is_exported_once() {
        let metrics = MetricsRegistry::default();
        let first = Counter::<u64>::default();
        let second = Counter::<u64>::default();
        assert!(metrics.register("writes", "Writes", first.clone()));
        assert!(!metrics.register("writes", "Writes again", second.clone()));
        first.inc();
        second.inc_by(5);
        let exposition = metrics.encode().expect("encodes");
        assert_eq!(exposition.matches("# TYPE koperator_writes counter").count(), 1, "{exposition}");
        assert!(exposition.contains("koperator_writes_total 1"), "{exposition}");
    }
}
