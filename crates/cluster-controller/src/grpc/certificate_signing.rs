//! `SignClientCertificate` and `user_certificate_issuer`: who issues KafkaUsers' client
//! certificates on a cluster, and signing them with the operator's CA, whose key stays in this
//! process. Pure: the service reads the CA Secret and hands it here.

use k8s_openapi::api::core::v1::Secret;
use time::{Duration, OffsetDateTime};
use tonic::Status;

use grpc_contracts::cluster_v1::{
    self as v1, SignClientCertificateRequest, SignClientCertificateResponse, user_certificate_issuer,
};

use crate::build::pki::cert_manager::{CLUSTER_ISSUER, GROUP};
use crate::build::pki::names::{cluster_issuer_name, controller_common_name, server_common_name};
use crate::build::pki::operator_ca::{CertificateAuthority, LeafRequest, Validity};
use crate::build::pki::secrets::{CA_CERTIFICATE_KEY, CERTIFICATE_KEY, PRIVATE_KEY_KEY, ca_secret_name, read_text};
use crate::model::{self, PkiSource, ValidatedCluster};

/// Shortest validity signed: Koperator's minimum `expirationSeconds`.
const MIN_VALIDITY_SECONDS: i64 = 3600;

/// Who issues client certificates: the backend that issues the cluster's own, with the issuer
/// its Certificates name (the user's `sslSecrets.issuerRef`, else the cluster's ClusterIssuer).
pub fn user_certificate_issuer(cluster: &ValidatedCluster) -> Option<v1::UserCertificateIssuer> {
    let backend = match model::pki_source(&cluster.spec)? {
        PkiSource::OperatorCa => user_certificate_issuer::Backend::OperatorCa(v1::OperatorCaIssuer {}),
        PkiSource::CertManager => {
            let ssl = cluster.spec.listeners_config.ssl_secrets.as_ref();
            let issuer = match ssl.and_then(|ssl| ssl.issuer_ref.as_ref()) {
                Some(issuer) => v1::CertManagerIssuer {
                    name: issuer.name.clone(),
                    kind: issuer.kind.clone().unwrap_or_else(|| "Issuer".to_owned()),
                    group: issuer.group.clone().unwrap_or_else(|| GROUP.to_owned()),
                },
                None => v1::CertManagerIssuer {
                    name: cluster_issuer_name(cluster),
                    kind: CLUSTER_ISSUER.to_owned(),
                    group: GROUP.to_owned(),
                },
            };
            user_certificate_issuer::Backend::CertManager(issuer)
        }
    };
    Some(v1::UserCertificateIssuer { backend: Some(backend) })
}

/// What to sign, checked before the CA Secret is read.
pub fn check_request(cluster: &ValidatedCluster, request: &SignClientCertificateRequest) -> Result<(), Status> {
    if model::pki_source(&cluster.spec) != Some(PkiSource::OperatorCa) {
        return Err(Status::failed_precondition(format!(
            "KafkaCluster {}/{} does not issue certificates with the operator's CA \
             (spec.listenersConfig.sslSecrets.pkiBackend is not operator-ca)",
            cluster.namespace, cluster.name
        )));
    }
    if request.common_name.is_empty() {
        return Err(Status::invalid_argument("common_name is required"));
    }
    // These principals are super users: a certificate naming one would bypass every ACL.
    if [controller_common_name(cluster), server_common_name(cluster)].contains(&request.common_name) {
        return Err(Status::permission_denied(format!(
            "{} is the common name of the operator or the brokers of KafkaCluster {}/{}, a super user",
            request.common_name, cluster.namespace, cluster.name
        )));
    }
    if request.validity_seconds < MIN_VALIDITY_SECONDS {
        return Err(Status::invalid_argument(format!(
            "validity_seconds must be at least {MIN_VALIDITY_SECONDS}, got {}",
            request.validity_seconds
        )));
    }
    Ok(())
}

/// Signs a checked `request` with the CA stored in `ca_secret` (`None`: not stored yet).
pub fn sign(
    cluster: &ValidatedCluster,
    ca_secret: Option<&Secret>,
    request: &SignClientCertificateRequest,
    now: OffsetDateTime,
) -> Result<SignClientCertificateResponse, Status> {
    let secret_name = ca_secret_name(cluster);
    let not_ready = |why: String| {
        Status::failed_precondition(format!(
            "the CA of KafkaCluster {}/{} is not ready: {why}",
            cluster.namespace, cluster.name
        ))
    };
    let secret = ca_secret.ok_or_else(|| not_ready(format!("Secret {secret_name} does not exist yet")))?;
    let read = |key| read_text(secret, key).map_err(|error| not_ready(error.to_string()));
    let (certificate, key, bundle) = (read(CERTIFICATE_KEY)?, read(PRIVATE_KEY_KEY)?, read(CA_CERTIFICATE_KEY)?);
    let ca = CertificateAuthority::from_pem(&certificate, &key).map_err(|error| not_ready(error.to_string()))?;
    let leaf = LeafRequest {
        common_name: request.common_name.clone(),
        dns_names: request.dns_names.clone(),
        ..Default::default()
    };
    let validity = Validity::starting(now, Duration::seconds(request.validity_seconds));
    let certificate_pem = ca
        .sign_request(&request.csr_pem, &leaf, validity)
        .map_err(|error| Status::invalid_argument(error.to_string()))?;
    Ok(SignClientCertificateResponse { certificate_pem, ca_certificate_pem: bundle })
}

#[cfg(test)]
#[path = "certificate_signing_tests.rs"]
mod tests;
