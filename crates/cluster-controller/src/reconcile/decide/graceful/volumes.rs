//! Pure: volumes of the brokers in the spec — their graceful states (see `volume_states`),
//! the one rebalance and the one remove_disks operation those ask for, the storage a broker
//! keeps while data moves off it, and the claims of drained volumes once no pod mounts them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crd_types::CruiseControlOperation;
use crd_types::kafka_cluster::{CruiseControlVolumeState as State, KafkaClusterStatus, StorageConfig, VolumeState};

use crate::build::cruise_control_operation::{OperationRequest, log_dir};
use crate::model::ValidatedCluster;
use crate::reconcile::decide::facts::{Facts, Needs};
use crate::reconcile::decide::plan::{Action, Notice, OwnedKind, Step};
use crate::reconcile::observe::ObservedCluster;

use super::describe;
use super::operations::{self, Operations};
use super::volume_states::{self, VolumeView};

#[derive(Clone, Debug)]
pub struct VolumeGraceful {
    pub state: Option<State>,
    pub reference: Option<String>,
    pub operation: Option<Arc<CruiseControlOperation>>,
    pub claim: Option<String>,
    /// Some pod of the broker (live or terminating) mounts the claim.
    pub mounted: bool,
}

/// Volume states by broker id and mount path, and what the step did.
#[derive(Debug, Default)]
pub struct Volumes {
    pub brokers: BTreeMap<i32, BTreeMap<String, VolumeGraceful>>,
    /// Why the disk rebalance is not requested yet, when it is not.
    pub rebalance_gate: Option<String>,
}

impl Volumes {
    /// `volumeStates` of each broker with any.
    pub fn volume_states(&self) -> BTreeMap<i32, BTreeMap<String, VolumeState>> {
        self.brokers
            .iter()
            .map(|(id, broker)| {
                let states = broker
                    .iter()
                    .filter_map(|(mount_path, volume)| {
                        let state = VolumeState {
                            cruise_control_volume_state: Some(volume.state?),
                            cruise_control_operation_reference: volume
                                .reference
                                .clone()
                                .map(|name| k8s_openapi::api::core::v1::LocalObjectReference { name }),
                        };
                        Some((mount_path.clone(), state))
                    })
                    .collect();
                (*id, states)
            })
            .filter(|(_, states): &(i32, BTreeMap<String, VolumeState>)| !states.is_empty())
            .collect()
    }

    pub fn waits(&self) -> Vec<String> {
        let mut waits: Vec<String> = self
            .brokers
            .iter()
            .flat_map(|(id, broker)| broker.iter().map(move |(mount_path, volume)| (*id, mount_path, volume)))
            .filter_map(|(id, mount_path, volume)| {
                let state = volume.state?;
                if state == State::GracefulDiskRebalanceRequired && self.rebalance_gate.is_some() {
                    return None;
                }
                describe::volume_wait(id, mount_path, state, volume.reference.as_deref(), volume.operation.as_deref())
            })
            .collect();
        waits.extend(self.rebalance_gate.clone());
        waits
    }

    pub fn in_progress(&self) -> bool {
        self.brokers.values().flat_map(BTreeMap::values).any(|v| v.state.is_some_and(volume_states::is_in_progress))
    }
}

fn previous_volumes(previous: Option<&KafkaClusterStatus>, id: i32) -> BTreeMap<String, VolumeState> {
    previous
        .and_then(|s| s.brokers_state.get(&id.to_string()))
        .map(|b| b.graceful_action_state.volume_states.clone())
        .unwrap_or_default()
}

fn claims_mounted_by(pod: &Pod) -> BTreeSet<String> {
    let volumes = pod.spec.as_ref().map(|s| s.volumes.iter().flatten()).into_iter().flatten();
    volumes.filter_map(|v| v.persistent_volume_claim.as_ref()).map(|c| c.claim_name.clone()).collect()
}

/// The cluster as the brokers are built: a volume removed from the spec stays in its broker's
/// pod and `log.dirs` until Cruise Control moved its data off (Kafka would lose the replicas on
/// it otherwise), rebuilt from its claim.
pub fn with_volumes_being_removed(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    previous: Option<&KafkaClusterStatus>,
) -> ValidatedCluster {
    let mut cluster = cluster.clone();
    for broker in &mut cluster.brokers {
        let states = previous_volumes(previous, broker.id);
        let desired: BTreeSet<String> = broker.config.storage_configs.iter().map(|s| s.mount_path.clone()).collect();
        for claim in observed.claims.get(&broker.id).into_iter().flatten() {
            let Some(mount_path) = claim.annotations().get(crd_types::labels::MOUNT_PATH_ANNOTATION) else { continue };
            let state = states.get(mount_path).and_then(|v| v.cruise_control_volume_state);
            if !desired.contains(mount_path) && volume_states::keeps_volume(state) {
                broker.config.storage_configs.push(StorageConfig {
                    mount_path: mount_path.clone(),
                    pvc_spec: claim.spec.clone(),
                    empty_dir: None,
                    tiered_storage_cache: None,
                });
            }
        }
    }
    cluster
}

/// Every volume's graceful state, the operations they ask for, and the deletion of drained
/// claims no pod mounts any more (all onto `steps`).
pub fn decide(
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
) -> Volumes {
    let cached = &observed.operations;
    let mut volumes = Volumes::default();
    // Cruise Control knows no controller-only node: their volumes are left as they are.
    for broker in cluster.brokers.iter().filter(|b| b.is_broker()) {
        let id = broker.id;
        let states = previous_volumes(previous, id);
        let claims = observed.claim_names(id);
        let live = observed.live_pod(id).map(|pod| claims_mounted_by(pod));
        let every_pod: BTreeSet<String> =
            observed.pods.get(&id).into_iter().flatten().flat_map(|pod| claims_mounted_by(pod)).collect();
        let claimed: BTreeSet<&String> =
            broker.config.storage_configs.iter().filter(|s| s.pvc_spec.is_some()).map(|s| &s.mount_path).collect();
        // Any storage config counts: a claim whose mount path turned into an emptyDir is left alone.
        let desired: BTreeSet<&String> = broker.config.storage_configs.iter().map(|s| &s.mount_path).collect();
        let mount_paths: BTreeSet<&String> =
            claimed.iter().copied().chain(claims.keys()).chain(states.keys()).collect();
        let mut decided = BTreeMap::new();
        for mount_path in mount_paths {
            let before = states.get(mount_path);
            let reference = before.and_then(|v| v.cruise_control_operation_reference.as_ref()).map(|r| r.name.clone());
            let operation = reference.as_deref().and_then(|name| known.operation(cached, name, needs)).flatten();
            let claim = claims.get(mount_path).cloned();
            let mounted_live = claim.as_ref().is_some_and(|c| live.as_ref().is_some_and(|m| m.contains(c)));
            let view = VolumeView {
                previous: before.and_then(|v| v.cruise_control_volume_state),
                desired: desired.contains(mount_path),
                has_claim: claim.is_some(),
                pod_lacks_it: claimed.contains(mount_path) && live.is_some() && !mounted_live,
                operation: operations::view(operation.as_deref(), reference.is_some()),
            };
            let state = volume_states::next_state(&view);
            let follows = state.is_some_and(|s| {
                !matches!(s, State::GracefulDiskRebalanceRequired | State::GracefulDiskRemovalRequired)
            }) && operation.is_some();
            let (reference, operation) = if follows { (reference, operation) } else { (None, None) };
            let mounted = claim.as_ref().is_some_and(|c| every_pod.contains(c));
            decided.insert(mount_path.clone(), VolumeGraceful { state, reference, operation, claim, mounted });
        }
        volumes.brokers.insert(id, decided);
    }
    request_removals(cluster, cached, &mut volumes, steps);
    request_rebalance(cluster, observed, cached, known, needs, &mut volumes, steps);
    delete_drained_claims(&volumes, observed, steps);
    volumes
}

fn with_state(volumes: &Volumes, state: State) -> BTreeMap<i32, Vec<String>> {
    let mut found: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (id, broker) in &volumes.brokers {
        for (mount_path, _) in broker.iter().filter(|(_, v)| v.state == Some(state)) {
            found.entry(*id).or_default().push(mount_path.clone());
        }
    }
    found
}

fn request_removals(cluster: &ValidatedCluster, cached: &Operations, volumes: &mut Volumes, steps: &mut Vec<Step>) {
    let wanted = with_state(volumes, State::GracefulDiskRemovalRequired);
    if !wanted.is_empty() {
        let request = OperationRequest::RemoveDisks(wanted.clone());
        schedule(cluster, cached, volumes, &request, &wanted, State::GracefulDiskRemovalScheduled, steps);
    }
}

/// One rebalance for the added volumes, once every one of them is mounted by a ready pod and
/// Cruise Control reports its log dir online.
fn request_rebalance(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    cached: &Operations,
    known: &Facts,
    needs: &mut Needs,
    volumes: &mut Volumes,
    steps: &mut Vec<Step>,
) {
    let wanted = with_state(volumes, State::GracefulDiskRebalanceRequired);
    if wanted.is_empty() {
        return;
    }
    let list = describe::volume_list(&wanted);
    let mut waiting = Vec::new();
    for (id, mount_paths) in &wanted {
        let ready = observed.live_pod(*id).is_some_and(|pod| is_ready(pod));
        for mount_path in mount_paths {
            let volume = &volumes.brokers[id][mount_path];
            let mounted = volume
                .claim
                .as_ref()
                .is_some_and(|c| observed.live_pod(*id).is_some_and(|pod| claims_mounted_by(pod).contains(c)));
            if !mounted || !ready {
                waiting.push(format!(
                    "broker {id} {mount_path}: the broker's pod must run with the new volume (it runs an older \
                     configuration until it is restarted)"
                ));
            }
        }
    }
    if waiting.is_empty() {
        match known.cruise_control_log_dirs(needs) {
            None => return,
            Some(Err(problem)) => waiting.push(problem.to_string()),
            Some(Ok(online)) => {
                for (id, mount_paths) in &wanted {
                    let dirs = online.get(id).cloned().unwrap_or_default();
                    for mount_path in mount_paths.iter().filter(|m| !dirs.contains(&log_dir(m))) {
                        waiting.push(format!(
                            "Cruise Control does not report {} of broker {id} online yet",
                            log_dir(mount_path)
                        ));
                    }
                }
            }
        }
    }
    if !waiting.is_empty() {
        volumes.rebalance_gate = Some(format!("{list}: the disk rebalance waits: {}", waiting.join("; ")));
        return;
    }
    let request = OperationRequest::RebalanceDisks(wanted.keys().copied().collect());
    schedule(cluster, cached, volumes, &request, &wanted, State::GracefulDiskRebalanceScheduled, steps);
}

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn schedule(
    cluster: &ValidatedCluster,
    cached: &Operations,
    volumes: &mut Volumes,
    request: &OperationRequest,
    targets: &BTreeMap<i32, Vec<String>>,
    scheduled: State,
    steps: &mut Vec<Step>,
) {
    let name = operations::adopt_or_create(cluster, cached, request, steps);
    for (id, mount_paths) in targets {
        for mount_path in mount_paths {
            if let Some(volume) = volumes.brokers.get_mut(id).and_then(|b| b.get_mut(mount_path)) {
                volume.state = Some(scheduled);
                volume.reference = Some(name.clone());
            }
        }
    }
}

/// Deletes the claims of drained volumes that no pod mounts any more.
fn delete_drained_claims(volumes: &Volumes, observed: &ObservedCluster, steps: &mut Vec<Step>) {
    for (id, broker) in &volumes.brokers {
        for volume in broker.values().filter(|v| volume_states::may_delete_claim(v.state, v.mounted)) {
            let Some(claim) = &volume.claim else { continue };
            let terminating = observed
                .claims
                .get(id)
                .into_iter()
                .flatten()
                .any(|c| &c.name_any() == claim && c.metadata.deletion_timestamp.is_some());
            if !terminating {
                let note = format!("deleted PersistentVolumeClaim {claim}: Cruise Control moved its data off");
                steps.push(Step::noted(
                    Action::Delete { kind: OwnedKind::PersistentVolumeClaim, name: claim.clone() },
                    Notice::normal("VolumeRemoved", "RemoveVolume", note),
                ));
            }
        }
    }
}

#[cfg(test)]
#[path = "volumes_tests.rs"]
mod tests;
