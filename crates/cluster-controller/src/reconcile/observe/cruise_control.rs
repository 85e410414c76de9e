//! Reads only: what the cluster controller asks Cruise Control itself — which brokers it sees
//! (`GET load`) and which log dirs are online (`GET kafka_cluster_state`), so that an
//! add_broker or disk rebalance operation is only created once Cruise Control can place
//! replicas there. Everything else goes through CruiseControlOperations.

use std::collections::BTreeMap;

use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint, InvalidEndpoint};

use crate::model::ValidatedCluster;

/// Why Cruise Control could not be asked, naming where it was looked for.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("Cruise Control's address cannot be made from cruiseControlEndpoint")]
    Endpoint(#[source] InvalidEndpoint),
    #[error("Cruise Control at {endpoint}")]
    Request {
        endpoint: CruiseControlEndpoint,
        #[source]
        source: cruise_control_client::Error,
    },
}

/// Where the cluster's Cruise Control listens: `cruiseControlEndpoint`, else Koperator's Service.
pub fn endpoint(cluster: &ValidatedCluster) -> Result<CruiseControlEndpoint, InvalidEndpoint> {
    CruiseControlEndpoint::for_cluster(
        &cluster.name,
        &cluster.namespace,
        cluster.spec.cruise_control_config.cruise_control_endpoint.as_deref(),
        Some(&cluster.cluster_domain),
    )
}

fn client(cluster: &ValidatedCluster) -> Result<CruiseControlClient, AskError> {
    let endpoint = endpoint(cluster).map_err(AskError::Endpoint)?;
    CruiseControlClient::new(endpoint.clone(), ClientSettings::default())
        .map_err(|source| AskError::Request { endpoint, source })
}

/// Broker id → the state Cruise Control reports (ALIVE, NEW, DEAD...).
pub async fn broker_states(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, String>, AskError> {
    let client = client(cluster)?;
    let load =
        client.load().await.map_err(|source| AskError::Request { endpoint: client.endpoint().clone(), source })?;
    Ok(load.brokers.into_iter().filter_map(|broker| Some((i32::try_from(broker.broker).ok()?, broker.state))).collect())
}

/// Broker id → the log dirs Cruise Control reports online.
pub async fn online_log_dirs(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, Vec<String>>, AskError> {
    let client = client(cluster)?;
    let state = client
        .kafka_cluster_state()
        .await
        .map_err(|source| AskError::Request { endpoint: client.endpoint().clone(), source })?;
    Ok(state.brokers.online_log_dirs.into_iter().filter_map(|(id, dirs)| Some((id.parse().ok()?, dirs))).collect())
}

/// Broker id → partition replicas it holds, as Cruise Control's `load` reports them.
pub async fn replicas_per_broker(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, i64>, AskError> {
    let client = client(cluster)?;
    let load =
        client.load().await.map_err(|source| AskError::Request { endpoint: client.endpoint().clone(), source })?;
    Ok(load.brokers.into_iter().filter_map(|b| Some((i32::try_from(b.broker).ok()?, b.replicas))).collect())
}
