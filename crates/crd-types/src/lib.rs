//! Koperator-compatible API types for the `kafka.banzaicloud.io` group.
//!
//! A manifest written for Banzai Cloud / Adobe Koperator deserializes into these types and
//! serializes back without losing a field; the CRDs generated from them (see [`crds`]) keep
//! every field Koperator knows, so the apiserver prunes nothing a Koperator user relies on.
//!
//! Rules that can be checked at admission live in the CRD schema itself (OpenAPI constraints
//! and CEL `x-kubernetes-validations`), so bad input is rejected with a message that names the
//! field instead of surfacing later as a reconcile error.

pub mod cel;
pub mod cluster_reference;
pub mod conditions;
pub mod crds;
pub mod cruise_control_operation;
pub mod kafka_cluster;
pub mod kafka_topic;
pub mod kafka_user;
pub mod labels;
mod schema;
pub mod zero_values;

pub use cruise_control_operation::{CruiseControlOperation, CruiseControlOperationSpec, CruiseControlOperationStatus};
pub use kafka_cluster::{KafkaCluster, KafkaClusterSpec, KafkaClusterStatus};
pub use kafka_topic::{KafkaTopic, KafkaTopicSpec, KafkaTopicStatus};
pub use kafka_user::{KafkaUser, KafkaUserSpec, KafkaUserStatus};

/// The API group every kind of this crate belongs to.
pub const GROUP: &str = "kafka.banzaicloud.io";
