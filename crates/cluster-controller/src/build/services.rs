//! Services: how brokers find each other and clients find brokers.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{
    Labels, all_broker_service_name, broker_labels, broker_role_selector, broker_service_name, cluster_labels,
    controller_headless_service_name, controller_role_selector, headless_service_name, object_meta,
};
use crate::model::{METRICS_PORT, ValidatedCluster};

/// Which pods `<cluster>-headless` selects in KRaft mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadlessSelection {
    /// Koperator's: the nodes with the broker role, so that clients bootstrapping from it reach
    /// brokers only (controllers have `<cluster>-controller-headless`).
    #[default]
    BrokerRole,
    /// Every node: while a controller pod of this operator's earlier layout still takes its
    /// DNS name from `<cluster>-headless`, that name must keep resolving or the quorum breaks.
    EveryNode,
}

/// The headless Services or one Service per node, then `<cluster>-all-broker`.
pub fn services(cluster: &ValidatedCluster, headless: HeadlessSelection) -> Vec<Service> {
    let mut services = Vec::new();
    if cluster.spec.headless_service_enabled {
        // Koperator: in KRaft mode brokers and controllers each get their own headless Service
        // (a combined node is in both); in ZooKeeper mode one selects every node.
        let selector = match headless {
            HeadlessSelection::BrokerRole => broker_role_selector(cluster),
            HeadlessSelection::EveryNode => cluster_labels(cluster),
        };
        services.push(headless_service(cluster, headless_service_name(cluster), selector));
        if cluster.is_kraft() {
            let selector = controller_role_selector(cluster);
            services.push(headless_service(cluster, controller_headless_service_name(cluster), selector));
        }
    } else {
        for broker in &cluster.brokers {
            let labels = broker_labels(cluster, broker.id);
            services.push(service(cluster, broker_service_name(cluster, broker.id), labels.clone(), labels, true));
        }
    }
    let mut all_broker = service(
        cluster,
        all_broker_service_name(cluster),
        cluster_labels(cluster),
        broker_role_selector(cluster),
        false,
    );
    if let Some(spec) = all_broker.spec.as_mut() {
        spec.ports = Some(listener_ports(cluster));
    }
    services.push(all_broker);
    services
}

/// As Koperator: labelled with its selector merged with the KafkaCluster's own labels (the
/// selector's keys win, so the operator's caches keep finding it).
fn headless_service(cluster: &ValidatedCluster, name: String, selector: Labels) -> Service {
    let mut labels = cluster.labels.clone();
    labels.extend(selector.clone());
    service(cluster, name, labels, selector, true)
}

/// Not-ready pods stay published on per-node names, so KRaft controllers and ZooKeeper-mode
/// brokers reach each other while starting; the all-broker service only routes to ready brokers.
fn service(cluster: &ValidatedCluster, name: String, labels: Labels, selector: Labels, per_node: bool) -> Service {
    let mut metadata = object_meta(cluster, name, labels);
    let annotations = &cluster.spec.listeners_config.service_annotations;
    metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
    let headless = per_node && cluster.spec.headless_service_enabled;
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            cluster_ip: headless.then(|| "None".to_string()),
            session_affinity: Some("None".to_string()),
            publish_not_ready_addresses: per_node.then_some(true),
            selector: Some(selector),
            ports: Some(node_ports(cluster)),
            ..Default::default()
        }),
        status: None,
    }
}

/// The listener ports, then `metrics`: what a per-node Service (and its EndpointSlices) serve.
pub fn node_ports(cluster: &ValidatedCluster) -> Vec<ServicePort> {
    let mut ports = listener_ports(cluster);
    ports.push(ServicePort {
        name: Some("metrics".to_string()),
        port: METRICS_PORT,
        target_port: Some(IntOrString::Int(METRICS_PORT)),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    });
    ports
}

/// `tcp-<listener>` per served external listener (Envoy reaches brokers through these) and per
/// internal listener, then the additional ports.
fn listener_ports(cluster: &ValidatedCluster) -> Vec<ServicePort> {
    let external = cluster.external_listeners.iter().map(|listener| (&listener.name, listener.container_port));
    let internal = cluster.spec.listeners_config.internal_listeners.iter();
    let mut ports: Vec<ServicePort> = external
        .chain(internal.map(|listener| (&listener.common.name, listener.common.container_port)))
        .map(|(name, port)| ServicePort {
            name: Some(format!("tcp-{name}")),
            port,
            target_port: Some(IntOrString::Int(port)),
            protocol: Some("TCP".to_string()),
            ..Default::default()
        })
        .collect();
    ports.extend(cluster.spec.additional_ports.iter().map(|port| ServicePort {
        name: port.name.clone(),
        port: port.container_port,
        target_port: Some(IntOrString::Int(port.container_port)),
        protocol: port.protocol.clone(),
        ..Default::default()
    }));
    ports
}
