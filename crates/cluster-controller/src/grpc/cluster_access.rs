//! `koperator.cluster.v1.ClusterAccess`: how to reach a KafkaCluster, answered from the
//! KafkaCluster cache (no API request per call). Read-only, so every replica serves it, leader
//! or not.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::{ClusterState, CommonListenerSpec, SecurityProtocol, SslClientAuth};
use grpc_contracts::cluster_v1::cluster_access_server::ClusterAccess;
use grpc_contracts::cluster_v1::{
    self as v1, ClusterAccessInfo, ClusterRef, GetClusterAccessRequest, GetClusterAccessResponse, NotReady,
    SignClientCertificateRequest, SignClientCertificateResponse, WatchClusterAccessRequest, WatchClusterAccessResponse,
    watch_cluster_access_response,
};

use crate::build;
use crate::build::pki::names::controller_certificate_secret_name;
use crate::build::pki::secrets::{CA_CERTIFICATE_KEY, CERTIFICATE_KEY, PRIVATE_KEY_KEY, ca_secret_name};
use crate::build::pki::user_provided;
use crate::model::{self, MetadataMode};

use super::certificate_signing;

/// How often a watch re-reads the cache; access details change on the scale of minutes.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

pub struct ClusterAccessService {
    clusters: Store<KafkaCluster>,
    /// Reads a cluster's CA Secret when a client certificate is to be signed.
    client: Client,
}

impl ClusterAccessService {
    pub fn new(clusters: Store<KafkaCluster>, client: Client) -> Self {
        Self { clusters, client }
    }
}

/// A cluster from the cache, validated.
fn validated(clusters: &Store<KafkaCluster>, cluster: &ClusterRef) -> Result<model::ValidatedCluster, Status> {
    if cluster.name.is_empty() || cluster.namespace.is_empty() {
        return Err(Status::invalid_argument("cluster.namespace and cluster.name are required"));
    }
    let object = clusters.get(&ObjectRef::new(&cluster.name).within(&cluster.namespace)).ok_or_else(|| {
        Status::not_found(format!("KafkaCluster {}/{} does not exist", cluster.namespace, cluster.name))
    })?;
    model::validate(&object).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        Status::failed_precondition(format!("the KafkaCluster spec cannot work: {}", problems.join("; ")))
    })
}

/// The access details of a cluster, or why there are none yet.
fn access(clusters: &Store<KafkaCluster>, cluster: &ClusterRef) -> Result<ClusterAccessInfo, Status> {
    let validated = validated(clusters, cluster)?;
    let object = clusters.get(&ObjectRef::new(&cluster.name).within(&cluster.namespace)).ok_or_else(|| {
        Status::not_found(format!("KafkaCluster {}/{} does not exist", cluster.namespace, cluster.name))
    })?;
    let status = object.status.as_ref();
    // A rolling restart keeps all but one broker serving, which is enough for admin work.
    let serving = matches!(
        status.and_then(|s| s.state),
        Some(ClusterState::ClusterRunning | ClusterState::ClusterRollingUpgrading)
    );
    if !serving {
        let waiting = status
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == crd_types::conditions::RECONCILING))
            .map(|c| c.message.clone())
            .unwrap_or_else(|| "the cluster controller has not reconciled it yet".to_owned());
        return Err(Status::failed_precondition(format!("KafkaCluster is not running yet: {waiting}")));
    }
    Ok(access_info(cluster.clone(), &validated))
}

fn access_info(cluster: ClusterRef, validated: &model::ValidatedCluster) -> ClusterAccessInfo {
    let addresses = build::listener_addresses(validated);
    let listeners_config = &validated.spec.listeners_config;
    let listeners: Vec<v1::Listener> = listeners_config
        .internal_listeners
        .iter()
        .filter_map(|listener| {
            let per_broker = &addresses.get(&listener.common.name)?.per_node;
            let protocol = listener.common.security_protocol;
            Some(v1::Listener {
                name: listener.common.name.clone(),
                bootstrap_servers: per_broker.values().cloned().collect(),
                security_protocol: security_protocol(protocol) as i32,
                tls_enabled: protocol.uses_tls(),
                credentials: credentials(validated, &listener.common),
            })
        })
        .collect();
    let flag = |f: fn(&crd_types::kafka_cluster::InternalListenerConfig) -> Option<bool>| {
        listeners_config.internal_listeners.iter().find(|l| f(l) == Some(true)).map(|l| l.common.name.clone())
    };
    let preferred_listener = flag(|l| l.common.used_for_kafka_admin_communication)
        .or_else(|| flag(|l| l.common.used_for_inner_broker_communication))
        .unwrap_or_default();
    ClusterAccessInfo {
        cluster: Some(cluster),
        observed_generation: validated.generation.unwrap_or_default(),
        listeners,
        preferred_listener,
        kafka_version: validated.brokers.first().map(|b| b.kafka_version.to_string()).unwrap_or_default(),
        metadata_mode: match validated.mode {
            MetadataMode::Kraft => v1::MetadataMode::Kraft,
            MetadataMode::ZooKeeper { .. } => v1::MetadataMode::Zookeeper,
        } as i32,
        broker_ids: validated.brokers.iter().map(|b| b.id).collect(),
        user_certificate_issuer: certificate_signing::user_certificate_issuer(validated),
        user_ca_certificate: user_ca_certificate(validated),
    }
}

/// The CA bundle of the operator's certificates: `ca.crt` of `<cluster>-controller`, which both
/// certificate backends write whatever the listeners, so that KafkaUsers get their certificates
/// also where TLS is on external listeners only.
fn user_ca_certificate(validated: &model::ValidatedCluster) -> Option<v1::SecretKeyRef> {
    model::pki_source(&validated.spec)?;
    Some(v1::SecretKeyRef {
        namespace: validated.namespace.clone(),
        name: controller_certificate_secret_name(validated),
        key: CA_CERTIFICATE_KEY.to_owned(),
    })
}

/// Where the operator's client certificate for a TLS listener is: `<cluster>-controller`,
/// which both certificate backends of `sslSecrets` write (CA, certificate, key), or with the
/// user's certificates (`create` false) `tlsSecretName`'s `caCert`, `clientCert` and
/// `clientKey`. The CA is the one that signed the brokers' certificates, so it is also what
/// clients trust. The certificate is left out where the listener does not ask for one
/// (`sslClientAuth: none`); with `requested` it is sent, so that Kafka sees the operator's
/// principal.
// TODO(#16): SASL credentials.
fn credentials(validated: &model::ValidatedCluster, listener: &CommonListenerSpec) -> Option<v1::ClientCredentials> {
    if !listener.security_protocol.uses_tls() {
        return None;
    }
    let (secret, [ca, certificate, private_key]) = if model::pki_source(&validated.spec).is_some() {
        (controller_certificate_secret_name(validated), [CA_CERTIFICATE_KEY, CERTIFICATE_KEY, PRIVATE_KEY_KEY])
    } else {
        let name = model::user_certificates(&validated.spec)?;
        (name.to_owned(), [user_provided::CA_CERTIFICATE, user_provided::CLIENT_CERTIFICATE, user_provided::CLIENT_KEY])
    };
    let key = |key: &str| v1::SecretKeyRef {
        namespace: validated.namespace.clone(),
        name: secret.clone(),
        key: key.to_owned(),
    };
    let sends_certificate = build::broker_tls::client_auth(listener) != SslClientAuth::None;
    Some(v1::ClientCredentials {
        ca_certificate: Some(key(ca)),
        client_certificate: sends_certificate.then(|| key(certificate)),
        client_key: sends_certificate.then(|| key(private_key)),
        sasl: None,
    })
}

fn security_protocol(protocol: SecurityProtocol) -> v1::SecurityProtocol {
    match protocol {
        SecurityProtocol::Plaintext => v1::SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl => v1::SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext => v1::SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl => v1::SecurityProtocol::SaslSsl,
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchClusterAccessResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ClusterAccess for ClusterAccessService {
    async fn get_cluster_access(
        &self,
        request: Request<GetClusterAccessRequest>,
    ) -> Result<Response<GetClusterAccessResponse>, Status> {
        let cluster = request.into_inner().cluster.unwrap_or_default();
        let access = access(&self.clusters, &cluster)?;
        Ok(Response::new(GetClusterAccessResponse { access: Some(access) }))
    }

    type WatchClusterAccessStream = WatchStream;

    async fn watch_cluster_access(
        &self,
        request: Request<WatchClusterAccessRequest>,
    ) -> Result<Response<Self::WatchClusterAccessStream>, Status> {
        let cluster = request.into_inner().cluster.unwrap_or_default();
        let clusters = self.clusters.clone();
        // Sends the current state at once, then only changes; ends with NOT_FOUND on deletion.
        let stream = async_stream::stream! {
            let mut last = None;
            loop {
                let state = match access(&clusters, &cluster) {
                    Ok(info) => watch_cluster_access_response::State::Ready(info),
                    Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                        watch_cluster_access_response::State::NotReady(NotReady {
                            cluster: Some(cluster.clone()),
                            reason: status.message().to_owned(),
                        })
                    }
                    Err(status) => {
                        yield Err(status);
                        break;
                    }
                };
                if last.as_ref() != Some(&state) {
                    last = Some(state.clone());
                    yield Ok(WatchClusterAccessResponse { state: Some(state) });
                }
                tokio::time::sleep(WATCH_INTERVAL).await;
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn sign_client_certificate(
        &self,
        request: Request<SignClientCertificateRequest>,
    ) -> Result<Response<SignClientCertificateResponse>, Status> {
        let request = request.into_inner();
        let validated = validated(&self.clusters, &request.cluster.clone().unwrap_or_default())?;
        certificate_signing::check_request(&validated, &request)?;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &validated.namespace);
        let ca_secret = secrets
            .get_opt(&ca_secret_name(&validated))
            .await
            .map_err(|error| Status::unavailable(format!("failed to read the CA Secret: {error}")))?;
        let signed = certificate_signing::sign(&validated, ca_secret.as_ref(), &request, OffsetDateTime::now_utc())?;
        tracing::info!(
            cluster = %format!("{}/{}", validated.namespace, validated.name),
            common_name = %request.common_name,
            "signed a client certificate"
        );
        Ok(Response::new(signed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{kraft_dedicated, load};
    use crd_types::kafka_cluster::SslSecrets;

    const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";

    fn cluster_ref() -> ClusterRef {
        ClusterRef { namespace: "kafka".into(), name: "kafka".into() }
    }

    fn info(cluster: &KafkaCluster) -> ClusterAccessInfo {
        access_info(cluster_ref(), &model::validate(cluster).expect("valid"))
    }

    fn preferred(info: &ClusterAccessInfo) -> &v1::Listener {
        info.listeners.iter().find(|l| l.name == info.preferred_listener).expect("preferred listener listed")
    }

    fn secret_ref(key: &str) -> Option<v1::SecretKeyRef> {
        Some(v1::SecretKeyRef { namespace: "kafka".into(), name: "kafka-controller".into(), key: key.into() })
    }

    #[test]
    fn a_tls_listener_names_the_operators_certificate_secret() {
        let info = info(&load(SSL_SAMPLE));
        let listener = preferred(&info);
        assert!(listener.tls_enabled);
        assert_eq!(listener.security_protocol(), v1::SecurityProtocol::Ssl);
        let credentials = listener.credentials.as_ref().expect("TLS listener has credentials");
        assert_eq!(credentials.ca_certificate, secret_ref("ca.crt"));
        // `sslClientAuth: requested` in the sample: the certificate is sent anyway.
        assert_eq!(credentials.client_certificate, secret_ref("tls.crt"));
        assert_eq!(credentials.client_key, secret_ref("tls.key"));
        assert_eq!(credentials.sasl, None);
    }

    #[test]
    fn with_the_users_certificates_a_tls_listener_names_their_secret_and_koperators_keys() {
        let mut cluster = load(SSL_SAMPLE);
        let ssl = cluster.spec.listeners_config.ssl_secrets.as_mut().expect("sslSecrets");
        ssl.create = Some(false);
        ssl.tls_secret_name = "my-certificates".into();
        let info = info(&cluster);
        let credentials = preferred(&info).credentials.as_ref().expect("TLS listener has credentials");
        let user_ref = |key: &str| {
            Some(v1::SecretKeyRef { namespace: "kafka".into(), name: "my-certificates".into(), key: key.into() })
        };
        assert_eq!(credentials.ca_certificate, user_ref("caCert"));
        assert_eq!(credentials.client_certificate, user_ref("clientCert"));
        assert_eq!(credentials.client_key, user_ref("clientKey"));
    }

    #[test]
    fn client_certificate_only_where_the_listener_asks_for_one() {
        let mut cluster = load(SSL_SAMPLE);
        for listener in &mut cluster.spec.listeners_config.internal_listeners {
            listener.common.ssl_client_auth = None;
        }
        let info_required = info(&cluster);
        let required = preferred(&info_required).credentials.as_ref().expect("credentials");
        assert_eq!(required.client_certificate, secret_ref("tls.crt"), "required is the default");
        for listener in &mut cluster.spec.listeners_config.internal_listeners {
            listener.common.ssl_client_auth = Some(SslClientAuth::None);
        }
        let info_none = info(&cluster);
        let none = preferred(&info_none).credentials.as_ref().expect("credentials");
        assert_eq!(none.ca_certificate, secret_ref("ca.crt"), "brokers are still verified");
        assert_eq!((&none.client_certificate, &none.client_key), (&None, &None));
    }

    #[test]
    fn the_user_ca_is_named_whenever_the_operator_makes_certificates_even_without_an_internal_tls_listener() {
        assert_eq!(info(&load(SSL_SAMPLE)).user_ca_certificate, secret_ref("ca.crt"));
        let mut external_only = kraft_dedicated();
        external_only.spec.listeners_config.ssl_secrets =
            Some(SslSecrets { tls_secret_name: "ca".into(), create: Some(true), ..Default::default() });
        let info_external_only = info(&external_only);
        assert!(info_external_only.listeners.iter().all(|l| !l.tls_enabled));
        assert_eq!(info_external_only.user_ca_certificate, secret_ref("ca.crt"));
        assert!(info_external_only.user_certificate_issuer.is_some());
        assert_eq!(info(&kraft_dedicated()).user_ca_certificate, None, "no certificates, no CA");
    }

    #[test]
    fn plaintext_listeners_and_clusters_without_ssl_secrets_name_nothing() {
        let plaintext = info(&kraft_dedicated());
        assert!(plaintext.listeners.iter().all(|l| !l.tls_enabled && l.credentials.is_none()));
        let mut with_secrets = kraft_dedicated();
        with_secrets.spec.listeners_config.ssl_secrets =
            Some(SslSecrets { tls_secret_name: "ca".into(), create: Some(true), ..Default::default() });
        assert!(info(&with_secrets).listeners.iter().all(|l| l.credentials.is_none()), "plaintext needs none");
        // A TLS listener whose certificates the user brings per listener (serverSSLCertSecret):
        // there is no operator certificate to name.
        let mut no_secrets = model::validate(&load(SSL_SAMPLE)).expect("valid");
        no_secrets.spec.listeners_config.ssl_secrets = None;
        let info = access_info(cluster_ref(), &no_secrets);
        assert!(info.listeners.iter().all(|l| l.tls_enabled && l.credentials.is_none()), "{info:?}");
    }
}
