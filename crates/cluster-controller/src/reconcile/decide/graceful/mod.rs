//! Pure: graceful scaling through Cruise Control.
//!
//! Brokers added to the spec of a running cluster join through one add_broker
//! CruiseControlOperation per batch; brokers removed from it are drained through one
//! remove_broker operation per batch and stay — rebuilt from their configuration backup if
//! their pod goes — until the drain completed; only then do their pod, ConfigMap, Service and
//! claims go. Every state lives in the KafkaCluster status and in the operations (which the
//! cruise-control-runner executes), so a controller restarted mid-drain resumes from them.
//!
//! Module names say what each part decides: `broker_states` and `volume_states` are the state
//! machines, `brokers` and `volumes` apply them to the cluster and ask for operations,
//! `departing` keeps or removes what left the spec, `describe` says why the operator waits.

pub mod backup;
mod broker_states;
mod brokers;
mod departing;
mod describe;
mod operations;
mod volume_states;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::GracefulActionState;

use super::brokers::{BrokerPhase, BrokerProgress};
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

use super::brokers::BuildFacts;
use super::facts::{Facts, Needs};
use super::plan::Step;
pub use brokers::BrokerFacts;
pub use volumes::with_volumes_being_removed;

/// The graceful step's part of the status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GracefulStatus {
    /// `gracefulActionState` by broker id.
    pub states: BTreeMap<i32, GracefulActionState>,
    /// Brokers that left the spec but keep their entry: their objects are not all gone yet.
    pub departing: BTreeSet<i32>,
    /// `configurationBackup` of each broker in the spec.
    pub backups: BTreeMap<i32, String>,
    /// One sentence per broker the operator waits for.
    pub waits: Vec<String>,
}

/// What the status needs from graceful scaling.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: GracefulStatus,
    /// Claims of brokers that left the spec and are not deleted yet, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
    /// Something is in flight: look again soon rather than at the next resync.
    pub in_progress: bool,
}

/// Everything graceful scaling needs to know.
pub struct Inputs<'a> {
    pub cluster: &'a KafkaCluster,
    pub validated: &'a ValidatedCluster,
    pub observed: &'a ObservedCluster,
    /// Where the brokers in the spec stand after this pass's broker steps.
    pub progress: &'a [BrokerProgress],
    pub build_facts: &'a BuildFacts<'a>,
    /// Voters of a dynamic KRaft quorum that are to leave it: their objects stay until they did.
    pub voters_leaving: &'a BTreeSet<i32>,
}

/// The graceful states of every broker and volume; the operations, rebuilds and deletions they
/// call for go onto `steps`, in this order: operations for brokers, operations for volumes,
/// drained claims, rebuilt objects of brokers still draining, objects of drained brokers.
pub fn plan(inputs: &Inputs<'_>, known: &Facts, needs: &mut Needs, steps: &mut Vec<Step>) -> Outcome {
    let Inputs { cluster, validated, observed, progress, build_facts, voters_leaving } = inputs;
    let previous = cluster.status.as_ref();
    let desired: BTreeSet<i32> = validated.brokers.iter().map(|b| b.id).collect();
    let mut departing = departing::departing_brokers(cluster, &desired, observed);
    // Rebuilt from the spec alone, a departing node would lose the quorum's settings.
    for (restored, _) in departing.iter_mut().filter_map(|d| d.restored.as_mut()) {
        restored.quorum = validated.quorum.clone();
    }
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

    let graceful = brokers::decide(validated, previous, facts, &observed.operations, known, needs, steps);
    let volumes = volumes::decide(validated, previous, observed, known, needs, steps);

    // A voter's pod stays, rebuilt if it goes, until the node left the quorum.
    let mut kept = graceful.kept();
    kept.extend(departing.iter().map(|d| d.id).filter(|id| voters_leaving.contains(id)));
    let removable: BTreeSet<i32> = graceful.removable().difference(voters_leaving).copied().collect();
    let mut problems = Vec::new();
    for broker in departing.iter().filter(|d| kept.contains(&d.id)) {
        match &broker.restored {
            Some((extended, model)) => {
                super::brokers::plan(extended, model, observed, build_facts, steps);
            }
            None if broker.facts.has_objects && !observed.pods.contains_key(&broker.id) => problems.push(format!(
                "broker {}: its pod is gone and cannot be rebuilt while it drains ({}); its claims are kept",
                broker.id,
                broker.problem.as_ref().map_or_else(
                    || "no configurationBackup in its status entry".to_owned(),
                    |problem| operator_runtime::error_chain(problem)
                )
            )),
            None => {}
        }
    }

    let departures = departing::remove_departed_brokers(&desired, &removable, observed, steps);

    let mut waits = graceful.waits();
    waits.extend(volumes.waits());
    waits.extend(problems);
    let mut states = graceful.action_states();
    for (id, volume_states) in volumes.volume_states() {
        states.entry(id).or_default().volume_states = volume_states;
    }
    // Brokers that left the spec keep the volume states they had.
    for broker in &departing {
        let before = previous.and_then(|s| s.brokers_state.get(&broker.id.to_string()));
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
    Outcome { status, retained_claims: departures.retained_claims, in_progress }
}

/// Which brokers Cruise Control is moving data for right now; a roll waits for that. (A
/// graceful action that waits for a restart, such as a rebalance onto a new disk, does not.)
pub fn moving_data(graceful: &GracefulStatus) -> Option<String> {
    use crd_types::kafka_cluster::{CruiseControlState as State, CruiseControlVolumeState as Volume};
    let moving: Vec<String> = graceful
        .states
        .iter()
        .filter(|(_, state)| {
            matches!(state.cruise_control_state, Some(State::GracefulUpscaleRunning | State::GracefulDownscaleRunning))
                || state.volume_states.values().any(|v| {
                    matches!(
                        v.cruise_control_volume_state,
                        Some(Volume::GracefulDiskRebalanceRunning | Volume::GracefulDiskRemovalRunning)
                    )
                })
        })
        .map(|(id, state)| {
            let operation = state.cruise_control_operation_reference.as_ref().map(|r| r.name.as_str());
            format!("broker {id} ({})", operation.unwrap_or("operation running"))
        })
        .collect();
    (!moving.is_empty()).then(|| moving.join(", "))
}
