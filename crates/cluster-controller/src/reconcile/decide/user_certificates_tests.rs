//! The user's certificates: each bad input is one problem naming the Secret, the key and the
//! fix; good ones give the brokers' fingerprint and the operator's client settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{LocalObjectReference, Secret};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::build::pki::operator_ca::{CertificateAuthority, LeafRequest, Validity};
use crate::build::tests::load;
use crate::model::validate;

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";
const SECRET: &str = "my-certificates";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time")
}

/// Koperator's SSL sample with `create: false` and `tlsSecretName: my-certificates`.
fn user_cluster() -> ValidatedCluster {
    let mut cluster = load(SSL_SAMPLE);
    let ssl = cluster.spec.listeners_config.ssl_secrets.as_mut().expect("the sample has sslSecrets");
    ssl.create = Some(false);
    ssl.tls_secret_name = SECRET.into();
    validate(&cluster).expect("valid")
}

struct Pki {
    ca: CertificateAuthority,
}

impl Pki {
    fn new() -> Self {
        let validity = Validity::starting(now() - Duration::days(1), Duration::days(365));
        Self { ca: CertificateAuthority::generate("user-ca", validity).expect("a CA") }
    }

    fn leaf(&self, name: &str, validity: Validity) -> KeyAndCertificate {
        let request = LeafRequest { common_name: name.into(), dns_names: vec![name.into()], ..Default::default() };
        self.ca.issue(&request, validity).expect("a leaf")
    }

    fn valid_leaf(&self, name: &str) -> KeyAndCertificate {
        self.leaf(name, Validity::starting(now() - Duration::hours(1), Duration::days(30)))
    }

    /// Every key Koperator's layout names, each valid.
    fn secret_data(&self) -> BTreeMap<String, String> {
        let (peer, client) = (self.valid_leaf("kafka"), self.valid_leaf("operator"));
        BTreeMap::from([
            (CA_CERTIFICATE.into(), self.ca.pem().certificate_pem.clone()),
            ("caKey".into(), self.ca.pem().private_key_pem.clone()),
            (PEER_CERTIFICATE.into(), peer.certificate_pem),
            (PEER_KEY.into(), peer.private_key_pem),
            (CLIENT_CERTIFICATE.into(), client.certificate_pem),
            (CLIENT_KEY.into(), client.private_key_pem),
        ])
    }
}

fn secret(name: &str, data: &BTreeMap<String, String>) -> Arc<Secret> {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.into());
    secret.metadata.resource_version = Some("7".into());
    secret.data = Some(data.iter().map(|(key, value)| (key.clone(), ByteString(value.as_bytes().to_vec()))).collect());
    Arc::new(secret)
}

fn secrets(data: &BTreeMap<String, String>) -> BTreeMap<String, Arc<Secret>> {
    BTreeMap::from([(SECRET.to_string(), secret(SECRET, data))])
}

fn problems(cluster: &ValidatedCluster, secrets: &BTreeMap<String, Arc<Secret>>) -> Vec<String> {
    check(cluster, secrets, now()).expect("user certificates").expect_err("a problem")
}

#[test]
fn good_certificates_give_the_serial_and_the_operators_client() {
    let cluster = user_cluster();
    let pki = Pki::new();
    let data = pki.secret_data();
    let checked = check(&cluster, &secrets(&data), now()).expect("user certificates").expect("valid");
    let serial = certificate_facts(&data[PEER_CERTIFICATE]).expect("readable").serial;
    assert_eq!(checked.server_fingerprint, serial);
    let client = checked.client.expect("the sample's inter-broker listener is ssl");
    assert_eq!(client.ca_pem, data[CA_CERTIFICATE]);
    assert_eq!(client.client.expect("a client certificate").certificate_pem, data[CLIENT_CERTIFICATE]);
}

#[test]
fn certificates_the_operator_makes_are_not_checked_here() {
    let mut cluster = user_cluster();
    cluster.spec.listeners_config.ssl_secrets.as_mut().expect("sslSecrets").create = Some(true);
    assert_eq!(check(&cluster, &BTreeMap::new(), now()), None);
}

#[test]
fn a_missing_secret_names_itself_and_the_keys() {
    let found = problems(&user_cluster(), &BTreeMap::new());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("Secret my-certificates (spec.listenersConfig.sslSecrets.tlsSecretName) does not exist")
            && found[0].contains("caCert, peerCert, peerKey, clientCert and clientKey"),
        "{found:?}"
    );
}

#[test]
fn a_missing_key_is_named() {
    let mut data = Pki::new().secret_data();
    data.remove(PEER_KEY);
    let found = problems(&user_cluster(), &secrets(&data));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("Secret my-certificates (spec.listenersConfig.sslSecrets.tlsSecretName) has no peerKey")
    );
}

#[test]
fn unparseable_pem_is_named() {
    let mut data = Pki::new().secret_data();
    data.insert(CLIENT_CERTIFICATE.into(), "-----BEGIN CERTIFICATE-----\nnot base64\n".into());
    let found = problems(&user_cluster(), &secrets(&data));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("clientCert of Secret my-certificates is not a PEM certificate"), "{found:?}");
}

#[test]
fn a_key_of_another_certificate_is_named() {
    let pki = Pki::new();
    let mut data = pki.secret_data();
    let other = pki.valid_leaf("other");
    data.insert(PEER_KEY.into(), other.private_key_pem);
    let found = problems(&user_cluster(), &secrets(&data));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("peerKey of Secret my-certificates is not the key of peerCert"), "{found:?}");
}

#[test]
fn an_expired_certificate_is_named_with_its_end() {
    let pki = Pki::new();
    let mut data = pki.secret_data();
    let expired =
        pki.leaf("kafka", Validity { not_before: now() - Duration::days(2), not_after: now() - Duration::days(1) });
    data.insert(PEER_CERTIFICATE.into(), expired.certificate_pem);
    data.insert(PEER_KEY.into(), expired.private_key_pem);
    let found = problems(&user_cluster(), &secrets(&data));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("peerCert of Secret my-certificates expired at "), "{found:?}");
    assert!(found[0].ends_with("put a renewed certificate in it"), "{found:?}");
}

#[test]
fn a_certificate_of_another_ca_is_named() {
    let mut data = Pki::new().secret_data();
    let stranger = Pki::new().valid_leaf("operator");
    data.insert(CLIENT_CERTIFICATE.into(), stranger.certificate_pem);
    data.insert(CLIENT_KEY.into(), stranger.private_key_pem);
    let found = problems(&user_cluster(), &secrets(&data));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("clientCert of Secret my-certificates is not signed by caCert"), "{found:?}");
}

#[test]
fn a_renewed_peer_certificate_changes_the_fingerprint() {
    let cluster = user_cluster();
    let pki = Pki::new();
    let mut data = pki.secret_data();
    let first = check(&cluster, &secrets(&data), now()).expect("user").expect("valid").server_fingerprint;
    let renewed = pki.valid_leaf("kafka");
    data.insert(PEER_CERTIFICATE.into(), renewed.certificate_pem);
    data.insert(PEER_KEY.into(), renewed.private_key_pem);
    let second = check(&cluster, &secrets(&data), now()).expect("user").expect("valid").server_fingerprint;
    assert_ne!(first, second);
}

#[test]
fn jks_listeners_need_their_secret_and_its_three_keys() {
    let mut spec = load(SSL_SAMPLE);
    let ssl = spec.spec.listeners_config.ssl_secrets.as_mut().expect("sslSecrets");
    ssl.create = Some(false);
    ssl.tls_secret_name = SECRET.into();
    for listener in &mut spec.spec.listeners_config.internal_listeners {
        listener.common.server_ssl_cert_secret = Some(LocalObjectReference { name: "jks".into() });
    }
    let cluster = validate(&spec).expect("valid");
    let mut data = Pki::new().secret_data();
    // No listener serves peerCert: it may be absent.
    data.remove(PEER_CERTIFICATE);
    data.remove(PEER_KEY);
    let mut all = secrets(&data);
    let found = problems(&cluster, &all);
    assert!(
        found.iter().all(|problem| problem.starts_with("Secret jks (spec.listenersConfig.internalListeners[name="))
    );
    assert!(found[0].contains("does not exist"), "{found:?}");

    let jks = BTreeMap::from([(KEY_STORE.to_string(), "k".to_string()), (TRUST_STORE.to_string(), "t".to_string())]);
    all.insert("jks".into(), secret("jks", &jks));
    let found = problems(&cluster, &all);
    assert!(found.iter().all(|problem| problem.contains("has no password")), "{found:?}");

    let mut jks = jks;
    jks.insert(PASSWORD.into(), "secret".into());
    all.insert("jks".into(), secret("jks", &jks));
    let checked = check(&cluster, &all, now()).expect("user").expect("valid");
    let parts: Vec<&str> = checked.server_fingerprint.split(',').collect();
    assert_eq!(parts.len(), 2, "one digest per listener: {parts:?}");
    assert!(parts.iter().all(|part| part.contains(':')), "{parts:?}");
}
