//! The decision over whole clusters, without a client: a simulated apiserver (`World`) carries
//! plans out in memory, so a test can bring a cluster to rest and then change one thing.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    LocalObjectReference, PersistentVolumeClaimCondition, PersistentVolumeClaimStatus, Pod, PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crd_types::cruise_control_operation::CruiseControlUserTaskState as TaskState;
use crd_types::kafka_cluster::{ClusterState, CruiseControlState as GracefulState};
use crd_types::labels::BROKER_ID;
use crd_types::{CruiseControlOperationStatus, KafkaCluster};
use kafka_admin::ReplicaHealth;

use super::*;
use crate::build::CONFIG_HASH_ANNOTATION;
use crate::build::tests::{kraft_combined, kraft_dedicated};
use crate::model;
use crate::reconcile::decide::facts::{RaftView, Unavailable};
use crate::reconcile::observe::StorageClassInfo;

const CLASS: &str = "standard";

/// What an apiserver would hold, and Kafka's answers.
pub(super) struct World {
    pub(super) cluster: KafkaCluster,
    pub(super) observed: ObservedCluster,
    pub(super) facts: Facts,
    /// Pod name → the `controller.quorum.voters` its broker's ConfigMap held when it was made:
    /// the names the running Kafka uses for the controllers.
    pub(super) voters: BTreeMap<String, String>,
    /// Pods made so far: the next pod's IP.
    pods_made: u32,
}

fn at(seconds: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("valid time"))
}

pub(super) fn broker_id<K: ResourceExt>(object: &K) -> i32 {
    object.labels()[BROKER_ID].parse().expect("a broker id label")
}

pub(super) fn healthy(brokers: &[i32]) -> Facts {
    Facts {
        replica_health: Some(Ok(ReplicaHealth { broker_ids: brokers.to_vec(), ..Default::default() })),
        controllers: Some(following_controllers(&[0, 1, 2, 3, 4, 5], 0)),
        feature_levels: Some(Ok(metadata_version_levels(21, 21))),
        ..Default::default()
    }
}

/// What a broker reports of `metadata.version`: supported up to `supported`, finalized at
/// `finalized`.
pub(super) fn metadata_version_levels(supported: i16, finalized: i16) -> kafka_admin::FeatureLevels {
    kafka_admin::FeatureLevels {
        supported: BTreeMap::from([(
            kafka_admin::METADATA_VERSION.into(),
            kafka_admin::FeatureRange { min: 7, max: supported },
        )]),
        finalized: BTreeMap::from([(kafka_admin::METADATA_VERSION.into(), finalized)]),
    }
}

/// A caught-up replica of the metadata log, its directory derived from its id.
pub(super) fn quorum_replica(id: i32) -> kafka_admin::QuorumReplica {
    kafka_admin::QuorumReplica {
        id,
        directory_id: kafka_admin::DirectoryId::derived_from(&id.to_string()),
        log_end_offset: 100,
        last_fetch_timestamp: -1,
        last_caught_up_timestamp: -1,
    }
}

/// Every node of `ids` a caught-up follower of the metadata quorum but `active`, its leader.
pub(super) fn following_controllers(ids: &[i32], active: i32) -> BTreeMap<i32, Result<RaftView, Unavailable>> {
    ids.iter()
        .map(|&id| {
            let state = if id == active { "leader" } else { "follower" };
            let view = RaftView {
                active: id == active,
                state: Some(state.into()),
                high_watermark: Some(10.0),
                log_end_offset: Some(10.0),
            };
            (id, Ok(view))
        })
        .collect()
}

impl World {
    pub(super) fn new(cluster: KafkaCluster) -> Self {
        let mut observed = ObservedCluster::default();
        observed
            .storage_classes
            .insert(CLASS.into(), StorageClassInfo { binds_for_pod: false, allows_expansion: true });
        observed.default_storage_class = Some(CLASS.into());
        Self { cluster, observed, facts: healthy(&[0, 1, 2]), voters: BTreeMap::new(), pods_made: 0 }
    }

    pub(super) fn validated(&self) -> ValidatedCluster {
        model::validate(&self.cluster).expect("a valid sample")
    }

    /// One decision, with the facts the world has (a test world answers everything at once).
    pub(super) fn plan(&self) -> Plan {
        let validated = self.validated();
        let inputs = Inputs {
            cluster: &self.cluster,
            validated: &validated,
            observed: &self.observed,
            new_cluster_id: "TGVfhv8sQ0eUKAX5Dm0ZcA",
            certificates: None,
            user_certificates: None,
        };
        match decide(&inputs, &self.facts) {
            Decision::Plan(plan) => *plan,
            Decision::Need(requests) => panic!("the test world lacks facts: {requests:?}"),
        }
    }

    /// Decides and carries the plan out in memory; returns the actions' names for asserting.
    pub(super) fn pass(&mut self) -> Vec<String> {
        self.pass_with_notices().0
    }

    /// As [`pass`](Self::pass), with the reasons of the events it publishes.
    pub(super) fn pass_with_notices(&mut self) -> (Vec<String>, Vec<&'static str>) {
        let plan = self.plan();
        let names = plan.steps.iter().map(|step| describe(&step.action)).collect();
        let mut notices: Vec<&'static str> = plan.notices.iter().map(|n| n.reason).collect();
        notices.extend(plan.steps.iter().filter_map(|s| Some(s.notice.as_ref()?.reason)));
        let Plan { steps, status: draft, .. } = plan;
        for step in steps {
            self.carry_out(step.action);
        }
        let status = crate::status::running_status(self.cluster.status.as_ref(), &self.validated(), &draft, at(1));
        self.cluster.status = Some(status);
        (names, notices)
    }

    /// Passes until nothing is left to do.
    /// Passes until one writes nothing: no step, no status change.
    pub(super) fn settle(&mut self) {
        for _ in 0..10 {
            let before = self.cluster.status.clone();
            if self.pass().is_empty() && self.cluster.status == before {
                return;
            }
        }
        panic!("the cluster did not settle: {:?}", self.pass());
    }

    pub(super) fn carry_out(&mut self, action: Action) {
        let observed = &mut self.observed;
        match action {
            Action::RecordClusterId { id, kraft } => {
                // The quorum the initial controllers form once they run.
                let initial = kraft.as_ref().map(|k| k.initial_controllers.clone()).unwrap_or_default();
                self.facts.quorum = Some(Ok(kafka_admin::QuorumDescription {
                    leader_id: initial.first().copied(),
                    leader_epoch: 1,
                    high_watermark: 100,
                    voters: initial.iter().map(|&id| quorum_replica(id)).collect(),
                    observers: Vec::new(),
                    endpoints: BTreeMap::new(),
                }));
                let status = self.cluster.status.get_or_insert_default();
                status.cluster_id = Some(id);
                status.kraft = kraft;
            }
            Action::Apply(desired) | Action::Replace(desired) => match *desired {
                Desired::ConfigMap(o) => drop(observed.config_maps.insert(o.name_any(), Arc::new(o))),
                Desired::Service(o) => drop(observed.services.insert(o.name_any(), Arc::new(o))),
                Desired::PodDisruptionBudget(o) => {
                    drop(observed.pod_disruption_budgets.insert(o.name_any(), Arc::new(o)));
                }
                Desired::Deployment(o) => drop(observed.deployments.insert(o.name_any(), Arc::new(o))),
                Desired::KafkaTopic(o) => drop(observed.kafka_topics.insert(o.name_any(), Arc::new(o))),
                Desired::EndpointSlice(o) => drop(observed.endpoint_slices.insert(o.name_any(), Arc::new(o))),
                Desired::Secret(o) => drop(observed.secrets.insert(o.name_any(), Arc::new(o))),
            },
            Action::Create(created) => match *created {
                Created::Pod(mut pod) => {
                    self.pods_made += 1;
                    let mut status = ready_status();
                    status.pod_ip = Some(format!("10.1.{}.{}", self.pods_made / 250, self.pods_made % 250));
                    pod.status = Some(status);
                    if let Some(spec) = pod.spec.as_mut() {
                        spec.node_name = schedule(&observed.nodes, spec.affinity.as_ref());
                    }
                    let id = broker_id(&pod);
                    let config = observed.config_maps.get(&format!("kafka-config-{id}"));
                    let properties = config.and_then(|c| c.data.as_ref()?.get("broker-config").cloned());
                    let voters = properties.as_deref().map(model::parse_properties).unwrap_or_default();
                    let voters = voters.get("controller.quorum.voters").cloned().unwrap_or_default();
                    self.voters.insert(pod.name_any(), voters);
                    observed.pods.entry(id).or_default().push(Arc::new(pod));
                }
                Created::Claim(mut claim) => {
                    let request = claim.spec.as_ref().and_then(|s| s.resources.as_ref()?.requests.clone());
                    claim.status = Some(PersistentVolumeClaimStatus {
                        phase: Some("Bound".into()),
                        capacity: request,
                        ..Default::default()
                    });
                    observed.claims.entry(broker_id(&claim)).or_default().push(Arc::new(claim));
                }
                Created::Secret(o) => drop(observed.secrets.insert(o.name_any(), Arc::new(o))),
            },
            Action::CreateOperation { mut operation, task } => {
                operation.status =
                    Some(CruiseControlOperationStatus { current_task: Some(*task), ..Default::default() });
                observed.operations.insert(operation.name_any(), Arc::new(*operation));
            }
            Action::GrowClaim { claim, size } => {
                for claims in observed.claims.values_mut() {
                    for held in claims.iter_mut().filter(|c| c.name_any() == claim) {
                        let mut grown = (**held).clone();
                        let spec = grown.spec.get_or_insert_default();
                        spec.resources
                            .get_or_insert_default()
                            .requests
                            .get_or_insert_default()
                            .insert("storage".into(), size.clone());
                        *held = Arc::new(grown);
                    }
                }
            }
            Action::Delete { kind, name } => remove(observed, kind, &name),
            Action::RestartPod { pod } => remove(observed, OwnedKind::Pod, &pod),
            Action::ChangeVoters { change } => self.change_voters(&change),
            Action::UpgradeMetadataVersion { to, .. } => {
                if let Some(Ok(levels)) = &mut self.facts.feature_levels {
                    levels.finalized.insert(kafka_admin::METADATA_VERSION.into(), to);
                }
            }
            // The test worlds have no certificates.
            Action::AlterBrokerConfig { .. } | Action::ApplyCertManager { .. } => {}
        }
    }

    /// Kafka carrying out a voter change: the observer becomes a voter, or the voter goes.
    fn change_voters(&mut self, change: &quorum::VoterChange) {
        let Some(Ok(described)) = &mut self.facts.quorum else { panic!("a voter change without a quorum") };
        match change {
            quorum::VoterChange::Add { id, .. } => {
                let observer = described.observers.iter().position(|o| o.id == *id).expect("an observer");
                let joined = described.observers.remove(observer);
                described.voters.push(joined);
            }
            quorum::VoterChange::Remove { id, .. } => described.voters.retain(|v| v.id != *id),
        }
    }

    fn operation_state(&mut self, name: &str, state: TaskState) {
        let mut operation = (*self.observed.operations[name]).clone();
        operation.status.get_or_insert_default().current_task.get_or_insert_default().state = Some(state);
        self.observed.operations.insert(name.into(), Arc::new(operation));
    }
}

fn remove(observed: &mut ObservedCluster, kind: OwnedKind, name: &str) {
    match kind {
        OwnedKind::Pod => observed.pods.values_mut().for_each(|pods| pods.retain(|p| p.name_any() != name)),
        OwnedKind::PersistentVolumeClaim => {
            observed.claims.values_mut().for_each(|claims| claims.retain(|c| c.name_any() != name));
        }
        OwnedKind::ConfigMap => drop(observed.config_maps.remove(name)),
        OwnedKind::Service => drop(observed.services.remove(name)),
        OwnedKind::PodDisruptionBudget => drop(observed.pod_disruption_budgets.remove(name)),
        OwnedKind::Deployment => drop(observed.deployments.remove(name)),
        OwnedKind::EndpointSlice => drop(observed.endpoint_slices.remove(name)),
    }
    observed.pods.retain(|_, pods| !pods.is_empty());
    observed.claims.retain(|_, claims| !claims.is_empty());
}

/// The scheduler, as far as node affinity goes: the first node (by name) satisfying every `In`
/// requirement of one of the required terms; any node without requirements; None without nodes.
fn schedule(
    nodes: &BTreeMap<String, BTreeMap<String, String>>,
    affinity: Option<&k8s_openapi::api::core::v1::Affinity>,
) -> Option<String> {
    let required = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    let fits = |labels: &BTreeMap<String, String>| {
        required.is_none_or(|selector| {
            selector.node_selector_terms.iter().any(|term| {
                term.match_expressions.iter().flatten().all(|requirement| {
                    requirement.operator == "In"
                        && labels
                            .get(&requirement.key)
                            .is_some_and(|v| requirement.values.iter().flatten().any(|w| w == v))
                })
            })
        })
    };
    nodes.iter().find(|(_, labels)| fits(labels)).map(|(name, _)| name.clone())
}

pub(super) fn ready_status() -> PodStatus {
    PodStatus {
        conditions: Some(vec![PodCondition { type_: "Ready".into(), status: "True".into(), ..Default::default() }]),
        ..Default::default()
    }
}

pub(super) fn describe(action: &Action) -> String {
    let object = |desired: &Desired| match desired {
        Desired::ConfigMap(o) => format!("ConfigMap {}", o.name_any()),
        Desired::Service(o) => format!("Service {}", o.name_any()),
        Desired::PodDisruptionBudget(o) => format!("PodDisruptionBudget {}", o.name_any()),
        Desired::Deployment(o) => format!("Deployment {}", o.name_any()),
        Desired::KafkaTopic(o) => format!("KafkaTopic {}", o.name_any()),
        Desired::EndpointSlice(o) => format!("EndpointSlice {}", o.name_any()),
        Desired::Secret(o) => format!("Secret {}", o.name_any()),
    };
    match action {
        Action::RecordClusterId { .. } => "record cluster id".into(),
        Action::Apply(desired) => format!("apply {}", object(desired)),
        Action::Replace(desired) => format!("replace {}", object(desired)),
        Action::Create(created) => match &**created {
            Created::Pod(pod) => format!("create Pod for broker {}", broker_id(pod)),
            Created::Claim(claim) => format!("create PersistentVolumeClaim for broker {}", broker_id(claim)),
            Created::Secret(secret) => format!("create Secret {}", secret.name_any()),
        },
        Action::CreateOperation { task, .. } => format!("create operation {}", task.operation.endpoint()),
        Action::GrowClaim { claim, size } => format!("grow {claim} to {}", size.0),
        Action::Delete { kind, name } => format!("delete {kind:?} {name}"),
        Action::RestartPod { pod } => format!("restart {pod}"),
        Action::AlterBrokerConfig { broker, .. } => format!("alter config of broker {broker}"),
        Action::ChangeVoters { change } => change.describe(),
        Action::UpgradeMetadataVersion { from, to, .. } => format!("raise metadata.version {from} to {to}"),
        Action::ApplyCertManager { objects, .. } => format!("apply {} cert-manager objects", objects.len()),
    }
}

/// A three-broker KRaft cluster at rest: every object applied, every pod ready.
fn settled_cluster() -> World {
    let mut world = World::new(kraft_combined());
    world.settle();
    world
}

fn set_broker_state(world: &mut World, id: i32, state: GracefulState, operation: Option<&str>) {
    let status = world.cluster.status.get_or_insert_default();
    let broker = status.brokers_state.entry(id.to_string()).or_default();
    broker.graceful_action_state.cruise_control_state = Some(state);
    broker.graceful_action_state.cruise_control_operation_reference =
        operation.map(|name| LocalObjectReference { name: name.into() });
}

#[test]
fn a_new_cluster_records_its_id_first_then_builds_everything_and_pods_wait_for_claims() {
    let world = World::new(kraft_combined());
    let steps: Vec<String> = world.plan().steps.iter().map(|s| describe(&s.action)).collect();
    assert_eq!(steps[0], "record cluster id");
    assert!(steps.contains(&"apply Service kafka-headless".to_owned()), "{steps:?}");
    assert_eq!(steps.iter().filter(|s| s.starts_with("create PersistentVolumeClaim")).count(), 3, "{steps:?}");
    // Claims just created are not bound: no pod yet.
    assert!(!steps.iter().any(|s| s.starts_with("create Pod")), "{steps:?}");
}

#[test]
fn an_unchanged_cluster_costs_no_write() {
    let mut world = settled_cluster();
    let plan = world.plan();
    assert!(plan.steps.is_empty(), "{:?}", plan.steps.iter().map(|s| describe(&s.action)).collect::<Vec<_>>());
    assert!(plan.settled);
    assert_eq!(world.cluster.status.as_ref().and_then(|s| s.state), Some(ClusterState::ClusterRunning));
    assert!(world.pass().is_empty());
}

#[test]
fn an_edited_config_map_is_set_back_with_an_event() {
    let mut world = settled_cluster();
    let mut edited = (*world.observed.config_maps["kafka-config-0"]).clone();
    edited.data.get_or_insert_default().insert("broker-config".into(), "num.io.threads=1\n".into());
    world.observed.config_maps.insert("kafka-config-0".into(), Arc::new(edited));

    let plan = world.plan();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(describe(&plan.steps[0].action), "apply ConfigMap kafka-config-0");
    let notice = plan.steps[0].notice.as_ref().expect("an event");
    assert_eq!((notice.reason, notice.warning), ("DriftRepaired", true));
    assert!(notice.note.contains("/data/broker-config"), "{}", notice.note);
    // The running pod is not restarted: its configuration did not change.
    assert!(world.pass().iter().all(|s| !s.starts_with("restart")));
    assert!(world.pass().is_empty());
}

#[test]
fn a_deleted_service_is_recreated() {
    let mut world = settled_cluster();
    world.observed.services.remove("kafka-all-broker");
    assert_eq!(world.pass(), vec!["apply Service kafka-all-broker".to_owned()]);
}

#[test]
fn a_service_this_operator_did_not_apply_is_left_alone_and_reported() {
    let mut world = settled_cluster();
    let mut foreign = (*world.observed.services["kafka-all-broker"]).clone();
    foreign.metadata.name = Some("kafka-bootstrap".into());
    foreign.metadata.annotations = None;
    world.observed.services.insert("kafka-bootstrap".into(), Arc::new(foreign));
    let (steps, notices) = world.pass_with_notices();
    assert!(steps.is_empty(), "{steps:?}");
    assert_eq!(notices, ["ForeignObjects"]);
    let status = world.cluster.status.clone().expect("status");
    let condition = status.conditions.iter().find(|c| c.type_ == takeover::FOREIGN_OBJECTS).expect("condition");
    assert!(condition.message.contains("Service kafka-bootstrap"), "{}", condition.message);
    // Reported once, not on every pass.
    assert_eq!(world.pass_with_notices(), (vec![], vec![]));
    // Gone: so is the condition.
    world.observed.services.remove("kafka-bootstrap");
    world.pass();
    let status = world.cluster.status.clone().expect("status");
    assert!(!status.conditions.iter().any(|c| c.type_ == takeover::FOREIGN_OBJECTS));
}

#[test]
fn a_larger_volume_grows_every_claim_without_restarting_a_pod() {
    let mut world = settled_cluster();
    let group = world.cluster.spec.broker_config_groups.get_mut("default").expect("group");
    let pvc = group.storage_configs[0].pvc_spec.as_mut().expect("pvc");
    pvc.resources
        .get_or_insert_default()
        .requests
        .get_or_insert_default()
        .insert("storage".into(), Quantity("3Gi".into()));

    let steps = world.pass();
    assert_eq!(steps.iter().filter(|s| s.starts_with("grow ") && s.ends_with(" to 3Gi")).count(), 3, "{steps:?}");
    assert!(!steps.iter().any(|s| s.starts_with("restart") || s.starts_with("create Pod")), "{steps:?}");
    // The claims ask for 3Gi now; the volumes still hold 1Gi: reported as growing, nothing more to write.
    let status = world.cluster.status.clone().expect("status");
    let resize = status.conditions.iter().find(|c| c.type_ == crate::status::VOLUME_RESIZE).expect("condition");
    assert_eq!((resize.status.as_str(), resize.reason.as_str()), ("True", "Growing"));
    assert!(world.pass().is_empty());
}

#[test]
fn a_smaller_volume_is_refused_and_a_class_without_expansion_is_reported() {
    let mut world = settled_cluster();
    let group = world.cluster.spec.broker_config_groups.get_mut("default").expect("group");
    let pvc = group.storage_configs[0].pvc_spec.as_mut().expect("pvc");
    pvc.resources
        .get_or_insert_default()
        .requests
        .get_or_insert_default()
        .insert("storage".into(), Quantity("512Mi".into()));
    let plan = world.plan();
    let steps: Vec<String> = plan.steps.iter().map(|s| describe(&s.action)).collect();
    assert!(!steps.iter().any(|s| s.starts_with("grow") || s.starts_with("restart")), "{steps:?}");
    let refused = &plan.status.resizes;
    assert_eq!(refused.len(), 3);
    assert!(
        refused[0]
            .to_string()
            .contains("cannot shrink to 512Mi; set pvcSpec.resources.requests.storage to at least 1Gi")
    );

    let mut world = settled_cluster();
    world.observed.storage_classes.insert(CLASS.into(), StorageClassInfo::default());
    let group = world.cluster.spec.broker_config_groups.get_mut("default").expect("group");
    let pvc = group.storage_configs[0].pvc_spec.as_mut().expect("pvc");
    pvc.resources
        .get_or_insert_default()
        .requests
        .get_or_insert_default()
        .insert("storage".into(), Quantity("2Gi".into()));
    let plan = world.plan();
    assert!(!plan.steps.iter().any(|s| matches!(s.action, Action::GrowClaim { .. })));
    assert!(plan.status.resizes[0].to_string().contains("allowVolumeExpansion"), "{}", plan.status.resizes[0]);
}

#[test]
fn a_resize_in_progress_is_reported_by_stage() {
    let mut world = settled_cluster();
    let group = world.cluster.spec.broker_config_groups.get_mut("default").expect("group");
    let pvc = group.storage_configs[0].pvc_spec.as_mut().expect("pvc");
    pvc.resources
        .get_or_insert_default()
        .requests
        .get_or_insert_default()
        .insert("storage".into(), Quantity("2Gi".into()));
    world.pass();
    let claim = world.observed.claims[&0][0].clone();
    let mut pending = (*claim).clone();
    pending.status.get_or_insert_default().conditions = Some(vec![PersistentVolumeClaimCondition {
        type_: "FileSystemResizePending".into(),
        status: "True".into(),
        ..Default::default()
    }]);
    world.observed.claims.insert(0, vec![Arc::new(pending)]);
    let resizes = world.plan().status.resizes;
    assert!(
        resizes.iter().any(|r| matches!(
            r,
            ClaimResize::Growing { progress: claims::ResizeProgress::FileSystemResizePending, .. }
        ))
    );
}

/// Broker 2 (a broker-only node of a cluster with dedicated controllers, so that the quorum
/// does not change) leaves the spec of a running cluster; its drain's task is in `task`.
fn draining(task: Option<TaskState>) -> World {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    world.cluster.spec.brokers.retain(|b| b.id != 2);
    let steps = world.pass();
    assert_eq!(steps, vec!["create operation remove_broker".to_owned()], "the drain is requested first");
    let name = world.observed.operations.keys().next().expect("operation").clone();
    if let Some(task) = task {
        world.operation_state(&name, task);
    }
    world
}

fn deletes(steps: &[String]) -> Vec<&String> {
    steps.iter().filter(|s| s.starts_with("delete")).collect()
}

#[test]
fn a_drain_that_has_not_completed_deletes_nothing() {
    for task in [None, Some(TaskState::Active), Some(TaskState::InExecution)] {
        let mut world = draining(task);
        let steps = world.pass();
        assert!(deletes(&steps).is_empty(), "{task:?}: {steps:?}");
        let status = world.cluster.status.clone().expect("status");
        assert!(status.brokers_state.contains_key("2"), "the departing broker keeps its entry");
    }
}

#[test]
fn a_drain_completed_with_error_is_never_success() {
    let mut world = draining(Some(TaskState::CompletedWithError));
    for _ in 0..3 {
        let steps = world.pass();
        assert!(deletes(&steps).is_empty(), "{steps:?}");
    }
    let state = &world.cluster.status.as_ref().expect("status").brokers_state["2"].graceful_action_state;
    assert_eq!(state.cruise_control_state, Some(GracefulState::GracefulDownscaleCompletedWithError));
}

#[test]
fn a_completed_drain_deletes_the_pod_first_and_the_claims_once_no_pod_is_left() {
    let mut world = draining(Some(TaskState::Completed));
    let steps = world.pass();
    let deleted = deletes(&steps);
    assert!(deleted.iter().any(|s| s.starts_with("delete Pod kafka-2-")), "{steps:?}");
    assert!(deleted.iter().any(|s| s.as_str() == "delete ConfigMap kafka-config-2"), "{steps:?}");
    assert!(!deleted.iter().any(|s| s.starts_with("delete PersistentVolumeClaim")), "{steps:?}");
    let steps = world.pass();
    assert!(deletes(&steps).iter().any(|s| s.starts_with("delete PersistentVolumeClaim kafka-2-")), "{steps:?}");
    world.settle();
    assert!(!world.cluster.status.as_ref().expect("status").brokers_state.contains_key("2"));
}

#[test]
fn a_pod_deleted_mid_drain_is_rebuilt_from_its_backup() {
    let mut world = draining(Some(TaskState::InExecution));
    world.observed.pods.remove(&2);
    let steps = world.pass();
    assert!(steps.contains(&"create Pod for broker 2".to_owned()), "{steps:?}");
    assert!(deletes(&steps).is_empty(), "{steps:?}");
}

#[test]
fn an_operation_missing_from_the_cache_is_looked_up_before_anything_is_decided() {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    world.cluster.spec.brokers.retain(|b| b.id != 2);
    set_broker_state(&mut world, 2, GracefulState::GracefulDownscaleRunning, Some("kafka-removebroker-gone"));
    let validated = world.validated();
    let inputs = Inputs {
        cluster: &world.cluster,
        validated: &validated,
        observed: &world.observed,
        new_cluster_id: "x",
        certificates: None,
        user_certificates: None,
    };
    match decide(&inputs, &world.facts) {
        Decision::Need(requests) => {
            assert_eq!(requests, vec![FactRequest::Operation { name: "kafka-removebroker-gone".into() }]);
        }
        Decision::Plan(plan) => panic!("decided without the operation: {:?}", plan.steps.len()),
    }
    // Looked up and truly gone: the drain is requested again, nothing is deleted.
    world.facts.operations.insert("kafka-removebroker-gone".into(), None);
    let steps = world.pass();
    assert_eq!(steps, vec!["create operation remove_broker".to_owned()]);
}

/// A cluster made before this operator formed quorums dynamic: its status says static.
pub(super) fn with_static_quorum(cluster: KafkaCluster) -> World {
    let mut world = World::new(cluster);
    let kraft = crd_types::kafka_cluster::KraftStatus {
        quorum: Some(crd_types::kafka_cluster::QuorumKind::Static),
        ..Default::default()
    };
    world.cluster.status = Some(crd_types::KafkaClusterStatus { kraft: Some(kraft), ..Default::default() });
    world
}

#[test]
fn a_static_quorum_refuses_a_change_of_its_controllers() {
    let mut world = with_static_quorum(kraft_dedicated());
    world.settle();
    assert_eq!(static_quorum_change(&world.validated(), &world.observed), None);
    world.cluster.spec.brokers.retain(|b| b.id != 5);
    let problem = static_quorum_change(&world.validated(), &world.observed).expect("refused");
    assert!(problem.contains("from [3, 4, 5] to [3, 4]"), "{problem}");
    // A broker-only change leaves the quorum alone.
    let mut world = with_static_quorum(kraft_dedicated());
    world.settle();
    world.cluster.spec.brokers.retain(|b| b.id != 2);
    assert_eq!(static_quorum_change(&world.validated(), &world.observed), None);
}

/// Every pod of a settled cluster made to run an older configuration.
fn outdated(world: &mut World) {
    for pods in world.observed.pods.values_mut() {
        for pod in pods.iter_mut() {
            let mut old: Pod = (**pod).clone();
            old.annotations_mut().insert(CONFIG_HASH_ANNOTATION.into(), "old".into());
            *pod = Arc::new(old);
        }
    }
}

#[test]
fn a_roll_asks_kafka_before_it_restarts_anything() {
    let mut world = settled_cluster();
    outdated(&mut world);
    world.facts = Facts::default();
    let validated = world.validated();
    let inputs = Inputs {
        cluster: &world.cluster,
        validated: &validated,
        observed: &world.observed,
        new_cluster_id: "x",
        certificates: None,
        user_certificates: None,
    };
    let Decision::Need(requests) = decide(&inputs, &world.facts) else { panic!("restarted without asking Kafka") };
    assert!(requests.contains(&FactRequest::ReplicaHealth), "{requests:?}");
}

#[test]
fn a_failing_gate_holds_the_roll_and_the_status_names_it() {
    let mut world = settled_cluster();
    outdated(&mut world);
    let mut health = ReplicaHealth { broker_ids: vec![0, 1, 2], ..Default::default() };
    health.out_of_sync.insert(1, vec!["orders-0".into()]);
    world.facts.replica_health = Some(Ok(health));
    let steps = world.pass();
    assert!(!steps.iter().any(|s| s.starts_with("restart")), "{steps:?}");
    let status = world.cluster.status.clone().expect("status");
    let rolling = status.conditions.iter().find(|c| c.type_ == crate::status::ROLLING_UPGRADE).expect("condition");
    assert_eq!(rolling.reason, "FailureThresholdReached");
    assert!(rolling.message.contains("broker 1: 1 partition (orders-0) under-replicated"), "{}", rolling.message);
}

#[test]
fn a_healthy_cluster_rolls_one_node_at_a_time_active_controller_last() {
    let mut world = settled_cluster();
    outdated(&mut world);
    let steps = world.pass();
    let restarts: Vec<&String> = steps.iter().filter(|s| s.starts_with("restart")).collect();
    assert_eq!(restarts.len(), 1, "{steps:?}");
    assert!(
        restarts[0].starts_with("restart kafka-controller-1-"),
        "controller 0 is active, so 1 goes first: {steps:?}"
    );
    // The replacement is created on the next pass, with the desired configuration.
    assert!(world.pass().contains(&"create Pod for broker 1".to_owned()));
}

#[test]
fn a_pod_matching_the_tainted_brokers_selector_is_replaced_once() {
    let mut world = settled_cluster();
    world.cluster.spec.tainted_brokers_selector =
        Some(serde_json::from_value(serde_json::json!({"matchLabels": {"parked": "true"}})).expect("selector"));
    assert!(world.pass().is_empty(), "no pod matches yet");
    let mut parked = (*world.observed.pods[&2][0]).clone();
    parked.metadata.labels.get_or_insert_default().insert("parked".into(), "true".into());
    world.observed.pods.insert(2, vec![Arc::new(parked)]);
    let steps = world.pass();
    assert!(steps.iter().any(|s| s.starts_with("restart kafka-controller-2-")), "{steps:?}");
    world.settle();
    let pod = &world.observed.pods[&2][0];
    assert!(!pod.labels().contains_key("parked"), "the replacement carries the operator's labels only");
    assert!(world.pass().is_empty(), "and is not replaced again");
}

#[test]
fn a_tainted_brokers_selector_matching_every_pod_replaces_none_and_warns() {
    let mut world = settled_cluster();
    world.cluster.spec.tainted_brokers_selector =
        Some(serde_json::from_value(serde_json::json!({"matchLabels": {"app": "kafka"}})).expect("selector"));
    let steps = world.pass();
    assert!(!steps.iter().any(|s| s.starts_with("restart")), "{steps:?}");
    let warnings = world.validated().warnings;
    assert!(warnings.iter().any(|w| w.starts_with("spec.taintedBrokersSelector: matches the labels")), "{warnings:?}");
}

fn budget_min_available(world: &World) -> Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString> {
    let budget = world.observed.pod_disruption_budgets.get("kafka-pdb").expect("kafka-pdb applied");
    budget.spec.as_ref().and_then(|s| s.min_available.clone())
}

fn budget_condition(world: &World) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    let status = world.cluster.status.as_ref().expect("status");
    let found = status.conditions.iter().find(|c| c.type_ == crate::status::DISRUPTION_BUDGET);
    found.expect("a DisruptionBudget condition").clone()
}

#[test]
fn the_disruption_budget_admits_evictions_only_while_kafka_is_healthy() {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let mut cluster = kraft_combined();
    cluster.spec.disruption_budget =
        Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: None });
    let mut world = World::new(cluster);
    world.settle();
    assert_eq!(budget_min_available(&world), Some(IntOrString::Int(2)), "open: one of three nodes may go");
    assert_eq!(budget_condition(&world).status, "True");
    assert!(world.pass().is_empty(), "at rest the budget costs no write");

    // A broker out of an ISR (just back from a drain): the budget closes.
    let mut lagging = ReplicaHealth { broker_ids: vec![0, 1, 2], ..Default::default() };
    lagging.out_of_sync.insert(1, vec!["orders-0".into()]);
    world.facts.replica_health = Some(Ok(lagging));
    assert!(world.pass().contains(&"apply PodDisruptionBudget kafka-pdb".to_owned()));
    assert_eq!(budget_min_available(&world), Some(IntOrString::Int(3)), "closed: no node may go");
    let held = budget_condition(&world);
    assert_eq!((held.status.as_str(), held.reason.as_str()), ("False", "EvictionsHeld"));
    assert!(held.message.contains("broker 1 is out of the ISR of 1 partition(s)"), "{}", held.message);

    world.facts = healthy(&[0, 1, 2]);
    world.pass();
    assert_eq!(budget_min_available(&world), Some(IntOrString::Int(2)), "open again");
}
