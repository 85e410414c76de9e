//! Cruise Control: the deployment the operator runs per cluster and how it uses it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, LocalObjectReference, PodSecurityContext, ResourceRequirements, SecurityContext, Toleration,
    Volume, VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cruise_control_task_spec: Option<CruiseControlTaskSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cruise_control_operation_spec: Option<CruiseControlOperationSettings>,
    /// An external Cruise Control (`host:port`); the operator then deploys none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cruise_control_endpoint: Option<String>,
    #[serde(rename = "resourceRequirements", default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// cruisecontrol.properties lines merged over what the operator must set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// capacity.json; when empty the operator derives it from broker resources and storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_config: Option<String>,
    /// clusterConfigs.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log4j_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The Cruise Control metrics topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_config: Option<TopicConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cruise_control_annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// How long the operator keeps retrying a Cruise Control task.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct CruiseControlTaskSpec {
    /// Koperator spells this field with a capital R.
    #[serde(rename = "RetryDurationMinutes")]
    pub retry_duration_minutes: i32,
}

/// Defaults for the CruiseControlOperations the operator creates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlOperationSettings {
    /// Finished operations are deleted after this many seconds; kept forever when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i32>,
}

/// Partitions and replication of the Cruise Control metrics topic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    pub partitions: i32,
    #[schemars(range(min = 2))]
    pub replication_factor: i32,
}
