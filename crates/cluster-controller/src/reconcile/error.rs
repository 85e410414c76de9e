//! Why a pass failed, whether trying again soon can help, and the metrics of every pass.

use std::time::Duration;

use kube::core::error_boundary::InvalidObject;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use operator_runtime::MetricsRegistry;

use super::writes;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("KafkaCluster has no namespace")]
    MissingNamespace,
    #[error("KafkaCluster {name} does not match the schema this controller knows")]
    Unreadable {
        name: String,
        #[source]
        source: Box<InvalidObject>,
    },
    #[error("failed to read what the decision needs")]
    Observe(#[source] kube::Error),
    #[error("the decision still asked for facts after {rounds} rounds")]
    FactsUnsettled { rounds: usize },
    #[error(transparent)]
    Write(#[from] writes::Error),
}

impl Error {
    /// Whether the same pass may succeed in a moment: a conflict with another writer, an
    /// apiserver that is busy, down or slow. Anything else — an object the apiserver rejects,
    /// a permission missing, a spec this controller cannot read — needs a change first.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::MissingNamespace | Self::Unreadable { .. } | Self::FactsUnsettled { .. } => false,
            Self::Observe(source) => is_transient_kube_error(source),
            Self::Write(error) => match error.api_status() {
                Some(status) => is_transient_code(status.code),
                None => true,
            },
        }
    }

    /// For the failures metric: what kind of failure, in a word.
    pub fn category(&self) -> &'static str {
        match self {
            Self::MissingNamespace | Self::Unreadable { .. } => "invalid_object",
            Self::Observe(_) => "read",
            Self::FactsUnsettled { .. } => "decision",
            Self::Write(error) => match error.api_status().map(|s| s.code) {
                Some(409) => "conflict",
                Some(403) => "forbidden",
                Some(400 | 422) => "rejected",
                Some(_) => "apiserver",
                None => "connection",
            },
        }
    }

    pub fn retry_after(&self) -> Duration {
        if self.is_transient() { Duration::from_secs(5) } else { Duration::from_secs(120) }
    }
}

fn is_transient_code(code: u16) -> bool {
    matches!(code, 409 | 429) || code >= 500
}

fn is_transient_kube_error(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => is_transient_code(status.code),
        _ => true,
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    /// ok | error
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    category: String,
}

/// `cluster_controller_reconciles_total{outcome}`,
/// `cluster_controller_reconcile_failures_total{category}`,
/// `cluster_controller_reconcile_duration_seconds`.
#[derive(Clone)]
pub struct ReconcileMetrics {
    runs: Family<OutcomeLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    duration: Histogram,
}

impl ReconcileMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let metrics = Self { runs: Family::default(), failures: Family::default(), duration: Histogram::new(buckets) };
        registry.register("cluster_controller_reconciles", "KafkaCluster passes, by outcome", metrics.runs.clone());
        registry.register(
            "cluster_controller_reconcile_failures",
            "Failed KafkaCluster passes, by kind of failure",
            metrics.failures.clone(),
        );
        registry.register(
            "cluster_controller_reconcile_duration_seconds",
            "How long a KafkaCluster pass took",
            metrics.duration.clone(),
        );
        metrics
    }

    pub fn record<T>(&self, result: &Result<T, Error>, elapsed: Duration) {
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.runs.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
        if let Err(error) = result {
            self.failures.get_or_create(&FailureLabels { category: error.category().to_owned() }).inc();
        }
        self.duration.observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_error(code: u16) -> Error {
        let status = kube::core::Status::failure("no", "Reason").with_code(code);
        Error::Write(writes::Error::Apply {
            kind: "ConfigMap".into(),
            name: "kafka-config-0".into(),
            source: kube::Error::Api(Box::new(status)),
        })
    }

    #[test]
    fn conflicts_and_busy_apiservers_are_transient_rejections_are_not() {
        assert!(write_error(409).is_transient());
        assert!(write_error(503).is_transient());
        assert!(!write_error(422).is_transient());
        assert!(!write_error(403).is_transient());
        assert_eq!(write_error(403).category(), "forbidden");
        assert!(write_error(422).retry_after() > write_error(409).retry_after());
    }
}
