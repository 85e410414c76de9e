//! Pure (no client required): everything one reconcile of a KafkaCluster does, decided from the
//! validated spec, the caches and the facts only Kafka or Cruise Control know — one [`Plan`]
//! of ordered writes, the events, and the status they lead to. `apply` carries the plan out.
//!
//! The steps, in the order their writes must happen:
//! 1. the KRaft cluster id (before any pod: brokers format their storage with it), and the
//!    certificates (before any pod: brokers mount theirs);
//! 2. cluster-wide objects (Services, shared ConfigMaps, PodDisruptionBudget), and the
//!    EndpointSlices that keep node names resolving while a cluster moves to Koperator's names;
//! 3. Cruise Control (ConfigMaps, Deployment, metrics KafkaTopic);
//! 4. each broker in the spec (ConfigMap, then claims, then pod: the pod mounts both), then
//!    claims that grow;
//! 5. graceful scaling (operations, brokers kept while they drain, drained objects);
//! 6. the rolling restart (at most one pod deletion), then KRaft's voter change and
//!    `metadata.version` (through Kafka, see `kraft`);
//! 7. dynamic configuration (through Kafka).
//!
//! Besides: what another operator left of the cluster (a takeover), for the status and events.

pub mod brokers;
pub mod certificates;
mod claims;
mod cluster_objects;
mod cruise_control;
pub mod drift;
pub mod dynamic_config;
pub mod external_access;
pub mod facts;
mod graceful;
pub mod kraft;
mod listener_change;
mod naming;
pub mod node_names;
pub mod outcome;
pub mod plan;
pub mod quorum;
pub mod racks;
pub mod rolling;
pub mod takeover;
pub mod user_certificates;

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::ResourceExt;
use serde::Serialize;

use crd_types::KafkaCluster;

use crate::actions::rolling_upgrade_alerts;
use crate::build;
use crate::model::{MetadataMode, ValidatedCluster};
use crate::reconcile::observe::ObservedCluster;
use dynamic_config::DYNAMIC_CONFIG;
use outcome::StatusDraft;

pub use claims::ClaimResize;
pub use cruise_control::{CRUISE_CONTROL_AVAILABLE, CruiseControlReport, TopicReport};
pub use facts::{FactRequest, Facts, RaftView, Unavailable};
pub use plan::{Action, Created, Desired, Notice, OwnedKind, Plan, Step};

/// What the decision is made from, besides the facts.
pub struct Inputs<'a> {
    pub cluster: &'a KafkaCluster,
    pub validated: &'a ValidatedCluster,
    pub observed: &'a ObservedCluster,
    /// A fresh KRaft cluster id, used only if the status has none yet (generating one is not
    /// pure, so the caller does).
    pub new_cluster_id: &'a str,
    /// The certificates made for this pass (new keys are not pure either); None without
    /// certificates the operator makes.
    pub certificates: Option<&'a certificates::Prepared>,
    /// The user's certificates, checked (`sslSecrets.create` false); None otherwise.
    pub user_certificates: Option<&'a user_certificates::UserCertificates>,
}

/// A plan, or the facts it still needs.
#[derive(Debug)]
pub enum Decision {
    Need(Vec<FactRequest>),
    Plan(Box<Plan>),
}

pub fn decide(inputs: &Inputs<'_>, known: &Facts) -> Decision {
    let Inputs { cluster, validated, observed, new_cluster_id, certificates, user_certificates } = inputs;
    let previous = cluster.status.as_ref();
    let mut needs = facts::Needs::default();
    let mut steps = Vec::new();

    // 1. KRaft brokers format their storage with the cluster id and the quorum's formation, so
    //    both are recorded before the first pod exists: a pod formatted with an id the status
    //    then lost could never rejoin.
    let (cluster_id, new_id) = match (&validated.mode, previous.and_then(|s| s.cluster_id.clone())) {
        (MetadataMode::ZooKeeper { .. }, _) => (None, None),
        (MetadataMode::Kraft, Some(id)) => (Some(id), None),
        (MetadataMode::Kraft, None) => (Some((*new_cluster_id).to_owned()), Some(*new_cluster_id)),
    };
    let formation = kraft::formation(validated, previous, observed, new_id);
    if let Some(id) = new_id {
        let kraft = formation.as_ref().map(|f| f.status.clone());
        steps.push(Step::new(Action::RecordClusterId { id: id.to_owned(), kraft }));
    }
    // From here on, the cluster as its nodes are built (a dynamic quorum's settings, leaving
    // voters with their controller role).
    let configured = kraft::configure(cluster, validated, formation.as_ref(), cluster_id.as_deref(), observed);
    let validated: &ValidatedCluster = &configured;

    let certificates = certificates::plan(validated, observed, *certificates, &mut steps);

    // 2. and 3.
    let names = node_names::decide(validated, observed);
    let wanted = cluster_objects::plan(validated, observed, &names, &mut steps);
    // External access after the Services Envoy reaches brokers through, before the brokers
    // that advertise its addresses.
    let external = external_access::decide(validated, observed, &routed_brokers(validated, observed, previous));
    external_access::plan(validated, observed, &external, &mut steps);
    let external_wait = external.waiting.first().cloned();
    let cruise_control =
        cruise_control::plan(validated, previous, observed, certificates.operator_serial.as_deref(), &mut steps);

    // 4. Volumes leaving a broker stay in its pod until Cruise Control moved their data off.
    let storage = graceful::with_volumes_being_removed(validated, observed, previous);
    let read_only_keys: BTreeSet<String> =
        previous.map(|s| s.read_only_config_keys.iter().cloned().collect()).unwrap_or_default();
    let racks = racks::decide(validated, observed, previous);
    let build_facts = brokers::BuildFacts {
        cluster_id: cluster_id.as_deref(),
        read_only_config_keys: &read_only_keys,
        certificate_wait: certificates.brokers_wait.as_deref(),
        // The user's certificates: what the brokers serve, so that a renewed one rolls them.
        server_certificate_serial: certificates
            .server_serial
            .as_deref()
            .or(user_certificates.map(|checked| checked.server_fingerprint.as_str())),
        trusted_ca_serials: certificates.trusted_ca_serials.as_deref(),
        external_addresses: &external.addresses,
        external_wait: external_wait.as_deref(),
        racks: &racks,
    };
    let progress: Vec<_> = storage
        .brokers
        .iter()
        .map(|broker| brokers::plan(&storage, broker, observed, &build_facts, &mut steps))
        .collect();
    let resizes = claims::plan(&storage, observed, &mut steps);

    // 5.
    let no_voters_leaving = BTreeSet::new();
    let graceful_inputs = graceful::Inputs {
        cluster,
        validated,
        observed,
        progress: &progress,
        build_facts: &build_facts,
        voters_leaving: formation.as_ref().map_or(&no_voters_leaving, |f| &f.leaving),
    };
    let graceful = graceful::plan(&graceful_inputs, known, &mut needs, &mut steps);

    // 6. Kept by ClusterActions in an annotation (a set of fingerprints, so repeats count once).
    let alerts = rolling_upgrade_alerts::alert_count(&rolling_upgrade_alerts::firing(cluster));
    let moving = graceful::moving_data(&graceful.status);
    let voters = kraft::roll_voters(formation.as_ref());
    let rack_values = racks.by_broker.iter().map(|(id, rack)| (*id, rack.broker_rack())).collect();
    let gates = rolling::ExternalGates {
        cruise_control_busy: moving.as_deref(),
        rolling_upgrade_alerts: alerts,
        names_pending: &wanted.names_pending,
        voters: voters.as_ref(),
        racks: &rack_values,
    };
    let roll = rolling::plan(validated, previous, &progress, &gates, known, &mut needs, &mut steps);
    let budgets_closed = matches!(roll.budget, Some(rolling::BudgetGate::Closed(_)));
    cluster_objects::plan_budgets(validated, observed, budgets_closed, &mut steps);
    let policy = validated.spec.metadata_version_upgrade;
    let kraft = kraft::plan(formation.as_ref(), &progress, policy, roll.in_progress, known, &mut needs, &mut steps);

    // 7.
    let previously_configured = previous.is_some_and(|p| p.conditions.iter().any(|c| c.type_ == DYNAMIC_CONFIG));
    let previous_read_only = previous.map(|p| p.read_only_config_keys.as_slice()).unwrap_or_default();
    let dynamic = dynamic_config::plan(
        validated,
        &progress,
        previous_read_only,
        previously_configured,
        known,
        &mut needs,
        &mut steps,
    );

    if !needs.is_empty() {
        return Decision::Need(needs.into_requests());
    }
    let mut notices = Vec::new();
    let takeover = takeover::report(validated, observed, &progress, &wanted, previous, &mut notices);
    let certificates_ready = certificates.condition.as_ref().is_none_or(|condition| condition.ready);
    let settled = progress.iter().all(|b| b.is_ready())
        && !graceful.in_progress
        && !roll.in_progress
        && !kraft.in_progress
        && certificates_ready;
    Decision::Plan(Box::new(Plan {
        steps,
        notices,
        status: StatusDraft {
            brokers: progress,
            retained_claims: graceful.retained_claims,
            graceful: graceful.status,
            roll,
            rolling_upgrade_alerts: alerts,
            dynamic_config: dynamic,
            cluster_id,
            listener_addresses: build::listener_addresses(validated),
            external_listener_statuses: external.statuses,
            external_waiting: external.waiting,
            cruise_control,
            resizes,
            takeover,
            certificates,
            kraft,
            rack_states: racks.by_broker.iter().map(|(id, rack)| (*id, rack.state())).collect(),
        },
        settled,
    }))
}

/// The broker-role nodes external traffic goes to: the spec's, and those only the status still
/// lists while they are drained (their pods say whether they have the broker role), as
/// Koperator routes to the union of spec and status.
fn routed_brokers(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    previous: Option<&crd_types::kafka_cluster::KafkaClusterStatus>,
) -> BTreeSet<i32> {
    let mut routed: BTreeSet<i32> = cluster.brokers.iter().filter(|b| b.is_broker()).map(|b| b.id).collect();
    let departing =
        previous.into_iter().flat_map(|status| status.brokers_state.keys()).filter_map(|id| id.parse().ok());
    for id in departing {
        let is_broker = observed
            .pods
            .get(&id)
            .into_iter()
            .flatten()
            .any(|pod| pod.labels().get(crd_types::labels::IS_BROKER_NODE).is_none_or(|value| value == "true"));
        if !cluster.brokers.iter().any(|b| b.id == id) && is_broker {
            routed.insert(id);
        }
    }
    routed
}

/// The step that brings `observed` to `desired`, if one is needed; repairing someone else's
/// change, or taking over another operator's object, is worth an event.
fn apply_step<K>(desired: K, observed: Option<&K>, wrap: fn(K) -> Desired) -> Option<Step>
where
    K: Serialize + ResourceExt + kube::Resource<DynamicType = ()>,
{
    let reason = drift::apply_reason(&desired, observed)?;
    let what = format!("{} {}", K::kind(&()), desired.name_any());
    match reason {
        drift::ApplyReason::Missing | drift::ApplyReason::Changed => {
            Some(Step::new(Action::Apply(Box::new(wrap(drift::stamped(desired))))))
        }
        drift::ApplyReason::Drifted { paths } => {
            let note = format!("{what} was changed by someone else ({}); the operator set it back", paths.join(", "));
            let notice = Notice::warning("DriftRepaired", "RepairObject", note);
            Some(Step::noted(Action::Apply(Box::new(wrap(drift::stamped(desired)))), notice))
        }
        drift::ApplyReason::Foreign { managers } => {
            let mut replacement = drift::stamped(desired);
            replacement.meta_mut().resource_version = observed.and_then(|o| o.resource_version());
            // The other manager's claims go with its content: a field it still co-owned (same
            // value as ours) would outlive the day this operator stops setting it, as server-side
            // apply removes only fields nobody else owns. One empty entry is the API's way to
            // clear them on an update.
            replacement.meta_mut().managed_fields = Some(vec![ManagedFieldsEntry::default()]);
            let by =
                if managers.is_empty() { String::new() } else { format!(" (field managers: {})", managers.join(", ")) };
            let note = format!("{what} was made by another operator{by}; the operator replaced it with its own");
            let notice = Notice::normal("ObjectTakenOver", "TakeOver", note);
            Some(Step::noted(Action::Replace(Box::new(wrap(replacement))), notice))
        }
    }
}

/// Claims that name a StorageClass which does not exist would stay Pending forever. Pure, but
/// it needs the caches, so it runs after the spec's own validation.
pub fn missing_storage_classes(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Vec<String> {
    let mut problems = Vec::new();
    for broker in &cluster.brokers {
        for storage in &broker.config.storage_configs {
            let Some(pvc) = &storage.pvc_spec else { continue };
            match pvc.storage_class_name.as_deref() {
                Some("") => {}
                Some(class) if !observed.storage_classes.contains_key(class) => problems.push(format!(
                    "broker {} storage {}: StorageClass {class:?} does not exist; create it or change pvcSpec.storageClassName",
                    broker.id, storage.mount_path
                )),
                None if observed.default_storage_class.is_none() => problems.push(format!(
                    "broker {} storage {}: pvcSpec names no storageClassName and the cluster has no default StorageClass; set one",
                    broker.id, storage.mount_path
                )),
                _ => {}
            }
        }
    }
    problems
}

/// A KRaft controller set that differs from the one the running nodes were configured with.
/// Their quorum is static (`controller.quorum.voters`), and Kafka cannot change a static
/// quorum's voters: rolling the new list in would split or lose the metadata quorum. Pure, from
/// the broker ConfigMaps in the cache; None for a new cluster or an unchanged set.
pub use listener_change::in_place_protocol_change;

pub fn static_quorum_change(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Option<String> {
    if !cluster.is_kraft() {
        return None;
    }
    let desired: BTreeSet<i32> = cluster.brokers.iter().filter(|b| b.is_controller()).map(|b| b.id).collect();
    let running = observed.config_maps.values().find_map(|config_map| {
        let properties = config_map.data.as_ref()?.get(build::BROKER_CONFIG_KEY)?;
        let voters = properties.lines().find_map(|line| line.strip_prefix("controller.quorum.voters="))?;
        let ids: Option<BTreeSet<i32>> =
            voters.split(',').map(|voter| voter.split_once('@').and_then(|(id, _)| id.trim().parse().ok())).collect();
        ids
    })?;
    (running != desired).then(|| {
        let list = |ids: &BTreeSet<i32>| ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        format!(
            "spec.brokers: the KRaft controllers would change from [{}] to [{}], but this cluster's quorum is \
             static (controller.quorum.voters) and Kafka cannot change a static quorum's voters; nothing is \
             changed until the controllers (nodes with processRoles controller) are as before",
            list(&running),
            list(&desired)
        )
    })
}

#[cfg(test)]
#[path = "external_access_tests.rs"]
mod external_access_tests;
#[cfg(test)]
#[path = "node_names_roll_tests.rs"]
mod node_names_roll_tests;
#[cfg(test)]
#[path = "racks_tests.rs"]
mod racks_tests;
#[cfg(test)]
#[path = "takeover_tests.rs"]
mod takeover_tests;
#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
