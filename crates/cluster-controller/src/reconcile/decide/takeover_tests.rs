//! Taking over a cluster Koperator made, in the simulated world of `decide_tests`: its objects
//! are replaced by ours or reported, never deleted; its pods go through the health-gated roll.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use kube::ResourceExt;

use super::drift::DESIRED_HASH_ANNOTATION;
use super::node_names_roll_tests::{every_voter_resolves, pods, settled_dedicated, simulate_quorum};
use super::tests::World;
use super::*;
use crate::build::CONFIG_HASH_ANNOTATION;

/// The resourceVersion of every object Koperator wrote (the replace must be guarded by it).
const KOPERATOR_RESOURCE_VERSION: &str = "4711";

/// The settled cluster as Koperator would have made it: no annotation of ours anywhere, pods
/// named by the apiserver, objects written by Koperator's manager; and Koperator's controller
/// PodDisruptionBudget, which this operator does not make.
fn made_by_koperator(world: &mut World) {
    let koperator = vec![ManagedFieldsEntry {
        manager: Some("manager".into()),
        operation: Some("Update".into()),
        ..Default::default()
    }];
    for pods in world.observed.pods.values_mut() {
        for pod in pods.iter_mut() {
            let mut made: Pod = (**pod).clone();
            let generated = made.name_any();
            let prefix = generated.rsplit_once('-').map(|(prefix, _)| prefix).expect("a generated name");
            made.metadata.name = Some(format!("{prefix}-k8s9x"));
            made.metadata.annotations = None;
            made.metadata.managed_fields = Some(koperator.clone());
            world.voters.insert(made.name_any(), world.voters[&generated].clone());
            *pod = Arc::new(made);
        }
    }
    fn strip<K: Clone + ResourceExt>(objects: &mut BTreeMap<String, Arc<K>>, koperator: &[ManagedFieldsEntry]) {
        for object in objects.values_mut() {
            let mut made = (**object).clone();
            made.annotations_mut().remove(DESIRED_HASH_ANNOTATION);
            made.meta_mut().managed_fields = Some(koperator.to_vec());
            made.meta_mut().resource_version = Some(KOPERATOR_RESOURCE_VERSION.into());
            *object = Arc::new(made);
        }
    }
    strip(&mut world.observed.services, &koperator);
    strip(&mut world.observed.config_maps, &koperator);
    strip(&mut world.observed.deployments, &koperator);
    let mut pdb = PodDisruptionBudget::default();
    pdb.metadata.name = Some("kafka-controller-pdb".into());
    pdb.metadata.labels = Some(BTreeMap::from([("app".into(), "kafka".into()), ("kafka_cr".into(), "kafka".into())]));
    world.observed.pod_disruption_budgets.insert("kafka-controller-pdb".into(), Arc::new(pdb));
}

#[test]
fn a_cluster_koperator_made_is_taken_over_through_the_roll_and_nothing_is_deleted() {
    let mut world = settled_dedicated();
    made_by_koperator(&mut world);

    let mut restart_notes = restart_notes_of(&world.plan());
    let (steps, notices) = world.pass_with_notices();
    assert!(steps.contains(&"replace Service kafka-headless".to_owned()), "{steps:?}");
    assert!(steps.contains(&"replace ConfigMap kafka-config-0".to_owned()), "{steps:?}");
    assert!(steps.contains(&"replace Deployment kafka-cruisecontrol".to_owned()), "{steps:?}");
    assert!(!steps.iter().any(|s| s.starts_with("apply Service") || s.starts_with("delete")), "{steps:?}");
    for reason in ["TakeoverStarted", "ObjectTakenOver", "ForeignObjects"] {
        assert!(notices.contains(&reason), "{reason} missing from {notices:?}");
    }
    let status = world.cluster.status.clone().expect("status");
    let taking_over = status.conditions.iter().find(|c| c.type_ == takeover::TAKING_OVER).expect("condition");
    assert_eq!(taking_over.status, "True");
    assert!(taking_over.message.contains("broker 3 (pod kafka-controller-3-k8s9x)"), "{}", taking_over.message);
    let foreign = status.conditions.iter().find(|c| c.type_ == takeover::FOREIGN_OBJECTS).expect("condition");
    assert!(foreign.message.contains("PodDisruptionBudget kafka-controller-pdb"), "{}", foreign.message);

    let mut seen = Vec::new();
    for _ in 0..40 {
        simulate_quorum(&mut world);
        restart_notes.extend(restart_notes_of(&world.plan()));
        let (steps, notices) = world.pass_with_notices();
        seen.extend(notices);
        if steps.is_empty() {
            break;
        }
    }
    assert_eq!(restart_notes.len(), 6, "{restart_notes:?}");
    assert!(restart_notes.iter().all(|note| note.contains("made by another operator")), "{restart_notes:?}");
    assert!(seen.contains(&"TakeoverCompleted"), "{seen:?}");
    let status = world.cluster.status.clone().expect("status");
    let taking_over = status.conditions.iter().find(|c| c.type_ == takeover::TAKING_OVER).expect("condition");
    assert_eq!((taking_over.status.as_str(), taking_over.reason.as_str()), ("False", "Completed"));
    assert!(world.observed.pod_disruption_budgets.contains_key("kafka-controller-pdb"), "reported, never removed");
    assert!(pods(&world).iter().all(|p| p.annotations().contains_key(CONFIG_HASH_ANNOTATION)));
    every_voter_resolves(&world);
}

/// The events of the pod restarts `plan` makes.
fn restart_notes_of(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| matches!(s.action, Action::RestartPod { .. }))
        .map(|s| s.notice.as_ref().expect("an event").note.clone())
        .collect()
}

#[test]
fn an_object_taken_over_is_replaced_with_its_field_managers_cleared() {
    let mut world = settled_dedicated();
    made_by_koperator(&mut world);

    let plan = world.plan();
    let replaced: Vec<&ObjectMeta> = plan
        .steps
        .iter()
        .filter_map(|step| match &step.action {
            Action::Replace(desired) => Some(match desired.as_ref() {
                Desired::ConfigMap(object) => &object.metadata,
                Desired::Service(object) => &object.metadata,
                Desired::PodDisruptionBudget(object) => &object.metadata,
                Desired::Deployment(object) => &object.metadata,
                Desired::KafkaTopic(object) => &object.metadata,
                Desired::EndpointSlice(object) => &object.metadata,
                Desired::Secret(object) => &object.metadata,
            }),
            _ => None,
        })
        .collect();
    assert!(replaced.len() >= 3, "{replaced:?}");
    for metadata in replaced {
        let name = metadata.name.as_deref().expect("named");
        assert_eq!(metadata.managed_fields, Some(vec![ManagedFieldsEntry::default()]), "{name}");
        assert_eq!(metadata.resource_version.as_deref(), Some(KOPERATOR_RESOURCE_VERSION), "{name}: a guarded replace");
        assert!(metadata.annotations.as_ref().is_some_and(|a| a.contains_key(DESIRED_HASH_ANNOTATION)), "{name}");
    }
}
