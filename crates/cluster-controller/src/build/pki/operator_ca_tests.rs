//! The operator's CA: what it issues verifies as a TLS client verifies it (rustls' webpki, with
//! hostname checks), carries every name, lasts as asked; stored PEM is judged correctly.

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::{Duration, OffsetDateTime};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

use super::inspect::{LeafVerdict, Renewal, certificate_facts, inspect_leaf, renewal};
use super::names::{controller_common_name, server_common_name, server_dns_names, server_ip_addresses, spiffe_id};
use super::operator_ca::{CA_LIFETIME, CertificateAuthority, KeyAndCertificate, LEAF_LIFETIME, LeafRequest, Validity};
use super::secrets::{ca_secret, leaf_secret, read_key_and_certificate, read_text};
use crate::build::broker_host;
use crate::build::tests::kraft_dedicated;
use crate::model::{ValidatedCluster, validate};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid time")
}

fn cluster() -> ValidatedCluster {
    validate(&kraft_dedicated()).expect("valid")
}

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate("kafka-ca.kafka.cluster.local", Validity::starting(now(), Duration::days(365)))
        .expect("CA")
}

fn server_request(cluster: &ValidatedCluster) -> LeafRequest {
    let common_name = server_common_name(cluster);
    LeafRequest {
        uris: vec![spiffe_id(cluster, &common_name)],
        dns_names: server_dns_names(cluster, &[]),
        common_name,
        ip_addresses: Vec::new(),
    }
}

fn der(pem_text: &str) -> CertificateDer<'static> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).expect("PEM");
    CertificateDer::from(pem.contents)
}

fn at(time: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(time.unix_timestamp() as u64))
}

/// Verifies `leaf` as a TLS client does: chain to `ca`, validity at `time`, key usage, and
/// the name it connects to.
fn verify(
    ca: &str,
    leaf: &str,
    usage: KeyUsage,
    time: OffsetDateTime,
    host: Option<&str>,
) -> Result<(), webpki::Error> {
    let ca_der = der(ca);
    let anchors = [anchor_from_trusted_cert(&ca_der)?];
    let leaf_der = der(leaf);
    let end_entity = EndEntityCert::try_from(&leaf_der)?;
    end_entity.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &[], at(time), usage, None, None)?;
    if let Some(host) = host {
        end_entity.verify_is_valid_for_subject_name(&ServerName::try_from(host).expect("a DNS name"))?;
    }
    Ok(())
}

#[test]
fn a_broker_certificate_verifies_for_every_address_clients_use() {
    let cluster = cluster();
    let ca = ca();
    let leaf = ca.issue(&server_request(&cluster), Validity::starting(now(), LEAF_LIFETIME)).expect("leaf");
    let ca_pem = &ca.pem().certificate_pem;
    let mut hosts: Vec<String> = cluster.brokers.iter().map(|node| broker_host(&cluster, node.id)).collect();
    hosts.extend([
        "kafka-headless.kafka.svc.cluster.local".into(),
        "kafka-all-broker.kafka.svc.cluster.local".into(),
        "kafka-all-broker.kafka.svc".into(),
        "kafka-all-broker".into(),
    ]);
    for host in &hosts {
        verify(ca_pem, &leaf.certificate_pem, KeyUsage::server_auth(), now(), Some(host))
            .unwrap_or_else(|error| panic!("{host}: {error:?}"));
    }
    // Brokers are also clients of each other.
    verify(ca_pem, &leaf.certificate_pem, KeyUsage::client_auth(), now(), None).expect("client auth");
    let refused = verify(ca_pem, &leaf.certificate_pem, KeyUsage::server_auth(), now(), Some("kafka.example.com"));
    assert!(refused.is_err(), "a name not asked for must not verify");
}

#[test]
fn the_certificate_carries_exactly_the_names_and_lifetime_asked_for() {
    let cluster = cluster();
    let request = server_request(&cluster);
    let validity = Validity::starting(now(), LEAF_LIFETIME);
    let leaf = ca().issue(&request, validity).expect("leaf");
    let facts = certificate_facts(&leaf.certificate_pem).expect("readable");
    assert_eq!(facts.common_name.as_deref(), Some("kafka-headless.kafka.svc.cluster.local"));
    assert_eq!(facts.dns_names, request.dns_names.iter().cloned().collect());
    assert_eq!(facts.validity, validity);
    assert_eq!(facts.validity.not_after, now() + Duration::days(90));
    assert!(!facts.is_ca);
    assert!(leaf.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8, as Kafka reads it");
}

#[test]
fn the_ca_is_a_ca_for_as_long_as_asked() {
    let ca = CertificateAuthority::generate("kafka-ca.kafka.cluster.local", Validity::starting(now(), CA_LIFETIME))
        .expect("CA");
    let facts = certificate_facts(&ca.pem().certificate_pem).expect("readable");
    assert!(facts.is_ca);
    assert_eq!(facts.common_name.as_deref(), Some("kafka-ca.kafka.cluster.local"));
    assert_eq!(facts.validity.not_after, now() + Duration::days(5 * 365));
    assert!(facts.validity.not_before < now(), "backdated for clock skew");
}

#[test]
fn expired_and_not_yet_valid_certificates_do_not_verify() {
    let ca = ca();
    let request = LeafRequest { common_name: controller_common_name(&cluster()), ..Default::default() };
    let leaf = ca.issue(&request, Validity::starting(now(), Duration::hours(1))).expect("leaf");
    let ca_pem = &ca.pem().certificate_pem;
    verify(ca_pem, &leaf.certificate_pem, KeyUsage::client_auth(), now(), None).expect("valid now");
    let later = verify(ca_pem, &leaf.certificate_pem, KeyUsage::client_auth(), now() + Duration::hours(2), None);
    assert!(matches!(later, Err(webpki::Error::CertExpired { .. })), "{later:?}");
    let earlier = verify(ca_pem, &leaf.certificate_pem, KeyUsage::client_auth(), now() - Duration::hours(1), None);
    assert!(matches!(earlier, Err(webpki::Error::CertNotValidYet { .. })), "{earlier:?}");
}

#[test]
fn a_ca_read_back_from_its_secret_signs_certificates_its_first_form_verifies() {
    let cluster = cluster();
    let ca = ca();
    let secret = ca_secret(&cluster, &ca);
    assert_eq!(secret.metadata.name.as_deref(), Some("kafka-ca-certificate"), "no sslSecrets: Koperator's CA name");
    let mut named = cluster.clone();
    named.spec.listeners_config.ssl_secrets =
        Some(crd_types::kafka_cluster::SslSecrets { tls_secret_name: "my-ca".into(), ..Default::default() });
    assert_eq!(ca_secret(&named, &ca).metadata.name.as_deref(), Some("my-ca"), "sslSecrets.tlsSecretName");
    let stored = read_key_and_certificate(&secret).expect("tls.crt and tls.key");
    assert_eq!(read_text(&secret, "ca.crt").expect("ca.crt"), stored.certificate_pem);
    let reloaded = CertificateAuthority::from_pem(&stored.certificate_pem, &stored.private_key_pem).expect("reloads");
    let leaf = reloaded.issue(&server_request(&cluster), Validity::starting(now(), LEAF_LIFETIME)).expect("leaf");
    verify(&ca.pem().certificate_pem, &leaf.certificate_pem, KeyUsage::server_auth(), now(), Some("kafka-all-broker"))
        .expect("the same CA");
}

#[test]
fn leaf_secrets_use_cert_managers_keys() {
    let cluster = cluster();
    let ca = ca();
    let leaf = ca.issue(&server_request(&cluster), Validity::starting(now(), LEAF_LIFETIME)).expect("leaf");
    let secret = leaf_secret(&cluster, "kafka-server-certificate".into(), &ca.pem().certificate_pem, &leaf);
    let keys: Vec<&String> = secret.data.as_ref().expect("data").keys().collect();
    assert_eq!(keys, ["ca.crt", "tls.crt", "tls.key"]);
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(read_key_and_certificate(&secret).expect("readable"), leaf);
    let owner = &secret.metadata.owner_references.as_ref().expect("owned")[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("KafkaCluster", "kafka"));
    let mut broken = secret.clone();
    broken.data.as_mut().expect("data").remove("tls.key");
    let error = read_key_and_certificate(&broken).expect_err("no key");
    assert_eq!(error.to_string(), "Secret kafka-server-certificate has no key tls.key");
}

#[test]
fn renewal_is_due_when_a_third_of_the_lifetime_is_left() {
    let validity = Validity { not_before: now(), not_after: now() + Duration::days(90) };
    assert_eq!(renewal(validity, now()), Renewal::At(now() + Duration::days(60)));
    assert_eq!(
        renewal(validity, now() + Duration::days(60) - Duration::seconds(1)),
        Renewal::At(now() + Duration::days(60))
    );
    assert_eq!(renewal(validity, now() + Duration::days(60)), Renewal::Due);
    assert_eq!(renewal(validity, now() + Duration::days(91)), Renewal::Due, "expired: due");
    let short = Validity { not_before: now(), not_after: now() + Duration::hours(3) };
    assert_eq!(renewal(short, now() + Duration::hours(2)), Renewal::Due);
}

#[test]
fn a_stored_leaf_is_judged_by_key_issuer_names_and_time() {
    let cluster = cluster();
    let ca = ca();
    let request = server_request(&cluster);
    let validity = Validity { not_before: now(), not_after: now() + LEAF_LIFETIME };
    let leaf = ca.issue(&request, validity).expect("leaf");

    assert_eq!(inspect_leaf(None, &ca, &request, now()), LeafVerdict::Missing);
    let verdict = inspect_leaf(Some(&leaf), &ca, &request, now());
    assert_eq!(verdict, LeafVerdict::Valid { renew_at: now() + Duration::days(60) });
    assert!(!verdict.must_issue());
    assert!(LeafVerdict::Missing.must_issue());
    assert_eq!(inspect_leaf(Some(&leaf), &ca, &request, now() + Duration::days(61)), LeafVerdict::RenewalDue);

    let other = ca.issue(&request, validity).expect("another leaf");
    let mismatched = KeyAndCertificate { private_key_pem: other.private_key_pem, ..leaf.clone() };
    assert_eq!(inspect_leaf(Some(&mismatched), &ca, &request, now()), LeafVerdict::KeyMismatch);

    assert_eq!(inspect_leaf(Some(&leaf), &self::ca(), &request, now()), LeafVerdict::OtherIssuer);

    let mut grown = request.clone();
    grown.dns_names.push("kafka.example.com".into());
    grown.dns_names.retain(|name| name != "kafka-headless");
    assert_eq!(
        inspect_leaf(Some(&leaf), &ca, &grown, now()),
        LeafVerdict::NamesChanged {
            missing: vec!["kafka.example.com".into()],
            unexpected: vec!["kafka-headless".into()]
        }
    );

    let garbage = KeyAndCertificate { certificate_pem: "not a certificate".into(), ..leaf.clone() };
    assert!(matches!(inspect_leaf(Some(&garbage), &ca, &request, now()), LeafVerdict::Unreadable(_)));
    let bad_key = KeyAndCertificate {
        private_key_pem: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".into(),
        ..leaf
    };
    assert!(matches!(inspect_leaf(Some(&bad_key), &ca, &request, now()), LeafVerdict::Unreadable(_)));
}

#[test]
fn serials_differ_between_certificates_of_the_same_request() {
    let cluster = cluster();
    let ca = ca();
    let validity = Validity::starting(now(), LEAF_LIFETIME);
    let first = certificate_facts(&ca.issue(&server_request(&cluster), validity).expect("leaf").certificate_pem);
    let second = certificate_facts(&ca.issue(&server_request(&cluster), validity).expect("leaf").certificate_pem);
    assert_ne!(first.expect("readable").serial, second.expect("readable").serial);
}

#[test]
fn external_addresses_are_named_as_host_names_and_ip_addresses() {
    let cluster = cluster();
    let external = ["100.75.0.10".to_string(), "kafka-0-external.kafka.example.com".to_string()];
    let request = LeafRequest {
        ip_addresses: server_ip_addresses(&external),
        dns_names: server_dns_names(&cluster, &external),
        ..server_request(&cluster)
    };
    assert!(!request.dns_names.contains(&external[0]), "an IP address is no DNS name");
    let ca = ca();
    let leaf = ca.issue(&request, Validity::starting(now(), LEAF_LIFETIME)).expect("leaf");
    let ca_pem = &ca.pem().certificate_pem;
    for host in &external {
        verify(ca_pem, &leaf.certificate_pem, KeyUsage::server_auth(), now(), Some(host))
            .unwrap_or_else(|error| panic!("{host}: {error:?}"));
    }
    let facts = certificate_facts(&leaf.certificate_pem).expect("readable");
    assert_eq!(facts.ip_addresses, request.ip_addresses.iter().copied().collect());
    assert!(matches!(inspect_leaf(Some(&leaf), &ca, &request, now()), LeafVerdict::Valid { .. }));

    // The load balancer got another address: the certificate must be issued again.
    let moved = LeafRequest { ip_addresses: server_ip_addresses(&["100.75.0.11".into()]), ..request.clone() };
    assert_eq!(
        inspect_leaf(Some(&leaf), &ca, &moved, now()),
        LeafVerdict::NamesChanged { missing: vec!["100.75.0.11".into()], unexpected: vec!["100.75.0.10".into()] }
    );
}
