//! The status a KafkaTopic should show for an outcome (pure), so that an unchanged topic
//! produces an identical status and costs no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crd_types::KafkaTopicStatus;
use crd_types::conditions::{self, DEGRADED, READY};
use crd_types::kafka_topic::TopicState;

use crate::outcome::Outcome;
use crate::request::{MANAGED_BY_KOPERATOR, TopicRequest};

/// The status `request` should have after `outcome`; `now` stamps changed conditions only.
pub fn desired_status(request: &TopicRequest, outcome: &Outcome, now: &Time) -> KafkaTopicStatus {
    let generation = request.generation;
    let mut status = KafkaTopicStatus {
        managed_by: request.status.managed_by.clone(),
        observed_generation: generation,
        // Only the kept conditions' times matter: both are replaced below. Any other
        // condition type (none is written by anyone today) would be a skeleton without its
        // message, rewritten on every pass; dropping it converges in one write.
        conditions: request
            .status
            .condition_skeletons()
            .into_iter()
            .filter(|c| c.type_ == READY || c.type_ == DEGRADED)
            .collect(),
        ..KafkaTopicStatus::default()
    };
    if outcome.managed {
        status.managed_by = Some(MANAGED_BY_KOPERATOR.to_owned());
    }
    let blocking = outcome.problems.iter().find(|problem| problem.kind.needs_user());
    status.state = Some(if outcome.managed && outcome.exists {
        TopicState::Created
    } else if blocking.is_some() {
        TopicState::Failed
    } else {
        TopicState::Creating
    });

    let ready = match outcome.problems.first() {
        None if outcome.in_sync() => {
            conditions::new(READY, true, "InSync", "the topic exists in Kafka as specified", generation, now.clone())
        }
        None => conditions::new(READY, false, "Creating", "creating the topic in Kafka", generation, now.clone()),
        Some(problem) => {
            conditions::new(READY, false, problem.kind.reason(), all_messages(outcome), generation, now.clone())
        }
    };
    conditions::upsert(&mut status.conditions, ready);
    let degraded = match blocking {
        Some(problem) => {
            conditions::new(DEGRADED, true, problem.kind.reason(), &problem.message, generation, now.clone())
        }
        None => conditions::new(DEGRADED, false, "AsExpected", "", generation, now.clone()),
    };
    conditions::upsert(&mut status.conditions, degraded);
    status
}

fn all_messages(outcome: &Outcome) -> String {
    outcome.problems.iter().map(|problem| problem.message.as_str()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::outcome::ProblemKind;
    use crate::request::{ObservedStatus, ResourceKey};

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    fn request(status: KafkaTopicStatus) -> TopicRequest {
        TopicRequest {
            resource: ResourceKey { namespace: "ns".into(), name: "orders".into() },
            uid: "uid-1".into(),
            generation: Some(2),
            created: None,
            topic: "orders".into(),
            partitions: 3,
            replication_factor: 1,
            config: BTreeMap::new(),
            adopt: false,
            keep_on_delete: false,
            deleting: false,
            has_finalizer: true,
            managed: false,
            status: ObservedStatus::of(&status),
        }
    }

    fn condition<'a>(
        status: &'a KafkaTopicStatus,
        type_: &str,
    ) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        status.conditions.iter().find(|c| c.type_ == type_).expect("condition present")
    }

    #[test]
    fn in_sync_topic_is_created_and_ready() {
        let outcome = Outcome { managed: true, exists: true, ..Outcome::default() };
        let status = desired_status(&request(KafkaTopicStatus::default()), &outcome, &at(10));
        assert_eq!(status.state, Some(TopicState::Created));
        assert_eq!(status.managed_by.as_deref(), Some("koperator"));
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(condition(&status, READY).status, "True");
        assert_eq!(condition(&status, READY).observed_generation, Some(2));
        assert_eq!(condition(&status, DEGRADED).status, "False");
    }

    #[test]
    fn recomputing_an_unchanged_outcome_gives_an_identical_status() {
        let outcome = Outcome { managed: true, exists: true, ..Outcome::default() };
        let first = desired_status(&request(KafkaTopicStatus::default()), &outcome, &at(10));
        let second = desired_status(&request(first.clone()), &outcome, &at(99));
        assert_eq!(first, second, "a later pass must not rewrite an unchanged status");
        assert!(ObservedStatus::of(&first).is(&second));
        let changed = Outcome::default().with_problem(ProblemKind::WaitingForCluster, "cluster ns/kafka is not ready");
        assert!(!ObservedStatus::of(&first).is(&desired_status(&request(first.clone()), &changed, &at(99))));
    }

    #[test]
    fn user_problem_before_creation_is_failed_and_degraded_with_the_fix() {
        let outcome = Outcome::default()
            .with_problem(ProblemKind::InvalidConfig, "INVALID_CONFIG: Unknown topic config name: foo");
        let status = desired_status(&request(KafkaTopicStatus::default()), &outcome, &at(10));
        assert_eq!(status.state, Some(TopicState::Failed));
        assert_eq!(status.managed_by, None);
        let degraded = condition(&status, DEGRADED);
        assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "InvalidConfig"));
        assert!(degraded.message.contains("foo"));
        assert_eq!(condition(&status, READY).reason, "InvalidConfig");
    }

    #[test]
    fn waiting_is_creating_not_failed() {
        let outcome = Outcome::default().with_problem(ProblemKind::WaitingForCluster, "cluster ns/kafka is not ready");
        let status = desired_status(&request(KafkaTopicStatus::default()), &outcome, &at(10));
        assert_eq!(status.state, Some(TopicState::Creating));
        assert_eq!(condition(&status, READY).reason, "WaitingForCluster");
        assert_eq!(condition(&status, DEGRADED).status, "False");
    }

    #[test]
    fn a_managed_topic_with_a_bad_change_stays_created() {
        let outcome = Outcome { managed: true, exists: true, ..Outcome::default() }
            .with_problem(ProblemKind::InvalidSpec, "spec.partitions 1 is below the 3 partitions");
        let status = desired_status(&request(KafkaTopicStatus::default()), &outcome, &at(10));
        assert_eq!(status.state, Some(TopicState::Created));
        assert_eq!(condition(&status, DEGRADED).reason, "InvalidSpec");
    }
}
