//! Pure: Cruise Control's objects: its ConfigMaps, Deployment and metrics KafkaTopic are applied when
//! the operator runs it and removed once an external one is named (its Service goes with the
//! cluster's other Services). Then what the status says: `cruiseControlTopicStatus` and the
//! `CruiseControlAvailable` condition.
//!
//! The Deployment does not wait for the metrics topic (Koperator does): Cruise Control answers
//! its REST API without it, and our test stand-in never reads it.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;

use crd_types::CruiseControlOperation;
use crd_types::kafka_cluster::{CruiseControlTopicStatus, KafkaClusterStatus};
use crd_types::kafka_topic::TopicState;

use crate::actions::gates::cruise_control_idle;
use crate::build::{self, CruiseControlFacts};
use crate::model::{CruiseControlPlan, DeploySettings, ValidatedCluster};

use super::super::observe::ObservedCluster;
use super::apply_step;
use super::cluster_objects::applied_by_us;
use super::plan::{Action, Desired, OwnedKind, Step};

/// Condition: the Cruise Control the operator uses answers (or is external).
pub const CRUISE_CONTROL_AVAILABLE: &str = "CruiseControlAvailable";

/// What the status should say about Cruise Control after this pass.
#[derive(Clone, Debug, PartialEq)]
pub struct CruiseControlReport {
    pub topic: TopicReport,
    pub available: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Default for CruiseControlReport {
    /// Before anything was looked at.
    fn default() -> Self {
        Self { topic: TopicReport::Unchanged, available: false, reason: "NotLookedAt", message: String::new() }
    }
}

/// What becomes of `cruiseControlTopicStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicReport {
    /// Left as it was (nothing was looked at).
    Unchanged,
    /// Removed: the operator does not manage the metrics topic.
    Cleared,
    Set(CruiseControlTopicStatus),
}

/// Cruise Control's objects for this pass, and what the status should say about it.
pub fn plan(
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
    operator_serial: Option<&str>,
    steps: &mut Vec<Step>,
) -> CruiseControlReport {
    match &cluster.cruise_control.plan {
        CruiseControlPlan::External { endpoint } => {
            remove_deployed(cluster, observed, steps);
            CruiseControlReport {
                topic: TopicReport::Cleared,
                available: true,
                reason: "External",
                message: format!("Cruise Control at {endpoint} (cruiseControlEndpoint) is not run by the operator"),
            }
        }
        // Leave whatever runs alone: a typo in the configuration must not take Cruise Control away.
        CruiseControlPlan::Blocked { problem } => CruiseControlReport {
            topic: TopicReport::Unchanged,
            available: false,
            reason: "NotConfigured",
            message: problem.clone(),
        },
        CruiseControlPlan::Deploy(settings) => {
            plan_deployed(cluster, settings, previous, observed, operator_serial, steps)
        }
    }
}

/// The operator certificate Cruise Control is to run with: the newest, unless Cruise Control
/// is busy — its tasks live in memory and a restart would lose the one running — and already
/// runs with another; the restart then waits until it is idle (a renewal leaves a third of the
/// certificate's lifetime for that).
fn certificate_to_start_with(
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
    current: Option<&Arc<Deployment>>,
    newest: Option<&str>,
) -> Option<String> {
    let running_with = current
        .and_then(|deployment| deployment.spec.as_ref()?.template.metadata.as_ref()?.annotations.as_ref())
        .and_then(|annotations| annotations.get(build::CRUISE_CONTROL_OPERATOR_CERTIFICATE_ANNOTATION));
    let operations: Vec<CruiseControlOperation> =
        observed.operations.values().map(|operation| operation.as_ref().clone()).collect();
    let busy = cruise_control_idle(previous, &operations).is_err();
    match running_with {
        Some(running) if busy && newest.is_some() => Some(running.clone()),
        _ => newest.map(str::to_owned),
    }
}

fn plan_deployed(
    cluster: &ValidatedCluster,
    settings: &DeploySettings,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
    operator_serial: Option<&str>,
    steps: &mut Vec<Step>,
) -> CruiseControlReport {
    let config_map_name = build::cruise_control_config_map_name(cluster);
    let deployment_name = build::cruise_control_deployment_name(cluster);
    let current = observed.deployments.get(&deployment_name);
    let facts = CruiseControlFacts {
        previous_capacity: observed
            .config_maps
            .get(&config_map_name)
            .and_then(|c| c.data.as_ref()?.get(build::CRUISE_CONTROL_CAPACITY_KEY).cloned()),
        departing_brokers: departing_brokers(cluster, previous),
        operator_certificate_serial: certificate_to_start_with(previous, observed, current, operator_serial),
    };
    let objects = build::cruise_control_objects(cluster, settings, &facts);
    for config_map in [objects.jmx_exporter_config_map, objects.config_map] {
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(config_map, current, Desired::ConfigMap));
    }
    let name = objects.deployment.name_any();
    steps.extend(apply_step(objects.deployment, current.map(AsRef::as_ref), Desired::Deployment));

    let topic_name = build::metrics_topic_name(cluster);
    let existing = observed.kafka_topics.get(&topic_name).map(AsRef::as_ref);
    if let Some(topic) = build::metrics_topic(cluster, existing) {
        steps.extend(apply_step(topic, existing, Desired::KafkaTopic));
    }
    let topic_ready = cluster.cruise_control.metrics_topic_auto_created
        || existing.and_then(|t| t.status.as_ref()?.state) == Some(TopicState::Created);
    let topic_status = if topic_ready {
        CruiseControlTopicStatus::CruiseControlTopicReady
    } else {
        CruiseControlTopicStatus::CruiseControlTopicNotReady
    };
    let available = current.is_some_and(|d| is_available(d));
    CruiseControlReport {
        topic: TopicReport::Set(topic_status),
        available,
        reason: if available { "DeploymentAvailable" } else { "DeploymentNotAvailable" },
        message: if available {
            format!("Deployment {name} is available")
        } else {
            format!("waiting for Deployment {name} to become available")
        },
    }
}

/// Brokers the previous status tracks that the spec no longer lists: being drained, Cruise
/// Control still models them.
fn departing_brokers(cluster: &ValidatedCluster, previous: Option<&KafkaClusterStatus>) -> BTreeSet<i32> {
    let desired: BTreeSet<i32> = cluster.brokers.iter().map(|b| b.id).collect();
    previous
        .into_iter()
        .flat_map(|status| status.brokers_state.keys())
        .filter_map(|id| id.parse().ok())
        .filter(|id| !desired.contains(id))
        .collect()
}

/// Available, and the Deployment controller has seen the current template (so an old pod
/// being replaced does not count).
fn is_available(deployment: &Deployment) -> bool {
    let Some(status) = deployment.status.as_ref() else { return false };
    let current = status.observed_generation >= deployment.metadata.generation;
    let available = status.conditions.iter().flatten().any(|c| c.type_ == "Available" && c.status == "True");
    current && available && status.available_replicas.unwrap_or(0) > 0
}

/// Once Cruise Control is external, the operator's own goes. The metrics KafkaTopic stays:
/// deleting it would delete the topic in Kafka, which an external Cruise Control may use. One
/// another operator made stays too (reported by `takeover`): it may be that external one.
fn remove_deployed(cluster: &ValidatedCluster, observed: &ObservedCluster, steps: &mut Vec<Step>) {
    let deployment = build::cruise_control_deployment_name(cluster);
    if observed.deployments.get(&deployment).is_some_and(|d| applied_by_us(d.as_ref())) {
        steps.push(Step::new(Action::Delete { kind: OwnedKind::Deployment, name: deployment }));
    }
    for name in [build::cruise_control_config_map_name(cluster), build::cruise_control_jmx_config_map_name(cluster)] {
        if observed.config_maps.get(&name).is_some_and(|c| applied_by_us(c.as_ref())) {
            steps.push(Step::new(Action::Delete { kind: OwnedKind::ConfigMap, name }));
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

    use super::*;
    use crate::build::tests::kraft_combined;
    use crate::model::validate;

    #[test]
    fn departing_brokers_are_those_the_status_still_tracks() {
        let cluster = validate(&kraft_combined()).expect("valid");
        let mut status = KafkaClusterStatus::default();
        for id in ["0", "1", "2", "5", "junk"] {
            status.brokers_state.insert(id.to_owned(), Default::default());
        }
        assert_eq!(departing_brokers(&cluster, Some(&status)), [5].into());
        assert!(departing_brokers(&cluster, None).is_empty());
    }

    #[test]
    fn a_new_operator_certificate_restarts_cruise_control_only_when_it_is_idle() {
        let mut running = Deployment::default();
        let template = &mut running.spec.get_or_insert_default().template;
        let annotations = template.metadata.get_or_insert_default().annotations.get_or_insert_default();
        annotations.insert(build::CRUISE_CONTROL_OPERATOR_CERTIFICATE_ANNOTATION.into(), "01".into());
        let running = Arc::new(running);
        let mut observed = ObservedCluster::default();
        let pick = |observed: &ObservedCluster| certificate_to_start_with(None, observed, Some(&running), Some("02"));
        assert_eq!(pick(&observed).as_deref(), Some("02"), "idle: the new certificate");

        let busy = CruiseControlOperation::new("rebalance", Default::default());
        observed.operations.insert("rebalance".into(), Arc::new(busy));
        assert_eq!(pick(&observed).as_deref(), Some("01"), "an operation not finished: no restart yet");
        assert_eq!(
            certificate_to_start_with(None, &observed, None, Some("02")).as_deref(),
            Some("02"),
            "nothing runs yet: nothing to lose"
        );
    }

    #[test]
    fn availability_needs_the_current_template() {
        let mut deployment = Deployment::default();
        deployment.metadata.generation = Some(2);
        deployment.status = Some(DeploymentStatus {
            observed_generation: Some(1),
            available_replicas: Some(1),
            conditions: Some(vec![DeploymentCondition {
                type_: "Available".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert!(!is_available(&deployment));
        deployment.status.as_mut().expect("status").observed_generation = Some(2);
        assert!(is_available(&deployment));
    }
}
