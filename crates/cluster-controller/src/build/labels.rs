//! Names, labels, owner references and addresses shared by the builders, exactly as Koperator
//! spells them (dashboards, alert rules and scripts written for Koperator select by them).

use std::collections::BTreeMap;

use crd_types::labels::{APP, APP_KAFKA, BROKER_ID, IS_BROKER_NODE, IS_CONTROLLER_NODE, KAFKA_CR, PROCESS_ROLES};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::model::{BrokerModel, ValidatedCluster};

pub type Labels = BTreeMap<String, String>;

/// `app=kafka`, `kafka_cr=<cluster>`: every Kafka node of the cluster.
pub fn cluster_labels(cluster: &ValidatedCluster) -> Labels {
    [(APP.to_string(), APP_KAFKA.to_string()), (KAFKA_CR.to_string(), cluster.name.clone())].into()
}

/// [`cluster_labels`] plus `brokerId`.
pub fn broker_labels(cluster: &ValidatedCluster, broker_id: i32) -> Labels {
    let mut labels = cluster_labels(cluster);
    labels.insert(BROKER_ID.to_string(), broker_id.to_string());
    labels
}

/// Selects the nodes that serve clients: in KRaft only those with the broker role
/// (Koperator's `LabelsForBroker`).
pub fn broker_role_selector(cluster: &ValidatedCluster) -> Labels {
    let mut labels = cluster_labels(cluster);
    if cluster.is_kraft() {
        labels.insert(IS_BROKER_NODE.to_string(), "true".to_string());
    }
    labels
}

/// Selects the KRaft nodes with the controller role, combined ones included (Koperator's
/// `LabelsForController`).
pub fn controller_role_selector(cluster: &ValidatedCluster) -> Labels {
    let mut labels = cluster_labels(cluster);
    labels.insert(IS_CONTROLLER_NODE.to_string(), "true".to_string());
    labels
}

/// Whether `node` is a KRaft node with the controller role: Koperator names its pod
/// `<cluster>-controller-<id>-...` and gives it the controller headless Service's records.
pub fn has_controller_role(cluster: &ValidatedCluster, node: &BrokerModel) -> bool {
    cluster.is_kraft() && node.is_controller()
}

/// Labels of a broker pod: the user's `brokerLabels`, overridden by the operator's own
/// (`app`, `kafka_cr`, `brokerId`, and Koperator's role labels: in ZooKeeper mode every node is a
/// broker, so a later move to KRaft keeps selecting the same pods).
pub fn pod_labels(cluster: &ValidatedCluster, broker: &BrokerModel) -> Labels {
    let mut labels = broker.config.broker_labels.clone();
    labels.extend(broker_labels(cluster, broker.id));
    if cluster.is_kraft() {
        let roles: Vec<&str> = broker.roles.iter().map(|role| role_name(*role)).collect();
        labels.insert(PROCESS_ROLES.to_string(), roles.join("_"));
    }
    labels.insert(IS_CONTROLLER_NODE.to_string(), (cluster.is_kraft() && broker.is_controller()).to_string());
    labels.insert(IS_BROKER_NODE.to_string(), broker.is_broker().to_string());
    labels
}

pub fn role_name(role: crd_types::kafka_cluster::ProcessRole) -> &'static str {
    match role {
        crd_types::kafka_cluster::ProcessRole::Broker => "broker",
        crd_types::kafka_cluster::ProcessRole::Controller => "controller",
    }
}

/// The KafkaCluster as controlling owner, so deleting it deletes everything it owns.
pub fn owner_reference(cluster: &ValidatedCluster) -> OwnerReference {
    OwnerReference {
        api_version: format!("{}/v1beta1", crd_types::GROUP),
        kind: "KafkaCluster".to_string(),
        name: cluster.name.clone(),
        uid: cluster.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Metadata with a fixed name, the cluster's namespace and the owner reference.
pub fn object_meta(cluster: &ValidatedCluster, name: String, labels: Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(cluster.namespace.clone()),
        labels: Some(labels),
        owner_references: Some(vec![owner_reference(cluster)]),
        ..Default::default()
    }
}

pub fn headless_service_name(cluster: &ValidatedCluster) -> String {
    format!("{}-headless", cluster.name)
}

/// The KRaft controllers' headless Service (Koperator's `HeadlessControllerServiceTemplate`).
pub fn controller_headless_service_name(cluster: &ValidatedCluster) -> String {
    format!("{}-controller-headless", cluster.name)
}

pub fn all_broker_service_name(cluster: &ValidatedCluster) -> String {
    format!("{}-all-broker", cluster.name)
}

pub fn broker_service_name(cluster: &ValidatedCluster, broker_id: i32) -> String {
    format!("{}-{broker_id}", cluster.name)
}

pub fn broker_config_map_name(cluster: &ValidatedCluster, broker_id: i32) -> String {
    format!("{}-config-{broker_id}", cluster.name)
}

pub fn jmx_exporter_config_map_name(cluster: &ValidatedCluster) -> String {
    format!("{}-kafka-jmx-exporter", cluster.name)
}

/// The prefix of a node's pod name, as Koperator's `generateName`: `<cluster>-controller-<id>-`
/// for KRaft nodes with the controller role, `<cluster>-<id>-` for the others.
pub fn pod_name_prefix(cluster: &ValidatedCluster, node: &BrokerModel) -> String {
    if has_controller_role(cluster, node) {
        format!("{}-controller-{}-", cluster.name, node.id)
    } else {
        format!("{}-{}-", cluster.name, node.id)
    }
}

/// A pod's `hostname`: `<cluster>-<id>`, whatever the role.
pub fn node_hostname(cluster: &ValidatedCluster, node_id: i32) -> String {
    format!("{}-{node_id}", cluster.name)
}

/// The headless Service whose DNS records name `node` (its pod's `subdomain`): the
/// controllers' for KRaft nodes with the controller role, `<cluster>-headless` for the others.
pub fn node_headless_service(cluster: &ValidatedCluster, node: &BrokerModel) -> String {
    if has_controller_role(cluster, node) {
        controller_headless_service_name(cluster)
    } else {
        headless_service_name(cluster)
    }
}

/// The DNS name other nodes and clients reach a node at: its pod's record in its headless
/// Service, or the node's own Service when the cluster has no headless Service.
///
/// Koperator advertises a combined (broker + controller) node's client listeners as
/// `<cluster>-<id>.<cluster>-headless`, a name no record answers: the endpoint controllers
/// give a pod a hostname record only in the Service named by its `subdomain`, which is the
/// controllers' for such a node. Here every listener of a node uses the name that resolves.
pub fn broker_host(cluster: &ValidatedCluster, broker_id: i32) -> String {
    let ValidatedCluster { namespace, cluster_domain, .. } = cluster;
    let hostname = node_hostname(cluster, broker_id);
    if cluster.spec.headless_service_enabled {
        let service = match cluster.brokers.iter().find(|node| node.id == broker_id) {
            Some(node) => node_headless_service(cluster, node),
            None => headless_service_name(cluster),
        };
        format!("{hostname}.{service}.{namespace}.svc.{cluster_domain}")
    } else {
        format!("{hostname}.{namespace}.svc.{cluster_domain}")
    }
}
