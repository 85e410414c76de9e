//! A request that failed as a whole: no per-topic answer came back (no connection, timeout,
//! transport failure, or librdkafka refused the request before sending it).

use crate::error_code::ErrorCode;
use crate::metrics::Operation;
use crate::operation_error::is_retriable_code;

/// Says which operation failed and against which cluster, e.g. "failed to create topics: broker
/// transport failure (bootstrap kafka-all-broker.ns.svc.cluster.local:29092)".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to {}: {message} (bootstrap {bootstrap})", operation.purpose())]
pub struct RequestError {
    pub operation: Operation,
    /// Usually a client-side code (`OPERATION_TIMED_OUT`, `BROKER_TRANSPORT_FAILURE`); Kafka's
    /// code when the broker rejected the whole request.
    pub code: ErrorCode,
    pub message: String,
    /// The bootstrap servers, comma-separated: which cluster the request went to.
    pub bootstrap: String,
}

impl RequestError {
    pub(crate) fn new(operation: Operation, code: ErrorCode, librdkafka_message: &str, bootstrap: &str) -> Self {
        Self { operation, code, message: tidy_message(librdkafka_message), bootstrap: bootstrap.to_owned() }
    }

    /// Whether sending the same request again may work (the cluster was unreachable or slow).
    pub fn is_retriable(&self) -> bool {
        is_retriable_code(self.code)
    }
}

/// librdkafka's messages start with a capital and mark client-side errors with "Local: "
/// ("Local: Broker transport failure"); in the middle of our "failed to …: …" sentence the
/// prefix adds nothing and the capital reads oddly.
fn tidy_message(message: &str) -> String {
    let message = message.trim();
    let message = message.strip_prefix("Local: ").unwrap_or(message);
    let mut chars = message.chars();
    match chars.next() {
        Some(first) if !chars.clone().next().is_some_and(|second| second.is_uppercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        // Keep acronyms ("SSL handshake failed") and empty messages as they are.
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_operation_and_the_cluster() {
        let error = RequestError::new(
            Operation::CreateTopics,
            ErrorCode::BROKER_TRANSPORT_FAILURE,
            "Local: Broker transport failure",
            "kafka-all-broker.ns.svc.cluster.local:29092",
        );
        assert_eq!(
            error.to_string(),
            "failed to create topics: broker transport failure (bootstrap kafka-all-broker.ns.svc.cluster.local:29092)"
        );
        assert!(error.is_retriable());
    }

    #[test]
    fn tidies_librdkafka_messages() {
        assert_eq!(
            tidy_message("Failed while waiting for controller: Local: Timed out"),
            "failed while waiting for controller: Local: Timed out"
        );
        assert_eq!(tidy_message("SSL handshake failed"), "SSL handshake failed");
        assert_eq!(tidy_message(""), "");
    }
}
