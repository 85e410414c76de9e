//! Brokers that left `spec.brokers`: their pod, ConfigMap and Service go; their claims stay
//! (until the graceful drain through Cruise Control exists, keeping data is the safe choice).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::ResourceExt;

use super::observe::ObservedCluster;
use super::writes::{self, Writer};

pub struct Departures {
    /// Broker ids whose objects were deleted in this pass.
    pub removed: Vec<i32>,
    /// Claim names kept, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
}

pub async fn remove_departed_brokers(
    writer: &Writer,
    namespace: &str,
    cluster: &str,
    desired: &BTreeSet<i32>,
    observed: &ObservedCluster,
) -> Result<Departures, writes::Error> {
    let mut removed = Vec::new();
    for (id, pods) in observed.pods.iter().filter(|(id, _)| !desired.contains(id)) {
        for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            writer.delete::<Pod>(namespace, &pod.name_any()).await?;
        }
        removed.push(*id);
    }
    for id in observed.departed_config_map_or_service_ids(desired) {
        let config_map = format!("{cluster}-config-{id}");
        if observed.config_maps.contains_key(&config_map) {
            writer.delete::<ConfigMap>(namespace, &config_map).await?;
        }
        let service = format!("{cluster}-{id}");
        if observed.services.contains_key(&service) {
            writer.delete::<Service>(namespace, &service).await?;
        }
        if !removed.contains(&id) {
            removed.push(id);
        }
    }
    let retained_claims = observed
        .claims
        .iter()
        .filter(|(id, _)| !desired.contains(id))
        .map(|(id, claims)| (*id, claims.iter().map(|c| c.name_any()).collect()))
        .collect();
    removed.sort_unstable();
    Ok(Departures { removed, retained_claims })
}
