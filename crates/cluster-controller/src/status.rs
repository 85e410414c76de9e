//! The KafkaCluster status: a pure function of what the reconcile saw and did, so an unchanged
//! cluster yields an identical status (and no write), and every wait is spelled out.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crd_types::conditions::{self, DEGRADED, READY, RECONCILING};
use crd_types::kafka_cluster::{
    BrokerState, ClusterState, ConfigurationState, GracefulActionState, KafkaClusterStatus, ListenerStatus,
    ListenerStatuses, QuorumKind, RollingUpgradeStatus,
};

use crate::build::ListenerAddresses;
use crate::model::ValidatedCluster;
use crate::reconcile::decide::certificates::{CERTIFICATES, CertificatesReport};
use crate::reconcile::decide::kraft::KraftReport;
pub use crate::reconcile::decide::outcome::DynamicConfigStatus;
use crate::reconcile::decide::outcome::{BrokerProgress, GracefulStatus, RollReport, RollStatus, StatusDraft};
use crate::reconcile::decide::rolling::BudgetGate;
use crate::reconcile::decide::{ClaimResize, CruiseControlReport, TopicReport};

/// Condition, present when the spec has fields this operator accepts but does not act on yet.
pub const UNSUPPORTED_FIELDS: &str = "UnsupportedFields";
/// Whether every served external listener is reachable (its load balancer has an address, its
/// node ports are assigned), with the addresses clients bootstrap from; absent without them.
pub const EXTERNAL_ACCESS: &str = "ExternalAccess";
/// Settings that work but are probably not what the user wants (the model's warnings).
pub const SPEC_WARNINGS: &str = "SpecWarnings";
/// Condition, present while a claim grows or when a size change is refused: which claim, why.
pub const VOLUME_RESIZE: &str = "VolumeResize";
/// Condition: PVCs of brokers removed from the spec are kept (their data is not deleted).
pub const STORAGE_RETAINED: &str = "StorageRetained";
/// Condition, present while Cruise Control adds or drains brokers: which broker, which
/// CruiseControlOperation, which Cruise Control task, and what the user may have to do.
pub const GRACEFUL_ACTIONS: &str = "GracefulActions";

/// Condition of a dynamic KRaft quorum: its voters, or which voter change the operator waits for.
pub const CONTROLLER_QUORUM: &str = "ControllerQuorum";
/// Condition, present while a rolling restart is in progress: which node restarts, or which
/// node and which gate the roll waits for.
pub const ROLLING_UPGRADE: &str = "RollingUpgrade";
/// Condition, present with `disruptionBudget.create`: whether the PodDisruptionBudgets admit an
/// eviction (a node drain) now, or which node or gate holds them closed.
pub const DISRUPTION_BUDGET: &str = "DisruptionBudget";
pub use crate::reconcile::decide::outcome::DYNAMIC_CONFIG;
#[path = "status_takeover.rs"]
mod takeover;

pub fn running_status(
    previous: Option<&KafkaClusterStatus>,
    cluster: &ValidatedCluster,
    draft: &StatusDraft,
    now: Time,
) -> KafkaClusterStatus {
    let StatusDraft {
        brokers,
        retained_claims,
        graceful,
        roll,
        rolling_upgrade_alerts,
        dynamic_config,
        cluster_id,
        listener_addresses,
        external_listener_statuses,
        external_waiting,
        cruise_control,
        resizes,
        takeover,
        certificates,
        kraft,
        rack_states,
    } = draft;
    let rolling_upgrade_alerts = *rolling_upgrade_alerts;
    let mut status = previous.cloned().unwrap_or_default();
    let generation = cluster.generation;
    let ready = brokers.iter().filter(|b| b.is_ready()).count();
    let mut waits: Vec<String> = brokers.iter().filter_map(BrokerProgress::waiting_for).collect();
    waits.extend(graceful.waits.iter().cloned());
    waits.extend(roll.report.iter().map(ToString::to_string));
    let certificates_wait = certificates.condition.as_ref().filter(|c| !c.ready).map(|c| c.message.clone());
    // Brokers waiting for their pod's certificate say so already.
    if let Some(wait) = certificates_wait.as_ref().filter(|wait| !waits.iter().any(|w| w.contains(wait.as_str()))) {
        waits.push(wait.clone());
    }
    // Brokers held back by a load balancer say so already.
    for wait in external_waiting {
        if !waits.iter().any(|w| w.contains(wait.as_str())) {
            waits.push(wait.clone());
        }
    }
    waits.extend(kraft.quorum_wait.iter().chain(&kraft.metadata_wait).cloned());
    let all_ready = ready == brokers.len();
    let settled = all_ready
        && !kraft.in_progress
        && graceful.waits.is_empty()
        && !roll.in_progress
        && certificates_wait.is_none()
        && external_waiting.is_empty();

    status.brokers_state = brokers
        .iter()
        .map(|b| {
            let mut state = broker_state(previous, b, graceful);
            if let Some(dynamic) = dynamic_config.per_broker.get(&b.id) {
                state.per_broker_configuration_state = Some(*dynamic);
            }
            // Once decided a rack stays recorded (a broker keeps it while its pod is away).
            if let Some(rack) = rack_states.get(&b.id) {
                state.rack_awareness_state = Some(rack.clone());
            }
            (b.id.to_string(), state)
        })
        .collect();
    for id in &graceful.departing {
        let mut state = previous.and_then(|p| p.brokers_state.get(&id.to_string())).cloned().unwrap_or_default();
        set_graceful(&mut state, graceful.states.get(id));
        status.brokers_state.insert(id.to_string(), state);
    }
    let was_rolling = status.state == Some(ClusterState::ClusterRollingUpgrading);
    status.state = Some(if roll.in_progress {
        ClusterState::ClusterRollingUpgrading
    } else if settled {
        ClusterState::ClusterRunning
    } else {
        ClusterState::ClusterReconciling
    });
    if was_rolling && settled {
        status.rolling_upgrade_status.get_or_insert_with(RollingUpgradeStatus::default).last_success =
            now.0.to_string();
    }
    status.alert_count = rolling_upgrade_alerts;
    if rolling_upgrade_alerts > 0 || status.rolling_upgrade_status.is_some() {
        status.rolling_upgrade_status.get_or_insert_with(RollingUpgradeStatus::default).error_count =
            rolling_upgrade_alerts;
    }
    status.read_only_config_keys = dynamic_config.read_only_keys.iter().cloned().collect();
    status.brokers_ready = Some(format!("{ready}/{}", brokers.len()));
    status.observed_generation = generation;
    status.cluster_id = cluster_id.clone().or(status.cluster_id);
    if kraft.status.is_some() {
        status.kraft = kraft.status.clone();
    }
    let mut listener_statuses = listener_statuses(listener_addresses);
    listener_statuses.external_listeners = external_listener_statuses.clone();
    status.listener_statuses = Some(listener_statuses);

    let ready_message = format!("{ready} of {} brokers ready", brokers.len());
    conditions::upsert(
        &mut status.conditions,
        conditions::new(
            READY,
            all_ready,
            if all_ready { "AllBrokersReady" } else { "BrokersNotReady" },
            ready_message,
            generation,
            now.clone(),
        ),
    );
    let reconciling = !waits.is_empty();
    conditions::upsert(
        &mut status.conditions,
        conditions::new(
            RECONCILING,
            reconciling,
            if reconciling { "Waiting" } else { "Reconciled" },
            if reconciling { waits.join("; ") } else { "every broker runs its desired configuration".to_owned() },
            generation,
            now.clone(),
        ),
    );
    conditions::upsert(
        &mut status.conditions,
        conditions::new(DEGRADED, false, "AsSpecified", "", generation, now.clone()),
    );
    set_unsupported_fields(&mut status, &cluster.unsupported_fields, generation, now.clone());
    set_spec_warnings(&mut status, &cluster.warnings, generation, now.clone());
    set_graceful_actions(&mut status, &graceful.waits, generation, now.clone());
    set_rolling_upgrade(&mut status, roll, generation, now.clone());
    set_disruption_budget(&mut status, roll.budget.as_ref(), generation, now.clone());
    set_dynamic_config(&mut status, dynamic_config, generation, now.clone());
    set_volume_resize(&mut status, resizes, generation, now.clone());
    set_storage_retained(&mut status, retained_claims, generation, now.clone());
    set_cruise_control(&mut status, cruise_control, generation, now.clone());
    set_certificates(&mut status, certificates, generation, now.clone());
    set_external_access(&mut status, cluster, external_listener_statuses, external_waiting, generation, now.clone());
    set_controller_quorum(&mut status, kraft, generation, now.clone());
    takeover::set_takeover(&mut status, takeover, generation, now);
    status
}

/// The `ControllerQuorum` condition of a dynamic KRaft quorum: True with the voters when they
/// are the spec's controllers, False with what the operator waits for; absent otherwise.
fn set_controller_quorum(status: &mut KafkaClusterStatus, kraft: &KraftReport, generation: Option<i64>, now: Time) {
    let Some(recorded) = kraft.status.as_ref().filter(|k| k.quorum == Some(QuorumKind::Dynamic)) else {
        status.conditions.retain(|c| c.type_ != CONTROLLER_QUORUM);
        return;
    };
    let voters = recorded.voters.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let condition = match &kraft.quorum_wait {
        Some(wait) => conditions::new(CONTROLLER_QUORUM, false, "ChangingVoters", wait, generation, now),
        None if !recorded.quorum_formed => conditions::new(
            CONTROLLER_QUORUM,
            false,
            "Forming",
            "the dynamic quorum has not formed yet",
            generation,
            now,
        ),
        None => conditions::new(
            CONTROLLER_QUORUM,
            true,
            "VotersMatchSpec",
            format!("dynamic quorum (KIP-853); voters {voters}"),
            generation,
            now,
        ),
    };
    conditions::upsert(&mut status.conditions, condition);
}

fn set_disruption_budget(
    status: &mut KafkaClusterStatus,
    gate: Option<&BudgetGate>,
    generation: Option<i64>,
    now: Time,
) {
    let condition = match gate {
        None => {
            status.conditions.retain(|c| c.type_ != DISRUPTION_BUDGET);
            return;
        }
        Some(BudgetGate::Open) => conditions::new(
            DISRUPTION_BUDGET,
            true,
            "EvictionsAllowed",
            "Kafka is healthy: the PodDisruptionBudgets let a drain evict nodes within disruptionBudget.budget",
            generation,
            now,
        ),
        Some(BudgetGate::Closed(hold)) => conditions::new(
            DISRUPTION_BUDGET,
            false,
            "EvictionsHeld",
            format!("the PodDisruptionBudgets admit no eviction (a drain waits) until Kafka is healthy: {hold}"),
            generation,
            now,
        ),
    };
    conditions::upsert(&mut status.conditions, condition);
}

fn set_external_access(
    status: &mut KafkaClusterStatus,
    cluster: &ValidatedCluster,
    statuses: &BTreeMap<String, Vec<ListenerStatus>>,
    waiting: &[String],
    generation: Option<i64>,
    now: Time,
) {
    if cluster.external_listeners.is_empty() {
        status.conditions.retain(|c| c.type_ != EXTERNAL_ACCESS);
        return;
    }
    let condition = if waiting.is_empty() {
        let entries: Vec<String> = statuses
            .iter()
            .flat_map(|(listener, entries)| {
                let any = entries.iter().find(|entry| entry.name == "any-broker");
                let shown = any.into_iter().chain(entries.iter().filter(move |_| any.is_none()));
                shown.map(move |entry| format!("{listener} {} {}", entry.name, entry.address))
            })
            .collect();
        let message = format!("every external listener is reachable: {}", entries.join(", "));
        conditions::new(EXTERNAL_ACCESS, true, "Reachable", message, generation, now)
    } else {
        conditions::new(EXTERNAL_ACCESS, false, "WaitingForAddresses", waiting.join("; "), generation, now)
    };
    conditions::upsert(&mut status.conditions, condition);
}

/// A True condition, so that alerting on it works; gone when every field is acted on.
fn set_unsupported_fields(status: &mut KafkaClusterStatus, fields: &[String], generation: Option<i64>, now: Time) {
    if fields.is_empty() {
        status.conditions.retain(|c| c.type_ != UNSUPPORTED_FIELDS);
        return;
    }
    let message = format!(
        "accepted for Koperator compatibility but not acted on yet (the cluster runs without them): {}",
        fields.join(", ")
    );
    conditions::upsert(
        &mut status.conditions,
        conditions::new(UNSUPPORTED_FIELDS, true, "FieldsIgnored", message, generation, now),
    );
}

/// A True condition naming every warning; gone when there is none.
fn set_spec_warnings(status: &mut KafkaClusterStatus, warnings: &[String], generation: Option<i64>, now: Time) {
    if warnings.is_empty() {
        status.conditions.retain(|c| c.type_ != SPEC_WARNINGS);
        return;
    }
    let condition = conditions::new(SPEC_WARNINGS, true, "Warnings", warnings.join("; "), generation, now);
    conditions::upsert(&mut status.conditions, condition);
}

fn set_volume_resize(status: &mut KafkaClusterStatus, resizes: &[ClaimResize], generation: Option<i64>, now: Time) {
    if resizes.is_empty() {
        status.conditions.retain(|c| c.type_ != VOLUME_RESIZE);
        return;
    }
    let reason = if resizes.iter().any(ClaimResize::is_refusal) { "Refused" } else { "Growing" };
    let message = resizes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    conditions::upsert(&mut status.conditions, conditions::new(VOLUME_RESIZE, true, reason, message, generation, now));
}

/// The `Certificates` condition: each certificate's serial and expiry, or why they wait; gone
/// for a cluster whose certificates the operator does not make.
fn set_certificates(status: &mut KafkaClusterStatus, report: &CertificatesReport, generation: Option<i64>, now: Time) {
    let Some(condition) = &report.condition else {
        status.conditions.retain(|c| c.type_ != CERTIFICATES);
        return;
    };
    conditions::upsert(
        &mut status.conditions,
        conditions::new(CERTIFICATES, condition.ready, condition.reason, &condition.message, generation, now),
    );
}

/// `cruiseControlTopicStatus` and the `CruiseControlAvailable` condition.
fn set_cruise_control(
    status: &mut KafkaClusterStatus,
    report: &CruiseControlReport,
    generation: Option<i64>,
    now: Time,
) {
    match report.topic {
        TopicReport::Unchanged => {}
        TopicReport::Cleared => status.cruise_control_topic_status = None,
        TopicReport::Set(topic) => status.cruise_control_topic_status = Some(topic),
    }
    let condition = conditions::new(
        crate::reconcile::decide::CRUISE_CONTROL_AVAILABLE,
        report.available,
        report.reason,
        &report.message,
        generation,
        now,
    );
    conditions::upsert(&mut status.conditions, condition);
}

/// The status of a cluster whose spec cannot work: Degraded names each problem and its fix;
/// everything else the previous status said stays as it was.
pub fn degraded_status(
    previous: Option<&KafkaClusterStatus>,
    generation: Option<i64>,
    problems: &[String],
    now: Time,
) -> KafkaClusterStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    status.state.get_or_insert(ClusterState::ClusterReconciling);
    conditions::upsert(
        &mut status.conditions,
        conditions::new(DEGRADED, true, "InvalidSpec", problems.join("; "), generation, now.clone()),
    );
    conditions::upsert(
        &mut status.conditions,
        conditions::new(
            RECONCILING,
            false,
            "BlockedByInvalidSpec",
            "nothing is changed until the spec is fixed (see the Degraded condition)",
            generation,
            now,
        ),
    );
    status
}

fn broker_state(
    previous: Option<&KafkaClusterStatus>,
    broker: &BrokerProgress,
    graceful: &GracefulStatus,
) -> BrokerState {
    // Keep what other controllers (Cruise Control runner, rolling upgrades) recorded.
    let mut state = previous.and_then(|p| p.brokers_state.get(&broker.id.to_string())).cloned().unwrap_or_default();
    set_graceful(&mut state, graceful.states.get(&broker.id));
    if let Some(backup) = graceful.backups.get(&broker.id) {
        state.configuration_backup = Some(backup.clone());
    }
    state.image = Some(broker.image.clone());
    state.version = Some(broker.kafka_version.clone());
    state.configuration_state = broker
        .running_config_hash
        .as_ref()
        .map(|_| if broker.in_sync() { ConfigurationState::ConfigInSync } else { ConfigurationState::ConfigOutOfSync });
    state
}

/// The graceful step decides the whole `gracefulActionState`, volume states included.
fn set_graceful(state: &mut BrokerState, graceful: Option<&GracefulActionState>) {
    state.graceful_action_state = graceful.cloned().unwrap_or_default();
}

fn set_graceful_actions(status: &mut KafkaClusterStatus, waits: &[String], generation: Option<i64>, now: Time) {
    if waits.is_empty() {
        status.conditions.retain(|c| c.type_ != GRACEFUL_ACTIONS);
        return;
    }
    conditions::upsert(
        &mut status.conditions,
        conditions::new(GRACEFUL_ACTIONS, true, "InProgress", waits.join("; "), generation, now),
    );
}

fn set_rolling_upgrade(status: &mut KafkaClusterStatus, roll: &RollStatus, generation: Option<i64>, now: Time) {
    if !roll.in_progress {
        status.conditions.retain(|c| c.type_ != ROLLING_UPGRADE);
        return;
    }
    let (reason, message) = match &roll.report {
        Some(report @ RollReport::Waiting(wait)) => (wait.reason(), report.to_string()),
        Some(report @ RollReport::Restarting { .. }) => ("Restarting", report.to_string()),
        None => ("Restarting", "waiting for the restarted broker to become ready".to_owned()),
    };
    conditions::upsert(
        &mut status.conditions,
        conditions::new(ROLLING_UPGRADE, true, reason, message, generation, now),
    );
}

fn set_dynamic_config(
    status: &mut KafkaClusterStatus,
    dynamic: &DynamicConfigStatus,
    generation: Option<i64>,
    now: Time,
) {
    if !dynamic.configured && dynamic.problems.is_empty() {
        status.conditions.retain(|c| c.type_ != DYNAMIC_CONFIG);
        return;
    }
    let mut notes = dynamic.problems.clone();
    notes.extend(dynamic.read_only_keys.iter().map(|key| {
        format!("{key} is read-only in Kafka, so it goes into server.properties and a rolling restart applies it; readOnlyConfig is its place")
    }));
    let in_sync = dynamic.problems.is_empty();
    conditions::upsert(
        &mut status.conditions,
        conditions::new(
            DYNAMIC_CONFIG,
            in_sync,
            if in_sync { "Applied" } else { "NotApplied" },
            notes.join("; "),
            generation,
            now,
        ),
    );
}

/// As Koperator writes them: per client listener the Service entry (`headless` or
/// `any-broker`) then `broker-<id>`; the controller listener is left out.
fn listener_statuses(addresses: &BTreeMap<String, ListenerAddresses>) -> ListenerStatuses {
    let internal_listeners = addresses
        .iter()
        .filter(|(_, addresses)| !addresses.controller)
        .map(|(listener, addresses)| {
            let service =
                ListenerStatus { name: addresses.service_entry.to_owned(), address: addresses.service.clone() };
            let per_node = addresses
                .per_node
                .iter()
                .map(|(id, address)| ListenerStatus { name: format!("broker-{id}"), address: address.clone() });
            (listener.clone(), std::iter::once(service).chain(per_node).collect())
        })
        .collect();
    ListenerStatuses { internal_listeners, external_listeners: BTreeMap::new() }
}

fn set_storage_retained(
    status: &mut KafkaClusterStatus,
    retained: &BTreeMap<i32, Vec<String>>,
    generation: Option<i64>,
    now: Time,
) {
    if retained.is_empty() {
        status.conditions.retain(|c| c.type_ != STORAGE_RETAINED);
        return;
    }
    let listed: Vec<String> =
        retained.iter().map(|(id, claims)| format!("broker {id}: {}", claims.join(", "))).collect();
    conditions::upsert(
        &mut status.conditions,
        conditions::new(
            STORAGE_RETAINED,
            true,
            "RemovedBrokersKeepTheirClaims",
            format!(
                "PVCs of brokers removed from spec.brokers are kept until Cruise Control has drained the brokers and their pods are gone ({})",
                listed.join("; ")
            ),
            generation,
            now,
        ),
    );
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
