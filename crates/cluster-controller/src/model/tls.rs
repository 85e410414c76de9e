//! Which certificates a cluster's TLS listeners use, and the TLS settings the operator cannot
//! act on yet. Pure.
//!
//! Three sources: cert-manager or the operator's CA make them (`sslSecrets.create: true`,
//! [`pki_source`]), or the user brings them (`create` false or unset, [`user_certificates`]):
//! the Secret `tlsSecretName` in Koperator's layout, and per listener a JKS `serverSSLCertSecret`.

use crd_types::kafka_cluster::{KafkaClusterSpec, PkiBackend};

use super::ValidationError;

/// Who makes the certificates of a cluster with `sslSecrets.create: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkiSource {
    /// cert-manager (Koperator's default `pkiBackend`).
    CertManager,
    /// The operator's own CA (`pkiBackend: operator-ca`).
    OperatorCa,
}

/// The certificate source of a cluster, None when the operator makes no certificates.
pub fn pki_source(spec: &KafkaClusterSpec) -> Option<PkiSource> {
    let ssl = spec.listeners_config.ssl_secrets.as_ref().filter(|ssl| ssl.create == Some(true))?;
    match ssl.pki_backend {
        None | Some(PkiBackend::CertManager) => Some(PkiSource::CertManager),
        Some(PkiBackend::OperatorCa) => Some(PkiSource::OperatorCa),
        Some(PkiBackend::K8sCsr | PkiBackend::Provided) => None,
    }
}

/// The Secret of the certificates the user brings (`sslSecrets.tlsSecretName` with `create`
/// false or unset), None when the operator makes them or no `sslSecrets` is set.
pub fn user_certificates(spec: &KafkaClusterSpec) -> Option<&str> {
    let ssl = spec.listeners_config.ssl_secrets.as_ref().filter(|ssl| ssl.create != Some(true))?;
    Some(ssl.tls_secret_name.as_str())
}

/// Whether a cluster's TLS listeners have certificates, made or brought.
pub fn has_certificates(spec: &KafkaClusterSpec) -> bool {
    pki_source(spec).is_some() || user_certificates(spec).is_some()
}

/// What TLS needs that the spec does not give, collected into `errors`.
pub(super) fn check_tls(spec: &KafkaClusterSpec, errors: &mut Vec<ValidationError>) {
    let listeners = &spec.listeners_config;
    if let Some(ssl) = &listeners.ssl_secrets
        && ssl.create == Some(true)
        && let Some(backend @ (PkiBackend::K8sCsr | PkiBackend::Provided)) = ssl.pki_backend
    {
        let name = match backend {
            PkiBackend::K8sCsr => "k8s-csr",
            _ => "pki-backend-provided",
        };
        errors.push(ValidationError::UnsupportedPkiBackend { backend: name });
    }
    if user_certificates(spec).is_some_and(str::is_empty) {
        errors.push(ValidationError::UserCertificatesUnnamed);
    }
    let any_tls = listeners.internal_listeners.iter().any(|listener| listener.common.security_protocol.uses_tls());
    if any_tls && let Some(reference) = &spec.client_ssl_cert_secret {
        errors.push(ValidationError::ClientCertificateSecret { name: reference.name.clone() });
    }
    for listener in &listeners.internal_listeners {
        let common = &listener.common;
        let name = common.name.clone();
        // SCRAM on the listeners clients use; the nodes themselves would need credentials of
        // their own on a listener they talk to each other on.
        let between_nodes = common.used_for_inner_broker_communication == Some(true)
            || listener.used_for_controller_communication == Some(true);
        if common.security_protocol.uses_sasl() && between_nodes {
            errors.push(ValidationError::SaslListener { name, protocol: common.security_protocol.kafka_name() });
            continue;
        }
        if !common.security_protocol.uses_tls() {
            continue;
        }
        if common.server_ssl_cert_secret.is_some() && user_certificates(spec).is_none() {
            errors.push(ValidationError::UserServerCertificate { name });
        } else if !has_certificates(spec) {
            errors.push(ValidationError::TlsWithoutCertificates { name });
        }
    }
}
