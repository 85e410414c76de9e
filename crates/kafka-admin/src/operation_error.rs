//! Kafka's answer for one topic (or config resource) of a request: the request as a whole went
//! through, but this item failed. Shown the way Kafka's own tools show it, by protocol error name.

use rdkafka::types::RDKafkaErrorCode;

/// Kafka's per-topic answer. Displays as `<CODE_NAME>: <message>`, e.g.
/// `INVALID_CONFIG: Unknown topic config name: foo`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kafka_error_name(*code))]
pub struct OperationError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl OperationError {
    pub fn new(code: RDKafkaErrorCode, message: impl Into<String>) -> Self {
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

pub(crate) fn is_retriable_code(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        // Kafka's RetriableException answers that admin requests can get.
        C::RequestTimedOut
            | C::NotController
            | C::BrokerNotAvailable
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::ReplicaNotAvailable
            | C::NetworkException
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::KafkaStorageError
            | C::ThrottlingQuotaExceeded
            | C::FencedLeaderEpoch
            | C::UnknownLeaderEpoch
            // librdkafka's own transient failures (no broker answer at all).
            | C::OperationTimedOut
            | C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::Resolve
            | C::TimedOutQueue
            | C::WaitCache
            | C::Retry
    )
}

/// Kafka's protocol name of an error code (`INVALID_CONFIG`), so messages match what
/// `kafka-topics` and the Kafka docs say. rust-rdkafka's variant names are the protocol names in
/// CamelCase except for the few Kafka renamed since; those are listed here.
pub fn kafka_error_name(code: RDKafkaErrorCode) -> String {
    use RDKafkaErrorCode as C;
    let renamed = match code {
        C::InvalidMessage => "CORRUPT_MESSAGE",
        C::InvalidMessageSize => "INVALID_FETCH_SIZE",
        C::NotLeaderForPartition => "NOT_LEADER_OR_FOLLOWER",
        C::MessageSizeTooLarge => "MESSAGE_TOO_LARGE",
        C::InvalidTopic => "INVALID_TOPIC_EXCEPTION",
        C::MessageBatchTooLarge => "RECORD_LIST_TOO_LARGE",
        C::InvalidTransactionalState => "INVALID_TXN_STATE",
        _ => return upper_snake_case(&format!("{code:?}")),
    };
    renamed.to_owned()
}

/// `UnsupportedSASLMechanism` → `UNSUPPORTED_SASL_MECHANISM`: a word starts at an upper-case
/// letter after a lower-case one or digit, or at the last capital of an acronym.
fn upper_snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafka_protocol_names() {
        let cases = [
            (RDKafkaErrorCode::InvalidConfig, "INVALID_CONFIG"),
            (RDKafkaErrorCode::UnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION"),
            (RDKafkaErrorCode::TopicAlreadyExists, "TOPIC_ALREADY_EXISTS"),
            (RDKafkaErrorCode::InvalidReplicationFactor, "INVALID_REPLICATION_FACTOR"),
            (RDKafkaErrorCode::UnsupportedSASLMechanism, "UNSUPPORTED_SASL_MECHANISM"),
            (RDKafkaErrorCode::NotLeaderForPartition, "NOT_LEADER_OR_FOLLOWER"),
            (RDKafkaErrorCode::InvalidTopic, "INVALID_TOPIC_EXCEPTION"),
            (RDKafkaErrorCode::PolicyViolation, "POLICY_VIOLATION"),
            (RDKafkaErrorCode::ISRInsufficient, "ISR_INSUFFICIENT"),
            (RDKafkaErrorCode::PartitionEOF, "PARTITION_EOF"),
            (RDKafkaErrorCode::OperationTimedOut, "OPERATION_TIMED_OUT"),
        ];
        for (code, name) in cases {
            assert_eq!(kafka_error_name(code), name, "{code:?}");
        }
    }

    #[test]
    fn displays_name_then_message() {
        let error = OperationError::new(RDKafkaErrorCode::InvalidConfig, "Unknown topic config name: foo");
        assert_eq!(error.to_string(), "INVALID_CONFIG: Unknown topic config name: foo");
    }

    #[test]
    fn transient_answers_are_retriable_and_shape_dependent_ones_are_not() {
        for code in [
            RDKafkaErrorCode::RequestTimedOut,
            RDKafkaErrorCode::NotController,
            RDKafkaErrorCode::BrokerNotAvailable,
            RDKafkaErrorCode::LeaderNotAvailable,
            RDKafkaErrorCode::OperationTimedOut,
            RDKafkaErrorCode::BrokerTransportFailure,
        ] {
            assert!(OperationError::new(code, "").is_retriable(), "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::InvalidReplicationFactor,
            RDKafkaErrorCode::InvalidConfig,
            RDKafkaErrorCode::TopicAlreadyExists,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::PolicyViolation,
            RDKafkaErrorCode::InvalidRequest,
        ] {
            assert!(!OperationError::new(code, "").is_retriable(), "{code:?}");
        }
    }
}
