//! `koperator.cluster.v1.ClusterAccess`: how to reach a KafkaCluster, answered from the
//! KafkaCluster cache (no API request per call). Read-only, so every replica serves it, leader
//! or not.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use kube::runtime::reflector::{ObjectRef, Store};
use tonic::{Request, Response, Status};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::{ClusterState, SecurityProtocol};
use grpc_contracts::cluster_v1::cluster_access_server::ClusterAccess;
use grpc_contracts::cluster_v1::{
    self as v1, ClusterAccessInfo, ClusterRef, GetClusterAccessRequest, GetClusterAccessResponse, NotReady,
    WatchClusterAccessRequest, WatchClusterAccessResponse, watch_cluster_access_response,
};

use crate::build;
use crate::model::{self, MetadataMode};

/// How often a watch re-reads the cache; access details change on the scale of minutes.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

pub struct ClusterAccessService {
    clusters: Store<KafkaCluster>,
}

impl ClusterAccessService {
    pub fn new(clusters: Store<KafkaCluster>) -> Self {
        Self { clusters }
    }
}

/// The access details of a cluster, or why there are none yet.
fn access(clusters: &Store<KafkaCluster>, cluster: &ClusterRef) -> Result<ClusterAccessInfo, Status> {
    if cluster.name.is_empty() || cluster.namespace.is_empty() {
        return Err(Status::invalid_argument("cluster.namespace and cluster.name are required"));
    }
    let object = clusters.get(&ObjectRef::new(&cluster.name).within(&cluster.namespace)).ok_or_else(|| {
        Status::not_found(format!("KafkaCluster {}/{} does not exist", cluster.namespace, cluster.name))
    })?;
    let validated = model::validate(&object).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        Status::failed_precondition(format!("the KafkaCluster spec cannot work: {}", problems.join("; ")))
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
                // TLS and SASL credentials come with the security issue.
                credentials: None,
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
    }
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
}
