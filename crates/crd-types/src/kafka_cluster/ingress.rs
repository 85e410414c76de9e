//! Ingress controllers that carry external listeners: Envoy (the default), Contour, Envoy
//! Gateway (Gateway API) and Banzai Cloud's Istio ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, PodSecurityContext, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DisruptionBudgetWithStrategy;

/// Which ingress controller serves external listeners (default envoy).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IngressController {
    Envoy,
    Contour,
    /// Adobe Koperator's Gateway API ingress through Envoy Gateway; accepted, not served yet.
    Envoygateway,
    /// Banzai Cloud Koperator's Istio ingress; accepted, not served by this operator.
    Istioingress,
}

/// The Envoy deployment in front of external listeners.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(rename = "resourceRequirements", default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Annotations of the Envoy deployment and its pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
    #[serde(rename = "loadBalancerIP", default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetWithStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_command_line_args: Option<EnvoyCommandLineArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Broker hostnames for TLS-enabled Envoy; `%id` becomes the broker id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_hostname_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_health_check_http10: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct EnvoyCommandLineArgs {
    /// Envoy `--concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub concurrency: Option<i32>,
}

/// Contour IngressRoute settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContourIngressConfig {
    pub tls_secret_name: String,
    /// `%id` becomes the broker id.
    #[serde(rename = "brokerFQDNTemplate")]
    pub broker_fqdn_template: String,
}

/// Gateway API objects of the `envoygateway` ingress controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyGatewayConfig {
    /// GatewayClass the Gateway belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_class_name: Option<String>,
    /// Name of the Gateway to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_name: Option<String>,
    /// Secret with the certificate the Gateway terminates TLS with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    /// Broker hostnames; `%id` becomes the broker id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_hostname_template: Option<String>,
    /// Annotations of the Gateway.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Banzai Cloud Koperator's reference to an IstioControlPlane resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct IstioControlPlaneReference {
    pub name: String,
    pub namespace: String,
}
