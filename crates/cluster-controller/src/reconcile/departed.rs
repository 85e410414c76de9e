//! Brokers that left `spec.brokers`: their pod, ConfigMap and Service go; their claims stay
//! (until the graceful drain through Cruise Control exists, keeping data is the safe choice).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::ResourceExt;

use super::observe::{ObservedCluster, departed_broker_objects};
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
    // Found by their brokerId label, deleted by their own names: no second copy of the
    // builders' naming here.
    for (name, id) in departed_broker_objects(&observed.config_maps, desired) {
        writer.delete::<ConfigMap>(namespace, &name).await?;
        removed.push(id);
    }
    for (name, id) in departed_broker_objects(&observed.services, desired) {
        writer.delete::<Service>(namespace, &name).await?;
        removed.push(id);
    }
    let retained_claims = observed
        .claims
        .iter()
        .filter(|(id, _)| !desired.contains(id))
        .map(|(id, claims)| (*id, claims.iter().map(|c| c.name_any()).collect()))
        .collect();
    removed.sort_unstable();
    removed.dedup();
    Ok(Departures { removed, retained_claims })
}
