//! Carries out a [`Plan`] against Kafka in batches (one request per chunk of topics, never
//! one per topic) and folds Kafka's per-topic answers into the outcomes.
//!
//! Order: create, grow partitions, change configuration (validated first, so a bad key in
//! one topic is reported without touching it), delete.

use kafka_admin::{ErrorCode, OperationError, RequestError, WireAdmin};

use crate::kube_writes::Notice;
use crate::outcome::{Outcome, ProblemKind};
use crate::plan::{ConfigChangeCause, CreatedHere, Plan};
use crate::request::ResourceKey;

/// What Kafka did, for the status and event steps.
#[derive(Debug, Default)]
pub struct Applied {
    pub notices: Vec<Notice>,
    /// KafkaTopics whose Kafka topic was deleted: their finalizer can go.
    pub deleted: Vec<ResourceKey>,
    /// KafkaTopics whose configuration Kafka took.
    pub configured: Vec<ResourceKey>,
}

pub async fn apply(
    admin: &WireAdmin,
    plan: &mut Plan,
    created_here: &mut CreatedHere,
    uid_of: impl Fn(&ResourceKey) -> String,
) -> Result<Applied, RequestError> {
    let mut applied = Applied::default();

    let creates: Vec<_> = plan.creates.iter().map(|(_, spec)| spec.clone()).collect();
    let answers = admin.create_topics(&creates, false).await?;
    for ((resource, spec), answer) in plan.creates.iter().zip(answers) {
        let outcome = plan.outcomes.entry(resource.clone()).or_default();
        match answer.result {
            Ok(()) => {
                created_here.insert((spec.name.clone(), uid_of(resource)), true);
            }
            Err(error)
                if error.code == ErrorCode::TOPIC_ALREADY_EXISTS && plan.creates_of_managed.contains(resource) =>
            {
                outcome.recheck = true;
            }
            Err(error) => {
                // A timed-out or interrupted creation may still have happened: remember the
                // attempt, so that finding the topic later is not mistaken for someone else's.
                if error.is_retriable() {
                    created_here.entry((spec.name.clone(), uid_of(resource))).or_insert(false);
                }
                tracing::warn!(topic = %spec.name, %error, "Kafka did not create the topic");
                outcome.managed = false;
                outcome.exists = false;
                record_create_failure(outcome, &spec.name, &error);
            }
        }
    }

    let growths: Vec<_> = plan.growths.iter().map(|(_, growth)| growth.clone()).collect();
    let answers = admin.create_partitions(&growths, false).await?;
    for ((resource, growth), answer) in plan.growths.iter().zip(answers) {
        let outcome = plan.outcomes.entry(resource.clone()).or_default();
        match answer.result {
            Ok(()) => applied.notices.push(notice(
                resource,
                false,
                "PartitionsIncreased",
                format!("topic {} now has {} partitions", growth.name, growth.total_partitions),
            )),
            // The metadata this pass planned from was older than the controller's: an earlier
            // growth already took effect. Look again rather than report it.
            Err(error) if already_grown(&error, growth.total_partitions) => outcome.recheck = true,
            Err(error) => outcome.push(
                kind_of(&error, ProblemKind::InvalidSpec),
                format!("Kafka refused {} partitions for {}: {error}", growth.total_partitions, growth.name),
            ),
        }
    }

    apply_config_changes(admin, plan, &mut applied).await?;

    let deletes: Vec<_> = plan.deletes.iter().map(|(_, topic)| topic.clone()).collect();
    let answers = admin.delete_topics(&deletes).await?;
    for ((resource, topic), answer) in plan.deletes.iter().zip(answers) {
        match answer.result {
            Ok(()) => {
                applied.deleted.push(resource.clone());
                applied.notices.push(notice(
                    resource,
                    false,
                    "TopicDeleted",
                    format!("deleted topic {topic} from Kafka"),
                ));
            }
            Err(error) if error.code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => applied.deleted.push(resource.clone()),
            Err(error) => plan
                .outcomes
                .entry(resource.clone())
                .or_default()
                .push(ProblemKind::KafkaError, format!("failed to delete topic {topic} from Kafka: {error}")),
        }
    }
    Ok(applied)
}

async fn apply_config_changes(admin: &WireAdmin, plan: &mut Plan, applied: &mut Applied) -> Result<(), RequestError> {
    let changes: Vec<_> = plan.config_changes.iter().map(|(_, change, _)| change.clone()).collect();
    let validations = admin.alter_topic_configs(&changes, true).await?;
    let mut valid = Vec::new();
    for (entry, validation) in plan.config_changes.iter().zip(validations) {
        match validation.result {
            Ok(()) => valid.push(entry.clone()),
            Err(error) => plan.outcomes.entry(entry.0.clone()).or_default().push(
                kind_of(&error, ProblemKind::InvalidConfig),
                format!("Kafka rejected the configuration of topic {} (spec.config): {error}", entry.1.name),
            ),
        }
    }
    let answers =
        admin.alter_topic_configs(&valid.iter().map(|(_, c, _)| c.clone()).collect::<Vec<_>>(), false).await?;
    for ((resource, change, cause), answer) in valid.iter().zip(answers) {
        match answer.result {
            Ok(()) => {
                applied.notices.push(config_notice(resource, change, *cause));
                applied.configured.push(resource.clone());
            }
            Err(error) => plan.outcomes.entry(resource.clone()).or_default().push(
                kind_of(&error, ProblemKind::InvalidConfig),
                format!("Kafka rejected the configuration of topic {}: {error}", change.name),
            ),
        }
    }
    Ok(())
}

fn config_notice(resource: &ResourceKey, change: &kafka_admin::TopicConfigChange, cause: ConfigChangeCause) -> Notice {
    let mut parts: Vec<String> = change.set.iter().map(|(key, value)| format!("{key}={value}")).collect();
    parts.extend(change.delete.iter().map(|key| format!("{key} removed")));
    let parts = parts.join(", ");
    match cause {
        ConfigChangeCause::SpecChanged => {
            notice(resource, false, "ConfigChanged", format!("topic {}: {parts}", change.name))
        }
        ConfigChangeCause::Drift => notice(
            resource,
            true,
            "ConfigDriftCorrected",
            format!("topic {} was changed in Kafka outside the operator; set back: {parts}", change.name),
        ),
    }
}

/// A refused creation: a replication factor Kafka cannot place yet is a wait (brokers may
/// still be registering; the spec was checked against the cluster's size already), a
/// rejected configuration needs the user.
fn record_create_failure(outcome: &mut Outcome, topic: &str, error: &OperationError) {
    let (kind, message) = match error.code {
        ErrorCode::INVALID_REPLICATION_FACTOR => (
            ProblemKind::WaitingForCluster,
            format!("Kafka cannot place topic {topic}'s replicas yet ({error}); retrying while brokers register"),
        ),
        ErrorCode::TOPIC_ALREADY_EXISTS => (
            ProblemKind::KafkaError,
            format!("topic {topic} appeared in Kafka while it was being created; checking again"),
        ),
        _ => (kind_of(error, ProblemKind::InvalidConfig), format!("Kafka refused to create topic {topic}: {error}")),
    };
    outcome.push(kind, message);
}

/// Kafka's answer to growing a topic to the partition count it already has.
fn already_grown(error: &OperationError, total_partitions: i32) -> bool {
    error.code == ErrorCode::INVALID_PARTITIONS
        && error.message.contains(&format!("already has {total_partitions} partition"))
}

/// Kafka's transient answers are retried; anything else is the spec's problem of `fallback`.
fn kind_of(error: &OperationError, fallback: ProblemKind) -> ProblemKind {
    if error.is_retriable() { ProblemKind::KafkaError } else { fallback }
}

fn notice(resource: &ResourceKey, warning: bool, reason: &'static str, note: String) -> Notice {
    Notice { resource: resource.clone(), warning, reason, note }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_to_the_count_kafka_already_has_is_recognised() {
        let answer = OperationError::new(ErrorCode::INVALID_PARTITIONS, "Topic already has 3 partition(s).");
        assert!(already_grown(&answer, 3));
        assert!(!already_grown(&answer, 4));
        let other = OperationError::new(
            ErrorCode::INVALID_PARTITIONS,
            "Topic currently has 6 partitions, which is higher than the requested 3.",
        );
        assert!(!already_grown(&other, 3));
    }
}
