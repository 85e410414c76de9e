//! `server.properties` settings of TLS listeners (`type: ssl` or `sasl_ssl`): key and trust
//! material per listener, client authentication, and the principals that must stay super users.
//! Pure.
//!
//! Koperator points each TLS listener at a JKS keystore and truststore and writes their password
//! into the broker ConfigMap. Here brokers read the PEM files of the certificate's Secret
//! (`tls.key`, `tls.crt`, `ca.crt`, as cert-manager and the operator's CA write them) mounted
//! where Koperator mounts a listener's keystore, through Kafka's `DirectoryConfigProvider`: the
//! ConfigMap holds only `${provider:dir:file}` references, no key material and no password.
//! The user's certificates (`sslSecrets.create` false) are read the same way, from their
//! Secret's `peerCert`, `peerKey` and `caCert`; a listener with its own `serverSSLCertSecret`
//! reads its JKS key and trust stores in place, only their password through the provider.
//! (A PEM `ssl.keystore.location` would not do: Kafka requires `ssl.key.password`, hence an
//! encrypted key, for a PEM key store read from a file; cert-manager writes unencrypted keys.)

use crd_types::kafka_cluster::{CommonListenerSpec, SecurityProtocol, SslClientAuth};
use k8s_openapi::api::core::v1::{KeyToPath, SecretVolumeSource, Volume, VolumeMount};

use super::pki::names::{controller_common_name, principal, server_certificate_secret_name, server_common_name};
use super::pki::user_provided;
use crate::model::{Properties, ValidatedCluster};

/// Where a broker pod mounts the server certificate of listener `<name>`:
/// `/var/run/secrets/java.io/keystores/server/<name>` (Koperator's path).
pub const SERVER_CERTIFICATE_DIR: &str = "/var/run/secrets/java.io/keystores/server";
/// The config provider the TLS settings read files through. Named after the operator so that it
/// cannot take the place of a provider the user configured.
pub const FILE_PROVIDER: &str = "koperator-tls";
/// Kafka's provider reading one file per key from a directory.
const FILE_PROVIDER_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const CONFIG_PROVIDERS: &str = "config.providers";
const SUPER_USERS: &str = "super.users";

/// The directory a listener's server certificate is mounted at.
pub fn server_certificate_dir(listener: &CommonListenerSpec) -> String {
    format!("{SERVER_CERTIFICATE_DIR}/{}", listener.name)
}

/// The pod volume of the server certificate's Secret.
const SERVER_CERTIFICATE_VOLUME: &str = "server-certificate";

/// The server certificates' Secrets as volumes, mounted read-only at every TLS listener's
/// [`server_certificate_dir`]; nothing for a cluster without certificates. Mounted whole (no
/// `subPath`), so the kubelet swaps in a renewed certificate.
///
/// - certificates the operator makes: `<cluster>-server-certificate`;
/// - the user's: `tlsSecretName`, only `peerCert`, `peerKey` and `caCert` projected, under the
///   names the operator's Secrets use (`caKey` and the operator's `clientKey` stay out of the
///   brokers' pods); a listener with its own `serverSSLCertSecret` mounts that Secret instead,
///   one volume per listener (`server-keystore-<listener>`).
pub fn server_certificate_volumes(cluster: &ValidatedCluster) -> (Vec<Volume>, Vec<VolumeMount>) {
    let listeners: Vec<&CommonListenerSpec> = tls_listeners(cluster).collect();
    let (shared, items) = if crate::model::pki_source(&cluster.spec).is_some() {
        (server_certificate_secret_name(cluster), None)
    } else if let Some(name) = crate::model::user_certificates(&cluster.spec) {
        let items = user_provided::PEM_FILES
            .iter()
            .map(|(key, path)| KeyToPath { key: key.to_string(), path: path.to_string(), mode: None })
            .collect();
        (name.to_string(), Some(items))
    } else {
        return (Vec::new(), Vec::new());
    };
    let secret_volume = |name: String, secret: String, items: Option<Vec<KeyToPath>>| Volume {
        name,
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            items,
            // The kubelet's default mode (0644): the broker may run as any user, with or
            // without an fsGroup, and must read the key; nothing else runs in its pod.
            ..Default::default()
        }),
        ..Default::default()
    };
    let mount = |volume: &str, listener: &CommonListenerSpec| VolumeMount {
        name: volume.to_string(),
        mount_path: server_certificate_dir(listener),
        read_only: Some(true),
        ..Default::default()
    };
    let jks = user_provided::jks_listeners(cluster);
    let (mut volumes, mut mounts) = (Vec::new(), Vec::new());
    let shared_listeners: Vec<&CommonListenerSpec> = listeners
        .into_iter()
        .filter(|listener| !jks.iter().any(|(jks_listener, _)| jks_listener.name == listener.name))
        .collect();
    if !shared_listeners.is_empty() {
        volumes.push(secret_volume(SERVER_CERTIFICATE_VOLUME.to_string(), shared, items));
        mounts.extend(shared_listeners.into_iter().map(|listener| mount(SERVER_CERTIFICATE_VOLUME, listener)));
    }
    for (listener, secret) in jks {
        let volume = format!("server-keystore-{}", listener.name.to_lowercase());
        mounts.push(mount(&volume, listener));
        volumes.push(secret_volume(volume, secret.to_string(), None));
    }
    (volumes, mounts)
}

/// Whether a TLS listener asks clients for a certificate: `sslClientAuth`, by default
/// `required` (Koperator's default), but `none` on `sasl_ssl`, whose clients authenticate with
/// SASL (a certificate too only when the user asks for one).
pub fn client_auth(listener: &CommonListenerSpec) -> SslClientAuth {
    let default = match listener.security_protocol {
        SecurityProtocol::SaslSsl => SslClientAuth::None,
        _ => SslClientAuth::Required,
    };
    listener.ssl_client_auth.unwrap_or(default)
}

/// Every listener, internal and external.
pub fn all_listeners(cluster: &ValidatedCluster) -> impl Iterator<Item = &CommonListenerSpec> {
    let listeners = &cluster.spec.listeners_config;
    listeners
        .internal_listeners
        .iter()
        .map(|listener| &listener.common)
        .chain(listeners.external_listeners.iter().map(|listener| &listener.common))
}

/// Every listener, internal and external, with TLS.
pub fn tls_listeners(cluster: &ValidatedCluster) -> impl Iterator<Item = &CommonListenerSpec> {
    all_listeners(cluster).filter(|listener| listener.security_protocol.uses_tls())
}

/// What TLS listeners need in `server.properties`, given the user's own settings (`user`) and
/// the principals that must be super users (the brokers' and the operator's, e.g.
/// `User:CN=kafka-headless.kafka.svc.cluster.local`). Nothing for a cluster without TLS.
///
/// - per listener `<l>`, under `listener.name.<l>.`: PEM key store and trust store read from
///   [`server_certificate_dir`], and `ssl.client.auth` (`required` unless `sslClientAuth` says
///   otherwise, as Koperator; `none` on `sasl_ssl`, whose clients authenticate with SASL);
/// - `config.providers`: the user's providers with [`FILE_PROVIDER`] added;
/// - `super.users`: `principals`, then the user's own that are not among them (Koperator's
///   merge), so neither the brokers nor the operator lose access when the user turns on an
///   authorizer.
pub fn tls_properties(cluster: &ValidatedCluster, user: &Properties, principals: &[String]) -> Properties {
    let mut properties = Properties::new();
    let listeners: Vec<&CommonListenerSpec> = tls_listeners(cluster).collect();
    if listeners.is_empty() {
        return properties;
    }
    let jks = user_provided::jks_listeners(cluster);
    for listener in listeners {
        let prefix = format!("listener.name.{}.", listener.name.to_lowercase());
        let dir = server_certificate_dir(listener);
        let file = |name: &str| format!("${{{FILE_PROVIDER}:{dir}:{name}}}");
        let client_auth = match client_auth(listener) {
            SslClientAuth::Required => "required",
            SslClientAuth::Requested => "requested",
            SslClientAuth::None => "none",
        };
        let stores = if jks.iter().any(|(jks_listener, _)| jks_listener.name == listener.name) {
            // Koperator's JKS layout, read in place; only the password goes through the provider.
            let password = file(user_provided::PASSWORD);
            vec![
                ("ssl.keystore.type", "JKS".to_string()),
                ("ssl.keystore.location", format!("{dir}/{}", user_provided::KEY_STORE)),
                ("ssl.keystore.password", password.clone()),
                ("ssl.key.password", password.clone()),
                ("ssl.truststore.type", "JKS".to_string()),
                ("ssl.truststore.location", format!("{dir}/{}", user_provided::TRUST_STORE)),
                ("ssl.truststore.password", password),
            ]
        } else {
            vec![
                ("ssl.keystore.type", "PEM".to_string()),
                ("ssl.keystore.key", file("tls.key")),
                ("ssl.keystore.certificate.chain", file("tls.crt")),
                ("ssl.truststore.type", "PEM".to_string()),
                ("ssl.truststore.certificates", file("ca.crt")),
            ]
        };
        for (key, value) in stores.into_iter().chain([("ssl.client.auth", client_auth.to_string())]) {
            properties.insert(format!("{prefix}{key}"), value);
        }
    }

    properties.extend(file_provider_properties(user));

    if !principals.is_empty() {
        let mut super_users: Vec<&str> = Vec::new();
        for principal in
            principals.iter().map(String::as_str).chain(list(user.get(SUPER_USERS).map(String::as_str), ';'))
        {
            if !super_users.contains(&principal) {
                super_users.push(principal);
            }
        }
        properties.insert(SUPER_USERS.to_string(), super_users.join(";"));
    }
    properties
}

/// `config.providers`: the user's providers (from `user`) with [`FILE_PROVIDER`] added, and
/// its class. For every configuration that reads key material through the provider.
pub fn file_provider_properties(user: &Properties) -> Properties {
    let mut providers = list(user.get(CONFIG_PROVIDERS).map(String::as_str), ',');
    if !providers.contains(&FILE_PROVIDER) {
        providers.push(FILE_PROVIDER);
    }
    Properties::from([
        (CONFIG_PROVIDERS.to_string(), providers.join(",")),
        (format!("{CONFIG_PROVIDERS}.{FILE_PROVIDER}.class"), FILE_PROVIDER_CLASS.to_string()),
    ])
}

/// The principals of the certificates `sslSecrets` has the operator make: the brokers' when a
/// listener they talk to each other or to the controllers over uses TLS with that certificate,
/// and the operator's (as Koperator: `getServerPasswordKeysAndUsers`, `getClientPasswordKeyAndUser`).
/// Listeners with their own `serverSSLCertSecret` name whoever that certificate names: the
/// caller reads it from the certificate.
pub fn generated_principals(cluster: &ValidatedCluster) -> Vec<String> {
    // The user's certificates name whoever the user chose: their principals are the user's
    // to list in super.users.
    if crate::model::pki_source(&cluster.spec).is_none() {
        return Vec::new();
    }
    let mut principals = Vec::new();
    let brokers_use_generated = cluster.spec.listeners_config.internal_listeners.iter().any(|listener| {
        let common = &listener.common;
        let between_nodes = common.used_for_inner_broker_communication == Some(true)
            || listener.used_for_controller_communication == Some(true);
        between_nodes && common.security_protocol.uses_tls() && common.server_ssl_cert_secret.is_none()
    });
    if brokers_use_generated {
        principals.push(principal(&server_common_name(cluster)));
    }
    principals.push(principal(&controller_common_name(cluster)));
    principals
}

fn list(value: Option<&str>, separator: char) -> Vec<&str> {
    value.map(|v| v.split(separator).map(str::trim).filter(|item| !item.is_empty()).collect()).unwrap_or_default()
}

#[cfg(test)]
#[path = "broker_tls_tests.rs"]
mod tests;
