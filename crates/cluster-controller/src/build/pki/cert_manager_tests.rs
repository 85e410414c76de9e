//! The cert-manager objects of Koperator's SSL sample, pinned by snapshot, and the fields that
//! tie them together checked by name.

use crd_types::kafka_cluster::IssuerReference;
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::*;
use crate::build::pki::names::DEFAULT_CERT_MANAGER_NAMESPACE;
use crate::build::tests::load;
use crate::model::validate;

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";

fn ssl_cluster() -> ValidatedCluster {
    validate(&load(SSL_SAMPLE)).expect("Koperator's SSL sample validates")
}

fn find<'a>(objects: &'a [DynamicObject], name: &str) -> &'a DynamicObject {
    objects
        .iter()
        .find(|object| object.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn spec(object: &DynamicObject) -> &Value {
    &object.data["spec"]
}

#[test]
fn koperators_ssl_sample_objects() {
    let objects = cert_manager_objects(&ssl_cluster(), DEFAULT_CERT_MANAGER_NAMESPACE, &[]);
    let all: Vec<&DynamicObject> = objects.all().collect();
    insta::assert_yaml_snapshot!("ssl_sample_cert_manager_objects", all);
}

#[test]
fn the_issuer_chain_is_self_signer_then_ca_then_cluster_issuer() {
    let cluster = ssl_cluster();
    let objects = cert_manager_objects(&cluster, "cert-manager", &[]);
    let issuers: Vec<_> = objects.cluster_issuers.iter().map(|o| o.metadata.name.clone().expect("named")).collect();
    assert_eq!(issuers, ["kafka-self-signer", "kafka-kafka-issuer"]);
    let certificates: Vec<_> = objects.certificates.iter().map(|o| o.metadata.name.clone().expect("named")).collect();
    assert_eq!(
        certificates,
        ["kafka-ca-certificate", "kafka-headless.kafka.svc.cluster.local", "kafka-controller.kafka.mgt.cluster.local"]
    );

    let self_signer = find(&objects.cluster_issuers, "kafka-self-signer");
    assert_eq!(spec(self_signer), &json!({ "selfSigned": {} }));
    assert_eq!(self_signer.metadata.namespace, None, "cluster scoped");
    assert_eq!(self_signer.metadata.owner_references, None, "a namespaced owner cannot own it");

    let ca = find(&objects.certificates, "kafka-ca-certificate");
    assert_eq!(ca.metadata.namespace.as_deref(), Some("cert-manager"));
    assert_eq!(spec(ca)["isCA"], json!(true));
    assert_eq!(spec(ca)["secretName"], json!("kafka-ca-certificate"));
    assert_eq!(spec(ca)["commonName"], json!("kafka-ca.kafka.cluster.local"));
    assert_eq!(spec(ca)["issuerRef"], json!({ "name": "kafka-self-signer", "kind": "ClusterIssuer" }));

    let issuer = find(&objects.cluster_issuers, "kafka-kafka-issuer");
    assert_eq!(spec(issuer), &json!({ "ca": { "secretName": "kafka-ca-certificate" } }));

    let signed_by_cluster_issuer =
        json!({ "name": "kafka-kafka-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io" });
    for certificate in &objects.certificates[1..] {
        assert_eq!(certificate.metadata.namespace.as_deref(), Some("kafka"));
        assert_eq!(spec(certificate)["issuerRef"], signed_by_cluster_issuer);
        assert_eq!(spec(certificate)["privateKey"], json!({ "encoding": "PKCS8" }));
        assert_eq!(spec(certificate)["usages"], json!(["client auth", "server auth"]));
        assert_eq!(spec(certificate)["duration"], json!("2160h0m0s"));
        let owner = &certificate.metadata.owner_references.as_ref().expect("owned")[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("KafkaCluster", "kafka"));
    }
    for object in objects.all() {
        let labels = object.metadata.labels.as_ref().expect("labelled");
        assert_eq!(labels["app"], "kafka");
        assert_eq!(labels["kafka_issuer"], "kafka-kafka-issuer");
        assert_eq!(object.types.as_ref().expect("typed").api_version, "cert-manager.io/v1");
    }
}

#[test]
fn server_and_controller_certificates() {
    let cluster = ssl_cluster();
    let objects = cert_manager_objects(&cluster, "cert-manager", &["kafka-0.example.com".into()]);
    let server = find(&objects.certificates, "kafka-headless.kafka.svc.cluster.local");
    assert_eq!(spec(server)["secretName"], json!("kafka-server-certificate"));
    assert_eq!(spec(server)["commonName"], json!("kafka-headless.kafka.svc.cluster.local"));
    assert_eq!(
        spec(server)["uris"],
        json!(["spiffe://cluster.local/ns/kafka/kafkauser/kafka-headless.kafka.svc.cluster.local"])
    );
    let dns_names: Vec<String> = serde_json::from_value(spec(server)["dnsNames"].clone()).expect("names");
    assert_eq!(dns_names, super::super::names::server_dns_names(&cluster, &["kafka-0.example.com".into()]));
    assert!(dns_names.contains(&"kafka-0.example.com".to_string()));

    let controller = find(&objects.certificates, "kafka-controller.kafka.mgt.cluster.local");
    assert_eq!(spec(controller)["secretName"], json!("kafka-controller"));
    assert_eq!(spec(controller).get("dnsNames"), None, "a client certificate names no host");
}

#[test]
fn a_users_issuer_signs_both_certificates_and_nothing_else_is_made() {
    let mut cluster = ssl_cluster();
    let ssl = cluster.spec.listeners_config.ssl_secrets.as_mut().expect("sample has sslSecrets");
    ssl.issuer_ref =
        Some(IssuerReference { name: "corporate-ca".into(), kind: Some("ClusterIssuer".into()), group: None });
    let objects = cert_manager_objects(&cluster, "cert-manager", &[]);
    assert!(objects.cluster_issuers.is_empty());
    assert_eq!(objects.certificates.len(), 2);
    for certificate in &objects.certificates {
        assert_eq!(spec(certificate)["issuerRef"], json!({ "name": "corporate-ca", "kind": "ClusterIssuer" }));
    }
}

#[test]
fn durations_print_as_go_does() {
    assert_eq!(go_duration(time::Duration::days(90)), "2160h0m0s");
    assert_eq!(go_duration(time::Duration::seconds(3723)), "1h2m3s");
    assert_eq!(go_duration(CA_LIFETIME), "43800h0m0s");
}

#[test]
fn ip_addresses_external_listeners_advertise_are_ip_sans() {
    let cluster = ssl_cluster();
    let objects = cert_manager_objects(&cluster, "cert-manager", &["100.75.0.10".into(), "kafka.example.com".into()]);
    let server = spec(find(&objects.certificates, "kafka-headless.kafka.svc.cluster.local"));
    assert_eq!(server["ipAddresses"], json!(["100.75.0.10"]));
    let dns: Vec<String> = serde_json::from_value(server["dnsNames"].clone()).expect("names");
    assert!(dns.contains(&"kafka.example.com".to_string()) && !dns.contains(&"100.75.0.10".to_string()), "{dns:?}");
}
