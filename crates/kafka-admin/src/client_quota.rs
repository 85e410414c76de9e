//! Users' client quotas (KIP-546): byte rates and request percentage Kafka enforces per user
//! principal name.

use std::collections::BTreeMap;

use crate::operation_error::OperationError;

/// Kafka's quota keys for users.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";

/// The quotas of one user to set and to remove, in one entry of an AlterClientQuotas request.
/// `user` is the principal's name without `User:` (`CN=alice` for a certificate, `carol` for
/// SCRAM).
#[derive(Clone, Debug, PartialEq)]
pub struct UserQuotaChange {
    pub user: String,
    pub set: BTreeMap<String, f64>,
    pub remove: Vec<String>,
}

/// Kafka's answer for one user's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuotaOutcome {
    pub user: String,
    pub result: Result<(), OperationError>,
}

/// Every named user with quotas of its own (not the default user's), key → value.
pub type UserQuotas = BTreeMap<String, BTreeMap<String, f64>>;
