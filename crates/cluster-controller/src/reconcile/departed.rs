//! Brokers that left `spec.brokers`. While Cruise Control drains one it stays as it was, and is
//! rebuilt from `status.brokersState[id].configurationBackup` (Koperator does the same) should
//! its ConfigMap or pod go missing. Once the graceful step allows it — drain completed, or
//! nothing to drain — its pod, ConfigMap and Service are deleted, then its claims once no pod
//! of it is left (a claim still mounted would only wait for the pod anyway).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use kube::ResourceExt;

use crd_types::KafkaCluster;
use crd_types::labels::IS_BROKER_NODE;

use crate::model::{self, BrokerModel, ValidatedCluster};

use super::graceful::{BrokerFacts, backup};
use super::observe::{ObservedCluster, departed_broker_objects};
use super::writes::{self, Writer};

/// A broker that left the spec but still has a status entry or objects.
pub struct DepartingBroker {
    pub id: i32,
    pub facts: BrokerFacts,
    /// The cluster with this broker put back, and the broker, rebuilt from its backup; None
    /// when there is no usable backup (then its objects are kept but not rebuilt).
    pub restored: Option<(ValidatedCluster, BrokerModel)>,
    /// Why it cannot be rebuilt, when it cannot.
    pub problem: Option<String>,
}

/// Brokers not in the spec that the previous status or the caches still know.
pub fn departing_brokers(
    cluster: &KafkaCluster,
    desired: &BTreeSet<i32>,
    observed: &ObservedCluster,
) -> Vec<DepartingBroker> {
    let mut ids: BTreeSet<i32> = observed.pods.keys().chain(observed.claims.keys()).copied().collect();
    ids.extend(departed_broker_objects(&observed.config_maps, desired).into_iter().map(|(_, id)| id));
    ids.extend(departed_broker_objects(&observed.services, desired).into_iter().map(|(_, id)| id));
    let previous = cluster.status.as_ref().map(|s| &s.brokers_state);
    ids.extend(previous.into_iter().flat_map(|states| states.keys()).filter_map(|id| id.parse::<i32>().ok()));
    ids.retain(|id| !desired.contains(id));
    ids.into_iter()
        .map(|id| {
            let backup = previous.and_then(|s| s.get(&id.to_string())).and_then(|b| b.configuration_backup.as_deref());
            let (restored, problem) = match backup.map(|backup| restore(cluster, id, backup)) {
                Some(Ok(restored)) => (Some(restored), None),
                Some(Err(problem)) => (None, Some(problem)),
                None => (None, None),
            };
            let pod_says_broker = observed
                .pods
                .get(&id)
                .into_iter()
                .flatten()
                .find_map(|pod| pod.labels().get(IS_BROKER_NODE).map(|value| value != "false"));
            // Unknown roles count as holding data: a wrong guess then costs a drain, not data.
            let holds_data =
                restored.as_ref().map(|(_, broker)| broker.is_broker()).or(pod_says_broker).unwrap_or(true);
            let has_objects = observed.pods.contains_key(&id) || observed.claims.contains_key(&id);
            let facts = BrokerFacts { in_spec: false, holds_data, has_objects, pod_ready: false };
            DepartingBroker { id, facts, restored, problem }
        })
        .collect()
}

/// The cluster with broker `id` put back from its backup, validated, and that broker's model.
fn restore(cluster: &KafkaCluster, id: i32, backup: &str) -> Result<(ValidatedCluster, BrokerModel), String> {
    let broker =
        backup::decode(backup).map_err(|error| format!("broker {id}: {}", operator_runtime::error_chain(&error)))?;
    let mut extended = cluster.clone();
    extended.spec.brokers.retain(|b| b.id != broker.id);
    extended.spec.brokers.push(broker);
    let validated = model::validate(&extended).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        format!("broker {id}: its configurationBackup no longer validates: {}", problems.join("; "))
    })?;
    let model = validated
        .brokers
        .iter()
        .find(|b| b.id == id)
        .cloned()
        .ok_or_else(|| format!("broker {id}: its configurationBackup names broker another id"))?;
    Ok((validated, model))
}

pub struct Departures {
    /// Broker ids whose objects were deleted in this pass.
    pub removed: Vec<i32>,
    /// Departed brokers with no object left: their status entries can go.
    pub gone: BTreeSet<i32>,
    /// Claim names kept, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
}

/// Deletes the objects of the `removable` brokers among those not in `desired`.
pub async fn remove_departed_brokers(
    writer: &Writer,
    namespace: &str,
    desired: &BTreeSet<i32>,
    removable: &BTreeSet<i32>,
    observed: &ObservedCluster,
) -> Result<Departures, writes::Error> {
    let mut removed = Vec::new();
    for (id, pods) in observed.pods.iter().filter(|(id, _)| removable.contains(id)) {
        for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            writer.delete::<Pod>(namespace, &pod.name_any()).await?;
            removed.push(*id);
        }
    }
    // Found by their brokerId label, deleted by their own names: no second copy of the
    // builders' naming here.
    for (name, id) in departed_broker_objects(&observed.config_maps, desired) {
        if removable.contains(&id) {
            writer.delete::<ConfigMap>(namespace, &name).await?;
            removed.push(id);
        }
    }
    for (name, id) in departed_broker_objects(&observed.services, desired) {
        if removable.contains(&id) {
            writer.delete::<Service>(namespace, &name).await?;
            removed.push(id);
        }
    }
    let mut retained_claims = BTreeMap::new();
    for (id, claims) in observed.claims.iter().filter(|(id, _)| !desired.contains(id)) {
        if removable.contains(id) && !observed.pods.contains_key(id) {
            for claim in claims.iter().filter(|c| c.metadata.deletion_timestamp.is_none()) {
                writer.delete::<PersistentVolumeClaim>(namespace, &claim.name_any()).await?;
                removed.push(*id);
            }
        } else {
            retained_claims.insert(*id, claims.iter().map(|c| c.name_any()).collect());
        }
    }
    let has_objects = |id: &i32| {
        observed.pods.contains_key(id)
            || observed.claims.contains_key(id)
            || departed_broker_objects(&observed.config_maps, desired).iter().any(|(_, other)| other == id)
            || departed_broker_objects(&observed.services, desired).iter().any(|(_, other)| other == id)
    };
    let gone = removable.iter().filter(|id| !has_objects(id)).copied().collect();
    removed.sort_unstable();
    removed.dedup();
    Ok(Departures { removed, gone, retained_claims })
}
