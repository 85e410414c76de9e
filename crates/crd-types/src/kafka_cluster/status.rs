//! What the operator observed and is doing, per cluster and per broker.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterStatus {
    /// Keyed by broker id (as a string, like Koperator).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub brokers_state: BTreeMap<String, BrokerState>,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub cruise_control_topic_status: Option<CruiseControlTopicStatus>,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub state: Option<ClusterState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_upgrade_status: Option<RollingUpgradeStatus>,
    /// Firing alerts that concern this cluster.
    #[serde(default)]
    pub alert_count: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_statuses: Option<ListenerStatuses>,
    /// KRaft cluster id, generated once and kept for the cluster's life.
    #[serde(rename = "clusterID", default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// "ready/desired" brokers, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brokers_ready: Option<String>,
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Keys of `brokerConfig.config` and `clusterWideConfig` that Kafka reports as read-only:
    /// they cannot change at runtime, so they go into server.properties and take effect
    /// through a rolling restart. Recorded so that the rendered configuration does not depend
    /// on reaching Kafka.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_only_config_keys: Vec<String>,
    /// This operator's own (Koperator has none): how the KRaft controller quorum was formed,
    /// its voters as last seen, and which Kafka version's `metadata.version` is finalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kraft: Option<KraftStatus>,
    /// Ready, Reconciling, Degraded...: each with the reason and what the operator waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClusterState {
    ClusterReconciling,
    ClusterRollingUpgrading,
    ClusterRunning,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CruiseControlTopicStatus {
    CruiseControlTopicNotReady,
    CruiseControlTopicReady,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpgradeStatus {
    #[serde(default)]
    pub last_success: String,
    /// Firing alerts labelled `rollingupgrade`; reset when they stop.
    #[serde(default)]
    pub error_count: i32,
}

/// The KRaft facts the operator keeps across passes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KraftStatus {
    /// `Dynamic` (KIP-853, Kafka 3.9+: the controller set can change) or `Static`
    /// (`controller.quorum.voters`, which Kafka cannot change). Chosen when the cluster is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<QuorumKind>,
    /// The controllers a dynamic quorum was formed with (their storage formatted with them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_controllers: Vec<i32>,
    /// A dynamic quorum elected its first leader; from then on no node formats its storage as
    /// an initial controller (one whose disk was replaced joins as a new voter instead).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quorum_formed: bool,
    /// The voters, by node id, as the operator last saw them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voters: Vec<i32>,
    /// The Kafka version every node ran when the operator last made sure `metadata.version`
    /// is the newest that version supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_version_finalized_for: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum QuorumKind {
    Dynamic,
    Static,
}

/// Addresses clients use, per listener name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatuses {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub internal_listeners: BTreeMap<String, Vec<ListenerStatus>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_listeners: BTreeMap<String, Vec<ListenerStatus>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ListenerStatus {
    pub name: String,
    pub address: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack_awareness_state: Option<String>,
    #[serde(default)]
    pub graceful_action_state: GracefulActionState,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub configuration_state: Option<ConfigurationState>,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub per_broker_configuration_state: Option<PerBrokerConfigurationState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_listener_config_names: Vec<String>,
    /// Kafka version the broker runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Compressed broker configuration, so a pod lost mid-drain can be re-created as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_backup: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConfigurationState {
    ConfigInSync,
    ConfigOutOfSync,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PerBrokerConfigurationState {
    PerBrokerConfigInSync,
    PerBrokerConfigOutOfSync,
    PerBrokerConfigError,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GracefulActionState {
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub cruise_control_state: Option<CruiseControlState>,
    /// The CruiseControlOperation carrying out the broker's graceful action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cruise_control_operation_reference: Option<LocalObjectReference>,
    /// Keyed by mount path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_states: BTreeMap<String, VolumeState>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeState {
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub cruise_control_volume_state: Option<CruiseControlVolumeState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cruise_control_operation_reference: Option<LocalObjectReference>,
}

/// Where a broker is in a graceful upscale or downscale.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CruiseControlState {
    GracefulUpscaleRequired,
    GracefulUpscaleScheduled,
    GracefulUpscaleRunning,
    GracefulUpscaleSucceeded,
    GracefulUpscaleCompletedWithError,
    GracefulUpscalePaused,
    GracefulDownscaleRequired,
    GracefulDownscaleScheduled,
    GracefulDownscaleRunning,
    GracefulDownscaleSucceeded,
    GracefulDownscaleCompletedWithError,
    GracefulDownscalePaused,
}

/// Where a volume is in a disk rebalance or removal.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CruiseControlVolumeState {
    GracefulDiskRebalanceRequired,
    GracefulDiskRebalanceScheduled,
    GracefulDiskRebalanceRunning,
    GracefulDiskRebalanceSucceeded,
    GracefulDiskRebalanceCompletedWithError,
    GracefulDiskRebalancePaused,
    GracefulDiskRemovalRequired,
    GracefulDiskRemovalScheduled,
    GracefulDiskRemovalRunning,
    GracefulDiskRemovalSucceeded,
    GracefulDiskRemovalCompletedWithError,
    GracefulDiskRemovalPaused,
}
