//! What the cluster controller asks Cruise Control itself: which brokers it sees (`GET load`)
//! and which log dirs are online (`GET kafka_cluster_state`), so that an add_broker or disk
//! rebalance operation is only created once Cruise Control can place replicas there.
//! Everything else goes through CruiseControlOperations.

use std::collections::BTreeMap;

use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint};

use crate::model::ValidatedCluster;

/// Where the cluster's Cruise Control listens: `cruiseControlEndpoint`, else Koperator's Service.
pub fn endpoint(cluster: &ValidatedCluster) -> Result<CruiseControlEndpoint, String> {
    CruiseControlEndpoint::for_cluster(
        &cluster.name,
        &cluster.namespace,
        cluster.spec.cruise_control_config.cruise_control_endpoint.as_deref(),
        Some(&cluster.cluster_domain),
    )
    .map_err(|error| error.to_string())
}

fn client(cluster: &ValidatedCluster) -> Result<CruiseControlClient, String> {
    let endpoint = endpoint(cluster)?;
    CruiseControlClient::new(endpoint.clone(), ClientSettings::default()).map_err(|error| problem(&endpoint, &error))
}

fn problem(endpoint: &CruiseControlEndpoint, error: &cruise_control_client::Error) -> String {
    format!("Cruise Control at {endpoint}: {}", operator_runtime::error_chain(error))
}

/// Broker id → the state Cruise Control reports (ALIVE, NEW, DEAD...), or why it could not say.
pub async fn broker_states(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, String>, String> {
    let client = client(cluster)?;
    let load = client.load().await.map_err(|error| problem(client.endpoint(), &error))?;
    Ok(load.brokers.into_iter().filter_map(|broker| Some((i32::try_from(broker.broker).ok()?, broker.state))).collect())
}

/// Broker id → the log dirs Cruise Control reports online (`GET kafka_cluster_state`).
pub async fn online_log_dirs(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, Vec<String>>, String> {
    let client = client(cluster)?;
    let state = client.kafka_cluster_state().await.map_err(|error| problem(client.endpoint(), &error))?;
    Ok(state.brokers.online_log_dirs.into_iter().filter_map(|(id, dirs)| Some((id.parse().ok()?, dirs))).collect())
}

/// Cruise Control can move replicas onto a broker it reports as ALIVE or NEW (Koperator's test).
pub fn can_receive_replicas(state: &str) -> bool {
    matches!(state, "ALIVE" | "NEW")
}
