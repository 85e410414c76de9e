//! What the alert-driven actions (the ClusterActions gRPC service) do to a KafkaCluster, as pure
//! functions of what the controller read: whether an action is allowed, and the new
//! `spec.brokers` when it is. The service in `grpc::cluster_actions` reads, calls these and
//! writes; nothing here talks to the API.

pub mod brokers;
pub mod disks;
pub mod gates;
pub mod ledger;
pub mod rolling_upgrade_alerts;

use crd_types::kafka_cluster::Broker;

/// Why an action is not carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not allowed now (a limit, a busy cluster); an answer, not an error.
    #[error("{0}")]
    Refused(String),
    /// What the action asks for already holds (the broker is already leaving...).
    #[error("{0}")]
    AlreadyHolds(String),
    /// The broker or volume named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be carried out as written (a size that is not a quantity...).
    #[error("{0}")]
    InvalidArgument(String),
}

/// An allowed action: the spec.brokers to write, and what it does in words.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecChange {
    pub brokers: Vec<Broker>,
    /// The broker the action concerns.
    pub broker_id: i32,
    /// For events and logs, e.g. "added broker 3 (brokerConfigGroup broker)".
    pub summary: String,
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crd_types::KafkaCluster;
    use serde_json::json;

    use crate::model::{self, ValidatedCluster};

    /// Three brokers of group `broker` and one KRaft controller (id 10), like the e2e sample.
    pub fn cluster(extra: serde_json::Value) -> ValidatedCluster {
        let mut object = json!({
        "apiVersion": "kafka.banzaicloud.io/v1beta1", "kind": "KafkaCluster",
        "metadata": {"name": "kafka", "namespace": "kafka", "uid": "u"},
        "spec": {
        "kRaft": true, "headlessServiceEnabled": true, "oneBrokerPerNode": false,
        "clusterImage": "ghcr.io/adobe/koperator/kafka:2.13-3.9.1",
        "brokerConfigGroups": {
        "broker": {"processRoles": ["broker"], "storageConfigs": [{"mountPath": "/kafka-logs",
        "pvcSpec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
        "controller": {"processRoles": ["controller"], "storageConfigs": [{"mountPath": "/kafka-logs",
        "pvcSpec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
        },
        "brokers": [
        {"id": 0, "brokerConfigGroup": "broker"}, {"id": 1, "brokerConfigGroup": "broker"},
        {"id": 2, "brokerConfigGroup": "broker"}, {"id": 10, "brokerConfigGroup": "controller"}
        ],
        "rollingUpgradeConfig": {"failureThreshold": 1},
        "listenersConfig": {"internalListeners": [
        {"type": "plaintext", "name": "internal", "containerPort": 29092, "usedForInnerBrokerCommunication": true},
        {"type": "plaintext", "name": "controller", "containerPort": 29093, "usedForInnerBrokerCommunication": false, "usedForControllerCommunication": true}
        ]},
        "cruiseControlConfig": {}
        }
        });
        if let (Some(spec), Some(extra)) = (object["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        let cluster: KafkaCluster = serde_json::from_value(object).expect("a KafkaCluster");
        model::validate(&cluster).expect("valid")
    }
}
