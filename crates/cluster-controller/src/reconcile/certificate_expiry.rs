//! `koperator_cluster_controller_certificate_expiry_timestamp_seconds{namespace,kafka_cr,secret,key}`:
//! when each certificate a cluster's Secrets hold expires (the operator's CA and leaves, the
//! user's certificates), so an alert can say a renewal failed, or that a certificate the
//! operator does not renew is running out, weeks before clients see the TLS error.
//!
//! Published from each pass's observation; a Secret no longer observed loses its series.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::Secret;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use operator_runtime::MetricsRegistry;

use crate::build::pki::inspect::certificate_facts;
use crate::build::pki::secrets::{CA_CERTIFICATE_KEY, CERTIFICATE_KEY, read_text};

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct CertificateLabels {
    pub namespace: String,
    pub kafka_cr: String,
    pub secret: String,
    /// `tls.crt` or `ca.crt`.
    pub key: String,
}

/// The series each cluster (namespace, name) published last.
type Published = HashMap<(String, String), BTreeSet<CertificateLabels>>;

/// The gauges, and which series each cluster published last (to drop the ones that went).
#[derive(Clone, Default)]
pub struct CertificateExpiry {
    gauges: Family<CertificateLabels, Gauge>,
    published: Arc<Mutex<Published>>,
}

impl CertificateExpiry {
    /// Registered once per process.
    pub fn register(registry: &MetricsRegistry) -> Self {
        let expiry = Self::default();
        registry.register(
            "cluster_controller_certificate_expiry_timestamp_seconds",
            "When a certificate in a KafkaCluster's Secrets expires (Unix time), by Secret and key",
            expiry.gauges.clone(),
        );
        expiry
    }

    /// Publishes the expiry of every certificate in `secrets` (a pass's observation of a cluster).
    pub fn publish(&self, namespace: &str, cluster: &str, secrets: &BTreeMap<String, Arc<Secret>>) {
        let now = expiries(namespace, cluster, secrets);
        let mut published = self.published.lock().unwrap_or_else(PoisonError::into_inner);
        let before = published.entry((namespace.to_owned(), cluster.to_owned())).or_default();
        for gone in before.iter().filter(|labels| !now.contains_key(*labels)) {
            self.gauges.remove(gone);
        }
        for (labels, expires) in &now {
            self.gauges.get_or_create(labels).set(*expires);
        }
        *before = now.into_keys().collect();
    }

    /// Drops a deleted cluster's series.
    pub fn forget(&self, namespace: &str, cluster: &str) {
        let mut published = self.published.lock().unwrap_or_else(PoisonError::into_inner);
        for labels in published.remove(&(namespace.to_owned(), cluster.to_owned())).unwrap_or_default() {
            self.gauges.remove(&labels);
        }
    }
}

/// The expiry (Unix seconds) of the first certificate under `tls.crt` and `ca.crt` of each
/// Secret; Secrets without a readable certificate (SCRAM passwords, tokens) have none.
pub fn expiries(
    namespace: &str,
    cluster: &str,
    secrets: &BTreeMap<String, Arc<Secret>>,
) -> BTreeMap<CertificateLabels, i64> {
    let mut found = BTreeMap::new();
    for (name, secret) in secrets {
        for key in [CERTIFICATE_KEY, CA_CERTIFICATE_KEY] {
            let Ok(pem) = read_text(secret, key) else { continue };
            let Ok(facts) = certificate_facts(&pem) else { continue };
            let labels = CertificateLabels {
                namespace: namespace.to_owned(),
                kafka_cr: cluster.to_owned(),
                secret: name.clone(),
                key: key.to_owned(),
            };
            found.insert(labels, facts.validity.not_after.unix_timestamp());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use time::{Duration, OffsetDateTime};

    use crate::build::pki::operator_ca::{CertificateAuthority, Validity};

    fn secret(data: &[(&str, &str)]) -> Arc<Secret> {
        let data = data.iter().map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec()))).collect();
        Arc::new(Secret { data: Some(data), ..Secret::default() })
    }

    #[test]
    fn every_certificate_is_published_and_a_gone_secret_loses_its_series() {
        let now = OffsetDateTime::now_utc();
        let validity = Validity::starting(now, Duration::days(30));
        let ca = CertificateAuthority::generate("kafka-ca", validity).expect("a CA");
        let pem = ca.pem().certificate_pem.clone();
        let mut secrets = BTreeMap::from([
            ("kafka-ca".to_owned(), secret(&[("ca.crt", &pem), ("tls.crt", &pem)])),
            ("kafka-scram".to_owned(), secret(&[("password", "secret")])),
            ("broken".to_owned(), secret(&[("tls.crt", "not a certificate")])),
        ]);
        let found = expiries("ns", "kafka", &secrets);
        let keys: Vec<(&str, &str)> = found.keys().map(|l| (l.secret.as_str(), l.key.as_str())).collect();
        assert_eq!(keys, [("kafka-ca", "ca.crt"), ("kafka-ca", "tls.crt")]);
        assert!(found.values().all(|expires| *expires == validity.not_after.unix_timestamp()));

        let registry = MetricsRegistry::default();
        let expiry = CertificateExpiry::register(&registry);
        expiry.publish("ns", "kafka", &secrets);
        let text = registry.encode().expect("encodes");
        let series = format!(
            "koperator_cluster_controller_certificate_expiry_timestamp_seconds{{namespace=\"ns\",kafka_cr=\"kafka\",secret=\"kafka-ca\",key=\"ca.crt\"}} {}",
            validity.not_after.unix_timestamp()
        );
        assert!(text.contains(&series), "{text}");

        secrets.remove("kafka-ca");
        expiry.publish("ns", "kafka", &secrets);
        assert!(!registry.encode().expect("encodes").contains("secret=\"kafka-ca\""));
        expiry.publish("ns", "kafka", &BTreeMap::from([("kafka-ca".to_owned(), secret(&[("ca.crt", &pem)]))]));
        expiry.forget("ns", "kafka");
        assert!(!registry.encode().expect("encodes").contains("kafka-ca"));
    }
}
