//! Kafka's answer for one topic (or config resource) of a request: the request as a whole went
//! through, but this item failed. Shown the way Kafka's own tools show it, by protocol error name.

use crate::error_code::ErrorCode;

/// Kafka's per-topic answer. Displays as `<CODE_NAME>: <message>`, e.g.
/// `INVALID_CONFIG: Unknown topic config name: foo`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OperationError {
    pub code: ErrorCode,
    pub message: String,
}

impl OperationError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// Whether the same request may succeed when sent again unchanged: the cluster was busy,
    /// moving leadership or controllership, or a broker was unreachable. Answers that depend
    /// on the cluster's shape (`INVALID_REPLICATION_FACTOR` while brokers are missing,
    /// `UNKNOWN_TOPIC_OR_PARTITION` right after a create) are not retriable by themselves:
    /// the caller knows whether to expect them to change.
    pub fn is_retriable(&self) -> bool {
        is_retriable_code(self.code)
    }
}

pub(crate) fn is_retriable_code(code: ErrorCode) -> bool {
    use ErrorCode as C;
    matches!(
        code,
        // Kafka's RetriableException answers that admin requests can get.
        C::REQUEST_TIMED_OUT
            | C::NOT_CONTROLLER
            | C::BROKER_NOT_AVAILABLE
            | C::LEADER_NOT_AVAILABLE
            | C::NOT_LEADER_OR_FOLLOWER
            | C::REPLICA_NOT_AVAILABLE
            | C::NETWORK_EXCEPTION
            | C::COORDINATOR_LOAD_IN_PROGRESS
            | C::COORDINATOR_NOT_AVAILABLE
            | C::NOT_COORDINATOR
            | C::NOT_ENOUGH_REPLICAS
            | C::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            | C::KAFKA_STORAGE_ERROR
            | C::THROTTLING_QUOTA_EXCEEDED
            | C::FENCED_LEADER_EPOCH
            | C::UNKNOWN_LEADER_EPOCH
            // Failures without a broker answer at all.
            | C::OPERATION_TIMED_OUT
            | C::BROKER_TRANSPORT_FAILURE
            | C::ALL_BROKERS_DOWN
            | C::RESOLVE
            | C::TIMED_OUT_QUEUE
            | C::WAIT_CACHE
            | C::RETRY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_name_then_message() {
        let error = OperationError::new(ErrorCode::INVALID_CONFIG, "Unknown topic config name: foo");
        assert_eq!(error.to_string(), "INVALID_CONFIG: Unknown topic config name: foo");
    }

    #[test]
    fn transient_answers_are_retriable_and_shape_dependent_ones_are_not() {
        for code in [
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NOT_CONTROLLER,
            ErrorCode::BROKER_NOT_AVAILABLE,
            ErrorCode::LEADER_NOT_AVAILABLE,
            ErrorCode::OPERATION_TIMED_OUT,
            ErrorCode::BROKER_TRANSPORT_FAILURE,
        ] {
            assert!(OperationError::new(code, "").is_retriable(), "{code:?}");
        }
        for code in [
            ErrorCode::INVALID_REPLICATION_FACTOR,
            ErrorCode::INVALID_CONFIG,
            ErrorCode::TOPIC_ALREADY_EXISTS,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::POLICY_VIOLATION,
            ErrorCode::INVALID_REQUEST,
        ] {
            assert!(!OperationError::new(code, "").is_retriable(), "{code:?}");
        }
    }
}
