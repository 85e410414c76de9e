//! A new CA goes trust → sign → retire, each step only once every broker has the one before.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use super::*;
use crate::build::pki::inspect::certificate_facts;
use crate::build::pki::operator_ca::{CertificateAuthority, KeyAndCertificate, LeafRequest, Validity};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid time")
}

fn authority(name: &str) -> CertificateAuthority {
    CertificateAuthority::generate(name, Validity::starting(now(), Duration::days(365))).expect("CA")
}

fn leaf(ca: &CertificateAuthority) -> KeyAndCertificate {
    let request =
        LeafRequest { common_name: "kafka-server".into(), dns_names: vec!["kafka-0".into()], ..Default::default() };
    ca.issue(&request, Validity::starting(now(), Duration::days(90))).expect("leaf")
}

fn serial(pem: &str) -> String {
    certificate_facts(pem).expect("certificate").serial
}

fn pem(ca: &CertificateAuthority) -> String {
    ca.pem().certificate_pem.clone()
}

/// Brokers 0-2, ready, presenting `server` and trusting `trusted`.
fn brokers(server: &str, trusted: &[&str]) -> Vec<BrokerTrust> {
    let trusted: BTreeSet<String> = trusted.iter().map(|certificate| serial(certificate)).collect();
    (0..3)
        .map(|broker| BrokerTrust {
            broker,
            server_serial: Some(serial(server)),
            trusted_ca_serials: trusted.clone(),
            ready: true,
        })
        .collect()
}

#[test]
fn certificates_of_the_only_trusted_ca_are_settled() {
    let ca = authority("ca");
    let server = leaf(&ca);
    let step = next_step(&server.certificate_pem, &pem(&ca), &pem(&ca), &brokers(&server.certificate_pem, &[]));
    assert_eq!(step.expect("readable"), Rotation::Settled);
}

#[test]
fn a_new_ca_is_trusted_first_then_signs_then_the_old_one_is_retired() {
    let (old, new) = (authority("old"), authority("new"));
    let server = leaf(&old);
    let old_pem = pem(&old);

    // 1. The CA changed: the certificate stays, the new CA is trusted first.
    let step = next_step(&server.certificate_pem, &old_pem, &pem(&new), &brokers(&server.certificate_pem, &[&old_pem]));
    let Ok(Rotation::Trust { bundle }) = step else { panic!("trust first: {step:?}") };
    assert_eq!(split_certificates(&bundle), vec![pem(&new).trim().to_owned(), old_pem.trim().to_owned()]);
    assert_eq!(bundle_serials(&bundle).expect("serials"), format!("{},{}", serial(&pem(&new)), serial(&old_pem)));

    // Brokers not restarted with the bundle yet: wait, naming them.
    let mut running = brokers(&server.certificate_pem, &[&old_pem]);
    running[0].trusted_ca_serials.insert(serial(&pem(&new)));
    let step = next_step(&server.certificate_pem, &bundle, &pem(&new), &running);
    assert_eq!(step.expect("readable"), Rotation::Waiting { step: "trust", brokers: vec![1, 2] });

    // 2. Every broker trusts both: sign with the new CA, still trusting both.
    let trusting = brokers(&server.certificate_pem, &[&pem(&new), &old_pem]);
    let step = next_step(&server.certificate_pem, &bundle, &pem(&new), &trusting);
    assert_eq!(step.expect("readable"), Rotation::Sign { bundle: bundle.clone() });

    // A broker restarting counts as not having the new certificate yet.
    let signed = leaf(&new);
    let mut presenting = brokers(&signed.certificate_pem, &[&pem(&new), &old_pem]);
    presenting[2].ready = false;
    let step = next_step(&signed.certificate_pem, &bundle, &pem(&new), &presenting);
    assert_eq!(step.expect("readable"), Rotation::Waiting { step: "sign", brokers: vec![2] });

    // 3. Every broker presents the new CA's certificate: the old CA is trusted no more.
    let presenting = brokers(&signed.certificate_pem, &[&pem(&new), &old_pem]);
    let step = next_step(&signed.certificate_pem, &bundle, &pem(&new), &presenting);
    assert_eq!(step.expect("readable"), Rotation::Retire);

    // Retired: settled.
    let step = next_step(&signed.certificate_pem, &pem(&new), &pem(&new), &brokers(&signed.certificate_pem, &[]));
    assert_eq!(step.expect("readable"), Rotation::Settled);
}

#[test]
fn split_certificates_keeps_only_certificate_blocks() {
    let (first, second) = (pem(&authority("a")), pem(&authority("b")));
    let text = format!("\n{first}\n\n{second}garbage");
    assert_eq!(split_certificates(&text), vec![first.trim().to_owned(), second.trim().to_owned()]);
}
