//! The certificates' writes come first, and brokers wait for theirs.

use std::sync::Arc;

use time::OffsetDateTime;

use super::*;
use crate::build::pki::cert_manager::cert_manager_objects;
use crate::build::pki::names::DEFAULT_CERT_MANAGER_NAMESPACE;
use crate::build::tests::load;
use crate::model::validate;
use crate::reconcile::certificates::{AppliedCertManager, prepare};

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";

fn operator_ca_cluster() -> ValidatedCluster {
    let mut cluster = load(SSL_SAMPLE);
    let ssl = cluster.spec.listeners_config.ssl_secrets.as_mut().expect("the sample has sslSecrets");
    ssl.pki_backend = Some(crd_types::kafka_cluster::PkiBackend::OperatorCa);
    validate(&cluster).expect("valid")
}

fn secrets_written(steps: &[Step]) -> Vec<(String, &'static str)> {
    steps
        .iter()
        .filter_map(|step| match &step.action {
            Action::Create(created) => match created.as_ref() {
                Created::Secret(secret) => Some((secret.name_any(), "create")),
                _ => None,
            },
            Action::Apply(desired) => match desired.as_ref() {
                Desired::Secret(secret) => Some((secret.name_any(), "apply")),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Feeds the Secrets a pass wrote back into what the next pass observes.
fn observe_written(steps: Vec<Step>, observed: &mut ObservedCluster) {
    for step in steps {
        let secret = match step.action {
            Action::Create(created) => match *created {
                Created::Secret(secret) => secret,
                _ => continue,
            },
            Action::Apply(desired) => match *desired {
                Desired::Secret(secret) => secret,
                _ => continue,
            },
            _ => continue,
        };
        observed.secrets.insert(secret.name_any(), Arc::new(secret));
    }
}

#[test]
fn the_operators_ca_is_made_then_signs_then_rests() {
    let cluster = operator_ca_cluster();
    let mut observed = ObservedCluster::default();
    let now = OffsetDateTime::now_utc();
    let applied = AppliedCertManager::default();

    // Pass 1: only the CA; brokers wait.
    let prepared = prepare(&cluster, &observed, &[], &applied, now).expect("the operator makes certificates");
    let mut steps = Vec::new();
    let report = plan(&cluster, &observed, Some(&prepared), &mut steps);
    assert_eq!(secrets_written(&steps), [("kafka-ca-certificate".to_owned(), "create")], "tlsSecretName holds the CA");
    let wait = report.brokers_wait.expect("no server certificate yet");
    assert!(wait.contains("Secret kafka-server-certificate"), "{wait}");
    assert!(!report.condition.as_ref().expect("a condition").ready);
    observe_written(steps, &mut observed);

    // Pass 2: the server's and the operator's certificates.
    let prepared = prepare(&cluster, &observed, &[], &applied, now).expect("certificates");
    let mut steps = Vec::new();
    let report = plan(&cluster, &observed, Some(&prepared), &mut steps);
    assert_eq!(
        secrets_written(&steps),
        [("kafka-server-certificate".to_owned(), "apply"), ("kafka-controller".to_owned(), "apply")]
    );
    assert_eq!(report.brokers_wait, None);
    assert!(report.condition.as_ref().expect("a condition").ready);
    observe_written(steps, &mut observed);

    // Pass 3: nothing to write; the condition names serials and expiry.
    let prepared = prepare(&cluster, &observed, &[], &applied, now).expect("certificates");
    let mut steps = Vec::new();
    let report = plan(&cluster, &observed, Some(&prepared), &mut steps);
    assert!(steps.is_empty(), "{steps:?}");
    let condition = report.condition.expect("a condition");
    assert_eq!((condition.ready, condition.reason), (true, "Issued"));
    assert!(condition.message.contains("Secret kafka-server-certificate: serial "), "{}", condition.message);
    assert!(condition.message.contains(", expires "), "{}", condition.message);

    let serial = report.server_serial.expect("the brokers' certificate is known");
    assert!(condition.message.contains(&format!("serial {serial}")), "{}", condition.message);

    // Renewal due (two thirds of 90 days later): both leaves again, same CA; the brokers'
    // serial changes, which restarts them (see `build::SERVER_CERTIFICATE_ANNOTATION`).
    let later = now + time::Duration::days(61);
    let prepared = prepare(&cluster, &observed, &[], &applied, later).expect("certificates");
    let reasons: Vec<&str> = prepared.issued.iter().map(|issued| issued.reason.as_str()).collect();
    assert_eq!(reasons, ["renewal due", "renewal due"]);
    assert!(prepared.new_authority.is_none());
    let report = plan(&cluster, &observed, Some(&prepared), &mut Vec::new());
    let renewed = report.server_serial.expect("the renewed certificate is known");
    assert_ne!(renewed, serial);
}

/// One pass: prepares, plans, feeds the written Secrets back; returns the reasons of what the
/// operator's CA issued and the report.
fn pass(cluster: &ValidatedCluster, observed: &mut ObservedCluster) -> (Vec<String>, CertificatesReport) {
    let prepared = prepare(cluster, observed, &[], &AppliedCertManager::default(), OffsetDateTime::now_utc())
        .expect("certificates");
    let reasons = prepared.issued.iter().map(|issued| issued.reason.clone()).collect();
    let mut steps = Vec::new();
    let report = plan(cluster, observed, Some(&prepared), &mut steps);
    observe_written(steps, observed);
    (reasons, report)
}

/// Every broker pod of `cluster` as the report says the brokers would start now, ready.
fn pods_started_with(cluster: &ValidatedCluster, report: &CertificatesReport, observed: &mut ObservedCluster) {
    for broker in &cluster.brokers {
        let mut pod = k8s_openapi::api::core::v1::Pod::default();
        let annotations = pod.metadata.annotations.get_or_insert_default();
        annotations.insert(
            crate::build::SERVER_CERTIFICATE_ANNOTATION.into(),
            report.server_serial.clone().expect("a serial"),
        );
        annotations
            .insert(crate::build::TRUSTED_CAS_ANNOTATION.into(), report.trusted_ca_serials.clone().expect("serials"));
        let ready = k8s_openapi::api::core::v1::PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        };
        pod.status =
            Some(k8s_openapi::api::core::v1::PodStatus { conditions: Some(vec![ready]), ..Default::default() });
        observed.pods.insert(broker.id, vec![Arc::new(pod)]);
    }
}

/// How many certificates the CA Secret's `ca.crt` holds.
fn published_trust(observed: &ObservedCluster) -> usize {
    let secret = observed.secrets.get("kafka-ca-certificate").expect("the CA Secret");
    let bundle = read_text(secret, CA_CERTIFICATE_KEY).expect("ca.crt");
    crate::build::pki::rotation::split_certificates(&bundle).len()
}

#[test]
fn a_new_ca_reaches_the_brokers_in_three_steps_each_after_every_broker_restarted() {
    let cluster = operator_ca_cluster();
    let mut observed = ObservedCluster::default();
    pass(&cluster, &mut observed);
    let (_, settled) = pass(&cluster, &mut observed);
    pods_started_with(&cluster, &settled, &mut observed);
    assert_eq!(settled.trusted_ca_serials.as_deref().map(|s| s.split(',').count()), Some(1));

    // The CA Secret deleted: a new CA, then the old certificates trust both.
    observed.secrets.remove("kafka-ca-certificate");
    pass(&cluster, &mut observed);
    let (reasons, trusting) = pass(&cluster, &mut observed);
    assert!(reasons.iter().all(|r| r.starts_with("CA rotation 1/3")), "{reasons:?}");
    assert_eq!(trusting.server_serial, settled.server_serial, "the certificate is kept");
    assert_eq!(trusting.trusted_ca_serials.as_deref().map(|s| s.split(',').count()), Some(2));
    assert_eq!(published_trust(&observed), 2, "clients reading the CA Secret trust both");

    // Until the brokers restarted with both, nothing more; the condition says who is waited for.
    let (reasons, waiting) = pass(&cluster, &mut observed);
    assert!(reasons.is_empty(), "{reasons:?}");
    let message = waiting.condition.expect("a condition").message;
    assert!(message.contains("CA rotation: waiting for nodes [0, 1, 2] to restart with the trust step"), "{message}");

    pods_started_with(&cluster, &trusting, &mut observed);
    let (reasons, signed) = pass(&cluster, &mut observed);
    assert!(reasons.iter().all(|r| r.starts_with("CA rotation 2/3")), "{reasons:?}");
    assert_ne!(signed.server_serial, settled.server_serial, "issued by the new CA");
    assert_eq!(signed.trusted_ca_serials, trusting.trusted_ca_serials, "still trusting both");

    pods_started_with(&cluster, &signed, &mut observed);
    let (reasons, retired) = pass(&cluster, &mut observed);
    assert!(reasons.iter().all(|r| r.starts_with("CA rotation 3/3")), "{reasons:?}");
    assert_eq!(retired.server_serial, signed.server_serial);
    let new_ca = trusting.trusted_ca_serials.as_deref().and_then(|s| s.split(',').next()).map(str::to_owned);
    assert_eq!(retired.trusted_ca_serials, new_ca, "only the new CA");
    assert_eq!(published_trust(&observed), 1);

    pods_started_with(&cluster, &retired, &mut observed);
    let (reasons, _) = pass(&cluster, &mut observed);
    assert!(reasons.is_empty(), "settled: {reasons:?}");
}

#[test]
fn an_unreadable_ca_is_reported_and_never_replaced() {
    let cluster = operator_ca_cluster();
    let mut observed = ObservedCluster::default();
    let mut secret = k8s_openapi::api::core::v1::Secret::default();
    secret.metadata.name = Some("kafka-ca-certificate".into());
    observed.secrets.insert("kafka-ca-certificate".into(), Arc::new(secret));
    let prepared = prepare(&cluster, &observed, &[], &AppliedCertManager::default(), OffsetDateTime::now_utc())
        .expect("certificates");
    let mut steps = Vec::new();
    let report = plan(&cluster, &observed, Some(&prepared), &mut steps);
    assert!(steps.is_empty(), "nothing overwrites the CA's Secret: {steps:?}");
    let condition = report.condition.expect("a condition");
    assert_eq!((condition.ready, condition.reason), (false, "CannotIssue"));
    assert!(
        condition.message.starts_with("Secret kafka-ca-certificate (spec.listenersConfig.sslSecrets.tlsSecretName)")
    );
    assert!(condition.message.contains("delete it for a new CA"), "{}", condition.message);
}

#[test]
fn cert_manager_objects_are_applied_once_per_process() {
    let cluster = validate(&load(SSL_SAMPLE)).expect("valid");
    let applied = AppliedCertManager::default();
    let observed = ObservedCluster::default();
    let prepared = prepare(&cluster, &observed, &[], &applied, OffsetDateTime::now_utc()).expect("cert-manager");
    let mut steps = Vec::new();
    let report = plan(&cluster, &observed, Some(&prepared), &mut steps);
    let [Step { action: Action::ApplyCertManager { objects, fingerprint }, .. }] = steps.as_slice() else {
        panic!("one apply of cert-manager's objects: {steps:?}");
    };
    let expected = cert_manager_objects(&cluster, DEFAULT_CERT_MANAGER_NAMESPACE, &[]);
    assert_eq!(objects.len(), expected.all().count());
    let wait = report.brokers_wait.expect("cert-manager has not issued yet");
    assert!(wait.starts_with("waiting for cert-manager to issue the certificate of Secret kafka-server-certificate"));

    applied.record(&cluster, *fingerprint);
    let prepared = prepare(&cluster, &observed, &[], &applied, OffsetDateTime::now_utc()).expect("cert-manager");
    let mut steps = Vec::new();
    plan(&cluster, &observed, Some(&prepared), &mut steps);
    assert!(steps.is_empty(), "applied already: {steps:?}");
}

#[test]
fn a_cluster_without_certificates_has_no_condition() {
    let cluster = validate(&load("deploy/samples/kafkacluster-kraft-combined.yaml")).expect("valid");
    let prepared =
        prepare(&cluster, &ObservedCluster::default(), &[], &AppliedCertManager::default(), OffsetDateTime::now_utc());
    assert!(prepared.is_none());
    let mut steps = Vec::new();
    assert_eq!(plan(&cluster, &ObservedCluster::default(), None, &mut steps), CertificatesReport::default());
}

#[test]
fn a_load_balancer_address_is_named_before_brokers_start_with_the_certificate() {
    let cluster = operator_ca_cluster();
    let mut observed = ObservedCluster::default();
    let now = OffsetDateTime::now_utc();
    let applied = AppliedCertManager::default();
    for _ in 0..2 {
        let prepared = prepare(&cluster, &observed, &[], &applied, now).expect("certificates");
        let mut steps = Vec::new();
        plan(&cluster, &observed, Some(&prepared), &mut steps);
        observe_written(steps, &mut observed);
    }
    // The load balancer got its address: the operator's CA issues the certificate again in the
    // same pass, and brokers start with the new one.
    let hosts = ["100.75.0.10".to_string()];
    let prepared = prepare(&cluster, &observed, &hosts, &applied, now).expect("certificates");
    let reasons: Vec<&str> = prepared.issued.iter().map(|issued| issued.reason.as_str()).collect();
    assert_eq!(reasons.len(), 1, "only the server certificate: {reasons:?}");
    let report = plan(&cluster, &observed, Some(&prepared), &mut Vec::new());
    assert_eq!(report.brokers_wait, None);

    // cert-manager issues a changed Certificate later: until then brokers wait, saying why.
    let stale = Prepared { issued: Vec::new(), ..prepared };
    let report = plan(&cluster, &observed, Some(&stale), &mut Vec::new());
    let wait = report.brokers_wait.expect("brokers wait for the address to be named");
    assert!(wait.contains("does not name 100.75.0.10 yet"), "{wait}");
}
