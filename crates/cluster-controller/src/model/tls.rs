//! Which certificates a cluster's TLS listeners use, and the TLS settings the operator cannot
//! act on yet. Pure.

use crd_types::kafka_cluster::{KafkaClusterSpec, PkiBackend, SecurityProtocol};

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
    for listener in &listeners.internal_listeners {
        let common = &listener.common;
        let name = common.name.clone();
        if common.security_protocol.uses_sasl() {
            errors.push(ValidationError::SaslListener { name, protocol: common.security_protocol.kafka_name() });
            continue;
        }
        if common.security_protocol != SecurityProtocol::Ssl {
            continue;
        }
        if common.server_ssl_cert_secret.is_some() {
            errors.push(ValidationError::UserServerCertificate { name });
        } else if pki_source(spec).is_none() {
            errors.push(ValidationError::TlsWithoutCertificates { name });
        }
    }
}
