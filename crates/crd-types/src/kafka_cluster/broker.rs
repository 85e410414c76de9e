//! Brokers and the configuration they get from config groups and their own overrides.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, EmptyDirVolumeSource, EnvVar, LocalObjectReference, PersistentVolumeClaimSpec,
    PodSecurityContext, ResourceRequirements, SecurityContext, Toleration, Volume, VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One Kafka node: a broker, a KRaft controller, or both.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Broker {
    /// `node.id` in KRaft mode, `broker.id` in ZooKeeper mode.
    #[schemars(range(min = 0, max = 65534))]
    pub id: i32,
    /// Key of `spec.brokerConfigGroups` whose settings this broker starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub broker_config_group: Option<String>,
    /// server.properties lines for this broker only; they win over the cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_config: Option<String>,
    /// Settings of this broker; they win over its config group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_config: Option<BrokerConfig>,
}

/// KRaft process role of a node.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProcessRole {
    Broker,
    Controller,
}

/// Settings of a broker pod, shared through a config group or given per broker.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerConfig {
    /// KRaft roles of the node (`broker`, `controller` or both); ignored in ZooKeeper mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2), extend("x-kubernetes-list-type" = "set"))]
    pub process_roles: Vec<ProcessRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_reporter_image: Option<String>,
    /// Per-broker dynamic configuration (server.properties lines) applied without a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Volumes for Kafka log dirs; one PVC (or emptyDir) per mount path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_configs: Vec<StorageConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(rename = "resourceRequirements", default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// JVM heap options (default `-Xmx2G -Xms2G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_heap_opts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_jvm_perf_opts: Option<String>,
    /// Replaces the default log4j configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log4j_config: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub broker_annotations: BTreeMap<String, String>,
    /// Extra pod labels; never override the labels the operator selects by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub broker_labels: BTreeMap<String, String>,
    /// Network throughput (kB/s) that Cruise Control uses as capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config: Option<NetworkConfig>,
    /// External listener name → address advertised for NodePort access.
    #[serde(rename = "nodePortExternalIP", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_port_external_ip: BTreeMap<String, String>,
    /// Which node address NodePort listeners advertise when nothing overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port_node_address_type: Option<NodeAddressType>,
    /// Replaces the anti-affinity that `oneBrokerPerNode` would set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
    /// Security context of the Kafka container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    /// Ingress configurations (keys of an external listener's `config.ingressConfig`) this broker is exposed through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broker_ingress_mapping: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Sidecar containers added to the broker pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Environment of the Kafka container; `+` prefix/suffix prepend/append as in `spec.envs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub envs: Vec<EnvVar>,
    /// Pod termination grace period (default 120 s, so Kafka can move leadership away cleanly).
    #[serde(rename = "terminationGracePeriodSeconds", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub termination_grace_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// Kubernetes node address types a NodePort listener may advertise.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum NodeAddressType {
    Hostname,
    #[serde(rename = "ExternalIP")]
    ExternalIp,
    #[serde(rename = "InternalIP")]
    InternalIp,
    #[serde(rename = "InternalDNS")]
    InternalDns,
    #[serde(rename = "ExternalDNS")]
    ExternalDns,
}

/// Broker network capacity for Cruise Control, in kB/s.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    #[serde(rename = "incomingNetworkThroughPut", default, skip_serializing_if = "Option::is_none")]
    pub incoming_network_throughput: Option<String>,
    #[serde(rename = "outgoingNetworkThroughPut", default, skip_serializing_if = "Option::is_none")]
    pub outgoing_network_throughput: Option<String>,
}

/// One Kafka log dir volume. `pvcSpec` wins when both it and `emptyDir` are set. The CRD also
/// declares Adobe Koperator's `tieredStorageCache` here (see `crds::SCHEMA_ONLY_FIELDS`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageConfig {
    #[schemars(length(min = 1), regex(pattern = r"^/"))]
    pub mount_path: String,
    /// PVC template; `{{ .BrokerId }}` and `{{ .MountPath }}` are replaced per broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_spec: Option<PersistentVolumeClaimSpec>,
    /// Ephemeral storage: data is lost whenever the pod goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    /// Adobe Koperator: the volume is the tiered storage plugin's cache, not a Kafka log dir.
    /// Accepted; not acted on yet (the volume is used as a log dir, and the status says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiered_storage_cache: Option<bool>,
}
