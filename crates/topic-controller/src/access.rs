//! How to reach a cluster's brokers, asked of the cluster controller's ClusterAccess service
//! (the only component that knows how listeners were rendered).

use std::time::Duration;

use grpc_contracts::cluster_v1::cluster_access_client::ClusterAccessClient;
use grpc_contracts::cluster_v1::{self as v1, ClusterRef, GetClusterAccessRequest, SecurityProtocol};
use operator_runtime::trace_context::Traced;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::request::ClusterKey;
use crate::tls_material::{ClientSource, SecretKey, SecretName, TlsSource};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the cluster controller's ClusterAccess endpoint {endpoint:?} is not a valid URI")]
    InvalidEndpoint {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("KafkaCluster {0} not found: create it or fix spec.clusterRef")]
    ClusterNotFound(ClusterKey),
    #[error("{0}")]
    ClusterNotReady(String),
    #[error("cluster controller at {endpoint} unreachable or not serving ({code:?}: {message})")]
    Unreachable { endpoint: String, code: Code, message: String },
    #[error(
        "listener {listener} of KafkaCluster {cluster} uses {protocol}; the topic controller only speaks PLAINTEXT and SSL so far"
    )]
    UnsupportedSecurity { cluster: ClusterKey, listener: String, protocol: String },
    #[error(
        "listener {listener} of KafkaCluster {cluster} uses TLS, but the cluster controller names no CA certificate \
         for it: set spec.listenersConfig.sslSecrets (per-listener serverSSLCertSecret is not supported yet)"
    )]
    NoTlsCredentials { cluster: ClusterKey, listener: String },
    #[error("the cluster controller answered for {0} without a listener to use")]
    NoListener(ClusterKey),
    #[error("the cluster controller refused to sign the certificate ({code:?}): {message}")]
    SigningRefused { code: Code, message: String },
}

/// Where a cluster's brokers are, as the topic controller needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterTarget {
    pub bootstrap_servers: Vec<String>,
    /// Brokers in the cluster spec (controller-only nodes excluded).
    pub spec_broker_count: usize,
    /// Where the TLS material is, for a TLS listener.
    pub tls: Option<TlsSource>,
    /// Who issues KafkaUsers' certificates; `None` when the operator makes none for the cluster.
    pub user_issuer: Option<UserIssuer>,
    /// Where the CA bundle of the operator's certificates is (the `ca.crt` a KafkaUser's
    /// Secret carries), also when no internal listener uses TLS; set with `user_issuer`.
    pub user_ca: Option<TlsSource>,
}

/// Who issues a cluster's client certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserIssuer {
    /// The operator's CA, through [`ClusterAccess::sign_client_certificate`].
    OperatorCa,
    /// cert-manager, through a Certificate naming this issuer.
    CertManager { name: String, kind: String, group: String },
}

/// What to sign: the CSR's public key, named as the other fields say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRequest {
    pub csr_pem: String,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub validity_seconds: i64,
}

/// A signed certificate and the CA bundle clients of the cluster trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub certificate_pem: String,
    pub ca_certificate_pem: String,
}

/// A lazily connected client: creating it needs no reachable server, and the channel
/// reconnects by itself after the cluster controller restarts.
#[derive(Clone)]
pub struct ClusterAccess {
    endpoint: String,
    client: ClusterAccessClient<Traced<Channel>>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl ClusterAccess {
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|source| Error::InvalidEndpoint { endpoint: endpoint.to_owned(), source })?
            .connect_timeout(REQUEST_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .connect_lazy();
        Ok(Self { endpoint: endpoint.to_owned(), client: ClusterAccessClient::new(Traced::new(channel)) })
    }

    pub async fn target(&self, cluster: &ClusterKey) -> Result<ClusterTarget, Error> {
        let request = GetClusterAccessRequest {
            cluster: Some(ClusterRef { namespace: cluster.namespace.clone(), name: cluster.name.clone() }),
        };
        let response = self.client.clone().get_cluster_access(request).await.map_err(|status| match status.code() {
            Code::NotFound => Error::ClusterNotFound(cluster.clone()),
            Code::FailedPrecondition => Error::ClusterNotReady(status.message().to_owned()),
            code => Error::Unreachable { endpoint: self.endpoint.clone(), code, message: status.message().to_owned() },
        })?;
        let access = response.into_inner().access.ok_or_else(|| Error::NoListener(cluster.clone()))?;
        let listener = access
            .listeners
            .iter()
            .find(|listener| listener.name == access.preferred_listener)
            .or_else(|| access.listeners.first())
            .ok_or_else(|| Error::NoListener(cluster.clone()))?;
        Ok(ClusterTarget {
            bootstrap_servers: listener.bootstrap_servers.clone(),
            spec_broker_count: access.broker_ids.len(),
            tls: tls_source(cluster, listener)?,
            user_issuer: access.user_certificate_issuer.and_then(|issuer| issuer.backend).map(user_issuer),
            user_ca: access
                .user_ca_certificate
                .as_ref()
                .map(|ca| TlsSource { ca_certificate: secret_key(ca), client: None }),
        })
    }

    /// Asks the cluster controller to sign a client certificate with the cluster's CA.
    pub async fn sign_client_certificate(
        &self,
        cluster: &ClusterKey,
        request: SigningRequest,
    ) -> Result<Signed, Error> {
        let request = v1::SignClientCertificateRequest {
            cluster: Some(ClusterRef { namespace: cluster.namespace.clone(), name: cluster.name.clone() }),
            csr_pem: request.csr_pem,
            common_name: request.common_name,
            dns_names: request.dns_names,
            validity_seconds: request.validity_seconds,
        };
        let response =
            self.client.clone().sign_client_certificate(request).await.map_err(|status| match status.code() {
                Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::Cancelled => Error::Unreachable {
                    endpoint: self.endpoint.clone(),
                    code: status.code(),
                    message: status.message().to_owned(),
                },
                code => Error::SigningRefused { code, message: status.message().to_owned() },
            })?;
        let signed = response.into_inner();
        Ok(Signed { certificate_pem: signed.certificate_pem, ca_certificate_pem: signed.ca_certificate_pem })
    }
}

fn user_issuer(backend: v1::user_certificate_issuer::Backend) -> UserIssuer {
    match backend {
        v1::user_certificate_issuer::Backend::OperatorCa(_) => UserIssuer::OperatorCa,
        v1::user_certificate_issuer::Backend::CertManager(issuer) => {
            UserIssuer::CertManager { name: issuer.name, kind: issuer.kind, group: issuer.group }
        }
    }
}

/// The listener's TLS material, as the cluster controller names it. No client required.
fn tls_source(cluster: &ClusterKey, listener: &v1::Listener) -> Result<Option<TlsSource>, Error> {
    let protocol = listener.security_protocol();
    match protocol {
        SecurityProtocol::Plaintext => return Ok(None),
        SecurityProtocol::Ssl => {}
        _ => {
            return Err(Error::UnsupportedSecurity {
                cluster: cluster.clone(),
                listener: listener.name.clone(),
                protocol: protocol.as_str_name().trim_start_matches("SECURITY_PROTOCOL_").to_owned(),
            });
        }
    }
    let credentials = listener.credentials.as_ref();
    let ca_certificate = credentials
        .and_then(|c| c.ca_certificate.as_ref())
        .ok_or_else(|| Error::NoTlsCredentials { cluster: cluster.clone(), listener: listener.name.clone() })?;
    // The key without the certificate (or the reverse) is of no use: a client sends both or
    // neither.
    let client = credentials.and_then(|c| match (&c.client_certificate, &c.client_key) {
        (Some(certificate), Some(private_key)) => {
            Some(ClientSource { certificate: secret_key(certificate), private_key: secret_key(private_key) })
        }
        _ => None,
    });
    Ok(Some(TlsSource { ca_certificate: secret_key(ca_certificate), client }))
}

fn secret_key(reference: &v1::SecretKeyRef) -> SecretKey {
    SecretKey {
        secret: SecretName { namespace: reference.namespace.clone(), name: reference.name.clone() },
        key: reference.key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> ClusterKey {
        ClusterKey { namespace: "kafka".into(), name: "kafka".into() }
    }

    fn reference(key: &str) -> Option<v1::SecretKeyRef> {
        Some(v1::SecretKeyRef { namespace: "kafka".into(), name: "kafka-controller".into(), key: key.into() })
    }

    fn listener(protocol: SecurityProtocol, credentials: Option<v1::ClientCredentials>) -> v1::Listener {
        v1::Listener {
            name: "internal".into(),
            bootstrap_servers: vec!["kafka-0.kafka-headless.kafka.svc.cluster.local:29092".into()],
            security_protocol: protocol as i32,
            tls_enabled: protocol == SecurityProtocol::Ssl,
            credentials,
        }
    }

    fn mutual() -> v1::ClientCredentials {
        v1::ClientCredentials {
            ca_certificate: reference("ca.crt"),
            client_certificate: reference("tls.crt"),
            client_key: reference("tls.key"),
            sasl: None,
        }
    }

    fn key(key: &str) -> SecretKey {
        SecretKey { secret: SecretName { namespace: "kafka".into(), name: "kafka-controller".into() }, key: key.into() }
    }

    #[test]
    fn a_plaintext_listener_needs_no_material() {
        assert_eq!(tls_source(&cluster(), &listener(SecurityProtocol::Plaintext, None)).expect("plaintext"), None);
    }

    #[test]
    fn an_ssl_listener_takes_the_named_keys() {
        let source = tls_source(&cluster(), &listener(SecurityProtocol::Ssl, Some(mutual()))).expect("ssl");
        let source = source.expect("TLS material");
        assert_eq!(source.ca_certificate, key("ca.crt"));
        let client = source.client.expect("client certificate");
        assert_eq!((client.certificate, client.private_key), (key("tls.crt"), key("tls.key")));

        let server_only = v1::ClientCredentials { client_certificate: None, client_key: None, ..mutual() };
        let source = tls_source(&cluster(), &listener(SecurityProtocol::Ssl, Some(server_only))).expect("ssl");
        assert_eq!(source.expect("TLS material").client, None);
    }

    #[test]
    fn an_ssl_listener_without_a_ca_says_what_to_set() {
        for credentials in [None, Some(v1::ClientCredentials { ca_certificate: None, ..mutual() })] {
            let error = tls_source(&cluster(), &listener(SecurityProtocol::Ssl, credentials)).expect_err("no CA");
            assert!(matches!(error, Error::NoTlsCredentials { .. }), "{error:?}");
            assert!(error.to_string().contains("spec.listenersConfig.sslSecrets"), "{error}");
        }
    }

    #[test]
    fn sasl_is_refused_by_name() {
        let error = tls_source(&cluster(), &listener(SecurityProtocol::SaslSsl, Some(mutual()))).expect_err("sasl");
        assert_eq!(
            error.to_string(),
            "listener internal of KafkaCluster kafka/kafka uses SASL_SSL; the topic controller only speaks PLAINTEXT \
             and SSL so far"
        );
    }
}
