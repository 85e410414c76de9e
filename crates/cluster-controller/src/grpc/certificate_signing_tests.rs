//! Signing a KafkaUser's CSR with the operator's CA: the certificate carries the CSR's key and
//! the names the request grants, chains to the CA, and every request that must not be signed
//! is refused with the code the contract names.

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::{PkiBackend, SslSecrets};
use rcgen::{CertificateParams, DnType, KeyPair, PublicKeyData as _};
use time::OffsetDateTime;
use tonic::Code;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::*;
use crate::build::pki::secrets::ca_secret;
use crate::build::tests::load;
use crate::model::validate;

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid time")
}

fn cluster(backend: PkiBackend) -> ValidatedCluster {
    let mut cluster: KafkaCluster = load(SSL_SAMPLE);
    cluster.spec.listeners_config.ssl_secrets = Some(SslSecrets {
        tls_secret_name: "kafka-ca".into(),
        create: Some(true),
        pki_backend: Some(backend),
        ..Default::default()
    });
    validate(&cluster).expect("valid")
}

fn stored_ca(cluster: &ValidatedCluster) -> (CertificateAuthority, Secret) {
    let ca = CertificateAuthority::generate("kafka-ca", Validity::starting(now(), Duration::days(365))).expect("CA");
    let secret = ca_secret(cluster, &ca);
    (ca, secret)
}

/// A CSR asking for more than it may get: another common name and a DNS name.
fn csr(key: &KeyPair) -> String {
    let mut params = CertificateParams::new(vec!["evil.example".to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, "admin");
    params.serialize_request(key).expect("CSR").pem().expect("PEM")
}

fn request(csr_pem: String, common_name: &str) -> SignClientCertificateRequest {
    SignClientCertificateRequest {
        cluster: None,
        csr_pem,
        common_name: common_name.into(),
        dns_names: vec!["alice.example".into()],
        validity_seconds: 7200,
    }
}

fn der(pem_text: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).expect("PEM").1.contents
}

#[test]
fn the_certificate_has_the_csrs_key_and_only_the_granted_names() {
    let cluster = cluster(PkiBackend::OperatorCa);
    let (ca, secret) = stored_ca(&cluster);
    let key = KeyPair::generate().expect("key");
    let request = request(csr(&key), "alice");
    check_request(&cluster, &request).expect("allowed");
    let signed = sign(&cluster, Some(&secret), &request, now()).expect("signed");
    assert_eq!(signed.ca_certificate_pem, ca.pem().certificate_pem, "ca.crt of the CA Secret");

    let der = der(&signed.certificate_pem);
    let (_, certificate) = X509Certificate::from_der(&der).expect("X.509");
    assert_eq!(certificate.subject().to_string(), "CN=alice");
    let names: Vec<String> = certificate
        .subject_alternative_name()
        .expect("SAN extension")
        .expect("SANs")
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => (*dns).to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["alice.example"]);
    assert_eq!(
        certificate.public_key().raw,
        key.subject_public_key_info(),
        "the CSR's key, whose private half stays out"
    );
    let ca_der = x509_parser::pem::parse_x509_pem(ca.pem().certificate_pem.as_bytes()).expect("PEM").1.contents;
    let (_, ca_certificate) = X509Certificate::from_der(&ca_der).expect("CA");
    certificate.verify_signature(Some(ca_certificate.public_key())).expect("signed by the CA");
    let lifetime = certificate.validity().not_after.timestamp() - now().unix_timestamp();
    assert_eq!(lifetime, 7200);
}

#[test]
fn what_must_not_be_signed_is_refused_with_the_contracts_codes() {
    let operator_ca = cluster(PkiBackend::OperatorCa);
    let cluster = &operator_ca;
    let key = KeyPair::generate().expect("key");
    let refused = |request: &SignClientCertificateRequest| check_request(cluster, request).expect_err("refused").code();
    assert_eq!(refused(&request(csr(&key), "")), Code::InvalidArgument);
    assert_eq!(refused(&request(csr(&key), &controller_common_name(cluster))), Code::PermissionDenied);
    assert_eq!(refused(&request(csr(&key), &server_common_name(cluster))), Code::PermissionDenied);
    assert_eq!(
        refused(&SignClientCertificateRequest { validity_seconds: 60, ..request(csr(&key), "a") }),
        Code::InvalidArgument
    );
    let cert_manager = self::cluster(PkiBackend::CertManager);
    let error = check_request(&cert_manager, &request(csr(&key), "alice")).expect_err("not ours to sign");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("pkiBackend is not operator-ca"), "{}", error.message());

    let (_, secret) = stored_ca(cluster);
    let not_stored = sign(cluster, None, &request(csr(&key), "alice"), now()).expect_err("no CA yet");
    assert_eq!(not_stored.code(), Code::FailedPrecondition);
    assert!(not_stored.message().contains("Secret kafka-ca does not exist yet"), "{}", not_stored.message());
    let garbage = sign(cluster, Some(&secret), &request("not a CSR".into(), "alice"), now()).expect_err("garbage");
    assert_eq!(garbage.code(), Code::InvalidArgument);
}

#[test]
fn the_issuer_is_the_clusters_backend() {
    let operator_ca = user_certificate_issuer(&cluster(PkiBackend::OperatorCa)).and_then(|issuer| issuer.backend);
    assert_eq!(operator_ca, Some(user_certificate_issuer::Backend::OperatorCa(v1::OperatorCaIssuer {})));
    let cert_manager = user_certificate_issuer(&cluster(PkiBackend::CertManager)).and_then(|issuer| issuer.backend);
    let expected = v1::CertManagerIssuer {
        name: "kafka-kafka-issuer".into(),
        kind: "ClusterIssuer".into(),
        group: "cert-manager.io".into(),
    };
    assert_eq!(cert_manager, Some(user_certificate_issuer::Backend::CertManager(expected)));
    let mut plaintext = cluster(PkiBackend::OperatorCa);
    plaintext.spec.listeners_config.ssl_secrets = None;
    assert_eq!(user_certificate_issuer(&plaintext), None);
}
