//! TLS listener settings for Koperator's SSL sample and variations of it.

use crd_types::kafka_cluster::{SecurityProtocol, SslClientAuth};
use k8s_openapi::api::core::v1::LocalObjectReference;

use super::*;
use crate::build::tests::{kraft_dedicated, load};
use crate::model::{parse_properties, validate};

const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";
const BROKERS: &str = "User:CN=kafka-headless.kafka.svc.cluster.local";
const OPERATOR: &str = "User:CN=kafka-controller.kafka.mgt.cluster.local";

fn ssl_cluster() -> ValidatedCluster {
    validate(&load(SSL_SAMPLE)).expect("Koperator's SSL sample validates")
}

#[test]
fn every_tls_listener_reads_pem_files_through_the_provider() {
    let cluster = ssl_cluster();
    let properties = tls_properties(&cluster, &Properties::new(), &generated_principals(&cluster));
    for listener in ["internal", "controller"] {
        let key = |name: &str| properties[&format!("listener.name.{listener}.{name}")].clone();
        let dir = format!("/var/run/secrets/java.io/keystores/server/{listener}");
        assert_eq!(key("ssl.keystore.type"), "PEM");
        assert_eq!(key("ssl.keystore.key"), format!("${{koperator-tls:{dir}:tls.key}}"));
        assert_eq!(key("ssl.keystore.certificate.chain"), format!("${{koperator-tls:{dir}:tls.crt}}"));
        assert_eq!(key("ssl.truststore.type"), "PEM");
        assert_eq!(key("ssl.truststore.certificates"), format!("${{koperator-tls:{dir}:ca.crt}}"));
        assert_eq!(key("ssl.client.auth"), "requested", "the sample's sslClientAuth");
    }
    assert_eq!(properties["config.providers"], "koperator-tls");
    assert_eq!(
        properties["config.providers.koperator-tls.class"],
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
    );
    assert_eq!(properties["super.users"], format!("{BROKERS};{OPERATOR}"));
    assert!(
        !properties.iter().any(|(key, value)| key.contains("password") || value.contains("PRIVATE KEY")),
        "no secret in the ConfigMap: {properties:#?}"
    );
}

#[test]
fn a_plaintext_cluster_gets_nothing() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    assert!(tls_listeners(&cluster).next().is_none());
    assert!(tls_properties(&cluster, &Properties::new(), &[OPERATOR.to_string()]).is_empty());
    assert!(generated_principals(&cluster).is_empty(), "no sslSecrets, no generated certificate");
}

#[test]
fn client_auth_defaults_to_required_and_listener_names_are_lower_cased_in_the_prefix() {
    let mut spec = load(SSL_SAMPLE);
    let internal = &mut spec.spec.listeners_config.internal_listeners[0].common;
    internal.ssl_client_auth = None;
    internal.name = "Internal".into();
    spec.spec.listeners_config.internal_listeners[1].common.ssl_client_auth = Some(SslClientAuth::None);
    let cluster = validate(&spec).expect("valid");
    let properties = tls_properties(&cluster, &Properties::new(), &[]);
    assert_eq!(properties["listener.name.internal.ssl.client.auth"], "required");
    assert_eq!(
        properties["listener.name.internal.ssl.keystore.key"],
        "${koperator-tls:/var/run/secrets/java.io/keystores/server/Internal:tls.key}"
    );
    assert_eq!(properties["listener.name.controller.ssl.client.auth"], "none");
    assert!(!properties.contains_key("super.users"), "no principals given, none written");
}

#[test]
fn only_tls_listeners_get_settings() {
    let mut spec = load(SSL_SAMPLE);
    spec.spec.listeners_config.internal_listeners[1].common.security_protocol = SecurityProtocol::Plaintext;
    let cluster = validate(&spec).expect("valid");
    let properties = tls_properties(&cluster, &Properties::new(), &[]);
    assert!(properties.contains_key("listener.name.internal.ssl.keystore.type"));
    assert!(!properties.keys().any(|key| key.starts_with("listener.name.controller.")), "{properties:#?}");
}

#[test]
fn the_users_providers_and_super_users_are_kept() {
    let cluster = ssl_cluster();
    let user = parse_properties(
        "config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
         super.users=User:admin;User:CN=kafka-controller.kafka.mgt.cluster.local",
    );
    let properties = tls_properties(&cluster, &user, &generated_principals(&cluster));
    assert_eq!(properties["config.providers"], "file,koperator-tls");
    assert_eq!(properties["super.users"], format!("{BROKERS};{OPERATOR};User:admin"), "ours first, no duplicate");
    assert!(!properties.contains_key("config.providers.file.class"), "the user's own settings stay the user's");
}

#[test]
fn brokers_with_their_own_certificate_are_not_named_by_the_generated_one() {
    // Validation refuses a listener's own certificate with certificates the operator makes; the
    // principals leave them out anyway.
    let mut cluster = ssl_cluster();
    for listener in &mut cluster.spec.listeners_config.internal_listeners {
        listener.common.server_ssl_cert_secret = Some(LocalObjectReference { name: "my-server-cert".into() });
    }
    assert_eq!(generated_principals(&cluster), [OPERATOR]);

    let mut plaintext_between_brokers = load(SSL_SAMPLE);
    for listener in &mut plaintext_between_brokers.spec.listeners_config.internal_listeners {
        listener.common.security_protocol = SecurityProtocol::Plaintext;
    }
    let cluster = validate(&plaintext_between_brokers).expect("valid");
    assert_eq!(generated_principals(&cluster), [OPERATOR]);
}

/// Koperator's SSL sample with the user's certificates (`create: false`), the `controller`
/// listener with its own JKS Secret.
fn user_cluster() -> ValidatedCluster {
    let mut spec = load(SSL_SAMPLE);
    let ssl = spec.spec.listeners_config.ssl_secrets.as_mut().expect("sslSecrets");
    ssl.create = Some(false);
    ssl.tls_secret_name = "my-certificates".into();
    spec.spec.listeners_config.internal_listeners[1].common.server_ssl_cert_secret =
        Some(LocalObjectReference { name: "controller-jks".into() });
    validate(&spec).expect("valid")
}

#[test]
fn the_users_pem_and_jks_certificates_are_read_where_they_are_mounted() {
    let cluster = user_cluster();
    let properties = tls_properties(&cluster, &Properties::new(), &generated_principals(&cluster));
    let key = |name: &str| properties[&format!("listener.name.{name}")].clone();
    let internal = "/var/run/secrets/java.io/keystores/server/internal";
    assert_eq!(key("internal.ssl.keystore.type"), "PEM");
    assert_eq!(key("internal.ssl.keystore.key"), format!("${{koperator-tls:{internal}:tls.key}}"));
    let controller = "/var/run/secrets/java.io/keystores/server/controller";
    assert_eq!(key("controller.ssl.keystore.type"), "JKS");
    assert_eq!(key("controller.ssl.keystore.location"), format!("{controller}/keystore.jks"));
    assert_eq!(key("controller.ssl.truststore.type"), "JKS");
    assert_eq!(key("controller.ssl.truststore.location"), format!("{controller}/truststore.jks"));
    for password in ["ssl.keystore.password", "ssl.key.password", "ssl.truststore.password"] {
        assert_eq!(key(&format!("controller.{password}")), format!("${{koperator-tls:{controller}:password}}"));
    }
    assert_eq!(key("controller.ssl.client.auth"), "requested");
    assert!(!properties.contains_key("super.users"), "the user's certificates name the user's principals");
    assert!(!properties.values().any(|value| value.contains("PRIVATE KEY")), "{properties:#?}");

    let (volumes, mounts) = server_certificate_volumes(&cluster);
    insta::assert_yaml_snapshot!(
        "user_certificates_volumes",
        serde_json::json!({"volumes": volumes, "mounts": mounts})
    );
    let shared = volumes[0].secret.as_ref().expect("a Secret volume");
    let keys: Vec<&str> = shared.items.iter().flatten().map(|item| item.key.as_str()).collect();
    assert_eq!(keys, ["peerCert", "peerKey", "caCert"], "neither caKey nor clientKey reaches a broker");
}

#[test]
fn user_certificates_server_properties_snapshot() {
    let cluster = user_cluster();
    insta::assert_snapshot!(
        "user_certificates_broker_0_server_properties",
        crate::build::server_properties(&cluster, &cluster.brokers[0])
    );
}
