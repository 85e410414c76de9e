//! Cruise Control and its metrics reporter on a cluster whose inter-broker listener is
//! `type: ssl` with certificates the operator makes (`sslSecrets.create: true`). Pure.
//!
//! The reporter runs inside each broker and authenticates with the broker's own server
//! certificate (a super user), read through the same `DirectoryConfigProvider` references as
//! the brokers' listeners ([`super::broker_tls`]): Kafka resolves `${provider:dir:file}` in every
//! `server.properties` value before the reporter sees its configs, and the reporter hands its
//! `cruise.control.metrics.reporter.*` settings, prefix stripped, to its producer.
//!
//! Cruise Control authenticates with the operator's client certificate (`<cluster>-controller`,
//! also a super user), mounted at [`CLIENT_CERTIFICATE_DIR`]. Its ConfigMap holds no key
//! material and no password:
//! - the trust store is `ssl.truststore.type=PEM` + `ssl.truststore.location` (a PEM file needs no
//!   password), which the real Cruise Control passes to its AdminClient;
//! - the key store is PEM in memory (`ssl.keystore.key`, `ssl.keystore.certificate.chain`) read
//!   through the config provider: a PEM `ssl.keystore.location` would need `ssl.key.password`,
//!   hence an encrypted key, and cert-manager and the operator's CA write unencrypted ones.
//!
//! The stand-in hands every client setting to its AdminClient, so this works there. The real
//! Cruise Control (2.5, `KafkaCruiseControlUtils.parseAdminClientConfigs`) copies only the
//! location-based key store settings, so it would reach the brokers without a client
//! certificate and be refused (`ssl.client.auth=required`). It needs a PKCS#12 key store in the
//! Secret plus its password through the provider, which the PKI does not write yet.

use crd_types::kafka_cluster::{CommonListenerSpec, SecurityProtocol};
use k8s_openapi::api::core::v1::{SecretVolumeSource, Volume, VolumeMount};

use super::broker_tls::{FILE_PROVIDER, file_provider_properties, server_certificate_dir};
use super::pki::names::controller_certificate_secret_name;
use crate::model::{Properties, ValidatedCluster};

/// Where the Cruise Control pod mounts the operator's client certificate (`ca.crt`, `tls.crt`,
/// `tls.key`), next to Koperator's keystore directory of the brokers.
pub const CLIENT_CERTIFICATE_DIR: &str = "/var/run/secrets/java.io/keystores/client";
const CLIENT_CERTIFICATE_VOLUME: &str = "client-certificate";
const REPORTER_PREFIX: &str = "cruise.control.metrics.reporter.";

/// The inter-broker listener when it is `type: ssl` with certificates the operator makes:
/// the case this module configures (the model refuses SASL, and TLS without `sslSecrets.create`).
fn ssl_inter_broker_listener(cluster: &ValidatedCluster) -> Option<&CommonListenerSpec> {
    crate::model::pki_source(&cluster.spec)?;
    let listener = cluster.spec.listeners_config.internal_listeners.iter().find(|l| {
        l.common.used_for_inner_broker_communication == Some(true) && l.used_for_controller_communication != Some(true)
    })?;
    (listener.common.security_protocol == SecurityProtocol::Ssl).then_some(&listener.common)
}

/// The client settings of a PEM key and certificate read from `dir` through the provider.
fn pem_key_store(dir: &str) -> [(&'static str, String); 3] {
    let file = |name: &str| format!("${{{FILE_PROVIDER}:{dir}:{name}}}");
    [
        ("ssl.keystore.type", "PEM".to_owned()),
        ("ssl.keystore.key", file("tls.key")),
        ("ssl.keystore.certificate.chain", file("tls.crt")),
    ]
}

/// The reporter's TLS settings in `server.properties`: SSL, the broker's own server certificate
/// of the inter-broker listener as key and trust material. Hostname verification stays on (the
/// certificate names the headless and all-broker Services). The provider itself is declared by
/// [`super::broker_tls::tls_properties`], which every TLS cluster gets. Nothing without TLS.
pub fn reporter_tls_properties(cluster: &ValidatedCluster) -> Properties {
    let Some(listener) = ssl_inter_broker_listener(cluster) else { return Properties::new() };
    let dir = server_certificate_dir(listener);
    let mut properties = Properties::new();
    let settings = [
        ("security.protocol", "SSL".to_owned()),
        ("ssl.truststore.type", "PEM".to_owned()),
        ("ssl.truststore.certificates", format!("${{{FILE_PROVIDER}:{dir}:ca.crt}}")),
    ];
    for (key, value) in settings.into_iter().chain(pem_key_store(&dir)) {
        properties.insert(format!("{REPORTER_PREFIX}{key}"), value);
    }
    properties
}

/// Cruise Control's TLS settings in `cruisecontrol.properties`, given the user's own
/// (`user`, whose `config.providers` are kept): see the module comment. Nothing without TLS.
pub fn cruise_control_tls_properties(cluster: &ValidatedCluster, user: &Properties) -> Properties {
    let mut properties = Properties::new();
    if ssl_inter_broker_listener(cluster).is_none() {
        return properties;
    }
    let settings = [
        ("security.protocol", "SSL".to_owned()),
        ("ssl.truststore.type", "PEM".to_owned()),
        ("ssl.truststore.location", format!("{CLIENT_CERTIFICATE_DIR}/ca.crt")),
    ];
    for (key, value) in settings.into_iter().chain(pem_key_store(CLIENT_CERTIFICATE_DIR)) {
        properties.insert(key.to_owned(), value);
    }
    properties.extend(file_provider_properties(user));
    properties
}

/// The operator's client certificate as a volume of the Cruise Control pod and its mount at
/// [`CLIENT_CERTIFICATE_DIR`]; None without TLS. Mounted whole (no `subPath`), so a renewed
/// certificate reaches the files (Cruise Control reads them when it creates its clients).
pub fn client_certificate_volume(cluster: &ValidatedCluster) -> Option<(Volume, VolumeMount)> {
    ssl_inter_broker_listener(cluster)?;
    let volume = Volume {
        name: CLIENT_CERTIFICATE_VOLUME.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(controller_certificate_secret_name(cluster)),
            // The kubelet's default mode (0644): Cruise Control may run as any user.
            ..Default::default()
        }),
        ..Default::default()
    };
    let mount = VolumeMount {
        name: CLIENT_CERTIFICATE_VOLUME.to_owned(),
        mount_path: CLIENT_CERTIFICATE_DIR.to_owned(),
        read_only: Some(true),
        ..Default::default()
    };
    Some((volume, mount))
}

#[cfg(test)]
#[path = "cruise_control_tls_tests.rs"]
mod tests;
