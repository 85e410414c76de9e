//! EndpointSlices that give a headless Service hostname records the endpoint controllers would
//! not give it: while pods of two naming layouts run side by side (see
//! `reconcile::decide::node_names`), a node must stay reachable under the name the other
//! nodes' configuration still uses, whatever its pod's `subdomain` says.
//!
//! Cluster DNS answers `<hostname>.<service>` from every EndpointSlice labelled with the
//! Service's name, whoever manages it; the EndpointSlice controller leaves slices with another
//! manager alone.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{cluster_labels, object_meta};
use super::services::node_ports;
use crate::model::ValidatedCluster;

/// Label naming the Service a slice belongs to (Kubernetes').
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming whoever manages a slice (Kubernetes').
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY_LABEL`] (a label value: no `/`); the EndpointSlice controller
/// manages only slices with its own.
pub const MANAGED_BY_US: &str = "cluster-controller.koperator-rs.io";

/// One record a bridge slice adds: `<hostname>.<service>` → the pod's IP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BridgedName {
    pub hostname: String,
    pub ip: String,
    pub pod: String,
}

/// The name of the bridge slice of `service`.
pub fn name_bridge_name(service: &str) -> String {
    format!("{service}-names")
}

/// The slice adding `names` to `service`'s records. Addresses of another IP family than the
/// first one's are left out (a slice holds one family; the test beds and most clusters are
/// single-stack).
pub fn name_bridge(cluster: &ValidatedCluster, service: &str, names: &[BridgedName]) -> EndpointSlice {
    let family = |ip: &str| if ip.contains(':') { "IPv6" } else { "IPv4" };
    let address_type = names.first().map_or("IPv4", |name| family(&name.ip));
    let mut labels = cluster_labels(cluster);
    labels.insert(SERVICE_NAME_LABEL.to_owned(), service.to_owned());
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_US.to_owned());
    let endpoints = names
        .iter()
        .filter(|name| family(&name.ip) == address_type)
        .map(|name| Endpoint {
            addresses: vec![name.ip.clone()],
            hostname: Some(name.hostname.clone()),
            // Cluster DNS serves ready endpoints only; the Services publish not-ready pods too.
            conditions: Some(EndpointConditions { ready: Some(true), ..Default::default() }),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".to_owned()),
                name: Some(name.pod.clone()),
                namespace: Some(cluster.namespace.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let ports = node_ports(cluster)
        .into_iter()
        .map(|port| EndpointPort {
            name: port.name,
            port: match port.target_port {
                Some(IntOrString::Int(number)) => Some(number),
                _ => Some(port.port),
            },
            protocol: port.protocol,
            app_protocol: None,
        })
        .collect();
    EndpointSlice {
        metadata: object_meta(cluster, name_bridge_name(service), labels),
        address_type: address_type.to_owned(),
        endpoints,
        ports: Some(ports),
    }
}
