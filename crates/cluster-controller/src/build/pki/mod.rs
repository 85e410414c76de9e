//! Certificates of TLS clusters (`listenersConfig.sslSecrets`). Pure: no client.
//!
//! Three sources, chosen by `sslSecrets`:
//! - `create: true` with `pkiBackend` unset or `cert-manager`: cert-manager objects
//!   ([`cert_manager`]), named as Koperator names them;
//! - `create: true` with `pkiBackend: operator-ca`: the operator's own CA ([`operator_ca`]),
//!   for clusters without cert-manager, stored in Secrets laid out as cert-manager's
//!   ([`secrets`]);
//! - `create` false or unset: the user's certificates ([`user_provided`]), Koperator's layout.
//!
//! Either way brokers and the operator find `ca.crt`, `tls.crt` and `tls.key` in
//! `<cluster>-server-certificate` and `<cluster>-controller`; [`inspect`] decides when a stored
//! certificate must be issued again.

pub mod cert_manager;
pub mod inspect;
pub mod names;
pub mod operator_ca;
pub mod rotation;
pub mod secrets;
pub mod user_provided;

#[cfg(test)]
mod operator_ca_tests;

/// Why a certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("failed to generate a key or certificate: {0}")]
    Generate(#[source] rcgen::Error),
    #[error("failed to read the private key (PKCS#8 PEM expected): {0}")]
    ParseKey(#[source] rcgen::Error),
    #[error("failed to read the certificate signing request: {0}")]
    ParseRequest(#[source] rcgen::Error),
    #[error("failed to read the CA certificate: {0}")]
    ParseCertificate(#[source] rcgen::Error),
    #[error("failed to read the certificate: {0}")]
    ReadCertificate(String),
    #[error("Secret {secret} has no key {key}")]
    SecretKeyMissing { secret: String, key: String },
    #[error("key {key} of Secret {secret} is not text (PEM expected)")]
    SecretKeyNotText { secret: String, key: String },
}
