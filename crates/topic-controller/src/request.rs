//! What one KafkaTopic asks for, read once from the custom resource (pure; no client).
//!
//! Later steps work on [`TopicRequest`] instead of the raw object so that the spec is
//! interpreted in one place, and on the [`ClusterKey`] every topic is grouped by.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crd_types::{KafkaTopic, KafkaTopicStatus};

/// The finalizer Koperator puts on KafkaTopics; the same name, so resources Koperator managed
/// are cleaned up the same way after a migration.
pub const FINALIZER: &str = "finalizer.kafkatopics.kafka.banzaicloud.io";
/// Koperator's adoption annotation: `managedBy: koperator` lets the operator take over a
/// topic that already exists in Kafka.
pub const MANAGED_BY_ANNOTATION: &str = "managedBy";
/// Value of `managedBy` (annotation and status) meaning this operator manages the topic.
pub const MANAGED_BY_KOPERATOR: &str = "koperator";
/// Set to "true" to keep the Kafka topic when its KafkaTopic is deleted.
pub const KEEP_ON_DELETE_ANNOTATION: &str = "koperator-rs.io/keep-topic-on-delete";

/// A KafkaCluster by namespace and name: the unit topics are batched by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterKey {
    pub namespace: String,
    pub name: String,
}

impl ClusterKey {
    /// The cluster a KafkaTopic names (its `clusterRef`, namespace defaulting to the topic's).
    pub fn of(topic: &KafkaTopic) -> Self {
        let own_namespace = topic.namespace().unwrap_or_default();
        let reference = &topic.spec.cluster_ref;
        Self { namespace: reference.namespace_or(&own_namespace).to_owned(), name: reference.name.clone() }
    }
}

impl fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A KafkaTopic resource by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One KafkaTopic, interpreted.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicRequest {
    pub resource: ResourceKey,
    pub uid: String,
    pub generation: Option<i64>,
    pub created: Option<Timestamp>,
    /// The Kafka topic name (`spec.name`).
    pub topic: String,
    /// -1 means the broker default.
    pub partitions: i32,
    /// -1 means the broker default.
    pub replication_factor: i32,
    pub config: BTreeMap<String, String>,
    /// `managedBy: koperator`: an existing topic may be adopted.
    pub adopt: bool,
    pub keep_on_delete: bool,
    pub deleting: bool,
    pub has_finalizer: bool,
    /// This operator recorded in status that it manages the topic (created or adopted it).
    pub managed: bool,
    pub status: KafkaTopicStatus,
}

impl TopicRequest {
    pub fn from_resource(topic: &KafkaTopic) -> Self {
        let annotations = topic.annotations();
        let status = topic.status.clone().unwrap_or_default();
        // Set only once the topic was created or adopted here, and never cleared.
        let managed = status.managed_by.as_deref() == Some(MANAGED_BY_KOPERATOR);
        Self {
            resource: ResourceKey { namespace: topic.namespace().unwrap_or_default(), name: topic.name_any() },
            uid: topic.uid().unwrap_or_default(),
            generation: topic.metadata.generation,
            created: topic.metadata.creation_timestamp.as_ref().map(|time| time.0),
            topic: topic.spec.name.clone(),
            partitions: topic.spec.partitions,
            replication_factor: topic.spec.replication_factor,
            config: topic.spec.config.clone(),
            adopt: annotations.get(MANAGED_BY_ANNOTATION).map(String::as_str) == Some(MANAGED_BY_KOPERATOR),
            keep_on_delete: annotations.get(KEEP_ON_DELETE_ANNOTATION).map(String::as_str) == Some("true"),
            deleting: topic.metadata.deletion_timestamp.is_some(),
            has_finalizer: topic.finalizers().iter().any(|f| f == FINALIZER),
            managed,
            status,
        }
    }

    /// Whether the spec changed since the status was last written for it.
    pub fn spec_changed(&self) -> bool {
        self.status.observed_generation != self.generation
    }
}
