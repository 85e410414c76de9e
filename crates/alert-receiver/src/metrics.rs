//! `koperator_alert_receiver_*` metrics: what happened to each command, and each request's answer.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use operator_runtime::MetricsRegistry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub command: String,
    /// accepted, already_done, refused, deduplicated, invalid or failed.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub code: String,
}

#[derive(Clone, Default)]
pub struct Metrics {
    actions: Family<ActionLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
}

impl Metrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let metrics = Self::default();
        registry.register("alert_receiver_actions", "Alert commands by command and outcome", metrics.actions.clone());
        registry.register("alert_receiver_requests", "Webhook requests by HTTP status code", metrics.requests.clone());
        metrics
    }

    pub fn action(&self, command: &str, outcome: &str) {
        self.actions.get_or_create(&ActionLabels { command: command.to_owned(), outcome: outcome.to_owned() }).inc();
    }

    pub fn request(&self, code: u16) {
        self.requests.get_or_create(&RequestLabels { code: code.to_string() }).inc();
    }
}
