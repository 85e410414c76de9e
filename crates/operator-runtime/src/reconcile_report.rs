//! Records every pass or reconcile: `<deployable>_reconciles_total{outcome}`,
//! `<deployable>_reconcile_failures_total{category}`, `<deployable>_reconcile_duration_seconds`,
//! and a Warning event carrying the error chain on the object whose pass failed (the only
//! writer of failure events).
//!
//! The keyed worker records each pass itself; a kube `Controller` wraps its reconcile in
//! [`ReconcileReporter::observe`] and paces retries with [`crate::error_class::retry_action`].

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::time::Instant;

use crate::MetricsRegistry;
use crate::deployable::metric_name;
use crate::error_class::{Classify, ErrorClass};

/// `success` or `failure`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

/// The failure's [`ErrorClass::category`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    pub category: String,
}

/// A deployable's reconcile metrics; register once per process (leadership may be won
/// several times), clone freely.
#[derive(Clone, Debug)]
pub struct ReconcileMetrics {
    reconciles: Family<OutcomeLabels, Counter>,
    failures: Family<CategoryLabels, Counter>,
    duration: Histogram,
}

impl ReconcileMetrics {
    /// Registers the three metrics under `deployable`'s prefix.
    pub fn register(registry: &MetricsRegistry, deployable: &str) -> Self {
        let metrics = Self::unregistered();
        registry.register(
            &metric_name(deployable, "reconciles"),
            "Passes (reconciles) run, by outcome: success or failure",
            metrics.reconciles.clone(),
        );
        registry.register(
            &metric_name(deployable, "reconcile_failures"),
            "Failed passes (reconciles), by error category",
            metrics.failures.clone(),
        );
        registry.register(
            &metric_name(deployable, "reconcile_duration_seconds"),
            "How long passes (reconciles) took",
            metrics.duration.clone(),
        );
        metrics
    }

    fn unregistered() -> Self {
        Self {
            reconciles: Family::default(),
            failures: Family::default(),
            // 5 ms to ~3 min: an idle pass over a few objects up to a pass that waits for
            // slow Kafka requests.
            duration: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
        }
    }

    /// Records one pass that took `elapsed` and failed with `failure`, if it did.
    pub fn record(&self, elapsed: Duration, failure: Option<ErrorClass>) {
        self.duration.observe(elapsed.as_secs_f64());
        let outcome = if failure.is_some() { "failure" } else { "success" };
        self.reconciles.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
        if let Some(class) = failure {
            self.failures.get_or_create(&CategoryLabels { category: class.category.to_owned() }).inc();
        }
    }

    #[cfg(test)]
    pub(crate) fn count(&self, outcome: &str) -> u64 {
        self.reconciles.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).get()
    }

    #[cfg(test)]
    pub(crate) fn failures(&self, category: &str) -> u64 {
        self.failures.get_or_create(&CategoryLabels { category: category.to_owned() }).get()
    }
}

/// Reconcile metrics plus the failure events.
#[derive(Clone)]
pub struct ReconcileReporter {
    metrics: ReconcileMetrics,
    /// `None` only in this crate's tests, which have no API server to publish to.
    recorder: Option<Recorder>,
}

impl ReconcileReporter {
    pub fn new(metrics: ReconcileMetrics, recorder: Recorder) -> Self {
        Self { metrics, recorder: Some(recorder) }
    }

    #[cfg(test)]
    pub(crate) fn without_events(metrics: ReconcileMetrics) -> Self {
        Self { metrics, recorder: None }
    }

    /// Times `reconcile`, records its outcome, and publishes a Warning event on `regarding`
    /// when it fails. For a kube `Controller`'s reconcile function.
    pub async fn observe<T, E: Classify>(
        &self,
        regarding: &ObjectReference,
        reconcile: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = reconcile.await;
        self.record(started.elapsed(), result.as_ref().err());
        if let Err(error) = &result {
            self.publish_failure(regarding, error).await;
        }
        result
    }

    /// Records a pass that took `elapsed` and failed with `failure`, if it did.
    pub fn record<E: Classify>(&self, elapsed: Duration, failure: Option<&E>) {
        self.metrics.record(elapsed, failure.map(Classify::class));
    }

    /// Publishes the Warning event of a failed pass on `regarding`. Best effort: a failure to
    /// publish is logged and otherwise ignored (the pass failed already).
    pub async fn publish_failure(
        &self,
        regarding: &ObjectReference,
        error: &(dyn std::error::Error + Send + Sync + 'static),
    ) {
        let event = failure_event(error);
        let Some(recorder) = &self.recorder else { return };
        if let Err(publish_error) = recorder.publish(&event, regarding).await {
            tracing::debug!(error = %publish_error, name = ?regarding.name, "failed to publish the failure event");
        }
    }
}

/// The object of kind `K` an event is about, by name (and uid when known: `kubectl describe`
/// lists only events that carry the object's uid).
pub fn regarding<K: Resource<DynamicType = ()>>(namespace: &str, name: &str, uid: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        namespace: Some(namespace.to_owned()),
        name: Some(name.to_owned()),
        uid,
        ..ObjectReference::default()
    }
}

/// The API server refuses event notes above 1 kB.
const MAX_NOTE_BYTES: usize = 1024;

/// The Warning event of a failed pass: reason `ReconcileFailed`, the error chain as note
/// (pure).
pub fn failure_event(error: &(dyn std::error::Error + 'static)) -> Event {
    let mut note = crate::error_chain(error);
    if note.len() > MAX_NOTE_BYTES {
        let mut end = MAX_NOTE_BYTES - '…'.len_utf8();
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push('…');
    }
    Event {
        type_: EventType::Warning,
        reason: "ReconcileFailed".to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to reach Kafka at kafka-0:9092")]
    struct Unreachable(#[source] std::io::Error);

    impl Classify for Unreachable {
        fn class(&self) -> ErrorClass {
            ErrorClass::transient("kafka_unreachable")
        }
    }

    #[test]
    fn failure_events_carry_the_error_chain() {
        let error = Unreachable(std::io::Error::other("connection refused"));
        let event = failure_event(&error);
        assert_eq!(event.type_, EventType::Warning);
        assert_eq!(event.reason, "ReconcileFailed");
        assert_eq!(event.note.as_deref(), Some("failed to reach Kafka at kafka-0:9092: connection refused"));

        let long = Unreachable(std::io::Error::other("é".repeat(1000)));
        let note = failure_event(&long).note.expect("a note");
        assert!(note.len() <= MAX_NOTE_BYTES && note.ends_with('…'), "{} bytes", note.len());
    }

    #[tokio::test]
    async fn observe_records_outcome_and_category() {
        let registry = MetricsRegistry::default();
        let metrics = ReconcileMetrics::register(&registry, "topic-controller");
        let reporter = ReconcileReporter::without_events(metrics.clone());
        let regarding = ObjectReference::default();
        let ok: Result<(), Unreachable> = reporter.observe(&regarding, async { Ok(()) }).await;
        assert!(ok.is_ok());
        let failed =
            reporter.observe(&regarding, async { Err::<(), _>(Unreachable(std::io::Error::other("refused"))) }).await;
        assert!(failed.is_err());
        assert_eq!((metrics.count("success"), metrics.count("failure")), (1, 1));
        assert_eq!(metrics.failures("kafka_unreachable"), 1);
        let exposition = registry.encode().expect("encodes");
        for line in [
            "koperator_topic_controller_reconciles_total{outcome=\"failure\"} 1",
            "koperator_topic_controller_reconcile_failures_total{category=\"kafka_unreachable\"} 1",
            "koperator_topic_controller_reconcile_duration_seconds_count 2",
        ] {
            assert!(exposition.contains(line), "{line} missing from\n{exposition}");
        }
    }
}
