//! Pure: brokers that left `spec.brokers`. While Cruise Control drains one it stays as it was, and is
//! rebuilt from `status.brokersState[id].configurationBackup` (Koperator does the same) should
//! its ConfigMap or pod go missing. Once the graceful step allows it — drain completed, or
//! nothing to drain — its pod, ConfigMap and Service are deleted, then its claims once no pod
//! of it is left (a claim still mounted would only wait for the pod anyway).

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use crd_types::KafkaCluster;
use crd_types::labels::IS_BROKER_NODE;

use crate::model::{self, BrokerModel, ValidatedCluster, ValidationError};
use crate::reconcile::decide::plan::{Action, Notice, OwnedKind, Step};
use crate::reconcile::observe::{ObservedCluster, departed_broker_objects};

use super::backup;
use super::brokers::BrokerFacts;

/// Why a departing broker cannot be rebuilt from its `configurationBackup`.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("broker {id}: its configurationBackup cannot be read")]
    Unreadable {
        id: i32,
        #[source]
        source: backup::Error,
    },
    #[error("broker {id}: its configurationBackup no longer validates: {}", list(problems))]
    Invalid { id: i32, problems: Vec<ValidationError> },
    #[error("broker {id}: its configurationBackup names broker {named}")]
    OtherBroker { id: i32, named: i32 },
}

fn list(problems: &[ValidationError]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A broker that left the spec but still has a status entry or objects.
pub struct DepartingBroker {
    pub id: i32,
    pub facts: BrokerFacts,
    /// The cluster with this broker put back, and the broker, rebuilt from its backup; None
    /// when there is no usable backup (then its objects are kept but not rebuilt).
    pub restored: Option<(ValidatedCluster, BrokerModel)>,
    /// Why it cannot be rebuilt, when it cannot.
    pub problem: Option<RestoreError>,
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
fn restore(cluster: &KafkaCluster, id: i32, backup: &str) -> Result<(ValidatedCluster, BrokerModel), RestoreError> {
    let broker = backup::decode(backup).map_err(|source| RestoreError::Unreadable { id, source })?;
    let named = broker.id;
    let mut extended = cluster.clone();
    extended.spec.brokers.retain(|b| b.id != broker.id);
    extended.spec.brokers.push(broker);
    let validated = model::validate(&extended).map_err(|problems| RestoreError::Invalid { id, problems })?;
    let model =
        validated.brokers.iter().find(|b| b.id == id).cloned().ok_or(RestoreError::OtherBroker { id, named })?;
    Ok((validated, model))
}

pub struct Departures {
    /// Departed brokers with no object left: their status entries can go.
    pub gone: BTreeSet<i32>,
    /// Claim names kept, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
}

/// Deletes the objects of the `removable` brokers among those not in `desired`: pods,
/// ConfigMaps and Services at once, claims once no pod of the broker is left (a claim still
/// mounted would only wait for the pod anyway). One event per broker, on its first deletion.
pub fn remove_departed_brokers(
    desired: &BTreeSet<i32>,
    removable: &BTreeSet<i32>,
    observed: &ObservedCluster,
    steps: &mut Vec<Step>,
) -> Departures {
    let mut deletions: BTreeMap<i32, Vec<(OwnedKind, String)>> = BTreeMap::new();
    for (id, pods) in observed.pods.iter().filter(|(id, _)| removable.contains(id)) {
        for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            deletions.entry(*id).or_default().push((OwnedKind::Pod, pod.name_any()));
        }
    }
    // Found by their brokerId label, deleted by their own names: no second copy of the
    // builders' naming here.
    let config_maps = departed_broker_objects(&observed.config_maps, desired);
    let services = departed_broker_objects(&observed.services, desired);
    for (kind, objects) in [(OwnedKind::ConfigMap, &config_maps), (OwnedKind::Service, &services)] {
        for (name, id) in objects.iter().filter(|(_, id)| removable.contains(id)) {
            deletions.entry(*id).or_default().push((kind, name.clone()));
        }
    }
    let mut retained_claims = BTreeMap::new();
    for (id, claims) in observed.claims.iter().filter(|(id, _)| !desired.contains(id)) {
        if removable.contains(id) && !observed.pods.contains_key(id) {
            for claim in claims.iter().filter(|c| c.metadata.deletion_timestamp.is_none()) {
                deletions.entry(*id).or_default().push((OwnedKind::PersistentVolumeClaim, claim.name_any()));
            }
        } else {
            retained_claims.insert(*id, claims.iter().map(|c| c.name_any()).collect());
        }
    }
    for (id, objects) in deletions {
        let names: Vec<&str> = objects.iter().map(|(_, name)| name.as_str()).collect();
        let note = format!(
            "broker {id} left spec.brokers and holds no data any more: deleting {} (pods, ConfigMap and Service \
             first, PVCs once no pod is left)",
            names.join(", ")
        );
        let mut notice = Some(Notice::normal("BrokerRemoved", "RemoveBroker", note));
        for (kind, name) in objects {
            steps.push(Step { action: Action::Delete { kind, name }, notice: notice.take() });
        }
    }
    let has_objects = |id: &i32| {
        observed.pods.contains_key(id)
            || observed.claims.contains_key(id)
            || config_maps.iter().any(|(_, other)| other == id)
            || services.iter().any(|(_, other)| other == id)
    };
    let gone = removable.iter().filter(|id| !has_objects(id)).copied().collect();
    Departures { gone, retained_claims }
}
