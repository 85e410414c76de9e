//! librdkafka's error codes as [`ErrorCode`]s. Its broker codes are Kafka's protocol codes and
//! its own (local) ones are negative below -100, so every number passes through unchanged.

use rdkafka::bindings::rd_kafka_resp_err_t;
use rdkafka::types::RDKafkaErrorCode;

use super::ErrorCode;

impl From<RDKafkaErrorCode> for ErrorCode {
    fn from(code: RDKafkaErrorCode) -> Self {
        Self(code as i32)
    }
}

impl From<rd_kafka_resp_err_t> for ErrorCode {
    fn from(code: rd_kafka_resp_err_t) -> Self {
        Self(code as i32)
    }
}

/// The name of a librdkafka code that neither Kafka's table nor the client-side constants list
/// (`PARTITION_EOF`): rust-rdkafka's variant name, spelled as Kafka spells its own.
pub(super) fn local_name(code: i32) -> Option<String> {
    let known = rd_kafka_resp_err_t::try_from(code).ok()?;
    Some(upper_snake_case(&format!("{:?}", RDKafkaErrorCode::from(known))))
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

    /// The client-side constants carry librdkafka's numbers (checked against the linked
    /// librdkafka's own names), so that a ClusterAdmin's failure compares equal to them.
    #[test]
    fn client_side_codes_are_librdkafkas_and_its_other_codes_are_named_like_its_variants() {
        let client_side = [
            (ErrorCode::FAIL, RDKafkaErrorCode::Fail),
            (ErrorCode::BROKER_TRANSPORT_FAILURE, RDKafkaErrorCode::BrokerTransportFailure),
            (ErrorCode::RESOLVE, RDKafkaErrorCode::Resolve),
            (ErrorCode::ALL_BROKERS_DOWN, RDKafkaErrorCode::AllBrokersDown),
            (ErrorCode::INVALID_ARGUMENT, RDKafkaErrorCode::InvalidArgument),
            (ErrorCode::OPERATION_TIMED_OUT, RDKafkaErrorCode::OperationTimedOut),
            (ErrorCode::TIMED_OUT_QUEUE, RDKafkaErrorCode::TimedOutQueue),
            (ErrorCode::WAIT_CACHE, RDKafkaErrorCode::WaitCache),
            (ErrorCode::RETRY, RDKafkaErrorCode::Retry),
        ];
        for (code, librdkafkas) in client_side {
            assert_eq!(ErrorCode::from(librdkafkas), code, "{librdkafkas:?}");
            assert_eq!(code.name(), upper_snake_case(&format!("{librdkafkas:?}")));
        }
        assert_eq!(ErrorCode::from(RDKafkaErrorCode::NotLeaderForPartition), ErrorCode::NOT_LEADER_OR_FOLLOWER);
        assert_eq!(ErrorCode::from(RDKafkaErrorCode::Unknown), ErrorCode::UNKNOWN_SERVER_ERROR);
        assert_eq!(ErrorCode::from(RDKafkaErrorCode::PartitionEOF).name(), "PARTITION_EOF");
        assert_eq!(ErrorCode::from(RDKafkaErrorCode::ISRInsufficient).name(), "ISR_INSUFFICIENT");
        assert_eq!(upper_snake_case("UnsupportedSASLMechanism"), "UNSUPPORTED_SASL_MECHANISM");
    }
}
