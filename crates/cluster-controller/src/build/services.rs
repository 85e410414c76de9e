//! Services: how brokers find each other and clients find brokers.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{
    Labels, all_broker_service_name, broker_labels, broker_role_selector, broker_service_name, cluster_labels,
    headless_service_name, object_meta,
};
use crate::model::{METRICS_PORT, ValidatedCluster};

/// The headless service or one service per node, then `<cluster>-all-broker`.
pub fn services(cluster: &ValidatedCluster) -> Vec<Service> {
    let mut services = Vec::new();
    if cluster.spec.headless_service_enabled {
        // Selects every node, controllers included: a controller's DNS name is a record of this
        // service, and the quorum has to resolve before any member is ready.
        services.push(service(
            cluster,
            headless_service_name(cluster),
            cluster_labels(cluster),
            cluster_labels(cluster),
            true,
        ));
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

/// Not-ready pods stay published on per-node names, so KRaft controllers and ZooKeeper-mode
/// brokers reach each other while starting; the all-broker service only routes to ready brokers.
fn service(cluster: &ValidatedCluster, name: String, labels: Labels, selector: Labels, per_node: bool) -> Service {
    let mut metadata = object_meta(cluster, name, labels);
    let annotations = &cluster.spec.listeners_config.service_annotations;
    metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
    let mut ports = listener_ports(cluster);
    ports.push(ServicePort {
        name: Some("metrics".to_string()),
        port: METRICS_PORT,
        target_port: Some(IntOrString::Int(METRICS_PORT)),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    });
    let headless = per_node && cluster.spec.headless_service_enabled;
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            cluster_ip: headless.then(|| "None".to_string()),
            session_affinity: Some("None".to_string()),
            publish_not_ready_addresses: per_node.then_some(true),
            selector: Some(selector),
            ports: Some(ports),
            ..Default::default()
        }),
        status: None,
    }
}

/// `tcp-<listener>` per internal listener, then the additional ports.
fn listener_ports(cluster: &ValidatedCluster) -> Vec<ServicePort> {
    // TODO(external access): external listener ports.
    let mut ports: Vec<ServicePort> = cluster
        .spec
        .listeners_config
        .internal_listeners
        .iter()
        .map(|listener| ServicePort {
            name: Some(format!("tcp-{}", listener.common.name)),
            port: listener.common.container_port,
            target_port: Some(IntOrString::Int(listener.common.container_port)),
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
