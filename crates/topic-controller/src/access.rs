//! How to reach a cluster's brokers, asked of the cluster controller's ClusterAccess service
//! (the only component that knows how listeners were rendered).

use std::time::Duration;

use grpc_contracts::cluster_v1::cluster_access_client::ClusterAccessClient;
use grpc_contracts::cluster_v1::{ClusterRef, GetClusterAccessRequest, SecurityProtocol};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::request::ClusterKey;

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
        "listener {listener} of KafkaCluster {cluster} uses {protocol}; the topic controller only speaks PLAINTEXT so far"
    )]
    UnsupportedSecurity { cluster: ClusterKey, listener: String, protocol: String },
    #[error("the cluster controller answered for {0} without a listener to use")]
    NoListener(ClusterKey),
}

/// Where a cluster's brokers are, as the topic controller needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterTarget {
    pub bootstrap_servers: Vec<String>,
    /// Brokers in the cluster spec (controller-only nodes excluded).
    pub spec_broker_count: usize,
}

/// A lazily connected client: creating it needs no reachable server, and the channel
/// reconnects by itself after the cluster controller restarts.
#[derive(Clone)]
pub struct ClusterAccess {
    endpoint: String,
    client: ClusterAccessClient<Channel>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl ClusterAccess {
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|source| Error::InvalidEndpoint { endpoint: endpoint.to_owned(), source })?
            .connect_timeout(REQUEST_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .connect_lazy();
        Ok(Self { endpoint: endpoint.to_owned(), client: ClusterAccessClient::new(channel) })
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
        let protocol = listener.security_protocol();
        if protocol != SecurityProtocol::Plaintext {
            return Err(Error::UnsupportedSecurity {
                cluster: cluster.clone(),
                listener: listener.name.clone(),
                protocol: protocol.as_str_name().trim_start_matches("SECURITY_PROTOCOL_").to_owned(),
            });
        }
        Ok(ClusterTarget {
            bootstrap_servers: listener.bootstrap_servers.clone(),
            spec_broker_count: access.broker_ids.len(),
        })
    }
}
