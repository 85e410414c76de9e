//! TLS settings of a cluster's Kafka client from the Secret keys the ClusterAccess answer
//! names. The answer carries references only; the material is read from the Secrets
//! (`tls_secrets`) and put together here. No client required.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use kafka_admin::{ClientCertificate, TlsSettings};

/// A Secret, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretName {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.namespace, self.name)
    }
}

/// One key of a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKey {
    pub secret: SecretName,
    pub key: String,
}

/// Where the TLS material of one listener is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSource {
    /// The CA that signed the brokers' certificates.
    pub ca_certificate: SecretKey,
    /// The operator's certificate, for listeners that ask clients for one.
    pub client: Option<ClientSource>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSource {
    pub certificate: SecretKey,
    pub private_key: SecretKey,
}

impl TlsSource {
    /// Every Secret the material comes from (usually one: `<cluster>-controller`).
    pub fn secrets(&self) -> BTreeSet<&SecretName> {
        let client = self.client.iter().flat_map(|c| [&c.certificate.secret, &c.private_key.secret]);
        std::iter::once(&self.ca_certificate.secret).chain(client).collect()
    }
}

/// The data of each Secret a source names, as read from the API; `None` for a Secret that
/// does not exist (yet).
pub type SecretData = BTreeMap<SecretName, Option<BTreeMap<String, ByteString>>>;

/// Why the material is not complete. Certificates are issued after the cluster's Secrets
/// are asked for (cert-manager, the operator's CA), so a missing Secret or key is something
/// to wait for, named in the KafkaTopic's status.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    #[error(
        "waiting for Secret {secret} ({purpose}), which the KafkaCluster's certificate backend creates for \
         spec.listenersConfig.sslSecrets"
    )]
    SecretMissing { secret: SecretName, purpose: &'static str },
    #[error("waiting for key {key} ({purpose}) in Secret {secret}")]
    KeyMissing { secret: SecretName, key: String, purpose: &'static str },
    #[error("key {key} of Secret {secret} is not text ({purpose}, PEM expected): replace it")]
    NotText { secret: SecretName, key: String, purpose: &'static str },
}

const CA_PURPOSE: &str = "the CA certificate that signed the brokers' certificates";
const CERTIFICATE_PURPOSE: &str = "the operator's client certificate";
const KEY_PURPOSE: &str = "the operator's client key";

/// The client's TLS settings, or the first Secret or key that is missing.
pub fn tls_settings(source: &TlsSource, secrets: &SecretData) -> Result<TlsSettings, MaterialError> {
    let ca_pem = read(secrets, &source.ca_certificate, CA_PURPOSE)?;
    let client = match &source.client {
        None => None,
        Some(client) => Some(ClientCertificate {
            certificate_pem: read(secrets, &client.certificate, CERTIFICATE_PURPOSE)?,
            private_key_pem: read(secrets, &client.private_key, KEY_PURPOSE)?,
        }),
    };
    Ok(TlsSettings { ca_pem, client })
}

/// An empty value counts as missing: nothing a client could use, and a Secret may be written
/// before its certificate is issued.
fn read(secrets: &SecretData, at: &SecretKey, purpose: &'static str) -> Result<String, MaterialError> {
    let data = secrets
        .get(&at.secret)
        .and_then(Option::as_ref)
        .ok_or_else(|| MaterialError::SecretMissing { secret: at.secret.clone(), purpose })?;
    let missing = || MaterialError::KeyMissing { secret: at.secret.clone(), key: at.key.clone(), purpose };
    let bytes = data.get(&at.key).filter(|value| !value.0.is_empty()).ok_or_else(missing)?;
    String::from_utf8(bytes.0.clone()).map_err(|_| MaterialError::NotText {
        secret: at.secret.clone(),
        key: at.key.clone(),
        purpose,
    })
}

/// The settings last built for a cluster and the Secret versions they were built from: a
/// pass compares versions (a metadata read) and builds again only when a Secret changed,
/// e.g. when its certificate was renewed.
#[derive(Debug)]
pub struct CachedMaterial {
    pub source: TlsSource,
    pub versions: BTreeMap<SecretName, String>,
    pub settings: TlsSettings,
}

impl CachedMaterial {
    /// Whether these settings still hold for `source` whose Secrets are now at `versions`
    /// (`None`: the Secret is gone or has no version).
    pub fn is_current(&self, source: &TlsSource, versions: &BTreeMap<SecretName, Option<String>>) -> bool {
        self.source == *source
            && versions.len() == self.versions.len()
            && versions
                .iter()
                .all(|(secret, version)| version.is_some() && self.versions.get(secret) == version.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str) -> SecretName {
        SecretName { namespace: "kafka".into(), name: name.into() }
    }

    fn key(name: &str, key: &str) -> SecretKey {
        SecretKey { secret: secret(name), key: key.into() }
    }

    fn mutual(name: &str) -> TlsSource {
        TlsSource {
            ca_certificate: key(name, "ca.crt"),
            client: Some(ClientSource { certificate: key(name, "tls.crt"), private_key: key(name, "tls.key") }),
        }
    }

    fn data(entries: &[(&str, &str)]) -> Option<BTreeMap<String, ByteString>> {
        Some(entries.iter().map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec()))).collect())
    }

    fn controller_secret() -> SecretData {
        let entries = [("ca.crt", "CA PEM"), ("tls.crt", "CERT PEM"), ("tls.key", "KEY PEM")];
        [(secret("kafka-controller"), data(&entries))].into()
    }

    #[test]
    fn settings_come_from_the_named_keys() {
        let settings = tls_settings(&mutual("kafka-controller"), &controller_secret()).expect("complete");
        assert_eq!(settings.ca_pem, "CA PEM");
        let client = settings.client.expect("client certificate");
        assert_eq!((client.certificate_pem.as_str(), client.private_key_pem.as_str()), ("CERT PEM", "KEY PEM"));

        let server_only = TlsSource { client: None, ..mutual("kafka-controller") };
        let settings = tls_settings(&server_only, &controller_secret()).expect("complete");
        assert_eq!((settings.ca_pem.as_str(), settings.client.is_none()), ("CA PEM", true));
    }

    #[test]
    fn a_missing_secret_or_key_is_named() {
        let missing = tls_settings(&mutual("kafka-controller"), &[(secret("kafka-controller"), None)].into());
        let error = missing.expect_err("no Secret").to_string();
        assert!(error.starts_with("waiting for Secret kafka/kafka-controller (the CA certificate"), "{error}");
        assert!(error.contains("spec.listenersConfig.sslSecrets"), "{error}");
        let never_read = tls_settings(&mutual("kafka-controller"), &SecretData::new()).expect_err("not read");
        assert!(matches!(never_read, MaterialError::SecretMissing { .. }), "{never_read:?}");

        let no_key = [(secret("kafka-controller"), data(&[("ca.crt", "CA PEM"), ("tls.crt", "CERT PEM")]))].into();
        let error = tls_settings(&mutual("kafka-controller"), &no_key).expect_err("no key").to_string();
        assert_eq!(error, "waiting for key tls.key (the operator's client key) in Secret kafka/kafka-controller");

        let empty = [(secret("kafka-controller"), data(&[("ca.crt", ""), ("tls.crt", "C"), ("tls.key", "K")]))];
        let error = tls_settings(&mutual("kafka-controller"), &empty.into()).expect_err("empty").to_string();
        assert!(error.starts_with("waiting for key ca.crt (the CA certificate"), "{error}");
    }

    #[test]
    fn binary_data_is_refused_by_key() {
        let mut secrets = controller_secret();
        let data = secrets.get_mut(&secret("kafka-controller")).and_then(Option::as_mut).expect("data");
        data.insert("tls.crt".into(), ByteString(vec![0xff, 0xfe]));
        let error = tls_settings(&mutual("kafka-controller"), &secrets).expect_err("binary");
        assert_eq!(
            error,
            MaterialError::NotText {
                secret: secret("kafka-controller"),
                key: "tls.crt".into(),
                purpose: CERTIFICATE_PURPOSE
            }
        );
    }

    #[test]
    fn material_is_current_until_a_secret_or_the_source_changes() {
        let source = mutual("kafka-controller");
        assert_eq!(source.secrets().len(), 1, "one Secret holds all three keys");
        let cached = CachedMaterial {
            source: source.clone(),
            versions: [(secret("kafka-controller"), "7".to_owned())].into(),
            settings: tls_settings(&source, &controller_secret()).expect("complete"),
        };
        let at = |version: Option<&str>| [(secret("kafka-controller"), version.map(str::to_owned))].into();
        assert!(cached.is_current(&source, &at(Some("7"))));
        assert!(!cached.is_current(&source, &at(Some("8"))), "a renewed certificate is read again");
        assert!(!cached.is_current(&source, &at(None)), "a deleted Secret is read again");
        let other_listener = TlsSource { client: None, ..source.clone() };
        assert!(!cached.is_current(&other_listener, &at(Some("7"))), "another source is built anew");
        let moved = mutual("other-controller");
        let versions = [(secret("other-controller"), Some("7".to_owned()))].into();
        assert!(!cached.is_current(&moved, &versions));
    }
}
