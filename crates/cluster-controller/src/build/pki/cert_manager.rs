//! cert-manager objects for `sslSecrets.create: true` with the default `pkiBackend`
//! (cert-manager): the objects Koperator's `pkg/pki/certmanagerpki` makes, with its names and
//! fields, as dynamic objects (no cert-manager crate). Pure: no client.
//!
//! Without `issuerRef`: a self-signed ClusterIssuer signs the cluster's CA Certificate (in
//! cert-manager's namespace, where a ClusterIssuer reads its Secret), a ClusterIssuer backed by
//! that CA signs the brokers' server certificate and the operator's client certificate. With
//! `issuerRef`: only the two certificates, signed by the user's issuer.
//!
//! Where this differs from Koperator, and why:
//! - Koperator requests the two certificates through KafkaUsers; here they are Certificates
//!   owned by the KafkaCluster, with the names and specs Koperator's KafkaUser controller gives
//!   them (the operator handles no KafkaUser yet).
//! - No JKS keystore and no keystore password: brokers read the PEM files (`tls.key`,
//!   `tls.crt`, `ca.crt`), so no password ends up in a ConfigMap.
//! - The CA is valid for [`super::operator_ca::CA_LIFETIME`] and keeps its key when renewed
//!   (`rotationPolicy: Never`). Koperator leaves cert-manager's defaults (90 days, a new key on
//!   every renewal), which replaces the CA every 60 days: every certificate it signed stops
//!   verifying against the new `ca.crt` until it is reissued.
//! - The certificates' Secrets carry the cluster's labels (`secretTemplate`), so the operator
//!   watches only its own Secrets.
//! - The server certificate also names the all-broker Service with a headless Service
//!   ([`super::names::server_dns_names`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DynamicObject, TypeMeta};
use serde_json::{Value, json};

use super::names::{
    ca_certificate_name, ca_common_name, cluster_issuer_name, controller_certificate_secret_name,
    controller_common_name, pki_labels, secret_labels, self_signer_name, server_certificate_secret_name,
    server_common_name, server_dns_names, server_ip_addresses, spiffe_id,
};
use super::operator_ca::{CA_LIFETIME, LEAF_LIFETIME};
use crate::build::labels::object_meta;
use crate::model::ValidatedCluster;

pub const API_VERSION: &str = "cert-manager.io/v1";
pub const GROUP: &str = "cert-manager.io";
pub const CLUSTER_ISSUER: &str = "ClusterIssuer";
pub const CERTIFICATE: &str = "Certificate";

/// Everything cert-manager is asked for, in the order to apply it (an issuer before what it
/// signs).
#[derive(Clone, Debug, Default)]
pub struct CertManagerObjects {
    pub cluster_issuers: Vec<DynamicObject>,
    pub certificates: Vec<DynamicObject>,
}

impl CertManagerObjects {
    pub fn all(&self) -> impl Iterator<Item = &DynamicObject> {
        self.cluster_issuers.iter().chain(&self.certificates)
    }
}

/// The objects for a cluster with `sslSecrets.create: true`; `cert_manager_namespace` is where
/// cert-manager runs, `external_hosts` what external listeners advertise.
pub fn cert_manager_objects(
    cluster: &ValidatedCluster,
    cert_manager_namespace: &str,
    external_hosts: &[String],
) -> CertManagerObjects {
    let user_issuer = cluster.spec.listeners_config.ssl_secrets.as_ref().and_then(|ssl| ssl.issuer_ref.as_ref());
    let mut objects = CertManagerObjects::default();
    let issuer_ref = match user_issuer {
        Some(issuer) => {
            let mut reference = json!({ "name": issuer.name });
            if let Some(kind) = &issuer.kind {
                reference["kind"] = json!(kind);
            }
            if let Some(group) = &issuer.group {
                reference["group"] = json!(group);
            }
            reference
        }
        None => {
            objects.cluster_issuers.push(self_signer(cluster));
            objects.certificates.push(ca_certificate(cluster, cert_manager_namespace));
            objects.cluster_issuers.push(cluster_issuer(cluster));
            json!({ "name": cluster_issuer_name(cluster), "kind": CLUSTER_ISSUER, "group": GROUP })
        }
    };
    objects.certificates.push(leaf_certificate(
        cluster,
        server_common_name(cluster),
        server_certificate_secret_name(cluster),
        SubjectNames { dns: server_dns_names(cluster, external_hosts), ips: server_ip_addresses(external_hosts) },
        &issuer_ref,
    ));
    objects.certificates.push(leaf_certificate(
        cluster,
        controller_common_name(cluster),
        controller_certificate_secret_name(cluster),
        SubjectNames::default(),
        &issuer_ref,
    ));
    objects
}

/// `<cluster>-self-signer`: signs only the CA.
fn self_signer(cluster: &ValidatedCluster) -> DynamicObject {
    cluster_scoped(cluster, self_signer_name(cluster), json!({ "selfSigned": {} }))
}

/// `<cluster>-ca-certificate` in cert-manager's namespace, Secret of the same name. Cluster
/// scoped issuers read their Secret there; no owner reference can cross namespaces, so it is
/// removed with the cluster by the operator, as Koperator does.
fn ca_certificate(cluster: &ValidatedCluster, cert_manager_namespace: &str) -> DynamicObject {
    let name = ca_certificate_name(cluster);
    let metadata = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(cert_manager_namespace.to_string()),
        labels: Some(pki_labels(cluster)),
        ..Default::default()
    };
    let spec = json!({
        "secretName": name,
        "commonName": ca_common_name(cluster),
        "isCA": true,
        "duration": go_duration(CA_LIFETIME),
        "privateKey": { "rotationPolicy": "Never" },
        "issuerRef": { "name": self_signer_name(cluster), "kind": CLUSTER_ISSUER },
    });
    dynamic(CERTIFICATE, metadata, spec)
}

/// `<namespace>-<cluster>-issuer`: a CA issuer over `<cluster>-ca-certificate`, cluster scoped so
/// that clients in other namespaces can have certificates signed by it.
fn cluster_issuer(cluster: &ValidatedCluster) -> DynamicObject {
    cluster_scoped(
        cluster,
        cluster_issuer_name(cluster),
        json!({ "ca": { "secretName": ca_certificate_name(cluster) } }),
    )
}

/// The subject alternative names of a leaf certificate.
#[derive(Default)]
struct SubjectNames {
    dns: Vec<String>,
    ips: Vec<std::net::IpAddr>,
}

/// A certificate for a holder in the cluster's namespace, as Koperator's KafkaUser controller
/// requests it: named after its common name, PKCS#8 key, usable for client and server auth.
fn leaf_certificate(
    cluster: &ValidatedCluster,
    common_name: String,
    secret_name: String,
    names: SubjectNames,
    issuer_ref: &Value,
) -> DynamicObject {
    let mut spec = json!({
        "secretName": secret_name,
        "privateKey": { "encoding": "PKCS8" },
        "commonName": common_name,
        "uris": [spiffe_id(cluster, &common_name)],
        "usages": ["client auth", "server auth"],
        "issuerRef": issuer_ref,
        "duration": go_duration(LEAF_LIFETIME),
        // Labels the Secret so the operator's Secret watch (filtered by label) sees it.
        "secretTemplate": { "labels": secret_labels(cluster) },
    });
    if !names.dns.is_empty() {
        spec["dnsNames"] = json!(names.dns);
    }
    if !names.ips.is_empty() {
        spec["ipAddresses"] = json!(names.ips.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    dynamic(CERTIFICATE, object_meta(cluster, common_name, pki_labels(cluster)), spec)
}

fn cluster_scoped(cluster: &ValidatedCluster, name: String, spec: Value) -> DynamicObject {
    let metadata = ObjectMeta { name: Some(name), labels: Some(pki_labels(cluster)), ..Default::default() };
    dynamic(CLUSTER_ISSUER, metadata, spec)
}

fn dynamic(kind: &str, metadata: ObjectMeta, spec: Value) -> DynamicObject {
    DynamicObject {
        types: Some(TypeMeta { api_version: API_VERSION.to_string(), kind: kind.to_string() }),
        metadata,
        data: json!({ "spec": spec }),
    }
}

/// A duration as Go's `time.Duration` prints it, which is how cert-manager writes it back
/// (`2160h0m0s`), so an unchanged object compares equal.
fn go_duration(duration: time::Duration) -> String {
    let seconds = duration.whole_seconds();
    format!("{}h{}m{}s", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

#[cfg(test)]
#[path = "cert_manager_tests.rs"]
mod tests;
