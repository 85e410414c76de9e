//! A KafkaUser's client certificate: whether the one stored in its Secret still serves, and the
//! objects that hold it (pure; no client). The pass reads the Secret, asks [`verdict`], and
//! issues or applies what the builders here return.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde_json::{Value, json};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crd_types::KafkaUser;
use crd_types::kafka_user::secret_keys;

use super::java_stores::JavaStores;
use super::request::UserRequest;
use crate::access::UserIssuer;

/// cert-manager's annotation on a Secret it writes, naming the Certificate.
const CERTIFICATE_NAME_ANNOTATION: &str = "cert-manager.io/certificate-name";
/// Certificates start this long before they are signed (the cluster controller's clock skew
/// allowance), so their lifetime is `expirationSeconds` plus this.
const CLOCK_SKEW_SECONDS: i64 = 300;
/// A stored lifetime this far from the spec's counts as the spec's.
const LIFETIME_TOLERANCE_SECONDS: i64 = 120;

/// What the pass read of the user's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSecret {
    /// uids of the Secret's owners: the KafkaUser's when this controller (or Koperator) made it.
    pub owner_uids: Vec<String>,
    /// The text keys (PEM, password).
    pub data: BTreeMap<String, String>,
    /// Every non-empty key, text or not (the Java stores are binary).
    pub keys: Vec<String>,
    /// The cert-manager Certificate that wrote the Secret (its `cert-manager.io/certificate-name`).
    pub certificate_name: Option<String>,
    /// The digest of the SCRAM password last set in Kafka ([`super::credentials`]).
    pub scram_digest: Option<String>,
}

impl StoredSecret {
    pub fn from_secret(secret: &Secret) -> Self {
        let owner_uids = secret.metadata.owner_references.iter().flatten().map(|owner| owner.uid.clone()).collect();
        let data = secret
            .data
            .iter()
            .flatten()
            .filter_map(|(key, value)| Some((key.clone(), String::from_utf8(value.0.clone()).ok()?)))
            .collect();
        let keys = secret.data.iter().flatten().filter(|(_, v)| !v.0.is_empty()).map(|(k, _)| k.clone()).collect();
        let annotation = |key: &str| secret.metadata.annotations.as_ref().and_then(|a| a.get(key)).cloned();
        let certificate_name = annotation(CERTIFICATE_NAME_ANNOTATION);
        let scram_digest = annotation(super::credentials::PASSWORD_DIGEST_ANNOTATION);
        Self { owner_uids, data, keys, certificate_name, scram_digest }
    }

    /// Made for `user`: owned by it (the operator's CA), or written by cert-manager for the
    /// Certificate named after it (cert-manager sets no owner on its Secrets).
    pub fn belongs_to(&self, user: &UserRequest) -> bool {
        self.owner_uids.contains(&user.uid) || self.certificate_name.as_deref() == Some(user.resource.name.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// Whether the stored certificate serves, for the operator's CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serves until `renew_at` (unix seconds).
    Valid { not_after: i64 },
    /// Issue one: nothing stored, or what is stored no longer serves (the reason).
    Issue(String),
    /// A Secret of that name exists that is not this KafkaUser's: it is never overwritten.
    Foreign,
}

/// The stored certificate against the spec, the cluster's CA bundle and the time: issued again
/// when missing, unreadable, named otherwise, of another lifetime, signed under another CA
/// bundle, or with less than a third of its lifetime left (cert-manager's default renewal).
pub fn verdict(request: &UserRequest, stored: Option<&StoredSecret>, ca_bundle: &str, now: i64) -> Verdict {
    let Some(stored) = stored else { return Verdict::Issue("no certificate yet".into()) };
    if !stored.belongs_to(request) {
        return Verdict::Foreign;
    }
    if ![secret_keys::CA_CERT, secret_keys::CERT, secret_keys::KEY].iter().all(|key| stored.has(key)) {
        return Verdict::Issue("the Secret lacks ca.crt, tls.crt or tls.key".into());
    }
    let java = [secret_keys::KEYSTORE, secret_keys::TRUSTSTORE, secret_keys::PASSWORD];
    if request.spec.include_jks == Some(true) && !java.iter().all(|key| stored.has(key)) {
        return Verdict::Issue("spec.includeJKS: the Java key stores are missing".into());
    }
    let facts = match CertificateFacts::read(&stored.data[secret_keys::CERT]) {
        Ok(facts) => facts,
        Err(why) => return Verdict::Issue(format!("tls.crt cannot be read: {why}")),
    };
    if facts.common_name != request.resource.name {
        return Verdict::Issue(format!("its common name is {}", facts.common_name));
    }
    let mut wanted_names = request.spec.dns_names.clone();
    wanted_names.sort();
    if facts.dns_names != wanted_names {
        return Verdict::Issue("spec.dnsNames changed".into());
    }
    let lifetime = facts.not_after - facts.not_before;
    let wanted = i64::from(request.spec.certificate_seconds()) + CLOCK_SKEW_SECONDS;
    if (lifetime - wanted).abs() > LIFETIME_TOLERANCE_SECONDS {
        return Verdict::Issue("spec.expirationSeconds changed".into());
    }
    if stored.data[secret_keys::CA_CERT].trim() != ca_bundle.trim() {
        return Verdict::Issue("the cluster's CA changed".into());
    }
    let renew_at = facts.not_after - lifetime / 3;
    if now >= renew_at {
        return Verdict::Issue(format!("renewal due (valid until {})", unix_time(facts.not_after)));
    }
    Verdict::Valid { not_after: facts.not_after }
}

/// What a certificate says about its holder and lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    pub common_name: String,
    /// Sorted.
    pub dns_names: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
}

impl CertificateFacts {
    /// The first certificate of `pem_text`.
    pub fn read(pem_text: &str) -> Result<Self, String> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).map_err(|e| e.to_string())?;
        let (_, certificate) = X509Certificate::from_der(&pem.contents).map_err(|e| e.to_string())?;
        let common_name = certificate
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut dns_names: Vec<String> = certificate
            .subject_alternative_name()
            .map_err(|e| e.to_string())?
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        dns_names.sort();
        let validity = certificate.validity();
        Ok(Self {
            common_name,
            dns_names,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
        })
    }
}

/// RFC 3339, for messages.
pub fn unix_time(seconds: i64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| seconds.to_string())
}

/// The user's Secret before cert-manager writes it: the Java stores' password alone.
pub fn password_secret(request: &UserRequest, password: &str) -> Secret {
    let data = [(secret_keys::PASSWORD.to_owned(), ByteString(password.as_bytes().to_vec()))].into();
    Secret { metadata: secret_metadata(request), data: Some(data), ..Default::default() }
}

/// The KafkaUser as owner (controller) of what is made for it: Kubernetes' garbage collector
/// removes those objects with it, should the finalizer ever be removed by hand.
pub fn owner_reference(request: &UserRequest) -> OwnerReference {
    OwnerReference {
        api_version: KafkaUser::api_version(&()).into_owned(),
        kind: KafkaUser::kind(&()).into_owned(),
        name: request.resource.name.clone(),
        uid: request.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The user's Secret with the operator CA's certificate, laid out as Koperator's (and
/// cert-manager's): `ca.crt`, `tls.crt`, `tls.key`, and with `includeJKS` `keystore.jks`,
/// `truststore.jks` and `password`.
pub fn user_secret(
    request: &UserRequest,
    ca_pem: &str,
    certificate_pem: &str,
    private_key_pem: &str,
    java: Option<&JavaStores>,
) -> Secret {
    let mut data: BTreeMap<String, ByteString> =
        [(secret_keys::CA_CERT, ca_pem), (secret_keys::CERT, certificate_pem), (secret_keys::KEY, private_key_pem)]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), ByteString(value.as_bytes().to_vec())))
            .collect();
    if let Some(java) = java {
        data.insert(secret_keys::KEYSTORE.to_owned(), ByteString(java.keystore.clone()));
        data.insert(secret_keys::TRUSTSTORE.to_owned(), ByteString(java.truststore.clone()));
        data.insert(secret_keys::PASSWORD.to_owned(), ByteString(java.password.as_bytes().to_vec()));
    }
    Secret {
        metadata: secret_metadata(request),
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(data),
        ..Default::default()
    }
}

/// `spec.secretName`, labelled with the cluster, owned by the user.
fn secret_metadata(request: &UserRequest) -> ObjectMeta {
    ObjectMeta {
        name: Some(request.spec.secret_name.clone()),
        namespace: Some(request.resource.namespace.clone()),
        labels: Some(user_labels(request)),
        owner_references: Some(vec![owner_reference(request)]),
        ..Default::default()
    }
}

fn user_labels(request: &UserRequest) -> BTreeMap<String, String> {
    [(crd_types::labels::KAFKA_CR.to_owned(), request.cluster.name.clone())].into()
}

/// The cert-manager Certificate Koperator makes for a user: named after it, CN = its name,
/// PKCS#8 key, client and server usages, `expirationSeconds` as duration, `dnsNames`, JKS key
/// stores with `includeJKS` (password from the Secret's `password`), and `spec.annotations`
/// on the Certificate. The issuer is `pkiBackendSpec.issuerRef`, else the
/// cluster's.
pub fn cert_manager_certificate(request: &UserRequest, cluster_issuer: &UserIssuer) -> Option<Value> {
    let issuer_ref = match (request.spec.pki_backend_spec.as_ref().and_then(|p| p.issuer_ref.as_ref()), cluster_issuer)
    {
        (Some(issuer), _) => json!({
            "name": issuer.name,
            "kind": issuer.kind.clone().unwrap_or_else(|| "Issuer".to_owned()),
            "group": issuer.group.clone().unwrap_or_else(|| "cert-manager.io".to_owned()),
        }),
        (None, UserIssuer::CertManager { name, kind, group }) => json!({ "name": name, "kind": kind, "group": group }),
        (None, UserIssuer::OperatorCa) => return None,
    };
    let mut spec = json!({
        "secretName": request.spec.secret_name,
        "commonName": request.resource.name,
        "privateKey": { "encoding": "PKCS8" },
        "usages": ["client auth", "server auth"],
        "issuerRef": issuer_ref,
        "duration": format!("{}s", request.spec.certificate_seconds()),
    });
    if !request.spec.dns_names.is_empty() {
        spec["dnsNames"] = json!(request.spec.dns_names);
    }
    if request.spec.include_jks == Some(true) {
        let password = json!({ "name": request.spec.secret_name, "key": secret_keys::PASSWORD });
        spec["keystores"] = json!({ "jks": { "create": true, "passwordSecretRef": password } });
    }
    Some(json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": request.resource.name,
            "namespace": request.resource.namespace,
            "labels": user_labels(request),
            "annotations": request.spec.annotations,
            "ownerReferences": [owner_reference(request)],
        },
        "spec": spec,
    }))
}

/// Whether the stored Certificate (as read) already is `desired`: every field this controller
/// sets has the value it sets (cert-manager and others may add their own).
pub fn certificate_matches(stored: &Value, desired: &Value) -> bool {
    contains(stored, desired)
}

fn contains(stored: &Value, desired: &Value) -> bool {
    match (stored, desired) {
        (Value::Object(stored), Value::Object(desired)) => desired
            .iter()
            .filter(|(key, _)| key.as_str() != "apiVersion" && key.as_str() != "kind")
            .all(|(key, value)| stored.get(key).is_some_and(|s| contains(s, value)) || is_empty(value)),
        _ => stored == desired,
    }
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.is_empty())
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
