//! NodePort external access, as Koperator builds it (`pkg/resources/nodeportexternalaccess`):
//! one Service `<cluster>-<id>-<listener>` per broker, selecting that broker's pod, its port
//! `broker-<id>` on node port `externalStartingPort + id` (or one Kubernetes picks when the
//! starting port is 0), with `externalIPs` from `nodePortExternalIP` when set.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{broker_labels, object_meta};
use crate::model::external::ExternalListener;
use crate::model::{BrokerModel, ValidatedCluster};

pub fn service_name(cluster: &ValidatedCluster, broker_id: i32, listener: &ExternalListener) -> String {
    format!("{}-{broker_id}-{}", cluster.name, listener.name)
}

/// The port's name in the Service, by which the assigned node port is read back.
pub fn port_name(broker_id: i32) -> String {
    format!("broker-{broker_id}")
}

pub fn node_port_service(cluster: &ValidatedCluster, broker: &BrokerModel, listener: &ExternalListener) -> Service {
    let labels = broker_labels(cluster, broker.id);
    let mut metadata = object_meta(cluster, service_name(cluster, broker.id, listener), labels.clone());
    metadata.annotations = (!listener.service_annotations.is_empty()).then(|| listener.service_annotations.clone());
    let external_ip = broker.config.node_port_external_ip.get(&listener.name).filter(|ip| !ip.is_empty());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("NodePort".to_owned()),
            selector: Some(labels),
            ports: Some(vec![ServicePort {
                name: Some(port_name(broker.id)),
                port: listener.container_port,
                target_port: Some(IntOrString::Int(listener.container_port)),
                node_port: listener.broker_port(broker.id),
                protocol: Some("TCP".to_owned()),
                ..Default::default()
            }]),
            external_ips: external_ip.map(|ip| vec![ip.clone()]),
            external_traffic_policy: listener.external_traffic_policy.map(|policy| format!("{policy:?}")),
            ..Default::default()
        }),
        status: None,
    }
}
