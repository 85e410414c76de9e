//! Kafka listeners: internal ones for clients and brokers inside Kubernetes, external ones
//! exposed through an ingress controller, NodePorts or LoadBalancers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::LocalObjectReference;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ContourIngressConfig, EnvoyConfig, EnvoyGatewayConfig};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenersConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"], "maxItems" = 16))]
    pub external_listeners: Vec<ExternalListenerConfig>,
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"], "maxItems" = 16))]
    pub internal_listeners: Vec<InternalListenerConfig>,
    #[serde(rename = "sslSecrets", default, skip_serializing_if = "Option::is_none")]
    pub ssl_secrets: Option<SslSecrets>,
    /// Annotations of the Services created for internal listeners.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
}

/// Security protocol of a listener (Kafka's, in lower case).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// The name Kafka uses in `listener.security.protocol.map`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// Whether a TLS listener asks clients for certificates (default `required`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SslClientAuth {
    Required,
    Requested,
    None,
}

/// Fields every listener has.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonListenerSpec {
    #[serde(rename = "type")]
    pub security_protocol: SecurityProtocol,
    /// Secret with keystore.jks, truststore.jks and password; generated from `sslSecrets` when absent.
    #[serde(rename = "serverSSLCertSecret", default, skip_serializing_if = "Option::is_none")]
    pub server_ssl_cert_secret: Option<LocalObjectReference>,
    #[serde(rename = "sslClientAuth", default, skip_serializing_if = "Option::is_none")]
    pub ssl_client_auth: Option<SslClientAuth>,
    /// Listener name (also the Kafka listener name, upper-cased).
    #[schemars(regex(pattern = r"^[a-z0-9\-]+"), length(min = 1, max = 63))]
    pub name: String,
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,
    /// The listener brokers replicate over; exactly one internal listener has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_for_inner_broker_communication: Option<bool>,
    /// The listener the operator's admin client uses, when not the inter-broker one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_for_kafka_admin_communication: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InternalListenerConfig {
    #[serde(flatten)]
    pub common: CommonListenerSpec,
    /// KRaft: the controller quorum listener. ZooKeeper mode: the control plane listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_for_controller_communication: Option<bool>,
    /// Broker port = this + broker id, for clusters spanning Kubernetes clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_starting_port: Option<i32>,
    /// Name of an external listener whose hostname brokers also use internally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_listener_for_hostname: Option<String>,
}

/// Service settings shared by external listeners and their ingress configurations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressServiceSettings {
    /// Address advertised instead of the load balancer's or node's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_override: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<ExternalTrafficPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ExternalTrafficPolicy {
    Local,
    Cluster,
}

/// Kubernetes Service types usable for external access.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    LoadBalancer,
    NodePort,
    #[serde(rename = "ClusterIP")]
    ClusterIp,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalListenerConfig {
    #[serde(flatten)]
    pub common: CommonListenerSpec,
    #[serde(flatten)]
    pub service: IngressServiceSettings,
    /// External port of broker N is this + N; -1 turns on TLS passthrough on the any-cast port.
    #[schemars(range(min = -1, max = 65535))]
    pub external_starting_port: i32,
    /// Port clients bootstrap from without naming a broker (default 29092).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_cast_port: Option<i32>,
    /// Container port the ingress controller listens on (default 29092).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 65535))]
    pub ingress_controller_target_port: Option<i32>,
    /// How the listener is exposed (default LoadBalancer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_method: Option<ServiceType>,
    /// Per-listener ingress configurations; overrides the cluster's envoyConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ExternalListenerIngressConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    /// Adobe Koperator: the ingress controller of this listener, over `spec.ingressController`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_controller: Option<super::IngressController>,
}

/// The `config` of an external listener: named ingress configurations and the default one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalListenerIngressConfig {
    pub default_ingress_config: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ingress_config: BTreeMap<String, IngressConfig>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressConfig {
    #[serde(flatten)]
    pub service: IngressServiceSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_config: Option<EnvoyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contour_ingress_config: Option<ContourIngressConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_gateway_config: Option<EnvoyGatewayConfig>,
    /// Istio ingress settings of Banzai Cloud Koperator; kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub istio_ingress_config: Option<serde_json::Value>,
}

/// Where listener certificates come from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SslSecrets {
    /// Secret holding the CA (and, when `create` is false, the certificates).
    pub tls_secret_name: String,
    #[serde(rename = "jksPasswordName", default, skip_serializing_if = "Option::is_none")]
    pub jks_password_name: Option<String>,
    /// Generate the CA and certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_ref: Option<IssuerReference>,
    #[serde(rename = "pkiBackend", default, skip_serializing_if = "Option::is_none")]
    pub pki_backend: Option<PkiBackend>,
}

/// A cert-manager issuer reference.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct IssuerReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Who issues certificates (default cert-manager). `operator-ca` (koperator-rs, not in
/// Koperator's API): the operator is the CA, for clusters without cert-manager; it keeps the CA
/// in `tlsSecretName` and the certificates in `<cluster>-server-certificate` and
/// `<cluster>-controller` (keys `ca.crt`, `tls.crt`, `tls.key`, as cert-manager's).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PkiBackend {
    #[serde(rename = "cert-manager")]
    CertManager,
    // Documented on the enum: a documented variant would turn the schema's `enum` into `oneOf`.
    #[serde(rename = "operator-ca")]
    OperatorCa,
    #[serde(rename = "k8s-csr")]
    K8sCsr,
    #[serde(rename = "pki-backend-provided")]
    Provided,
}
