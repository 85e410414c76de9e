//! What one KafkaTopic asks for, read once from the custom resource (pure; no client).
//!
//! Later steps work on [`TopicRequest`] instead of the raw object so that the spec is
//! interpreted in one place, and on the [`ClusterKey`] every topic is grouped by.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
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
    pub status: ObservedStatus,
}

/// What is kept of a KafkaTopic's status: enough to build the next one and to tell whether
/// it differs. The whole status is held for every KafkaTopic, so its messages are not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedStatus {
    pub managed_by: Option<String>,
    pub observed_generation: Option<i64>,
    /// Each condition's type, status and lastTransitionTime: what a new condition of the same
    /// type and status keeps.
    pub transitions: Vec<(String, String, Time)>,
    /// [`status_fingerprint`] of the whole status.
    fingerprint: u64,
}

impl ObservedStatus {
    pub fn of(status: &KafkaTopicStatus) -> Self {
        Self {
            managed_by: status.managed_by.clone(),
            observed_generation: status.observed_generation,
            transitions: status
                .conditions
                .iter()
                .map(|c| (c.type_.clone(), c.status.clone(), c.last_transition_time.clone()))
                .collect(),
            fingerprint: status_fingerprint(status),
        }
    }

    /// The conditions as far as they are known: type, status and time, without messages.
    pub fn condition_skeletons(&self) -> Vec<Condition> {
        self.transitions
            .iter()
            .map(|(type_, status, time)| Condition {
                type_: type_.clone(),
                status: status.clone(),
                last_transition_time: time.clone(),
                message: String::new(),
                reason: String::new(),
                observed_generation: None,
            })
            .collect()
    }

    /// Whether `status` is the one observed. Comparing without transition times is enough:
    /// a status built from this one keeps the time of every condition whose status is the same.
    pub fn is(&self, status: &KafkaTopicStatus) -> bool {
        self.fingerprint == status_fingerprint(status)
    }
}

/// A hash of `status` without its conditions' transition times.
pub fn status_fingerprint(status: &KafkaTopicStatus) -> u64 {
    let mut hasher = DefaultHasher::new();
    status.managed_by.hash(&mut hasher);
    status.state.map(|state| state as u8).hash(&mut hasher);
    status.observed_generation.hash(&mut hasher);
    for condition in &status.conditions {
        condition.type_.hash(&mut hasher);
        condition.status.hash(&mut hasher);
        condition.reason.hash(&mut hasher);
        condition.message.hash(&mut hasher);
        condition.observed_generation.hash(&mut hasher);
    }
    hasher.finish()
}

impl TopicRequest {
    pub fn from_resource(topic: &KafkaTopic) -> Self {
        let annotations = topic.annotations();
        let status = topic.status.as_ref().map(ObservedStatus::of).unwrap_or_default();
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
