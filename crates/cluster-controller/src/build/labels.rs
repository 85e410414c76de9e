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

/// Selects the nodes that serve clients: in KRaft only those with the broker role.
pub fn broker_role_selector(cluster: &ValidatedCluster) -> Labels {
    let mut labels = cluster_labels(cluster);
    if cluster.is_kraft() {
        labels.insert(IS_BROKER_NODE.to_string(), "true".to_string());
    }
    labels
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

/// The DNS name other nodes and clients reach a broker at: through the headless service's pod
/// records, or through the broker's own service.
pub fn broker_host(cluster: &ValidatedCluster, broker_id: i32) -> String {
    let ValidatedCluster { name, namespace, cluster_domain, .. } = cluster;
    if cluster.spec.headless_service_enabled {
        format!("{name}-{broker_id}.{name}-headless.{namespace}.svc.{cluster_domain}")
    } else {
        format!("{name}-{broker_id}.{namespace}.svc.{cluster_domain}")
    }
}
