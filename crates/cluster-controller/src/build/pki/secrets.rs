//! Secrets of the operator's CA, laid out as cert-manager lays out a Certificate's Secret
//! (`ca.crt`, `tls.crt`, `tls.key`), so brokers, the operator and clients read every backend's
//! certificates the same way.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use super::PkiError;
use super::names::{ca_certificate_name, secret_labels};
use super::operator_ca::{CertificateAuthority, KeyAndCertificate};
use crate::build::labels::object_meta;
use crate::model::ValidatedCluster;

/// The CA certificate clients trust.
pub const CA_CERTIFICATE_KEY: &str = "ca.crt";
/// The holder's certificate (Kubernetes' `kubernetes.io/tls` key).
pub const CERTIFICATE_KEY: &str = "tls.crt";
/// The holder's PKCS#8 private key.
pub const PRIVATE_KEY_KEY: &str = "tls.key";
/// Kubernetes' Secret type for a certificate and its key.
const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// Where the operator keeps its CA: `sslSecrets.tlsSecretName` (Koperator's "Secret holding
/// the CA"), else `<cluster>-ca-certificate`.
pub fn ca_secret_name(cluster: &ValidatedCluster) -> String {
    match &cluster.spec.listeners_config.ssl_secrets {
        Some(ssl) if !ssl.tls_secret_name.is_empty() => ssl.tls_secret_name.clone(),
        _ => ca_certificate_name(cluster),
    }
}

/// The CA's Secret: its certificate as `ca.crt` and `tls.crt`, its key as `tls.key` (the layout
/// Koperator gives a CA it is handed).
pub fn ca_secret(cluster: &ValidatedCluster, ca: &CertificateAuthority) -> Secret {
    ca_secret_trusting(cluster, ca, &ca.pem().certificate_pem)
}

/// The CA's Secret with `bundle` as `ca.crt`: while the CA is replaced, clients that read their
/// trust from this Secret trust the new CA and the old one (see `pki::rotation`).
pub fn ca_secret_trusting(cluster: &ValidatedCluster, ca: &CertificateAuthority, bundle: &str) -> Secret {
    let pem = ca.pem();
    let bundle = bundle.to_owned();
    secret(
        cluster,
        ca_secret_name(cluster),
        [
            (CA_CERTIFICATE_KEY, &bundle),
            (CERTIFICATE_KEY, &pem.certificate_pem),
            (PRIVATE_KEY_KEY, &pem.private_key_pem),
        ],
    )
}

/// A leaf's Secret named `name`: `ca.crt` from the CA, `tls.crt` and `tls.key` from the leaf.
pub fn leaf_secret(
    cluster: &ValidatedCluster,
    name: String,
    ca_certificate_pem: &str,
    leaf: &KeyAndCertificate,
) -> Secret {
    let ca = ca_certificate_pem.to_string();
    secret(
        cluster,
        name,
        [(CA_CERTIFICATE_KEY, &ca), (CERTIFICATE_KEY, &leaf.certificate_pem), (PRIVATE_KEY_KEY, &leaf.private_key_pem)],
    )
}

/// `tls.crt` and `tls.key` of a Secret, whoever wrote it; an error names the missing or
/// unreadable key.
pub fn read_key_and_certificate(secret: &Secret) -> Result<KeyAndCertificate, PkiError> {
    Ok(KeyAndCertificate {
        certificate_pem: read_text(secret, CERTIFICATE_KEY)?,
        private_key_pem: read_text(secret, PRIVATE_KEY_KEY)?,
    })
}

/// One key of a Secret as UTF-8 text (PEM is ASCII).
pub fn read_text(secret: &Secret, key: &str) -> Result<String, PkiError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .ok_or_else(|| PkiError::SecretKeyMissing { secret: name.clone(), key: key.to_string() })?;
    String::from_utf8(bytes.0.clone()).map_err(|_| PkiError::SecretKeyNotText { secret: name, key: key.to_string() })
}

fn secret(cluster: &ValidatedCluster, name: String, entries: [(&str, &String); 3]) -> Secret {
    let data: BTreeMap<String, ByteString> =
        entries.into_iter().map(|(key, value)| (key.to_string(), ByteString(value.as_bytes().to_vec()))).collect();
    Secret {
        metadata: object_meta(cluster, name, secret_labels(cluster)),
        type_: Some(TLS_SECRET_TYPE.to_string()),
        data: Some(data),
        ..Default::default()
    }
}
