//! Pure: external access. The objects each served external listener needs (Envoy for a
//! LoadBalancer listener, a NodePort Service per broker), the address every broker advertises
//! on it, what `status.listenerStatuses.externalListeners` shows, and what the operator waits
//! for — from the model and what the cluster shows: the load balancer's address, the node
//! ports Kubernetes assigned, the nodes the brokers run on.

use std::collections::{BTreeMap, BTreeSet};

use crd_types::kafka_cluster::{ListenerStatus, SecurityProtocol};
use crd_types::labels::{APP, BROKER_ID};
use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;

use crate::build::envoy::{self, EnvoyObjects};
use crate::build::{ExternalAddresses, NODE_IP_VARIABLE, node_port};
use crate::model::external::{Access, ExternalListener};
use crate::model::{BrokerModel, ValidatedCluster};
use crate::reconcile::observe::ObservedCluster;

use super::apply_step;
use super::cluster_objects::applied_by_us;
use super::plan::{Action, Desired, OwnedKind, Step};

/// Everything external access wants this pass.
#[derive(Debug, Default)]
pub struct ExternalAccess {
    /// What each broker advertises, where known; a broker missing here starts without the
    /// listener (and rolls once its address is known).
    pub addresses: ExternalAddresses,
    /// `status.listenerStatuses.externalListeners`: `any-broker` (load balancers) and
    /// `broker-<id>`, sorted by name, as Koperator writes them.
    pub statuses: BTreeMap<String, Vec<ListenerStatus>>,
    /// Why a listener is not reachable yet, one sentence each, for the status.
    pub waiting: Vec<String>,
    pub envoys: Vec<EnvoyObjects>,
    pub node_port_services: Vec<Service>,
}

/// `routed`: the broker-role nodes traffic goes to — the spec's, and departing brokers while
/// their partitions are moved away.
pub fn decide(cluster: &ValidatedCluster, observed: &ObservedCluster, routed: &BTreeSet<i32>) -> ExternalAccess {
    let mut access = ExternalAccess::default();
    for listener in &cluster.external_listeners {
        match listener.access {
            Access::Envoy => load_balancer(cluster, observed, listener, routed, &mut access),
            Access::NodePort => node_ports(cluster, observed, listener, &mut access),
        }
    }
    access
}

fn load_balancer(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    listener: &ExternalListener,
    routed: &BTreeSet<i32>,
    access: &mut ExternalAccess,
) {
    access.envoys.push(envoy::envoy_objects(cluster, &cluster.envoy, listener, routed));
    let service_name = envoy::service_name(cluster, listener);
    let balancer = observed.services.get(&service_name).and_then(|service| load_balancer_address(service));
    let Some(host) = listener.hostname_override.clone().or(balancer) else {
        access.waiting.push(format!(
            "external listener {}: Service {service_name} has no load balancer address yet \
             (status.loadBalancer.ingress); brokers are started once it has one",
            listener.name
        ));
        return;
    };
    let mut statuses =
        vec![ListenerStatus { name: "any-broker".into(), address: format!("{host}:{}", listener.any_cast_port) }];
    let mut advertised = BTreeMap::new();
    for id in routed {
        if let Some(port) = listener.broker_port(*id) {
            advertised.insert(*id, format!("{host}:{port}"));
            statuses.push(ListenerStatus { name: format!("broker-{id}"), address: format!("{host}:{port}") });
        }
    }
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    access.addresses.insert(listener.name.clone(), advertised);
    access.statuses.insert(listener.name.clone(), statuses);
}

/// The hosts the TLS external listeners advertise (`ssl`, `sasl_ssl`), for the brokers' server
/// certificate, so clients verify the broker at the address they were given: each load
/// balancer's address (or `hostnameOverride`), and for NodePort listeners the
/// `hostnameOverride` names and `nodePortExternalIP`s. A NodePort listener advertising the
/// node's own address is not named: the pod may run on any node (its clients verify against
/// `hostnameOverride`, or not at all; the status says so).
pub fn certificate_hosts(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Vec<String> {
    let mut hosts = BTreeSet::new();
    let tls = cluster
        .external_listeners
        .iter()
        .filter(|listener| matches!(listener.security_protocol, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl));
    for listener in tls {
        match listener.access {
            Access::Envoy => {
                let service = observed.services.get(&envoy::service_name(cluster, listener));
                hosts.extend(listener.hostname_override.clone().or_else(|| load_balancer_address(service?)));
            }
            Access::NodePort => {
                for broker in cluster.brokers.iter().filter(|broker| broker.is_broker()) {
                    let external_ip =
                        broker.config.node_port_external_ip.get(&listener.name).filter(|ip| !ip.is_empty());
                    let (host, _) = node_port_host(cluster, observed, listener, broker, external_ip);
                    if host != NODE_IP_VARIABLE {
                        hosts.insert(host);
                    }
                }
            }
        }
    }
    hosts.into_iter().collect()
}

/// The first ingress entry's hostname, or its IP (Koperator's order).
fn load_balancer_address(service: &Service) -> Option<String> {
    let ingress = service.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?;
    ingress.hostname.clone().filter(|host| !host.is_empty()).or_else(|| ingress.ip.clone().filter(|ip| !ip.is_empty()))
}

fn node_ports(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    listener: &ExternalListener,
    access: &mut ExternalAccess,
) {
    let mut advertised = BTreeMap::new();
    let mut statuses = Vec::new();
    for broker in cluster.brokers.iter().filter(|broker| broker.is_broker()) {
        let service = node_port::node_port_service(cluster, broker, listener);
        let name = service.name_any();
        access.node_port_services.push(service);
        let external_ip = broker.config.node_port_external_ip.get(&listener.name).filter(|ip| !ip.is_empty());
        // With an external IP traffic arrives on the Service's own port (Koperator's rule).
        let port = match (external_ip, listener.broker_port(broker.id)) {
            (Some(_), _) => Some(listener.container_port),
            (None, Some(port)) => Some(port),
            (None, None) => assigned_node_port(observed.services.get(&name).map(AsRef::as_ref), broker.id),
        };
        let Some(port) = port else {
            access
                .waiting
                .push(format!("external listener {}: Service {name} has no node port assigned yet", listener.name));
            continue;
        };
        let (host, status_host) = node_port_host(cluster, observed, listener, broker, external_ip);
        advertised.insert(broker.id, format!("{host}:{port}"));
        if let Some(status_host) = status_host {
            statuses.push(ListenerStatus {
                name: format!("broker-{}", broker.id),
                address: format!("{status_host}:{port}"),
            });
        }
    }
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    access.addresses.insert(listener.name.clone(), advertised);
    access.statuses.insert(listener.name.clone(), statuses);
}

fn assigned_node_port(service: Option<&Service>, broker_id: i32) -> Option<i32> {
    let wanted = node_port::port_name(broker_id);
    service?
        .spec
        .as_ref()?
        .ports
        .as_ref()?
        .iter()
        .find(|port| port.name.as_deref() == Some(wanted.as_str()))?
        .node_port
        .filter(|port| *port > 0)
}

/// What the broker advertises, and what the status shows (the node's address once its pod
/// runs, when Kafka resolves it at start). Koperator's order: `hostnameOverride` as
/// `<cluster>-<id>-<listener>.<namespace><override>`, then `nodePortExternalIP`, then the node.
fn node_port_host(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    listener: &ExternalListener,
    broker: &BrokerModel,
    external_ip: Option<&String>,
) -> (String, Option<String>) {
    if let Some(suffix) = &listener.hostname_override {
        let host = format!("{}-{}-{}.{}{suffix}", cluster.name, broker.id, listener.name, cluster.namespace);
        return (host.clone(), Some(host));
    }
    if let Some(ip) = external_ip {
        return (ip.clone(), Some(ip.clone()));
    }
    let node_ip = observed
        .pods
        .get(&broker.id)
        .into_iter()
        .flatten()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .find_map(|pod| pod.status.as_ref()?.host_ip.clone());
    (NODE_IP_VARIABLE.to_owned(), node_ip)
}

/// The writes: each listener's Envoy objects and NodePort Services applied; those of listeners
/// no longer served (or no longer of that access method) deleted, if this operator made them.
pub fn plan(cluster: &ValidatedCluster, observed: &ObservedCluster, access: &ExternalAccess, steps: &mut Vec<Step>) {
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    // NodePort Services first: they ask for given node ports, while a LoadBalancer Service gets
    // node ports Kubernetes picks at random, which could take one of those.
    for service in &access.node_port_services {
        wanted.insert(service.name_any());
        let current = observed.services.get(&service.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(service.clone(), current, Desired::Service));
    }
    for objects in &access.envoys {
        let EnvoyObjects { service, config_map, deployment, pod_disruption_budget } = objects.clone();
        wanted.extend([service.name_any(), config_map.name_any(), deployment.name_any()]);
        let current = observed.services.get(&service.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(service, current, Desired::Service));
        // The ConfigMap before the Deployment whose pods mount it.
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(config_map, current, Desired::ConfigMap));
        let current = observed.deployments.get(&deployment.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(deployment, current, Desired::Deployment));
        if let Some(pdb) = pod_disruption_budget {
            wanted.insert(pdb.name_any());
            let current = observed.pod_disruption_budgets.get(&pdb.name_any()).map(AsRef::as_ref);
            steps.extend(apply_step(pdb, current, Desired::PodDisruptionBudget));
        }
    }

    let mut delete =
        |kind: OwnedKind, name: &String| steps.push(Step::new(Action::Delete { kind, name: name.clone() }));
    for (name, deployment) in &observed.deployments {
        if unwanted_envoy_object(&wanted, name, deployment.as_ref()) {
            delete(OwnedKind::Deployment, name);
        }
    }
    for (name, config_map) in &observed.config_maps {
        if unwanted_envoy_object(&wanted, name, config_map.as_ref()) {
            delete(OwnedKind::ConfigMap, name);
        }
    }
    for (name, pdb) in &observed.pod_disruption_budgets {
        if unwanted_envoy_object(&wanted, name, pdb.as_ref()) {
            delete(OwnedKind::PodDisruptionBudget, name);
        }
    }
    for (name, service) in &observed.services {
        // A broker's own ClusterIP Service is `<cluster>-<id>`; any other Service with a broker
        // id label is a NodePort Service of an external listener.
        let node_port = service.labels().get(BROKER_ID).is_some_and(|id| *name != format!("{}-{id}", cluster.name));
        let ours = applied_by_us(service.as_ref()) && !wanted.contains(name);
        if ours && (node_port || is_envoy(service.as_ref())) {
            delete(OwnedKind::Service, name);
        }
    }
}

fn is_envoy(object: &impl ResourceExt) -> bool {
    object.labels().get(APP).map(String::as_str) == Some(envoy::APP_ENVOY)
}

/// An Envoy object this operator made that this pass does not want.
fn unwanted_envoy_object(wanted: &BTreeSet<String>, name: &String, object: &impl ResourceExt) -> bool {
    !wanted.contains(name) && is_envoy(object) && applied_by_us(object)
}
