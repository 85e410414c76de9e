//! Cruise Control's objects for the sample clusters: what restarts it, what the operator
//! decides over the user, where the scheduling fields go, and what an external one changes.

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::Broker;

use super::tests::{kraft_combined, zookeeper};
use super::{
    CONFIG_HASH_ANNOTATION, CruiseControlFacts, CruiseControlObjects, HeadlessSelection, cluster_objects,
    cruise_control_objects, metrics_topic,
};
use crate::model::{CruiseControlPlan, ValidatedCluster, validate};

fn deployed(spec: &KafkaCluster) -> (ValidatedCluster, CruiseControlObjects) {
    let cluster = validate(spec).expect("valid");
    let CruiseControlPlan::Deploy(settings) = cluster.cruise_control.plan.clone() else { panic!("not deployed") };
    let objects = cruise_control_objects(&cluster, &settings, &CruiseControlFacts::default());
    (cluster, objects)
}

fn pod_hash(objects: &CruiseControlObjects) -> String {
    let template = objects.deployment.spec.as_ref().and_then(|s| s.template.metadata.as_ref());
    template.and_then(|m| m.annotations.as_ref()).and_then(|a| a.get(CONFIG_HASH_ANNOTATION)).cloned().expect("hash")
}

#[test]
fn cruise_control_restarts_for_its_configuration_but_not_for_capacity() {
    let spec = kraft_combined();
    let original = pod_hash(&deployed(&spec).1);

    let mut configured = spec.clone();
    configured.spec.cruise_control_config.config = Some("num.metrics.windows=4".into());
    let (_, objects) = deployed(&configured);
    assert_ne!(pod_hash(&objects), original);
    let properties = objects.config_map.data.as_ref().expect("data")["cruisecontrol.properties"].clone();
    assert!(properties.contains("num.metrics.windows=4\n"), "{properties}");

    // A broker more changes capacity.json only: restarting now would lose the add_broker task.
    let mut grown = spec.clone();
    grown.spec.brokers.push(Broker { id: 3, broker_config_group: Some("default".into()), ..Default::default() });
    let (_, objects) = deployed(&grown);
    assert_eq!(pod_hash(&objects), original);
    assert!(objects.config_map.data.as_ref().expect("data")["capacity.json"].contains("\"brokerId\": \"3\""));

    grown.spec.cruise_control_config.cruise_control_annotations =
        [(super::cruise_control_deployment::CAPACITY_CONFIG_ANNOTATION.to_string(), "static".to_string())].into();
    assert_ne!(pod_hash(&deployed(&grown).1), pod_hash(&deployed(&spec).1));
}

#[test]
fn operator_settings_win_over_the_users_cruise_control_config() {
    let mut spec = zookeeper();
    spec.spec.cruise_control_config.config =
        Some("webserver.http.port=9999\nbootstrap.servers=elsewhere:9092\nanomaly.detection.goals=x\n".into());
    let cluster = validate(&spec).expect("valid");
    let properties = crate::model::parse_properties(&super::cruise_control::cruise_control_properties(&cluster));
    assert_eq!(properties["webserver.http.port"], "8090");
    assert_eq!(properties["bootstrap.servers"], "kafka-all-broker.kafka.svc.cluster.local:29092");
    assert_eq!(properties["zookeeper.connect"], "zookeeper-client.zookeeper:2181/kafka");
    assert_eq!(properties["anomaly.detection.goals"], "x");
    assert!(!properties.contains_key("topic.config.provider.class"));
}

#[test]
fn with_racks_cruise_control_gets_the_rack_aware_distribution_goal() {
    let mut spec = zookeeper();
    let goal = super::cruise_control::RACK_AWARE_DISTRIBUTION_GOAL;
    let names = "com.linkedin.kafka.cruisecontrol.analyzer.goals.ReplicaCapacityGoal";
    spec.spec.cruise_control_config.config =
        Some(format!("goals={names}\ndefault.goals={names}\nhard.goals=com.x.RackAwareGoal\n"));
    let properties = |spec: &KafkaCluster| {
        let cluster = validate(spec).expect("valid");
        crate::model::parse_properties(&super::cruise_control::cruise_control_properties(&cluster))
    };
    assert_eq!(properties(&spec)["goals"], names, "no racks, no rack goal");
    spec.spec.rack_awareness = Some(serde_json::from_value(serde_json::json!({"labels": ["zone"]})).expect("racks"));
    let racked = properties(&spec);
    assert_eq!(racked["goals"], format!("{goal},{names}"));
    assert_eq!(racked["default.goals"], format!("{goal},{names}"));
    assert_eq!(racked["hard.goals"], "com.x.RackAwareGoal", "a list naming a rack goal stays");
    assert!(!racked.contains_key("anomaly.detection.goals"), "lists left out keep Cruise Control's defaults");
}

#[test]
fn scheduling_fields_reach_the_cruise_control_pod() {
    let mut spec = kraft_combined();
    let config = &mut spec.spec.cruise_control_config;
    config.image = Some("registry.local/cruise-control:1".into());
    config.node_selector = [("pool".to_string(), "tools".to_string())].into();
    config.service_account_name = Some("cc".into());
    config.priority_class_name = Some("low".into());
    config.cruise_control_annotations = [("team".to_string(), "kafka".to_string())].into();
    let (_, objects) = deployed(&spec);
    let template = objects.deployment.spec.expect("spec").template;
    let pod = template.spec.expect("pod spec");
    assert_eq!(pod.containers[0].image.as_deref(), Some("registry.local/cruise-control:1"));
    assert_eq!(pod.node_selector.expect("selector")["pool"], "tools");
    assert_eq!(pod.service_account_name.as_deref(), Some("cc"));
    assert_eq!(pod.priority_class_name.as_deref(), Some("low"));
    assert_eq!(template.metadata.expect("metadata").annotations.expect("annotations")["team"], "kafka");
}

#[test]
fn an_external_cruise_control_means_no_objects_of_ours() {
    let mut spec = kraft_combined();
    spec.spec.cruise_control_config.cruise_control_endpoint = Some("cc.tools:8090".into());
    let cluster = validate(&spec).expect("valid");
    let services = cluster_objects(&cluster, HeadlessSelection::BrokerRole).services;
    assert!(services.iter().all(|s| s.metadata.name.as_deref() != Some("kafka-cruisecontrol-svc")));
    assert!(metrics_topic(&cluster, None).is_none());
    // The brokers still report metrics, for the external Cruise Control.
    assert!(cluster.brokers.iter().all(|b| b.metrics_reporter_image.is_some()));
}

#[test]
fn the_metrics_topic_keeps_what_kafka_topics_cannot_change() {
    let mut spec = kraft_combined();
    spec.spec.cruise_control_config.topic_config =
        Some(crd_types::kafka_cluster::TopicConfig { partitions: 6, replication_factor: 2 });
    let cluster = validate(&spec).expect("valid");
    let fresh = metrics_topic(&cluster, None).expect("topic");
    assert_eq!((fresh.spec.partitions, fresh.spec.replication_factor), (6, 2));
    let mut existing = fresh.clone();
    existing.spec.partitions = 12;
    existing.spec.replication_factor = 3;
    let kept = metrics_topic(&cluster, Some(&existing)).expect("topic");
    assert_eq!((kept.spec.partitions, kept.spec.replication_factor), (12, 3));
    existing.spec.partitions = 4;
    assert_eq!(metrics_topic(&cluster, Some(&existing)).expect("topic").spec.partitions, 6);

    spec.spec.read_only_config = Some("cruise.control.metrics.topic.auto.create=true".into());
    assert!(metrics_topic(&validate(&spec).expect("valid"), None).is_none(), "the reporter creates it");
}
