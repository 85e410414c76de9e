//! Whole-cluster decisions about node names, in the simulated world of `decide_tests`:
//! Koperator's names for a new cluster, and a cluster of this operator's earlier layout moving
//! to them without a name the running Kafka uses ever failing to resolve.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::tests::{World, broker_id, describe};
use super::*;
use crate::build::{CONFIG_HASH_ANNOTATION, NODE_NAMES_ANNOTATION, tests::kraft_dedicated};
use crate::model;

/// The names `controller.quorum.voters` gives, as `(node id, host)`.
fn voters(value: &str) -> Vec<(i32, String)> {
    value
        .split(',')
        .filter_map(|voter| {
            let (id, address) = voter.split_once('@')?;
            let (host, _port) = address.rsplit_once(':')?;
            Some((id.parse().ok()?, host.to_owned()))
        })
        .collect()
}

/// `<hostname>.<service>.…` as cluster DNS answers it: a pod's record in the Service its
/// subdomain names (when the Service selects it), else a record of an EndpointSlice of the Service.
fn resolve(world: &World, host: &str) -> Option<String> {
    let mut labels = host.split('.');
    let (hostname, service) = (labels.next()?, labels.next()?);
    let selector = world.observed.services.get(service)?.spec.as_ref()?.selector.clone().unwrap_or_default();
    let pod_record = world.observed.pods.values().flatten().find(|pod| {
        let spec = pod.spec.as_ref().expect("pods have a spec");
        spec.hostname.as_deref() == Some(hostname)
            && spec.subdomain.as_deref() == Some(service)
            && selector.iter().all(|(key, value)| pod.labels().get(key) == Some(value))
    });
    if let Some(pod) = pod_record {
        return pod.status.as_ref()?.pod_ip.clone();
    }
    world
        .observed
        .endpoint_slices
        .values()
        .filter(|s| s.labels().get("kubernetes.io/service-name").map(String::as_str) == Some(service))
        .find_map(|slice| {
            let endpoint = slice.endpoints.iter().find(|e| e.hostname.as_deref() == Some(hostname))?;
            endpoint.addresses.first().cloned()
        })
}

/// The controller names `pod` uses that do not resolve to that controller's pod.
fn unresolved(world: &World, pod: &Pod) -> Vec<String> {
    voters(&world.voters[&pod.name_any()])
        .into_iter()
        .filter(|(id, host)| {
            let node_pod = world.observed.pods.get(id).and_then(|pods| pods.first());
            let expected = node_pod.and_then(|p| p.status.as_ref()?.pod_ip.clone());
            expected.is_none() || resolve(world, host) != expected
        })
        .map(|(_, host)| host)
        .collect()
}

/// Fails unless every controller name every running pod uses resolves to that node's pod.
pub(super) fn every_voter_resolves(world: &World) {
    for pod in world.observed.pods.values().flatten() {
        let unresolved = unresolved(world, pod);
        assert!(unresolved.is_empty(), "pod {} cannot reach {unresolved:?}", pod.name_any());
    }
}

/// Kafka's side of the world: a controller follows the quorum (or leads it: the lowest id)
/// once every controller name it uses resolves; until then it is unattached.
pub(super) fn simulate_quorum(world: &mut World) {
    let controllers: Vec<i32> = world.validated().brokers.iter().filter(|b| b.is_controller()).map(|b| b.id).collect();
    let mut states = BTreeMap::new();
    for id in &controllers {
        let Some(pod) = world.observed.pods.get(id).and_then(|pods| pods.first()) else { continue };
        let state = if unresolved(world, pod).is_empty() { "follower" } else { "unattached" };
        let view = facts::RaftView {
            active: false,
            state: Some(state.to_owned()),
            high_watermark: Some(10.0),
            log_end_offset: Some(10.0),
        };
        states.insert(*id, Ok(view));
    }
    if let Some(Ok(leader)) =
        states.values_mut().find(|s| s.as_ref().is_ok_and(|v: &facts::RaftView| v.state.as_deref() == Some("follower")))
    {
        leader.active = true;
        leader.state = Some("leader".to_owned());
    }
    world.facts.controllers = Some(states);
}

pub(super) fn settled_dedicated() -> World {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    world
}

pub(super) fn pods(world: &World) -> Vec<Arc<Pod>> {
    world.observed.pods.values().flatten().cloned().collect()
}

fn selector_of(world: &World, service: &str) -> BTreeMap<String, String> {
    world.observed.services[service].spec.clone().and_then(|s| s.selector).expect("a selector")
}

/// Passes until nothing is left to do, checking before every restart that every name the
/// running pods use resolves, and that at most one pod goes per pass. Returns every step taken.
fn roll_to_rest(world: &mut World) -> Vec<String> {
    let mut taken = Vec::new();
    for _ in 0..40 {
        simulate_quorum(world);
        let plan = world.plan();
        let restarts = plan.steps.iter().filter(|s| matches!(s.action, Action::RestartPod { .. })).count();
        assert!(restarts <= 1, "two restarts in one pass");
        if restarts == 1 {
            every_voter_resolves(world);
        }
        let steps = world.pass();
        if steps.is_empty() {
            return taken;
        }
        taken.extend(steps);
    }
    panic!("the cluster did not come to rest: {:?}", world.pass());
}

#[test]
fn nodes_are_named_as_koperator_names_them() {
    let world = settled_dedicated();
    let names: Vec<String> = pods(&world).iter().map(|p| p.name_any()).collect();
    for id in 0..3 {
        assert!(names.iter().any(|n| n.starts_with(&format!("kafka-{id}-"))), "{names:?}");
    }
    for id in 3..6 {
        assert!(names.iter().any(|n| n.starts_with(&format!("kafka-controller-{id}-"))), "{names:?}");
    }
    for pod in pods(&world) {
        let subdomain = pod.spec.as_ref().and_then(|s| s.subdomain.clone()).expect("a subdomain");
        let controller = broker_id(pod.as_ref()) >= 3;
        assert_eq!(subdomain, if controller { "kafka-controller-headless" } else { "kafka-headless" });
    }
    assert_eq!(selector_of(&world, "kafka-headless")["isBrokerNode"], "true");
    assert_eq!(selector_of(&world, "kafka-controller-headless")["isControllerNode"], "true");
    assert!(world.observed.endpoint_slices.is_empty());
    every_voter_resolves(&world);
}

/// The settled cluster as this operator laid it out before it named nodes as Koperator does.
fn earlier_layout(world: &mut World) {
    let old_voters = "3@kafka-3.kafka-headless.kafka.svc.cluster.local:29093,\
                      4@kafka-4.kafka-headless.kafka.svc.cluster.local:29093,\
                      5@kafka-5.kafka-headless.kafka.svc.cluster.local:29093";
    world.voters.clear();
    for pods in world.observed.pods.values_mut() {
        for pod in pods.iter_mut() {
            let mut earlier: Pod = (**pod).clone();
            let id = broker_id(&earlier);
            earlier.metadata.name = Some(format!("kafka-{id}-early"));
            earlier.annotations_mut().remove(NODE_NAMES_ANNOTATION);
            earlier.annotations_mut().insert(CONFIG_HASH_ANNOTATION.into(), "earlier".into());
            earlier.spec.as_mut().expect("spec").subdomain = Some("kafka-headless".into());
            world.voters.insert(earlier.name_any(), old_voters.to_owned());
            *pod = Arc::new(earlier);
        }
    }
    let mut headless = (*world.observed.services["kafka-headless"]).clone();
    let selector = headless.spec.as_mut().and_then(|s| s.selector.as_mut()).expect("a selector");
    selector.remove("isBrokerNode");
    world.observed.services.insert("kafka-headless".into(), Arc::new(headless));
    world.observed.services.remove("kafka-controller-headless");
}

#[test]
fn a_cluster_of_the_earlier_layout_moves_to_koperators_names_and_every_name_keeps_resolving() {
    let mut world = settled_dedicated();
    earlier_layout(&mut world);
    every_voter_resolves(&world);

    let steps = roll_to_rest(&mut world);
    assert!(steps.iter().any(|s| s == "apply EndpointSlice kafka-headless-names"), "{steps:?}");
    assert!(steps.iter().any(|s| s == "apply EndpointSlice kafka-controller-headless-names"), "{steps:?}");
    assert_eq!(steps.iter().filter(|s| s.starts_with("restart")).count(), 6, "{steps:?}");

    // At rest: Koperator's layout, no bridge, brokers only behind kafka-headless.
    assert!(world.observed.endpoint_slices.is_empty(), "{:?}", world.observed.endpoint_slices.keys());
    assert_eq!(selector_of(&world, "kafka-headless").get("isBrokerNode").map(String::as_str), Some("true"));
    for pod in pods(&world) {
        assert!(pod.annotations().contains_key(NODE_NAMES_ANNOTATION), "{}", pod.name_any());
        if broker_id(pod.as_ref()) >= 3 {
            assert!(pod.name_any().starts_with("kafka-controller-"), "{}", pod.name_any());
        }
    }
    every_voter_resolves(&world);
}

#[test]
fn a_controller_pod_named_before_koperators_names_is_renamed_through_the_roll() {
    let mut spec = kraft_dedicated();
    spec.spec.headless_service_enabled = false;
    let mut world = World::new(spec);
    world.settle();
    let mut pod: Pod = (*world.observed.pods[&3][0]).clone();
    pod.metadata.name = Some("kafka-3-early".into());
    world.observed.pods.insert(3, vec![Arc::new(pod)]);
    let plan = world.plan();
    let restart = plan.steps.iter().find(|s| matches!(s.action, Action::RestartPod { .. })).expect("a restart");
    assert_eq!(describe(&restart.action), "restart kafka-3-early");
    let note = &restart.notice.as_ref().expect("an event").note;
    assert!(note.contains("renamed as Koperator names it"), "{note}");
    let _ = model::validate(&world.cluster).expect("valid");
}
