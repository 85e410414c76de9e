//! Decides, for every KafkaTopic of one cluster, what to ask of Kafka and of the API
//! server (pure: the inputs are the requests and what Kafka reported; no client).
//!
//! Order of concerns per topic: who owns the Kafka topic name (one KafkaTopic per topic),
//! deletion, what the spec asks that Kafka can never do, then create or converge.

use std::collections::{BTreeMap, HashMap, HashSet};

use kafka_admin::{ClusterMetadata, ErrorCode, NewTopicSpec, OperationError, PartitionGrowth, TopicConfigChange};

use crate::outcome::{Outcome, ProblemKind};
use crate::request::{MANAGED_BY_ANNOTATION, MANAGED_BY_KOPERATOR, ResourceKey, TopicRequest};

/// What Kafka reported in this pass.
pub struct KafkaView<'a> {
    pub metadata: &'a ClusterMetadata,
    /// Topic-level overrides of the topics this operator manages (or is adopting).
    pub overrides: &'a BTreeMap<String, Result<BTreeMap<String, String>, OperationError>>,
    /// Brokers in the KafkaCluster spec: a replication factor above it can never be met.
    pub spec_broker_count: usize,
    /// (topic, KafkaTopic uid) pairs this process created, or tried to create without a
    /// definite answer (false), and may not have recorded in status yet.
    pub created_here: &'a CreatedHere,
    /// Configurations this process applied that Kafka has not described back yet.
    pub configured_here: &'a ConfiguredHere,
}

/// Topics this process created (true) or tried to create without a definite answer (false),
/// by (topic, KafkaTopic uid).
pub type CreatedHere = HashMap<(String, String), bool>;

/// The overrides this process last set on a topic, by (topic, KafkaTopic uid), until Kafka
/// describes them: a change is committed by Kafka's controller and reaches each broker's
/// metadata a moment later, so the broker answering the next pass's DescribeConfigs may still
/// show the old values. Those are not drift.
pub type ConfiguredHere = HashMap<(String, String), AppliedConfig>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedConfig {
    /// The spec's whole configuration when it was applied.
    pub config: BTreeMap<String, String>,
    /// The overrides Kafka described before: what a broker that has not caught up shows.
    /// Anything else is a change made since.
    pub before: BTreeMap<String, String>,
    /// Passes since, in which Kafka described something else.
    pub passes_unseen: u32,
}

/// Why a configuration change is made, for the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigChangeCause {
    /// The spec changed.
    SpecChanged,
    /// Someone changed the topic in Kafka behind the operator's back.
    Drift,
}

/// Everything one pass does, and each KafkaTopic's outcome if it all succeeds.
#[derive(Debug, Default)]
pub struct Plan {
    pub finalizers_to_add: Vec<ResourceKey>,
    pub creates: Vec<(ResourceKey, NewTopicSpec)>,
    pub growths: Vec<(ResourceKey, PartitionGrowth)>,
    pub config_changes: Vec<(ResourceKey, TopicConfigChange, ConfigChangeCause)>,
    /// The overrides each topic of `config_changes` had, for [`AppliedConfig::before`].
    pub config_before: HashMap<ResourceKey, BTreeMap<String, String>>,
    pub deletes: Vec<(ResourceKey, String)>,
    /// Deleted KafkaTopics whose finalizer can go, and whether the Kafka topic was kept on purpose.
    pub releases: Vec<(ResourceKey, Release)>,
    pub adoptions: Vec<ResourceKey>,
    /// Creations of topics this operator already manages but Kafka's metadata did not list:
    /// deleted behind its back, or listed late by a broker. "Already exists" means the latter.
    pub creates_of_managed: HashSet<ResourceKey>,
    /// Keyed by KafkaTopic; absent for those released this pass.
    pub outcomes: BTreeMap<ResourceKey, Outcome>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Nothing to remove in Kafka (never managed here, or already gone).
    NothingToDelete,
    /// The keep annotation asked to leave the topic in Kafka.
    KeptInKafka,
    /// The cluster no longer exists.
    ClusterGone,
}

/// The owner of each Kafka topic name: the KafkaTopic that already manages it, else the
/// oldest, then the first by namespace/name, so the answer is the same on every replica.
pub fn owners<'a>(requests: &[&'a TopicRequest]) -> BTreeMap<&'a str, &'a ResourceKey> {
    let mut owners: BTreeMap<&str, &TopicRequest> = BTreeMap::new();
    for request in requests {
        let rank = |r: &TopicRequest| (!r.managed, r.created, r.resource.clone());
        owners
            .entry(request.topic.as_str())
            .and_modify(|current| {
                if rank(request) < rank(current) {
                    *current = request;
                }
            })
            .or_insert(request);
    }
    owners.into_iter().map(|(topic, request)| (topic, &request.resource)).collect()
}

pub fn plan(requests: &[&TopicRequest], kafka: &KafkaView<'_>) -> Plan {
    let owners = owners(requests);
    let mut plan = Plan::default();
    for request in requests {
        let owner = owners.get(request.topic.as_str()).copied();
        let owns = owner == Some(&request.resource);
        let managed = request.managed || kafka.created_here.contains_key(&(request.topic.clone(), request.uid.clone()));
        if request.deleting {
            plan_deletion(request, owns && managed, kafka, &mut plan);
        } else if let Some(owner) = owner.filter(|_| !owns) {
            let outcome = Outcome::default().with_problem(
                ProblemKind::Conflict,
                format!(
                    "KafkaTopic {owner} already manages topic {topic} in this cluster; \
                     only one KafkaTopic may name a topic: delete this one or change spec.name",
                    topic = request.topic
                ),
            );
            plan.outcomes.insert(request.resource.clone(), outcome);
        } else {
            plan_topic(request, managed, kafka, &mut plan);
        }
    }
    plan
}

fn plan_deletion(request: &TopicRequest, managed_here: bool, kafka: &KafkaView<'_>, plan: &mut Plan) {
    if !request.has_finalizer {
        return;
    }
    let exists = kafka.metadata.topics.contains_key(&request.topic);
    let key = request.resource.clone();
    match (managed_here, request.keep_on_delete, exists) {
        (true, true, true) => plan.releases.push((key, Release::KeptInKafka)),
        (true, false, true) => {
            plan.deletes.push((key.clone(), request.topic.clone()));
            let outcome = Outcome { managed: true, exists: true, ..Outcome::default() }
                .with_problem(ProblemKind::Deleting, format!("deleting topic {} from Kafka", request.topic));
            plan.outcomes.insert(key, outcome);
        }
        _ => plan.releases.push((key, Release::NothingToDelete)),
    }
}

fn plan_topic(request: &TopicRequest, managed: bool, kafka: &KafkaView<'_>, plan: &mut Plan) {
    let key = request.resource.clone();
    let mut outcome = Outcome { managed, ..Outcome::default() };
    spec_problems(request, kafka.spec_broker_count, &mut outcome);
    let created_here = kafka.created_here.get(&(request.topic.clone(), request.uid.clone())) == Some(&true);
    match kafka.metadata.topics.get(&request.topic) {
        None if !outcome.problems.is_empty() => {}
        // Created by an earlier pass; brokers learn of new topics a moment after the controller.
        None if created_here => {
            outcome.exists = true;
            outcome.recheck = true;
        }
        None => {
            let live_brokers = kafka.metadata.broker_ids.len();
            if request.replication_factor > 0 && request.replication_factor as usize > live_brokers {
                outcome.push(
                    ProblemKind::WaitingForCluster,
                    format!(
                        "waiting for brokers: replication factor {} needs {} brokers, {live_brokers} are registered \
                         with Kafka",
                        request.replication_factor, request.replication_factor
                    ),
                );
            } else {
                require_finalizer(request, plan);
                if managed {
                    plan.creates_of_managed.insert(key.clone());
                }
                plan.creates.push((key.clone(), new_topic(request)));
                // Optimistic: the apply step replaces this with Kafka's answer.
                outcome.managed = true;
                outcome.exists = true;
            }
        }
        Some(observed) => {
            outcome.exists = true;
            if let Some(error) = &observed.error {
                outcome.push(ProblemKind::KafkaError, format!("Kafka reports topic {}: {error}", request.topic));
            } else if !managed && !request.adopt {
                outcome.push(
                    ProblemKind::TopicExists,
                    format!(
                        "topic {} already exists in Kafka and was not created by this KafkaTopic; to manage it, \
                         annotate the KafkaTopic with {MANAGED_BY_ANNOTATION}: {MANAGED_BY_KOPERATOR}",
                        request.topic
                    ),
                );
            } else {
                if !managed {
                    plan.adoptions.push(key.clone());
                }
                outcome.managed = true;
                require_finalizer(request, plan);
                converge(request, observed, kafka, plan, &mut outcome);
            }
        }
    }
    plan.outcomes.insert(key, outcome);
}

/// What Kafka could never do as specified, whatever its state.
fn spec_problems(request: &TopicRequest, spec_broker_count: usize, outcome: &mut Outcome) {
    if request.partitions == 0 {
        outcome.push(ProblemKind::InvalidSpec, "spec.partitions is 0: set -1 (the broker default) or at least 1");
    }
    if request.replication_factor == 0 {
        outcome
            .push(ProblemKind::InvalidSpec, "spec.replicationFactor is 0: set -1 (the broker default) or at least 1");
    }
    if request.replication_factor > 0 && request.replication_factor as usize > spec_broker_count {
        outcome.push(
            ProblemKind::InvalidSpec,
            format!(
                "spec.replicationFactor {} is more than the {spec_broker_count} brokers of the cluster: lower it to \
                 at most {spec_broker_count} or add brokers",
                request.replication_factor
            ),
        );
    }
}

fn converge(
    request: &TopicRequest,
    observed: &kafka_admin::TopicMetadata,
    kafka: &KafkaView<'_>,
    plan: &mut Plan,
    outcome: &mut Outcome,
) {
    let key = &request.resource;
    let topic = &request.topic;
    if request.partitions > 0 && request.partitions < observed.partitions {
        outcome.push(
            ProblemKind::InvalidSpec,
            format!(
                "spec.partitions {} is below the {} partitions topic {topic} has in Kafka, and Kafka cannot remove \
                 partitions: set spec.partitions to {} or more",
                request.partitions, observed.partitions, observed.partitions
            ),
        );
    } else if request.partitions > observed.partitions {
        plan.growths.push((key.clone(), PartitionGrowth { name: topic.clone(), total_partitions: request.partitions }));
    }
    if request.replication_factor > 0 && request.replication_factor != observed.replication_factor {
        outcome.push(
            ProblemKind::InvalidSpec,
            format!(
                "spec.replicationFactor {} differs from the {} replicas of topic {topic} in Kafka; the replicas of an \
                 existing topic are changed by a partition reassignment (Cruise Control), not by the topic \
                 controller: set spec.replicationFactor back to {}",
                request.replication_factor, observed.replication_factor, observed.replication_factor
            ),
        );
    }
    match kafka.overrides.get(topic) {
        None => outcome.push(ProblemKind::KafkaError, format!("Kafka did not describe the configuration of {topic}")),
        // Metadata listed the topic but the broker answering DescribeConfigs has not learnt of it yet.
        Some(Err(error)) if error.code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => outcome.recheck = true,
        Some(Err(error)) => {
            outcome.push(ProblemKind::KafkaError, format!("failed to describe the configuration of {topic}: {error}"))
        }
        Some(Ok(actual)) => {
            let Some(change) = config_change(topic, &request.config, actual) else { return };
            let applied = kafka.configured_here.get(&(topic.to_owned(), request.uid.clone()));
            if applied.is_some_and(|applied| applied.config == request.config && applied.before == *actual) {
                // Set in an earlier pass; the broker that answered has not caught up yet.
                outcome.recheck = true;
                return;
            }
            let cause = if request.spec_changed() { ConfigChangeCause::SpecChanged } else { ConfigChangeCause::Drift };
            plan.config_changes.push((key.clone(), change, cause));
            plan.config_before.insert(key.clone(), actual.clone());
        }
    }
}

/// The incremental change that turns the topic's overrides into exactly `desired`: set what
/// differs, delete overrides the spec does not list (drift made behind the operator's back).
pub fn config_change(
    topic: &str,
    desired: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Option<TopicConfigChange> {
    let set: BTreeMap<String, String> = desired
        .iter()
        .filter(|(key, value)| actual.get(*key) != Some(value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete: Vec<String> = actual.keys().filter(|key| !desired.contains_key(*key)).cloned().collect();
    (!set.is_empty() || !delete.is_empty()).then(|| TopicConfigChange { name: topic.to_owned(), set, delete })
}

fn require_finalizer(request: &TopicRequest, plan: &mut Plan) {
    if !request.has_finalizer {
        plan.finalizers_to_add.push(request.resource.clone());
    }
}

fn new_topic(request: &TopicRequest) -> NewTopicSpec {
    NewTopicSpec {
        name: request.topic.clone(),
        partitions: request.partitions,
        replication_factor: request.replication_factor,
        config: request.config.clone(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
