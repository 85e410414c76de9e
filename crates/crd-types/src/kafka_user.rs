//! `KafkaUser` (`kafka.banzaicloud.io/v1alpha1`): a client identity with its certificate and ACLs.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::cluster_reference::ClusterReference;
use crate::kafka_cluster::IssuerReference;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kafka.banzaicloud.io",
    version = "v1alpha1",
    kind = "KafkaUser",
    namespaced,
    status = "KafkaUserStatus",
    shortname = "ku",
    category = "kafka",
    printcolumn = r#"{"name":"Secret","type":"string","jsonPath":".spec.secretName"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KafkaUserSpec {
    /// Secret that receives the user's certificate (unique within the namespace).
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub secret_name: String,
    pub cluster_ref: ClusterReference,
    /// Annotations placed on the certificate or certificate signing request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "dnsNames", default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 256))]
    pub topic_grants: Vec<UserTopicGrant>,
    /// Also put a JKS keystore and truststore in the secret.
    #[serde(rename = "includeJKS", default, skip_serializing_if = "Option::is_none")]
    pub include_jks: Option<bool>,
    /// Issue a certificate (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_cert: Option<bool>,
    #[serde(rename = "pkiBackendSpec", default, skip_serializing_if = "Option::is_none")]
    pub pki_backend_spec: Option<PkiBackendSpec>,
    /// Certificate validity; at least one hour (default 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3600))]
    pub expiration_seconds: Option<i32>,
    /// Beyond Koperator: a SCRAM-SHA-512 credential for the cluster's SASL listeners, principal
    /// `User:<metadata.name>`. The password is generated, or read from `passwordSecret`; the
    /// user's Secret (`secretName`) gets it as `password` (with `includeJKS` that key is the key
    /// stores' password: SCRAM's is then `scram-password`) and a ready `sasl.jaas.config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram: Option<ScramCredentialSpec>,
    /// Beyond Koperator: client quotas Kafka enforces for the user's principals (the
    /// certificate's and the SCRAM one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<UserQuotaSpec>,
}

/// Where a SCRAM user's password comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScramCredentialSpec {
    /// A key of a Secret in the user's namespace holding the password; unset: a password is
    /// generated once and kept in the user's Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyReference>,
}

/// One key of a Secret in the object's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Kafka's user quotas (`producer_byte_rate`, `consumer_byte_rate`, `request_percentage`); an
/// unset one is not enforced (and removed if it was set before).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserQuotaSpec {
    /// Bytes per second the user may produce, per broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub producer_byte_rate: Option<i64>,
    /// Bytes per second the user may fetch, per broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub consumer_byte_rate: Option<i64>,
    /// Percent of a broker's request handler and network threads' time, per broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub request_percentage: Option<i32>,
}

/// Koperator's finalizer on a KafkaUser (its ACLs are removed before the object goes); kept so
/// that a KafkaUser Koperator made is finalized by us, and one of ours by Koperator.
pub const KAFKA_USER_FINALIZER: &str = "finalizer.kafkausers.kafka.banzaicloud.io";

/// Certificate validity when `expirationSeconds` is not set: 90 days, Koperator's default.
pub const DEFAULT_CERTIFICATE_SECONDS: i32 = 90 * 24 * 60 * 60;

/// The keys of the user's Secret (`spec.secretName`), as Koperator writes them: the PEM trio
/// always, the Java stores and their password with `includeJKS: true`.
pub mod secret_keys {
    pub const CA_CERT: &str = "ca.crt";
    pub const CERT: &str = "tls.crt";
    pub const KEY: &str = "tls.key";
    pub const KEYSTORE: &str = "keystore.jks";
    pub const TRUSTSTORE: &str = "truststore.jks";
    pub const PASSWORD: &str = "password";
}

impl KafkaUserSpec {
    /// Koperator issues a certificate unless `createCert: false`.
    pub fn creates_certificate(&self) -> bool {
        self.create_cert.unwrap_or(true)
    }

    /// `expirationSeconds`, or Koperator's 90 days.
    pub fn certificate_seconds(&self) -> i32 {
        self.expiration_seconds.unwrap_or(DEFAULT_CERTIFICATE_SECONDS)
    }
}

impl UserTopicGrant {
    /// `patternType`, or `literal` when it is not set (Koperator's `KafkaPatternTypeDefault`).
    pub fn pattern_type_or_default(&self) -> PatternType {
        self.pattern_type.unwrap_or(PatternType::Literal)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PkiBackendSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_ref: Option<IssuerReference>,
    pub pki_backend: UserPkiBackend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum UserPkiBackend {
    #[default]
    #[serde(rename = "cert-manager")]
    CertManager,
    #[serde(rename = "k8s-csr")]
    K8sCsr,
}

/// Access to topics granted through Kafka ACLs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTopicGrant {
    /// A topic name, a prefix (`prefixed`) or `*` for all topics.
    #[schemars(length(min = 1, max = 249))]
    pub topic_name: String,
    pub access_type: AccessType,
    /// How `topicName` matches (default literal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_type: Option<PatternType>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessType {
    #[default]
    Read,
    Write,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PatternType {
    Literal,
    Match,
    Prefixed,
    Any,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaUserStatus {
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// The ACLs in force, in Kafka's notation.
    #[serde(rename = "acls", default, skip_serializing_if = "Vec::is_empty")]
    pub acls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Created,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> KafkaUserSpec {
        serde_yaml::from_str(yaml).expect("a KafkaUser spec")
    }

    /// Koperator's defaults for what a manifest leaves out: a certificate, valid 90 days, and
    /// grants matching the topic name literally.
    #[test]
    fn unset_fields_mean_what_they_mean_to_koperator() {
        let user = spec(
            "clusterRef: {name: kafka}\n\
             secretName: my-producer-tls\n\
             topicGrants:\n\
             - {topicName: my-topic, accessType: write}\n\
             - {topicName: metrics., accessType: read, patternType: prefixed}\n",
        );
        assert!(user.creates_certificate());
        assert_eq!(user.certificate_seconds(), 7_776_000);
        assert_eq!(user.topic_grants[0].pattern_type_or_default(), PatternType::Literal);
        assert_eq!(user.topic_grants[1].pattern_type_or_default(), PatternType::Prefixed);

        let user = spec("clusterRef: {name: kafka}\nsecretName: s\ncreateCert: false\nexpirationSeconds: 3600\n");
        assert!(!user.creates_certificate());
        assert_eq!(user.certificate_seconds(), 3600);
        assert_eq!((user.scram, user.quotas), (None, None));
    }

    /// Our SCRAM and quota fields, beside Koperator's.
    #[test]
    fn scram_and_quotas_read_as_written() {
        let user = spec(
            "clusterRef: {name: kafka}\nsecretName: carol\ncreateCert: false\n\
             scram: {passwordSecret: {name: carol-password, key: password}}\n\
             quotas: {producerByteRate: 1048576, requestPercentage: 50}\n",
        );
        let password = user.scram.and_then(|scram| scram.password_secret).expect("a password Secret");
        assert_eq!((password.name.as_str(), password.key.as_str()), ("carol-password", "password"));
        let quotas = user.quotas.expect("quotas");
        assert_eq!(
            (quotas.producer_byte_rate, quotas.consumer_byte_rate, quotas.request_percentage),
            (Some(1048576), None, Some(50))
        );
        assert_eq!(
            spec("clusterRef: {name: kafka}\nsecretName: s\nscram: {}\n").scram,
            Some(ScramCredentialSpec::default())
        );
    }
}
