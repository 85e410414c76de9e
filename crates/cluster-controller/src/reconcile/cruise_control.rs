//! Cruise Control's objects: its ConfigMaps, Deployment and metrics KafkaTopic are applied when
//! the operator runs it and removed once an external one is named (its Service goes with the
//! cluster's other Services). Then what the status says: `cruiseControlTopicStatus` and the
//! `CruiseControlAvailable` condition.
//!
//! The Deployment does not wait for the metrics topic (Koperator does): Cruise Control answers
//! its REST API without it, and our test stand-in never reads it.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crd_types::KafkaTopic;
use crd_types::conditions;
use crd_types::kafka_cluster::{CruiseControlTopicStatus, KafkaClusterStatus};
use crd_types::kafka_topic::TopicState;

use crate::build::{self, CruiseControlFacts};
use crate::model::{CruiseControlPlan, DeploySettings, ValidatedCluster};

use super::observe::ObservedCluster;
use super::writes::{self, Writer};

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

/// What becomes of `cruiseControlTopicStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicReport {
    /// Left as it was (nothing was looked at).
    Unchanged,
    /// Removed: the operator does not manage the metrics topic.
    Cleared,
    Set(CruiseControlTopicStatus),
}

pub async fn reconcile(
    writer: &Writer,
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
) -> Result<CruiseControlReport, writes::Error> {
    match &cluster.cruise_control.plan {
        CruiseControlPlan::External { endpoint } => {
            remove_deployed(writer, cluster, observed).await?;
            Ok(CruiseControlReport {
                topic: TopicReport::Cleared,
                available: true,
                reason: "External",
                message: format!("Cruise Control at {endpoint} (cruiseControlEndpoint) is not run by the operator"),
            })
        }
        // Leave whatever runs alone: a typo in the configuration must not take Cruise Control away.
        CruiseControlPlan::Blocked { problem } => Ok(CruiseControlReport {
            topic: TopicReport::Unchanged,
            available: false,
            reason: "NotConfigured",
            message: problem.clone(),
        }),
        CruiseControlPlan::Deploy(settings) => apply_deployed(writer, cluster, settings, previous, observed).await,
    }
}

async fn apply_deployed(
    writer: &Writer,
    cluster: &ValidatedCluster,
    settings: &DeploySettings,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
) -> Result<CruiseControlReport, writes::Error> {
    let config_map_name = build::cruise_control_config_map_name(cluster);
    let facts = CruiseControlFacts {
        previous_capacity: observed
            .config_maps
            .get(&config_map_name)
            .and_then(|c| c.data.as_ref()?.get(build::CRUISE_CONTROL_CAPACITY_KEY).cloned()),
        departing_brokers: departing_brokers(cluster, previous),
    };
    let objects = build::cruise_control_objects(cluster, settings, &facts);
    for config_map in [objects.jmx_exporter_config_map, objects.config_map] {
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        writer.apply_if_changed(config_map, current).await?;
    }
    let name = objects.deployment.name_any();
    let current = observed.deployments.get(&name);
    writer.apply_if_changed(objects.deployment, current.map(AsRef::as_ref)).await?;

    let topic_name = build::metrics_topic_name(cluster);
    let existing = observed.kafka_topics.get(&topic_name).map(AsRef::as_ref);
    if let Some(topic) = build::metrics_topic(cluster, existing) {
        let current = existing.cloned().map(MetricsTopic);
        writer.apply_if_changed(MetricsTopic(topic), current.as_ref()).await?;
    }
    let topic_ready = cluster.cruise_control.metrics_topic_auto_created
        || existing.and_then(|t| t.status.as_ref()?.state) == Some(TopicState::Created);
    let topic_status = if topic_ready {
        CruiseControlTopicStatus::CruiseControlTopicReady
    } else {
        CruiseControlTopicStatus::CruiseControlTopicNotReady
    };
    let available = current.is_some_and(|d| is_available(d));
    Ok(CruiseControlReport {
        topic: TopicReport::Set(topic_status),
        available,
        reason: if available { "DeploymentAvailable" } else { "DeploymentNotAvailable" },
        message: if available {
            format!("Deployment {name} is available")
        } else {
            format!("waiting for Deployment {name} to become available")
        },
    })
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
/// deleting it would delete the topic in Kafka, which an external Cruise Control may use.
async fn remove_deployed(
    writer: &Writer,
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
) -> Result<(), writes::Error> {
    let namespace = &cluster.namespace;
    let deployment = build::cruise_control_deployment_name(cluster);
    if observed.deployments.contains_key(&deployment) {
        writer.delete::<Deployment>(namespace, &deployment).await?;
    }
    for name in [build::cruise_control_config_map_name(cluster), build::cruise_control_jmx_config_map_name(cluster)] {
        if observed.config_maps.contains_key(&name) {
            writer.delete::<ConfigMap>(namespace, &name).await?;
        }
    }
    Ok(())
}

/// Writes the report into the status computed for this pass.
pub fn record(status: &mut KafkaClusterStatus, report: &CruiseControlReport, generation: Option<i64>, now: Time) {
    match report.topic {
        TopicReport::Unchanged => {}
        TopicReport::Cleared => status.cruise_control_topic_status = None,
        TopicReport::Set(topic) => status.cruise_control_topic_status = Some(topic),
    }
    let condition =
        conditions::new(CRUISE_CONTROL_AVAILABLE, report.available, report.reason, &report.message, generation, now);
    conditions::upsert(&mut status.conditions, condition);
}

/// A KafkaTopic with the k8s-openapi traits the writer's generic apply needs: kube's derive
/// implements only kube's own `Resource`, and neither trait nor type is this crate's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricsTopic(pub KafkaTopic);

impl k8s_openapi::Resource for MetricsTopic {
    const API_VERSION: &'static str = "kafka.banzaicloud.io/v1alpha1";
    const GROUP: &'static str = "kafka.banzaicloud.io";
    const KIND: &'static str = "KafkaTopic";
    const VERSION: &'static str = "v1alpha1";
    const URL_PATH_SEGMENT: &'static str = "kafkatopics";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for MetricsTopic {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.0.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.0.metadata
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
    use kube::Resource;

    use super::*;
    use crate::build::tests::kraft_combined;
    use crate::model::validate;

    #[test]
    fn metrics_topic_names_the_kafka_topic_kind() {
        assert_eq!(<MetricsTopic as k8s_openapi::Resource>::API_VERSION, KafkaTopic::api_version(&()));
        assert_eq!(<MetricsTopic as k8s_openapi::Resource>::KIND, KafkaTopic::kind(&()));
        assert_eq!(<MetricsTopic as k8s_openapi::Resource>::URL_PATH_SEGMENT, KafkaTopic::plural(&()));
    }

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

    #[test]
    fn record_keeps_the_topic_status_when_told_to() {
        let mut status = KafkaClusterStatus {
            cruise_control_topic_status: Some(CruiseControlTopicStatus::CruiseControlTopicReady),
            ..Default::default()
        };
        let now = Time(k8s_openapi::jiff::Timestamp::from_second(10).expect("time"));
        let blocked = CruiseControlReport {
            topic: TopicReport::Unchanged,
            available: false,
            reason: "NotConfigured",
            message: "Cruise Control with an SSL internal listener is not supported yet".into(),
        };
        record(&mut status, &blocked, Some(3), now.clone());
        assert_eq!(status.cruise_control_topic_status, Some(CruiseControlTopicStatus::CruiseControlTopicReady));
        let condition = status.conditions.iter().find(|c| c.type_ == CRUISE_CONTROL_AVAILABLE).expect("condition");
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "NotConfigured"));
        let external = CruiseControlReport {
            topic: TopicReport::Cleared,
            available: true,
            reason: "External",
            message: String::new(),
        };
        record(&mut status, &external, Some(3), now);
        assert_eq!(status.cruise_control_topic_status, None);
    }
}
