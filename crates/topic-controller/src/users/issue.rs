//! Issuing a certificate with the operator's CA: the key is made here and never leaves this
//! process and the user's Secret; the cluster controller signs a CSR for it (ClusterAccess
//! `SignClientCertificate`), so the CA key never leaves the cluster controller.

use rcgen::{CertificateParams, DnType, KeyPair};

use super::certificate;
use super::kube_io::UserWriter;
use super::request::UserRequest;
use crate::access::{self, ClusterAccess, SigningRequest};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("failed to make a key and certificate signing request")]
    Request(#[source] rcgen::Error),
    #[error("failed to have the certificate signed")]
    Sign(#[source] access::Error),
    #[error("failed to write Secret {secret}")]
    WriteSecret {
        secret: String,
        #[source]
        source: kube::Error,
    },
}

/// A new key, signed, stored in the user's Secret; returns the certificate's expiry.
pub async fn issue(access: &ClusterAccess, writer: &UserWriter, user: &UserRequest) -> Result<String, IssueError> {
    let key = KeyPair::generate().map_err(IssueError::Request)?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, user.resource.name.as_str());
    let csr_pem = params.serialize_request(&key).and_then(|csr| csr.pem()).map_err(IssueError::Request)?;
    let request = SigningRequest {
        csr_pem,
        common_name: user.resource.name.clone(),
        dns_names: user.spec.dns_names.clone(),
        validity_seconds: i64::from(user.spec.certificate_seconds()),
    };
    let signed = access.sign_client_certificate(&user.cluster, request).await.map_err(IssueError::Sign)?;
    let secret =
        certificate::user_secret(user, &signed.ca_certificate_pem, &signed.certificate_pem, &key.serialize_pem());
    writer
        .apply_secret(&secret)
        .await
        .map_err(|source| IssueError::WriteSecret { secret: user.spec.secret_name.clone(), source })?;
    let expiry = certificate::CertificateFacts::read(&signed.certificate_pem)
        .map(|facts| certificate::unix_time(facts.not_after))
        .unwrap_or_default();
    Ok(expiry)
}
