//! The runner's Prometheus metrics: tasks started and finished, and requests to Cruise
//! Control. Its writes to the API server are counted by the client
//! (`koperator_cruise_control_runner_writes_total`, see `operator_runtime::deployable`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use operator_runtime::MetricsRegistry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub operation: String,
    /// completed | failed
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Cruise Control endpoint: state, user_tasks, add_broker...
    pub endpoint: String,
    /// ok | error (an error answer) | unreachable
    pub outcome: String,
}

/// Registered once per process (leadership may be won several times).
#[derive(Clone, Default)]
pub struct Metrics {
    pub tasks_started: Family<OperationLabels, Counter>,
    pub tasks_finished: Family<OutcomeLabels, Counter>,
    pub requests: Family<RequestLabels, Counter>,
}

impl Metrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let metrics = Self::default();
        registry.register(
            "cruise_control_runner_tasks_started",
            "Cruise Control tasks the runner started, by operation",
            metrics.tasks_started.clone(),
        );
        registry.register(
            "cruise_control_runner_tasks_finished",
            "Cruise Control tasks that finished, by operation and outcome (completed or failed)",
            metrics.tasks_finished.clone(),
        );
        registry.register(
            "cruise_control_runner_requests",
            "Requests the runner sent to Cruise Control, by endpoint and outcome",
            metrics.requests.clone(),
        );
        metrics
    }

    pub fn request<T>(&self, endpoint: &str, result: &Result<T, cruise_control_client::Error>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(error) if error.is_unreachable() => "unreachable",
            Err(_) => "error",
        };
        self.requests
            .get_or_create(&RequestLabels { endpoint: endpoint.to_owned(), outcome: outcome.to_owned() })
            .inc();
    }
}
