//! Certificates the user brings (`sslSecrets.create` false or unset), in Koperator's layout.
//! Pure.
//!
//! - `sslSecrets.tlsSecretName` (Koperator's `api/v1beta1` keys, PEM): `caCert` (the CA the
//!   brokers and the operator trust), `peerCert` and `peerKey` (the brokers' server certificate
//!   and PKCS#8 key), `clientCert` and `clientKey` (the operator's client certificate and key).
//!   `caKey` may be there too (Koperator reads it to sign with): nothing here reads it, and no
//!   broker mounts it.
//! - a listener's `serverSSLCertSecret` (Koperator's JKS layout): `keystore.jks`,
//!   `truststore.jks` and their `password`. Brokers read the key stores as JKS; the operator's
//!   own clients (PEM only) reach such a listener with `tlsSecretName`'s client
//!   certificate and trust its `caCert`, so the listener's certificate must be signed by that CA
//!   and its trust store must trust the client certificate's.
//!
//! The operator never writes either Secret.

use crd_types::kafka_cluster::CommonListenerSpec;

use crate::model::{ValidatedCluster, user_certificates};

/// The CA certificate (PEM) the brokers and the operator's clients trust.
pub const CA_CERTIFICATE: &str = "caCert";
/// The brokers' server certificate (PEM, the chain after it).
pub const PEER_CERTIFICATE: &str = "peerCert";
/// The brokers' private key (PKCS#8 PEM: Kafka's PEM key store reads no other).
pub const PEER_KEY: &str = "peerKey";
/// The operator's client certificate (PEM).
pub const CLIENT_CERTIFICATE: &str = "clientCert";
/// The operator's private key (PKCS#8 PEM).
pub const CLIENT_KEY: &str = "clientKey";
/// A listener's JKS key store (Koperator's `v1alpha1.TLSJKSKeyStore`).
pub const KEY_STORE: &str = "keystore.jks";
/// A listener's JKS trust store.
pub const TRUST_STORE: &str = "truststore.jks";
/// The password of both JKS stores.
pub const PASSWORD: &str = "password";

/// The file names brokers read a [`PEER_CERTIFICATE`] listener's PEM through, as the Secrets
/// the operator makes name them (`tls.crt`, `tls.key`, `ca.crt`): the Secret's keys are
/// projected onto these, so that one configuration serves every source.
pub const PEM_FILES: [(&str, &str); 3] =
    [(PEER_CERTIFICATE, "tls.crt"), (PEER_KEY, "tls.key"), (CA_CERTIFICATE, "ca.crt")];

/// The TLS listeners with their own JKS `serverSSLCertSecret`, and its name; none unless the
/// user brings the certificates.
pub fn jks_listeners(cluster: &ValidatedCluster) -> Vec<(&CommonListenerSpec, &str)> {
    if user_certificates(&cluster.spec).is_none() {
        return Vec::new();
    }
    crate::build::broker_tls::tls_listeners(cluster)
        .filter_map(|listener| Some((listener, listener.server_ssl_cert_secret.as_ref()?.name.as_str())))
        .collect()
}

/// Whether a TLS listener serves `tlsSecretName`'s `peerCert` (one without `serverSSLCertSecret`).
pub fn serves_peer_certificate(cluster: &ValidatedCluster) -> bool {
    user_certificates(&cluster.spec).is_some()
        && crate::build::broker_tls::tls_listeners(cluster).any(|listener| listener.server_ssl_cert_secret.is_none())
}

/// Whether the operator talks TLS to the cluster: its admin listener (the inter-broker one)
/// uses TLS, so it needs `clientCert` and `clientKey`.
pub fn operator_uses_tls(cluster: &ValidatedCluster) -> bool {
    cluster.spec.listeners_config.internal_listeners.iter().any(|listener| {
        listener.common.used_for_inner_broker_communication == Some(true)
            && listener.common.security_protocol.uses_tls()
    })
}

/// Every Secret the user's certificates are in: `tlsSecretName`, then each JKS listener's.
pub fn secret_names(cluster: &ValidatedCluster) -> Vec<String> {
    let Some(name) = user_certificates(&cluster.spec) else {
        return Vec::new();
    };
    if crate::build::broker_tls::tls_listeners(cluster).next().is_none() {
        return Vec::new();
    }
    let mut names = vec![name.to_string()];
    for (_, secret) in jks_listeners(cluster) {
        if !names.iter().any(|known| known == secret) {
            names.push(secret.to_string());
        }
    }
    names
}
