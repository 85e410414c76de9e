//! What callers ask Kafka to change, and Kafka's answer per topic.

use std::collections::BTreeMap;

use crate::operation_error::OperationError;

/// Broker default, for partitions or replication factor of a new topic (Kafka 2.4+).
pub const BROKER_DEFAULT: i32 = -1;

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopicSpec {
    pub name: String,
    /// Partition count, or [`BROKER_DEFAULT`] for the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor, or [`BROKER_DEFAULT`] for the broker's `default.replication.factor`.
    pub replication_factor: i32,
    /// Topic-level config overrides to create the topic with.
    pub config: BTreeMap<String, String>,
}

/// Grow a topic to `total_partitions` (Kafka never shrinks a topic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionGrowth {
    pub name: String,
    pub total_partitions: i32,
}

/// Topic-level config overrides to set and to remove (back to the broker default), applied with
/// IncrementalAlterConfigs so that overrides not named here stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicConfigChange {
    pub name: String,
    pub set: BTreeMap<String, String>,
    pub delete: Vec<String>,
}

/// Kafka's answer for one topic of a write request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicOutcome {
    pub topic: String,
    pub result: Result<(), OperationError>,
}
