//! `KafkaCluster` (`kafka.banzaicloud.io/v1beta1`): the desired Kafka cluster.

mod broker;
mod cruise_control;
mod ingress;
mod listeners;
mod status;

pub use broker::*;
pub use cruise_control::*;
pub use ingress::*;
pub use listeners::*;
pub use status::*;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerPort, EnvVar, LocalObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a Kafka cluster, field for field as Koperator defines it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kafka.banzaicloud.io",
    version = "v1beta1",
    kind = "KafkaCluster",
    namespaced,
    status = "KafkaClusterStatus",
    shortname = "kc",
    category = "kafka",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Brokers","type":"string","jsonPath":".status.brokersReady","description":"ready brokers / brokers in spec"}"#,
    printcolumn = r#"{"name":"Alerts","type":"integer","jsonPath":".status.alertCount","priority":1}"#,
    printcolumn = r#"{"name":"Last Upgrade","type":"string","jsonPath":".status.rollingUpgradeStatus.lastSuccess","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterSpec {
    /// KRaft mode when true, ZooKeeper mode (Kafka 3.x only) when false (the default, as in Koperator).
    #[serde(rename = "kRaft", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub kraft: Option<bool>,
    /// This operator's own: whether it raises KRaft's `metadata.version` to the newest the
    /// cluster's Kafka supports once every node runs that Kafka (`Automatic`, the default), or
    /// leaves that to the user (`Manual`, e.g. to keep a downgrade open: Kafka cannot lower
    /// `metadata.version` without losing metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_version_upgrade: Option<MetadataVersionUpgrade>,
    /// One headless Service for all brokers instead of a Service per broker.
    pub headless_service_enabled: bool,
    /// Leave CPU and memory requests of broker pods to an external autoscaler (Adobe
    /// Koperator's earlier name of `admissionWebhooksEnabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_ops_enabled: Option<bool>,
    /// Leave CPU and memory requests of broker pods to admission webhooks (ScaleOps or others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_webhooks_enabled: Option<bool>,
    /// Adobe Koperator: LoadBalancer Services exposing the internal listeners, for running the
    /// operator on a workstation against a kind cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_debug_enabled: Option<bool>,
    pub listeners_config: ListenersConfig,
    /// Extra ports exposed on the Kafka container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_ports: Vec<ContainerPort>,
    /// ZooKeeper connection string entries (`host:port`); required in ZooKeeper mode, ignored in KRaft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zk_addresses: Vec<String>,
    /// ZooKeeper chroot path; ignored in KRaft mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zk_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack_awareness: Option<RackAwareness>,
    /// Default Kafka image; a broker config group or broker may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_metrics_reporter_image: Option<String>,
    /// server.properties lines for every broker; changing them needs a rolling restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_config: Option<String>,
    /// Cluster-wide dynamic configuration applied through Kafka's admin API, without restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_wide_config: Option<String>,
    /// Named broker configurations that brokers reference through `brokerConfigGroup`.
    // The bounds keep the admission rules that look groups up within the apiserver's CEL cost budget.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 128, "propertyNames" = {"maxLength": 128}))]
    pub broker_config_groups: BTreeMap<String, BrokerConfig>,
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"], "maxItems" = 1000))]
    pub brokers: Vec<Broker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudget>,
    pub rolling_upgrade_config: RollingUpgradeConfig,
    /// Broker pods matching this selector are recycled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tainted_brokers_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_controller: Option<IngressController>,
    /// Banzai Cloud Koperator: the IstioControlPlane its `istioingress` controller uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio_control_plane: Option<IstioControlPlaneReference>,
    /// Place each broker on a different node unless an explicit affinity says otherwise.
    pub one_broker_per_node: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_unused_ingress_resources: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_labels: Option<bool>,
    pub cruise_control_config: CruiseControlConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_config: Option<EnvoyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contour_ingress_config: Option<ContourIngressConfig>,
    /// Gateway API settings of Adobe Koperator's `envoygateway` ingress controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_gateway_config: Option<EnvoyGatewayConfig>,
    /// Istio ingress settings of Banzai Cloud Koperator; kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub istio_ingress_config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_config: Option<MonitoringConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_manager_config: Option<AlertManagerConfig>,
    /// Environment of broker containers. A name with a `+` prefix prepends to the variable,
    /// a `+` suffix appends to it, otherwise the value replaces it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub envs: Vec<EnvVar>,
    /// Cluster DNS domain used in advertised addresses (default `cluster.local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_cluster_domain: Option<String>,
    /// Client certificate the operator and Cruise Control use on the inter-broker listener.
    #[serde(rename = "clientSSLCertSecret", default, skip_serializing_if = "Option::is_none")]
    pub client_ssl_cert_secret: Option<LocalObjectReference>,
}

impl KafkaClusterSpec {
    /// KRaft mode; absent means ZooKeeper mode, as in Koperator.
    pub fn is_kraft(&self) -> bool {
        self.kraft.unwrap_or(false)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MetadataVersionUpgrade {
    Automatic,
    Manual,
}

/// Node labels whose values become `broker.rack`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct RackAwareness {
    pub labels: Vec<String>,
}

/// A PodDisruptionBudget `<cluster>-pdb` over the broker pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct DisruptionBudget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    /// A number of pods or a percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+$|^[0-9]{1,2}%$|^100%$"))]
    pub budget: Option<String>,
}

/// A disruption budget for a Deployment-managed workload (Envoy).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct DisruptionBudgetWithStrategy {
    #[serde(flatten)]
    pub budget: DisruptionBudget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DisruptionBudgetStrategy>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DisruptionBudgetStrategy {
    #[serde(rename = "minAvailable")]
    MinAvailable,
    #[serde(rename = "maxUnavailable")]
    MaxUnavailable,
}

/// How a rolling restart may proceed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpgradeConfig {
    /// Failures tolerated before a roll stops: brokers with offline or out-of-sync replicas
    /// plus firing alerts labelled `rollingupgrade`.
    pub failure_threshold: i32,
    /// Brokers of one rack that may restart together (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 1))]
    pub concurrent_broker_restart_count_per_rack: Option<i32>,
}

/// JMX exporter settings for brokers and Cruise Control.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmx_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_to_jar: Option<String>,
    #[serde(rename = "kafkaJMXExporterConfig", default, skip_serializing_if = "Option::is_none")]
    pub kafka_jmx_exporter_config: Option<String>,
    #[serde(rename = "cCJMXExporterConfig", default, skip_serializing_if = "Option::is_none")]
    pub cc_jmx_exporter_config: Option<String>,
}

/// Bounds for alert-driven scaling; zero or negative means no bound.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertManagerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_scale_limit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_scale_limit: Option<i32>,
}
