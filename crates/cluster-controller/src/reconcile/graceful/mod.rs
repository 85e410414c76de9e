//! Graceful scaling through Cruise Control, as one reconcile step.
//!
//! Brokers added to the spec of a running cluster join through one add_broker
//! CruiseControlOperation per batch; brokers removed from it are drained through one
//! remove_broker operation per batch and stay — rebuilt from their configuration backup if
//! their pod goes — until the drain completed; only then do their pod, ConfigMap, Service and
//! claims go. Every state lives in the KafkaCluster status and in the operations (which the
//! cruise-control-runner executes), so a controller restarted mid-drain resumes from them.
//!
//! Writes: CruiseControlOperations, the objects of brokers kept while they drain, and the
//! deletions of drained brokers' objects.

pub mod backup;
mod brokers;
mod cruise_control;
pub mod decide;
mod describe;
mod disks;
mod operations;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use kube::runtime::events::{Event, EventType};

use crd_types::KafkaCluster;

use crate::model::ValidatedCluster;
use crate::status::{BrokerPhase, BrokerProgress, GracefulStatus};

use super::departed;
use super::observe::ObservedCluster;
use super::writes::{self, Writer};
pub use brokers::BrokerFacts;
pub use volumes::with_volumes_being_removed;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Operations(#[from] operations::Error),
    #[error(transparent)]
    Write(#[from] writes::Error),
}

/// What the status and the events need from the step.
pub struct Outcome {
    pub status: GracefulStatus,
    /// Claims of brokers that left the spec and are not deleted yet, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
    pub events: Vec<Event>,
    /// Something is in flight: look again soon rather than at the next resync.
    pub in_progress: bool,
}

pub async fn reconcile(
    writer: &Writer,
    cluster: &KafkaCluster,
    validated: &ValidatedCluster,
    observed: &ObservedCluster,
    progress: &[BrokerProgress],
    build_facts: &super::broker::BuildFacts<'_>,
) -> Result<Outcome, Error> {
    let desired: BTreeSet<i32> = validated.brokers.iter().map(|b| b.id).collect();
    let departing = departed::departing_brokers(cluster, &desired, observed);
    let mut facts: BTreeMap<i32, BrokerFacts> = validated
        .brokers
        .iter()
        .map(|broker| {
            let pod_ready = progress.iter().any(|p| p.id == broker.id && matches!(p.phase, BrokerPhase::Ready { .. }));
            let has_objects = observed.pods.contains_key(&broker.id) || observed.claims.contains_key(&broker.id);
            (broker.id, BrokerFacts { in_spec: true, holds_data: broker.is_broker(), has_objects, pod_ready })
        })
        .collect();
    facts.extend(departing.iter().map(|d| (d.id, d.facts.clone())));

    let graceful =
        brokers::decide_and_request(writer, validated, cluster.status.as_ref(), facts, &observed.operations).await?;
    let mut volumes =
        volumes::decide_and_request(writer, validated, cluster.status.as_ref(), observed, &observed.operations).await?;
    volumes::delete_drained_claims(writer, &validated.namespace, &mut volumes, observed).await?;
    let mut events: Vec<Event> = graceful
        .created
        .iter()
        .chain(&volumes.created)
        .map(|(name, request)| {
            let note = format!("created CruiseControlOperation {name}: {request}");
            super::event(EventType::Normal, "CruiseControlOperationCreated", "RequestGracefulAction", note)
        })
        .collect();

    let kept = graceful.kept();
    let mut problems = Vec::new();
    for broker in departing.iter().filter(|d| kept.contains(&d.id)) {
        match &broker.restored {
            Some((extended, model)) => {
                let (_, actions) =
                    super::broker::reconcile_broker(writer, extended, model, observed, build_facts).await?;
                events.extend(actions.into_iter().map(|action| super::broker_event(broker.id, action)));
            }
            None if broker.facts.has_objects && !observed.pods.contains_key(&broker.id) => problems.push(format!(
                "broker {}: its pod is gone and cannot be rebuilt while it drains ({}); its claims are kept",
                broker.id,
                broker.problem.as_deref().unwrap_or("no configurationBackup in its status entry")
            )),
            None => {}
        }
    }

    let removable = graceful.removable();
    let departures =
        departed::remove_departed_brokers(writer, &validated.namespace, &desired, &removable, observed).await?;
    for id in &departures.removed {
        let note = format!(
            "broker {id} left spec.brokers and holds no data any more: deleting its pod, ConfigMap, Service and then PVCs"
        );
        events.push(super::event(EventType::Normal, "BrokerRemoved", "RemoveBroker", note));
    }

    for claim in &volumes.deleted_claims {
        let note = format!("deleted PersistentVolumeClaim {claim}: Cruise Control moved its data off");
        events.push(super::event(EventType::Normal, "VolumeRemoved", "RemoveVolume", note));
    }

    let mut waits = graceful.waits();
    waits.extend(volumes.waits());
    waits.extend(problems);
    let mut states = graceful.action_states();
    for (id, volume_states) in volumes.volume_states() {
        states.entry(id).or_default().volume_states = volume_states;
    }
    // Brokers that left the spec keep the volume states they had.
    for broker in &departing {
        let before = cluster.status.as_ref().and_then(|s| s.brokers_state.get(&broker.id.to_string()));
        if let Some(before) = before.filter(|b| !b.graceful_action_state.volume_states.is_empty()) {
            states.entry(broker.id).or_default().volume_states = before.graceful_action_state.volume_states.clone();
        }
    }
    let status = GracefulStatus {
        states,
        departing: departing.iter().map(|d| d.id).filter(|id| !departures.gone.contains(id)).collect(),
        backups: cluster
            .spec
            .brokers
            .iter()
            .filter(|b| desired.contains(&b.id))
            .map(|b| (b.id, backup::encode(b)))
            .collect(),
        waits,
    };
    let in_progress = graceful.in_progress() || volumes.in_progress() || !status.departing.is_empty();
    Ok(Outcome { status, retained_claims: departures.retained_claims, events, in_progress })
}
