//! External access over whole clusters (the test world of `decide_tests`): Envoy first, brokers
//! only once the load balancer has an address, then advertised and reported; NodePort Services
//! per broker; objects of a removed listener go.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
use kube::ResourceExt;
use serde_json::json;

use super::tests::World;
use crate::build::tests::kraft_combined;
use crate::model::parse_properties;
use crate::status::EXTERNAL_ACCESS;

fn with_external(listener: serde_json::Value) -> World {
    let mut cluster = kraft_combined();
    cluster.spec.listeners_config.external_listeners = vec![serde_json::from_value(listener).expect("listener")];
    World::new(cluster)
}

fn load_balancer() -> World {
    with_external(
        json!({"type": "plaintext", "name": "external", "externalStartingPort": 19090, "containerPort": 9094}),
    )
}

fn give_address(world: &mut World, ip: &str) {
    let service = world.observed.services.get("envoy-loadbalancer-external-kafka").expect("the Envoy Service");
    let mut service = (**service).clone();
    service.status = Some(ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: Some(vec![LoadBalancerIngress { ip: Some(ip.into()), ..Default::default() }]),
        }),
        ..Default::default()
    });
    world.observed.services.insert(service.name_any(), Arc::new(service));
}

fn broker_properties(world: &World, id: i32) -> std::collections::BTreeMap<String, String> {
    let config_map = &world.observed.config_maps[&format!("kafka-config-{id}")];
    parse_properties(&config_map.data.as_ref().expect("data")["broker-config"])
}

fn condition(world: &World) -> (String, String) {
    let status = world.cluster.status.as_ref().expect("status");
    let condition =
        status.conditions.iter().find(|c| c.type_ == EXTERNAL_ACCESS).expect("the ExternalAccess condition");
    (condition.status.clone(), condition.message.clone())
}

#[test]
fn brokers_wait_for_the_load_balancer_address_and_then_advertise_it() {
    let mut world = load_balancer();
    world.settle();
    assert!(world.observed.deployments.contains_key("envoy-external-kafka"));
    assert!(world.observed.config_maps.contains_key("envoy-config-external-kafka"));
    assert!(world.observed.pods.is_empty(), "no broker starts before its external address is known");
    let (ready, message) = condition(&world);
    assert_eq!(ready, "False");
    assert!(message.contains("envoy-loadbalancer-external-kafka has no load balancer address yet"), "{message}");

    give_address(&mut world, "100.75.0.10");
    world.settle();
    assert_eq!(world.observed.pods.len(), 3);
    let properties = broker_properties(&world, 1);
    assert!(properties["listeners"].contains("EXTERNAL://:9094"), "{}", properties["listeners"]);
    assert!(properties["advertised.listeners"].starts_with("EXTERNAL://100.75.0.10:19091,"));
    assert!(properties["listener.security.protocol.map"].contains("EXTERNAL:PLAINTEXT"));
    let statuses = world.cluster.status.as_ref().and_then(|s| s.listener_statuses.clone()).expect("listener statuses");
    let external: Vec<(String, String)> =
        statuses.external_listeners["external"].iter().map(|s| (s.name.clone(), s.address.clone())).collect();
    assert_eq!(
        external,
        [
            ("any-broker", "100.75.0.10:29092"),
            ("broker-0", "100.75.0.10:19090"),
            ("broker-1", "100.75.0.10:19091"),
            ("broker-2", "100.75.0.10:19092"),
        ]
        .map(|(name, address)| (name.to_owned(), address.to_owned()))
    );
    assert_eq!(condition(&world).0, "True");
    assert!(world.pass().is_empty(), "a settled cluster with external access costs no write");
}

#[test]
fn node_ports_per_broker_advertise_the_node_kafka_resolves_at_start() {
    let mut world = with_external(json!({
        "type": "plaintext", "name": "np", "externalStartingPort": 32000, "containerPort": 9094, "accessMethod": "NodePort"
    }));
    world.settle();
    for id in 0..3 {
        let service = &world.observed.services[&format!("kafka-{id}-np")];
        let port = &service.spec.as_ref().and_then(|s| s.ports.clone()).expect("ports")[0];
        assert_eq!((port.node_port, port.port), (Some(32000 + id), 9094));
    }
    let properties = broker_properties(&world, 2);
    assert!(properties["advertised.listeners"].starts_with("NP://${env:KOPERATOR_NODE_IP}:32002,"));
    assert_eq!(properties["config.providers"], "env");
    assert_eq!(world.observed.pods.len(), 3);
    assert!(world.observed.services.keys().all(|name| !name.starts_with("envoy-")));
}

#[test]
fn removing_the_listener_removes_its_envoy_and_rolls_it_out_of_the_brokers() {
    let mut world = load_balancer();
    world.settle();
    give_address(&mut world, "100.75.0.10");
    world.settle();
    world.cluster.spec.listeners_config.external_listeners.clear();
    let steps = world.pass();
    for object in [
        "Deployment envoy-external-kafka",
        "ConfigMap envoy-config-external-kafka",
        "Service envoy-loadbalancer-external-kafka",
    ] {
        assert!(
            steps.iter().any(|step| step.contains("delete") && step.contains(object)),
            "{object} not deleted: {steps:?}"
        );
    }
    assert!(!broker_properties(&world, 0)["listeners"].contains("EXTERNAL"));
}

#[test]
fn the_server_certificate_names_what_tls_listeners_advertise() {
    let mut cluster = kraft_combined();
    let listeners = json!([
        {"type": "ssl", "name": "external", "externalStartingPort": 19090, "containerPort": 9094},
        {"type": "plaintext", "name": "plain", "externalStartingPort": 19190, "containerPort": 9095},
        {"type": "sasl_ssl", "name": "named", "externalStartingPort": 32090, "containerPort": 9096,
         "accessMethod": "NodePort", "hostnameOverride": ".kafka.example.com"},
        {"type": "ssl", "name": "nodes", "externalStartingPort": 32190, "containerPort": 9097, "accessMethod": "NodePort"},
    ]);
    cluster.spec.listeners_config.external_listeners = serde_json::from_value(listeners).expect("listeners");
    cluster.spec.listeners_config.ssl_secrets =
        Some(serde_json::from_value(json!({"create": true, "tlsSecretName": "kafka-ca"})).expect("ssl"));
    let mut world = World::new(cluster);
    world.settle();
    let validated = crate::model::validate(&world.cluster).expect("valid");
    let named: Vec<String> = (0..3).map(|id| format!("kafka-{id}-named.kafka.kafka.example.com")).collect();
    assert_eq!(super::external_access::certificate_hosts(&validated, &world.observed), named);

    // The load balancer's address once it has one; the plaintext listener's and the node
    // addresses never (a pod may move to any node).
    give_address(&mut world, "100.75.0.10");
    let mut expected = vec!["100.75.0.10".to_string()];
    expected.extend(named);
    assert_eq!(super::external_access::certificate_hosts(&validated, &world.observed), expected);
}
