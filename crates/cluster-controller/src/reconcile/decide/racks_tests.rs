//! Rack awareness over whole clusters (the test world of `decide_tests`, whose scheduler honours
//! required node affinity): racks chosen before the first pod, balanced over what the nodes
//! offer, in Kafka's configuration and the status, kept once chosen.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::tests::World;
use crate::build::tests::kraft_combined;
use crate::model::parse_properties;

const ZONE: &str = "topology.kubernetes.io/zone";

fn zoned_world(nodes: &[(&str, &str)]) -> World {
    let mut cluster = kraft_combined();
    cluster.spec.rack_awareness = Some(serde_json::from_value(json!({"labels": [ZONE]})).expect("rackAwareness"));
    let mut world = World::new(cluster);
    for (node, zone) in nodes {
        let labels =
            BTreeMap::from([(ZONE.to_owned(), (*zone).to_owned()), ("kubernetes.io/hostname".into(), (*node).into())]);
        world.observed.nodes.insert((*node).to_owned(), labels);
    }
    world
}

fn broker_rack(world: &World, id: i32) -> Option<String> {
    let config_map = &world.observed.config_maps[&format!("kafka-config-{id}")];
    parse_properties(&config_map.data.as_ref().expect("data")["broker-config"]).get("broker.rack").cloned()
}

fn pod(world: &World, id: i32) -> &Pod {
    world.observed.pods[&id].first().expect("a pod")
}

fn zone_of_pod(world: &World, id: i32) -> String {
    let node = pod(world, id).spec.as_ref().and_then(|s| s.node_name.clone()).expect("scheduled");
    world.observed.nodes[&node][ZONE].clone()
}

fn rack_state(world: &World, id: i32) -> Option<String> {
    world.cluster.status.as_ref()?.brokers_state.get(&id.to_string())?.rack_awareness_state.clone()
}

#[test]
fn brokers_start_with_the_least_used_rack_and_run_in_it() {
    let mut world = zoned_world(&[("n1", "a"), ("n2", "a"), ("n3", "b")]);
    world.settle();
    let racks: Vec<String> = (0..3).map(|id| broker_rack(&world, id).expect("broker.rack")).collect();
    assert_eq!(racks, ["a", "b", "a"], "the least used rack, ties by name");
    for id in 0..3 {
        assert_eq!(zone_of_pod(&world, id), racks[id as usize], "broker {id} runs in its rack");
        assert_eq!(rack_state(&world, id), Some(format!("broker.rack={}\n", racks[id as usize])));
    }
    let affinity = serde_json::to_value(&pod(&world, 1).spec.as_ref().expect("spec").affinity).expect("json");
    assert_eq!(
        affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"],
        json!([{"key": ZONE, "operator": "In", "values": ["b"]}])
    );
    assert!(affinity["podAntiAffinity"].is_object(), "the default spreading over nodes stays");
}

#[test]
fn a_chosen_rack_stays_when_a_new_zone_appears_and_the_pod_is_gone() {
    let mut world = zoned_world(&[("n1", "a"), ("n3", "b")]);
    world.settle();
    let before: Vec<Option<String>> = (0..3).map(|id| broker_rack(&world, id)).collect();
    // A new, empty zone would be the least used; broker 2's pod is deleted (a drain).
    world.observed.nodes.insert("n4".into(), BTreeMap::from([(ZONE.to_owned(), "c".to_owned())]));
    world.observed.pods.remove(&2);
    world.settle();
    let after: Vec<Option<String>> = (0..3).map(|id| broker_rack(&world, id)).collect();
    assert_eq!(before, after, "racks are decided once");
    assert_eq!(zone_of_pod(&world, 2), before[2].clone().expect("a rack"), "the new pod goes back to its rack");
}

#[test]
fn a_pod_that_already_runs_somewhere_gives_its_broker_that_rack() {
    // The cluster ran without rack awareness (Koperator's, or ours before the switch).
    let mut world = zoned_world(&[("n1", "a"), ("n2", "b"), ("n3", "c")]);
    world.cluster.spec.rack_awareness = None;
    world.settle();
    let nodes: Vec<String> =
        (0..3).map(|id| pod(&world, id).spec.as_ref().and_then(|s| s.node_name.clone()).expect("node")).collect();
    assert!(nodes.iter().all(|n| n == "n1"), "the test scheduler takes the first node: {nodes:?}");
    world.cluster.spec.rack_awareness = Some(serde_json::from_value(json!({"labels": [ZONE]})).expect("rackAwareness"));
    let plan = world.plan();
    let states = &plan.status.rack_states;
    assert_eq!(states.values().collect::<Vec<_>>(), ["broker.rack=a\n"; 3], "where they run, not balanced anew");
}

#[test]
fn without_a_node_of_the_labels_new_brokers_wait_and_the_status_says_why() {
    let mut world = zoned_world(&[]);
    world.observed.nodes.insert("n1".into(), BTreeMap::from([("kubernetes.io/hostname".to_owned(), "n1".to_owned())]));
    for _ in 0..3 {
        world.pass();
    }
    assert!(world.observed.pods.is_empty(), "no broker starts without a rack");
    let status = world.cluster.status.as_ref().expect("status");
    let reconciling = status.conditions.iter().find(|c| c.type_ == "Reconciling").expect("Reconciling");
    assert!(
        reconciling.message.contains("spec.rackAwareness.labels: no node has every one of the labels"),
        "{}",
        reconciling.message
    );
}

#[test]
fn a_recorded_rack_of_a_zone_without_nodes_now_is_kept_for_a_single_label() {
    let mut world = zoned_world(&[("n1", "a"), ("n3", "b")]);
    world.settle();
    let rack = broker_rack(&world, 1).expect("a rack");
    assert_eq!(rack, "b");
    // Zone b's only node is gone, and broker 1's pod with it.
    world.observed.nodes.remove("n3");
    world.observed.pods.remove(&1);
    world.pass();
    assert_eq!(broker_rack(&world, 1).as_deref(), Some("b"), "Kafka keeps being told its rack");
    let pods: Vec<Arc<Pod>> = world.observed.pods.get(&1).cloned().unwrap_or_default();
    let scheduled = pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).count();
    assert_eq!(scheduled, 0, "its pod waits for a node of zone b");
}
