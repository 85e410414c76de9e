//! Issuing a certificate with the operator's CA: the key is made here and never leaves this
//! process and the user's Secret; the cluster controller signs a CSR for it (ClusterAccess
//! `SignClientCertificate`), so the CA key never leaves the cluster controller.

use rcgen::{CertificateParams, DnType, KeyPair};

/// The key entry's alias in `keystore.jks`, as cert-manager (Koperator's backend) names it.
const KEY_ALIAS: &str = "certificate";

use super::certificate;
use super::java_stores::{self, JavaStores};
use super::kube_io::UserWriter;
use super::request::UserRequest;
use crate::access::{self, ClusterAccess, Signed, SigningRequest};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("failed to make a key and certificate signing request")]
    Request(#[source] rcgen::Error),
    #[error("failed to write the Java key stores: {0}")]
    JavaStores(String),
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
    let java = if user.spec.include_jks == Some(true) { Some(java_stores(&key, &signed)?) } else { None };
    let secret = certificate::user_secret(
        user,
        &signed.ca_certificate_pem,
        &signed.certificate_pem,
        &key.serialize_pem(),
        java.as_ref(),
    );
    writer
        .apply_secret(&secret)
        .await
        .map_err(|source| IssueError::WriteSecret { secret: user.spec.secret_name.clone(), source })?;
    let expiry = certificate::CertificateFacts::read(&signed.certificate_pem)
        .map(|facts| certificate::unix_time(facts.not_after))
        .unwrap_or_default();
    Ok(expiry)
}

/// `keystore.jks` and `truststore.jks` of the new key, its certificate and the CA bundle.
fn java_stores(key: &KeyPair, signed: &Signed) -> Result<JavaStores, IssueError> {
    let der = |pem_text: &str| -> Result<Vec<Vec<u8>>, IssueError> {
        x509_parser::pem::Pem::iter_from_buffer(pem_text.as_bytes())
            .map(|pem| pem.map(|pem| pem.contents).map_err(|error| IssueError::JavaStores(error.to_string())))
            .collect()
    };
    let certificate = der(&signed.certificate_pem)?
        .into_iter()
        .next()
        .ok_or_else(|| IssueError::JavaStores("the signed certificate holds no PEM block".to_owned()))?;
    let created_ms = u64::try_from(k8s_openapi::jiff::Timestamp::now().as_millisecond()).expect("after 1970");
    java_stores::java_stores(
        KEY_ALIAS,
        &key.serialize_der(),
        &certificate,
        &der(&signed.ca_certificate_pem)?,
        created_ms,
    )
    .map_err(|_| IssueError::JavaStores("no randomness for the password".to_owned()))
}
