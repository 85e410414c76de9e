//! KRaft's decisions over whole clusters in the simulated apiserver of `decide_tests`.

use crd_types::kafka_cluster::{MetadataVersionUpgrade, ProcessRole};

use super::super::tests::{World, metadata_version_levels, quorum_replica, with_static_quorum};
use super::*;
use crate::build::tests::kraft_dedicated;

fn config(world: &World, id: i32) -> BTreeMap<String, String> {
    world.observed.config_maps[&format!("kafka-config-{id}")].data.clone().expect("data")
}

fn recorded(world: &World) -> KraftStatus {
    world.cluster.status.as_ref().and_then(|s| s.kraft.clone()).expect("status.kraft")
}

fn pod_names(world: &World) -> Vec<String> {
    world.observed.pods.values().flatten().map(|pod| pod.name_any()).collect()
}

fn quorum_condition(world: &World) -> (String, String) {
    let status = world.cluster.status.as_ref().expect("status");
    let condition = status.conditions.iter().find(|c| c.type_ == "ControllerQuorum").expect("ControllerQuorum");
    (condition.status.clone(), condition.message.clone())
}

fn described(world: &mut World) -> &mut kafka_admin::QuorumDescription {
    match &mut world.facts.quorum {
        Some(Ok(quorum)) => quorum,
        _ => panic!("no quorum in the test world"),
    }
}

#[test]
fn a_new_cluster_forms_a_dynamic_quorum_and_stops_formatting_as_its_initial_controllers_once_formed() {
    let mut world = World::new(kraft_dedicated());
    world.pass();
    let kraft = recorded(&world);
    assert_eq!(kraft.quorum, Some(QuorumKind::Dynamic));
    assert_eq!(kraft.initial_controllers, vec![3, 4, 5]);
    assert!(!kraft.quorum_formed);
    while world.observed.pods.len() < 6 {
        world.pass();
    }
    let controller = config(&world, 3);
    let properties = crate::model::parse_properties(&controller["broker-config"]);
    assert!(!properties.contains_key("controller.quorum.voters"), "{properties:?}");
    assert_eq!(
        properties["controller.quorum.bootstrap.servers"],
        "kafka-3.kafka-controller-headless.kafka.svc.cluster.local:29093,\
         kafka-4.kafka-controller-headless.kafka.svc.cluster.local:29093,\
         kafka-5.kafka-controller-headless.kafka.svc.cluster.local:29093"
    );
    // Each controller advertises its controller listener: the leader records where it is reached.
    assert_eq!(
        properties["advertised.listeners"],
        "CONTROLLER://kafka-3.kafka-controller-headless.kafka.svc.cluster.local:29093"
    );
    let broker = crate::model::parse_properties(&config(&world, 0)["broker-config"]);
    assert!(!broker["advertised.listeners"].contains("CONTROLLER"), "{broker:?}");
    let flags = &controller["storage-format-flags"];
    assert!(flags.starts_with("--initial-controllers 3@kafka-3.kafka-controller-headless"), "{flags}");
    let directory = DirectoryId::derived_from("TGVfhv8sQ0eUKAX5Dm0ZcA/3");
    assert!(flags.contains(&format!(":29093:{directory},4@")), "{flags}");
    assert_eq!(config(&world, 0)["storage-format-flags"], "--no-initial-controllers");
    let pod = world.observed.pods[&3][0].clone();
    let command = pod.spec.as_ref().and_then(|s| s.containers[0].command.clone()).expect("command");
    assert!(command[2].contains("--ignore-formatted $(cat /config/storage-format-flags) &&"), "{command:?}");

    let pods = pod_names(&world);
    world.settle();
    let kraft = recorded(&world);
    assert!(kraft.quorum_formed);
    assert_eq!(kraft.voters, vec![3, 4, 5]);
    assert_eq!(config(&world, 3)["storage-format-flags"], "--no-initial-controllers");
    assert_eq!(pod_names(&world), pods, "forming the quorum restarts no pod");
    assert_eq!(quorum_condition(&world).0, "True");
    assert!(world.plan().steps.is_empty());
}

/// Recording that the quorum formed changes the initial controllers' storage flags, so the pass
/// that records it is not the one that reports the cluster running: someone editing a ConfigMap
/// once the cluster runs would otherwise race the operator's own change of it, and that repair
/// would go unreported (a changed desired object is not drift).
#[test]
fn a_cluster_is_reported_running_only_once_its_objects_are_final() {
    let mut world = World::new(kraft_dedicated());
    let running = |world: &World| {
        world.cluster.status.as_ref().and_then(|s| s.state)
            == Some(crd_types::kafka_cluster::ClusterState::ClusterRunning)
    };
    for _ in 0..20 {
        world.pass();
        if running(&world) {
            break;
        }
    }
    assert!(running(&world), "{:?}", world.cluster.status);
    assert!(recorded(&world).quorum_formed);
    assert_eq!(config(&world, 3)["storage-format-flags"], "--no-initial-controllers");
    let left: Vec<String> = world.plan().steps.iter().map(|step| format!("{:?}", step.action)).collect();
    assert!(left.is_empty(), "reported running with writes left: {left:?}");
}

#[test]
fn a_cluster_that_exists_already_or_runs_kafka_before_3_9_keeps_a_static_quorum() {
    let mut world = with_static_quorum(kraft_dedicated());
    world.settle();
    assert!(
        crate::model::parse_properties(&config(&world, 3)["broker-config"]).contains_key("controller.quorum.voters")
    );
    assert!(!config(&world, 3).contains_key("storage-format-flags"));

    let mut old = kraft_dedicated();
    old.spec.cluster_image = Some("ghcr.io/banzaicloud/kafka:2.13-3.8.1".into());
    let mut world = World::new(old);
    world.settle();
    assert_eq!(recorded(&world).quorum, Some(QuorumKind::Static));
}

#[test]
fn controllers_grow_one_voter_at_a_time_once_observing_and_shrink_without_deleting_a_voter() {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    // 3 → 5: nodes 6 and 7 join as controllers.
    let mut spec = world.cluster.spec.clone();
    for id in [6, 7] {
        let mut node = spec.brokers.iter().find(|b| b.id == 5).expect("controller 5").clone();
        node.id = id;
        spec.brokers.push(node);
    }
    world.cluster.spec = spec;
    world.settle();
    assert!(world.observed.pods.contains_key(&6) && world.observed.pods.contains_key(&7));
    let (ready, message) = quorum_condition(&world);
    assert_eq!(ready, "False");
    assert!(message.contains("controller 6 joins the voters once the quorum leader sees it"), "{message}");

    described(&mut world).observers.extend([quorum_replica(6), quorum_replica(7)]);
    let steps = world.pass();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(steps[0].starts_with("controller 6 (log directory"), "{steps:?}");
    world.settle();
    assert_eq!(recorded(&world).voters, vec![3, 4, 5, 6, 7]);
    assert_eq!(quorum_condition(&world).0, "True");

    // 5 → 3, the original 3 and 4 leaving: their pods stay until they left the voters.
    world.cluster.spec.brokers.retain(|b| b.id != 3 && b.id != 4);
    let steps = world.pass();
    assert!(steps.iter().all(|s| !s.starts_with("delete")), "{steps:?}");
    assert!(steps.iter().any(|s| s.starts_with("controller 4 (log directory") && s.ends_with("leaves the voters")));
    assert!(world.observed.pods.contains_key(&3));
    world.settle();
    assert_eq!(recorded(&world).voters, vec![5, 6, 7]);
    assert!(!world.observed.pods.contains_key(&3) && !world.observed.pods.contains_key(&4), "left, then deleted");
}

#[test]
fn a_controller_losing_its_role_keeps_it_until_it_left_the_voters() {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    let before = pod_names(&world);
    let node = world.cluster.spec.brokers.iter_mut().find(|b| b.id == 5).expect("node 5");
    node.broker_config.get_or_insert_default().process_roles = vec![ProcessRole::Broker];
    let mut voter_left = false;
    for _ in 0..10 {
        let steps = world.pass();
        if steps.iter().any(|s| s.ends_with("leaves the voters")) {
            assert!(!steps.iter().any(|s| s.starts_with("restart")), "{steps:?}");
            assert_eq!(pod_names(&world), before, "no pod replaced before it left");
            voter_left = true;
        }
        if steps.iter().any(|s| s.starts_with("restart")) {
            assert!(voter_left, "node 5 restarted as a broker while a voter: {steps:?}");
            return;
        }
    }
    panic!("node 5 was never restarted without the controller role");
}

#[test]
fn metadata_version_is_raised_once_every_node_runs_the_new_kafka() {
    let mut world = World::new(kraft_dedicated());
    world.settle();
    assert!(recorded(&world).metadata_version_finalized_for.is_some());
    world.facts.feature_levels = Some(Ok(metadata_version_levels(23, 21)));
    world.cluster.spec.cluster_image = Some("ghcr.io/adobe/koperator/kafka:2.13-4.0.0".into());
    let mut raised = Vec::new();
    for _ in 0..40 {
        let steps = world.pass();
        let all_new = world.observed.pods.values().flatten().all(|pod| {
            pod.spec
                .as_ref()
                .is_some_and(|s| s.containers[0].image.as_deref() == Some("ghcr.io/adobe/koperator/kafka:2.13-4.0.0"))
        });
        if let Some(step) = steps.iter().find(|s| s.starts_with("raise metadata.version")) {
            assert!(all_new, "raised before every node ran the new Kafka");
            raised.push(step.clone());
        }
        if steps.is_empty() && !raised.is_empty() {
            break;
        }
    }
    assert_eq!(raised, vec!["raise metadata.version 21 to 23".to_owned()]);
    assert_eq!(recorded(&world).metadata_version_finalized_for.as_deref(), Some("4.0.0"));
}

#[test]
fn manual_metadata_version_upgrades_are_left_to_the_user() {
    let mut cluster = kraft_dedicated();
    cluster.spec.metadata_version_upgrade = Some(MetadataVersionUpgrade::Manual);
    let mut world = World::new(cluster);
    world.facts.feature_levels = Some(Ok(metadata_version_levels(23, 21)));
    world.settle();
    assert!(recorded(&world).metadata_version_finalized_for.is_none());
}
