//! Cruise Control and the reporter on Koperator's SSL sample and variations of it.

use crd_types::kafka_cluster::{PkiBackend, SecurityProtocol};

use super::*;
use crate::build::cruise_control::cruise_control_properties;
use crate::build::server_properties;
use crate::build::tests::{kraft_combined, load};
use crate::model::{CruiseControlPlan, parse_properties, validate};

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";

fn ssl_cluster() -> ValidatedCluster {
    validate(&load(SSL_SAMPLE)).expect("Koperator's SSL sample validates")
}

#[test]
fn the_reporter_uses_the_brokers_own_certificate_through_the_provider() {
    let cluster = ssl_cluster();
    let properties = parse_properties(&server_properties(&cluster, &cluster.brokers[0]));
    let dir = "/var/run/secrets/java.io/keystores/server/internal";
    for (key, value) in [
        ("security.protocol", "SSL".to_owned()),
        ("ssl.keystore.type", "PEM".to_owned()),
        ("ssl.keystore.key", format!("${{koperator-tls:{dir}:tls.key}}")),
        ("ssl.keystore.certificate.chain", format!("${{koperator-tls:{dir}:tls.crt}}")),
        ("ssl.truststore.type", "PEM".to_owned()),
        ("ssl.truststore.certificates", format!("${{koperator-tls:{dir}:ca.crt}}")),
    ] {
        assert_eq!(properties[&format!("cruise.control.metrics.reporter.{key}")], value, "{key}");
    }
    // The provider the references name is declared, and hostname verification is left on.
    assert!(properties["config.providers"].split(',').any(|p| p == "koperator-tls"));
    assert!(!properties.keys().any(|key| key.contains("endpoint.identification")));
    insta::assert_snapshot!(
        "ssl_sample_broker_0_reporter_properties",
        properties
            .iter()
            .filter(|(key, _)| key.starts_with("cruise.control.") || key.starts_with("config.providers"))
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect::<String>()
    );
}

#[test]
fn cruise_control_reads_the_operators_certificate_with_nothing_secret_in_its_config_map() {
    let cluster = ssl_cluster();
    let CruiseControlPlan::Deploy(_) = &cluster.cruise_control.plan else { panic!("{:?}", cluster.cruise_control) };
    let text = cruise_control_properties(&cluster);
    assert!(!text.contains("PRIVATE KEY") && !text.contains("password"), "{text}");
    let properties = parse_properties(&text);
    assert_eq!(properties["security.protocol"], "SSL");
    assert_eq!(properties["ssl.truststore.location"], "/var/run/secrets/java.io/keystores/client/ca.crt");
    assert_eq!(properties["ssl.keystore.key"], "${koperator-tls:/var/run/secrets/java.io/keystores/client:tls.key}");
    assert_eq!(
        properties["config.providers.koperator-tls.class"],
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
    );
    insta::assert_snapshot!("ssl_sample_cruise_control_properties", text);

    let (volume, mount) = client_certificate_volume(&cluster).expect("TLS cluster");
    assert_eq!(volume.secret.and_then(|s| s.secret_name).as_deref(), Some("kafka-controller"));
    assert_eq!((mount.mount_path.as_str(), mount.read_only), (CLIENT_CERTIFICATE_DIR, Some(true)));
}

#[test]
fn the_deployment_mounts_the_client_certificate() {
    let cluster = ssl_cluster();
    let CruiseControlPlan::Deploy(settings) = cluster.cruise_control.plan.clone() else { panic!() };
    let objects = crate::build::cruise_control_objects(&cluster, &settings, &Default::default());
    let pod = objects.deployment.spec.expect("spec").template.spec.expect("pod");
    let volume = pod.volumes.iter().flatten().find(|v| v.name == CLIENT_CERTIFICATE_VOLUME).expect("volume");
    assert_eq!(volume.secret.as_ref().and_then(|s| s.secret_name.as_deref()), Some("kafka-controller"));
    let mounts = pod.containers[0].volume_mounts.clone().unwrap_or_default();
    assert!(mounts.iter().any(|m| m.name == CLIENT_CERTIFICATE_VOLUME && m.mount_path == CLIENT_CERTIFICATE_DIR));
}

#[test]
fn the_users_providers_are_kept_and_the_operators_tls_settings_win() {
    let mut spec = load(SSL_SAMPLE);
    spec.spec.listeners_config.ssl_secrets.as_mut().expect("sslSecrets").pki_backend = Some(PkiBackend::OperatorCa);
    spec.spec.cruise_control_config.config =
        Some("config.providers=env\nsecurity.protocol=PLAINTEXT\nssl.keystore.type=JKS\n".into());
    let cluster = validate(&spec).expect("valid");
    let properties = parse_properties(&cruise_control_properties(&cluster));
    assert_eq!(properties["config.providers"], "env,koperator-tls");
    assert_eq!(properties["security.protocol"], "SSL");
    assert_eq!(properties["ssl.keystore.type"], "PEM");
}

#[test]
fn plaintext_clusters_get_nothing() {
    let cluster = validate(&kraft_combined()).expect("valid");
    assert!(reporter_tls_properties(&cluster).is_empty());
    assert!(cruise_control_tls_properties(&cluster, &Properties::new()).is_empty());
    assert!(client_certificate_volume(&cluster).is_none());
    let text = cruise_control_properties(&cluster);
    assert!(!text.contains("security.protocol") && !text.contains("config.providers"), "{text}");
}

#[test]
fn an_ssl_controller_listener_alone_changes_nothing() {
    // TLS between controllers only: Cruise Control and the reporter still talk plaintext.
    let mut spec = load(SSL_SAMPLE);
    spec.spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::Plaintext;
    let cluster = validate(&spec).expect("valid");
    assert!(reporter_tls_properties(&cluster).is_empty());
    assert!(client_certificate_volume(&cluster).is_none());
}
