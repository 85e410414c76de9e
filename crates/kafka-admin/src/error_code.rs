//! Kafka's error codes under the names Kafka's protocol gives them, and the few failures a
//! client meets without an answer from Kafka. A type of this crate's own, so that comparing a
//! code (`error.code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION`) needs no librdkafka.

use std::borrow::Cow;
use std::fmt;

#[cfg(feature = "librdkafka")]
mod librdkafka_codes;

/// Kafka's answer code for a request or one of its items, or a client-side failure. Displays as
/// its name (`INVALID_CONFIG`), which is what `kafka-topics` and Kafka's docs say.
///
/// Kafka's codes are -1 and up. The client-side ones are negative below -100 and numbered as
/// librdkafka numbers its own (`RD_KAFKA_RESP_ERR__FAIL` is -196), so that `ClusterAdmin`'s
/// codes pass through unchanged and both clients answer alike.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(i32);

impl ErrorCode {
    /// A code as a Kafka response carries it. One Kafka has added since
    /// `org.apache.kafka.common.protocol.Errors` of Kafka 4.2.1 keeps its number and is named
    /// `UNKNOWN_ERROR_CODE_<n>`.
    pub fn from_kafka(code: i16) -> Self {
        Self(i32::from(code))
    }

    pub fn code(self) -> i32 {
        self.0
    }

    /// Kafka's protocol name (`NOT_LEADER_OR_FOLLOWER`); a client-side code's name as its
    /// constant spells it (`BROKER_TRANSPORT_FAILURE`); `UNKNOWN_ERROR_CODE_<n>` otherwise.
    pub fn name(self) -> Cow<'static, str> {
        if let Some(name) = known_name(self.0) {
            return Cow::Borrowed(name);
        }
        // librdkafka's other local codes only reach a ClusterAdmin's caller.
        #[cfg(feature = "librdkafka")]
        if let Some(name) = librdkafka_codes::local_name(self.0) {
            return Cow::Owned(name);
        }
        Cow::Owned(format!("UNKNOWN_ERROR_CODE_{}", self.0))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name())
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.name(), self.0)
    }
}

/// Declares each code once: its constant, and its name for [`ErrorCode::name`].
macro_rules! error_codes {
    ($($code:literal $name:ident,)*) => {
        impl ErrorCode {
            $(pub const $name: Self = Self($code);)*
        }

        fn known_name(code: i32) -> Option<&'static str> {
            match code {
                $($code => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

error_codes! {
    // Kafka 4.2.1's org.apache.kafka.common.protocol.Errors, all of it.
    -1 UNKNOWN_SERVER_ERROR,
    0 NONE,
    1 OFFSET_OUT_OF_RANGE,
    2 CORRUPT_MESSAGE,
    3 UNKNOWN_TOPIC_OR_PARTITION,
    4 INVALID_FETCH_SIZE,
    5 LEADER_NOT_AVAILABLE,
    6 NOT_LEADER_OR_FOLLOWER,
    7 REQUEST_TIMED_OUT,
    8 BROKER_NOT_AVAILABLE,
    9 REPLICA_NOT_AVAILABLE,
    10 MESSAGE_TOO_LARGE,
    11 STALE_CONTROLLER_EPOCH,
    12 OFFSET_METADATA_TOO_LARGE,
    13 NETWORK_EXCEPTION,
    14 COORDINATOR_LOAD_IN_PROGRESS,
    15 COORDINATOR_NOT_AVAILABLE,
    16 NOT_COORDINATOR,
    17 INVALID_TOPIC_EXCEPTION,
    18 RECORD_LIST_TOO_LARGE,
    19 NOT_ENOUGH_REPLICAS,
    20 NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    21 INVALID_REQUIRED_ACKS,
    22 ILLEGAL_GENERATION,
    23 INCONSISTENT_GROUP_PROTOCOL,
    24 INVALID_GROUP_ID,
    25 UNKNOWN_MEMBER_ID,
    26 INVALID_SESSION_TIMEOUT,
    27 REBALANCE_IN_PROGRESS,
    28 INVALID_COMMIT_OFFSET_SIZE,
    29 TOPIC_AUTHORIZATION_FAILED,
    30 GROUP_AUTHORIZATION_FAILED,
    31 CLUSTER_AUTHORIZATION_FAILED,
    32 INVALID_TIMESTAMP,
    33 UNSUPPORTED_SASL_MECHANISM,
    34 ILLEGAL_SASL_STATE,
    35 UNSUPPORTED_VERSION,
    36 TOPIC_ALREADY_EXISTS,
    37 INVALID_PARTITIONS,
    38 INVALID_REPLICATION_FACTOR,
    39 INVALID_REPLICA_ASSIGNMENT,
    40 INVALID_CONFIG,
    41 NOT_CONTROLLER,
    42 INVALID_REQUEST,
    43 UNSUPPORTED_FOR_MESSAGE_FORMAT,
    44 POLICY_VIOLATION,
    45 OUT_OF_ORDER_SEQUENCE_NUMBER,
    46 DUPLICATE_SEQUENCE_NUMBER,
    47 INVALID_PRODUCER_EPOCH,
    48 INVALID_TXN_STATE,
    49 INVALID_PRODUCER_ID_MAPPING,
    50 INVALID_TRANSACTION_TIMEOUT,
    51 CONCURRENT_TRANSACTIONS,
    52 TRANSACTION_COORDINATOR_FENCED,
    53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    54 SECURITY_DISABLED,
    55 OPERATION_NOT_ATTEMPTED,
    56 KAFKA_STORAGE_ERROR,
    57 LOG_DIR_NOT_FOUND,
    58 SASL_AUTHENTICATION_FAILED,
    59 UNKNOWN_PRODUCER_ID,
    60 REASSIGNMENT_IN_PROGRESS,
    61 DELEGATION_TOKEN_AUTH_DISABLED,
    62 DELEGATION_TOKEN_NOT_FOUND,
    63 DELEGATION_TOKEN_OWNER_MISMATCH,
    64 DELEGATION_TOKEN_REQUEST_NOT_ALLOWED,
    65 DELEGATION_TOKEN_AUTHORIZATION_FAILED,
    66 DELEGATION_TOKEN_EXPIRED,
    67 INVALID_PRINCIPAL_TYPE,
    68 NON_EMPTY_GROUP,
    69 GROUP_ID_NOT_FOUND,
    70 FETCH_SESSION_ID_NOT_FOUND,
    71 INVALID_FETCH_SESSION_EPOCH,
    72 LISTENER_NOT_FOUND,
    73 TOPIC_DELETION_DISABLED,
    74 FENCED_LEADER_EPOCH,
    75 UNKNOWN_LEADER_EPOCH,
    76 UNSUPPORTED_COMPRESSION_TYPE,
    77 STALE_BROKER_EPOCH,
    78 OFFSET_NOT_AVAILABLE,
    79 MEMBER_ID_REQUIRED,
    80 PREFERRED_LEADER_NOT_AVAILABLE,
    81 GROUP_MAX_SIZE_REACHED,
    82 FENCED_INSTANCE_ID,
    83 ELIGIBLE_LEADERS_NOT_AVAILABLE,
    84 ELECTION_NOT_NEEDED,
    85 NO_REASSIGNMENT_IN_PROGRESS,
    86 GROUP_SUBSCRIBED_TO_TOPIC,
    87 INVALID_RECORD,
    88 UNSTABLE_OFFSET_COMMIT,
    89 THROTTLING_QUOTA_EXCEEDED,
    90 PRODUCER_FENCED,
    91 RESOURCE_NOT_FOUND,
    92 DUPLICATE_RESOURCE,
    93 UNACCEPTABLE_CREDENTIAL,
    94 INCONSISTENT_VOTER_SET,
    95 INVALID_UPDATE_VERSION,
    96 FEATURE_UPDATE_FAILED,
    97 PRINCIPAL_DESERIALIZATION_FAILURE,
    98 SNAPSHOT_NOT_FOUND,
    99 POSITION_OUT_OF_RANGE,
    100 UNKNOWN_TOPIC_ID,
    101 DUPLICATE_BROKER_REGISTRATION,
    102 BROKER_ID_NOT_REGISTERED,
    103 INCONSISTENT_TOPIC_ID,
    104 INCONSISTENT_CLUSTER_ID,
    105 TRANSACTIONAL_ID_NOT_FOUND,
    106 FETCH_SESSION_TOPIC_ID_ERROR,
    107 INELIGIBLE_REPLICA,
    108 NEW_LEADER_ELECTED,
    109 OFFSET_MOVED_TO_TIERED_STORAGE,
    110 FENCED_MEMBER_EPOCH,
    111 UNRELEASED_INSTANCE_ID,
    112 UNSUPPORTED_ASSIGNOR,
    113 STALE_MEMBER_EPOCH,
    114 MISMATCHED_ENDPOINT_TYPE,
    115 UNSUPPORTED_ENDPOINT_TYPE,
    116 UNKNOWN_CONTROLLER_ID,
    117 UNKNOWN_SUBSCRIPTION_ID,
    118 TELEMETRY_TOO_LARGE,
    119 INVALID_REGISTRATION,
    120 TRANSACTION_ABORTABLE,
    121 INVALID_RECORD_STATE,
    122 SHARE_SESSION_NOT_FOUND,
    123 INVALID_SHARE_SESSION_EPOCH,
    124 FENCED_STATE_EPOCH,
    125 INVALID_VOTER_KEY,
    126 DUPLICATE_VOTER,
    127 VOTER_NOT_FOUND,
    128 INVALID_REGULAR_EXPRESSION,
    129 REBOOTSTRAP_REQUIRED,
    130 STREAMS_INVALID_TOPOLOGY,
    131 STREAMS_INVALID_TOPOLOGY_EPOCH,
    132 STREAMS_TOPOLOGY_FENCED,
    133 SHARE_SESSION_LIMIT_REACHED,
    // Failures without an answer from Kafka, numbered as librdkafka's RD_KAFKA_RESP_ERR__*
    // (rdkafka-sys 4.10's bindings); `librdkafka_codes` tests that they still are.
    -196 FAIL,
    -195 BROKER_TRANSPORT_FAILURE,
    -193 RESOLVE,
    -187 ALL_BROKERS_DOWN,
    -186 INVALID_ARGUMENT,
    -185 OPERATION_TIMED_OUT,
    -166 TIMED_OUT_QUEUE,
    -164 WAIT_CACHE,
    -153 RETRY,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafka_protocol_names() {
        let cases = [
            (ErrorCode::INVALID_CONFIG, "INVALID_CONFIG"),
            (ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "UNKNOWN_TOPIC_OR_PARTITION"),
            (ErrorCode::TOPIC_ALREADY_EXISTS, "TOPIC_ALREADY_EXISTS"),
            (ErrorCode::INVALID_REPLICATION_FACTOR, "INVALID_REPLICATION_FACTOR"),
            (ErrorCode::UNSUPPORTED_SASL_MECHANISM, "UNSUPPORTED_SASL_MECHANISM"),
            (ErrorCode::NOT_LEADER_OR_FOLLOWER, "NOT_LEADER_OR_FOLLOWER"),
            (ErrorCode::INVALID_TOPIC_EXCEPTION, "INVALID_TOPIC_EXCEPTION"),
            (ErrorCode::POLICY_VIOLATION, "POLICY_VIOLATION"),
            (ErrorCode::UNKNOWN_SERVER_ERROR, "UNKNOWN_SERVER_ERROR"),
            (ErrorCode::OPERATION_TIMED_OUT, "OPERATION_TIMED_OUT"),
            (ErrorCode::from_kafka(40), "INVALID_CONFIG"),
            (ErrorCode::from_kafka(133), "SHARE_SESSION_LIMIT_REACHED"),
            (ErrorCode::from_kafka(-1), "UNKNOWN_SERVER_ERROR"),
        ];
        for (code, name) in cases {
            assert_eq!(code.name(), name, "{code:?}");
            assert_eq!(code.to_string(), name);
        }
        assert_eq!(ErrorCode::INVALID_CONFIG.code(), 40);
        assert_eq!(format!("{:?}", ErrorCode::INVALID_CONFIG), "INVALID_CONFIG (40)");
    }

    /// A code newer than the table is not mistaken for another: it keeps its number.
    #[test]
    fn an_unknown_code_keeps_its_number() {
        let newer = ErrorCode::from_kafka(9_999);
        assert_eq!(newer.code(), 9_999);
        assert_eq!(newer.to_string(), "UNKNOWN_ERROR_CODE_9999");
        assert_ne!(newer, ErrorCode::UNKNOWN_SERVER_ERROR);
    }
}
