//! The admin clients: [`WireAdmin`] over Kafka's protocol, and with the `librdkafka` feature
//! `ClusterAdmin`, the same calls over librdkafka. Their shared batching and checks are in
//! `acls`, `configs` and `scram`.

mod acls;
mod brokers;
#[cfg(feature = "librdkafka")]
mod cluster_admin;
mod configs;
mod direct;
mod quorum;
mod quotas;
mod scram;
mod wire_acls;
mod wire_scram;
mod wire_topics;

pub use acls::MAX_ACLS_PER_REQUEST;
pub use brokers::BrokerConfigs;
#[cfg(feature = "librdkafka")]
pub use cluster_admin::ClusterAdmin;
pub use configs::TopicOverrides;
pub use direct::WireAdmin;
pub use scram::MAX_SCRAM_USERS_PER_REQUEST;
