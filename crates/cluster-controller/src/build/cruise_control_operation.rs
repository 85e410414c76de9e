//! CruiseControlOperations the cluster controller asks for, shaped as Koperator creates them:
//! generateName `<cluster>-<operation without underscores>-`, label `kafka_cr`, the KafkaCluster
//! as controlling owner (its deletion takes them along, and its controller is woken by them),
//! `errorPolicy: retry`, and the task in `status.currentTask` — a status subresource, so the
//! caller creates the object and then writes [`current_task`].

use std::collections::BTreeMap;

use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlTaskOperation, ErrorPolicy};
use crd_types::{CruiseControlOperation, CruiseControlOperationSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The Kafka log dir of a mount path (`<mountPath>/kafka`), as remove_disks names it.
pub use super::broker_config::log_dir;
use super::labels::{cluster_labels, owner_reference};
use crate::model::ValidatedCluster;

/// One operation the graceful step wants, for a batch of brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationRequest {
    AddBrokers(Vec<i32>),
    RemoveBrokers(Vec<i32>),
    /// Moves data onto newly added disks of these brokers (`rebalance_disk=true`).
    RebalanceDisks(Vec<i32>),
    /// Moves data off these mount paths, by broker id, before their claims go.
    RemoveDisks(BTreeMap<i32, Vec<String>>),
}

impl OperationRequest {
    pub fn operation(&self) -> CruiseControlTaskOperation {
        match self {
            Self::AddBrokers(_) => CruiseControlTaskOperation::AddBroker,
            Self::RemoveBrokers(_) => CruiseControlTaskOperation::RemoveBroker,
            Self::RebalanceDisks(_) => CruiseControlTaskOperation::Rebalance,
            Self::RemoveDisks(_) => CruiseControlTaskOperation::RemoveDisks,
        }
    }

    /// The request parameters Cruise Control receives (Koperator's, plus remove_disks').
    pub fn parameters(&self) -> BTreeMap<String, String> {
        let ids = |brokers: &[i32]| brokers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        // Koperator sends both: a broker drained or demoted a moment ago is no destination.
        // remove_disks moves data within a broker and rejects them as unknown parameters.
        let mut parameters: BTreeMap<String, String> = BTreeMap::new();
        if !matches!(self, Self::RemoveDisks(_)) {
            parameters.insert("exclude_recently_demoted_brokers".to_owned(), "true".to_owned());
            parameters.insert("exclude_recently_removed_brokers".to_owned(), "true".to_owned());
        }
        match self {
            Self::AddBrokers(brokers) | Self::RemoveBrokers(brokers) => {
                parameters.insert("brokerid".to_owned(), ids(brokers));
            }
            Self::RebalanceDisks(brokers) => {
                parameters.insert("destination_broker_ids".to_owned(), ids(brokers));
                parameters.insert("rebalance_disk".to_owned(), "true".to_owned());
            }
            Self::RemoveDisks(mount_paths) => {
                let pairs: Vec<String> = mount_paths
                    .iter()
                    .flat_map(|(id, paths)| paths.iter().map(move |path| format!("{id}-{}", log_dir(path))))
                    .collect();
                parameters.insert("brokerid_and_logdirs".to_owned(), pairs.join(","));
            }
        }
        parameters
    }

    /// What the name's seed and the status messages call it, e.g. `add_broker brokerid=3,4`.
    pub fn describe(&self) -> String {
        let key = match self {
            Self::AddBrokers(_) | Self::RemoveBrokers(_) => "brokerid",
            Self::RebalanceDisks(_) => "destination_broker_ids",
            Self::RemoveDisks(_) => "brokerid_and_logdirs",
        };
        let value = self.parameters().remove(key).unwrap_or_default();
        format!("{} {key}={value}", self.operation().endpoint())
    }
}

/// Koperator's generateName: `<cluster>-addbroker-`, `<cluster>-removebroker-`...
pub fn generate_name(cluster: &ValidatedCluster, operation: CruiseControlTaskOperation) -> String {
    format!("{}-{}-", cluster.name, operation.endpoint().replace('_', ""))
}

/// The operation object, named `name` (see [`generate_name`]), without its status.
pub fn cruise_control_operation(cluster: &ValidatedCluster, name: String) -> CruiseControlOperation {
    let ttl = cluster
        .spec
        .cruise_control_config
        .cruise_control_operation_spec
        .as_ref()
        .and_then(|settings| settings.ttl_seconds_after_finished);
    CruiseControlOperation {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(cluster.namespace.clone()),
            labels: Some(cluster_labels(cluster)),
            owner_references: Some(vec![owner_reference(cluster)]),
            ..Default::default()
        },
        spec: CruiseControlOperationSpec { error_policy: Some(ErrorPolicy::Retry), ttl_seconds_after_finished: ttl },
        status: None,
    }
}

/// `status.currentTask` of a new operation: what to run, not started yet.
pub fn current_task(request: &OperationRequest) -> CruiseControlTask {
    CruiseControlTask { operation: request.operation(), parameters: request.parameters(), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::kraft_combined;
    use crate::model::validate;
    use crd_types::kafka_cluster::CruiseControlOperationSettings;

    #[test]
    fn shaped_like_koperator() {
        let mut source = kraft_combined();
        source.spec.cruise_control_config.cruise_control_operation_spec =
            Some(CruiseControlOperationSettings { ttl_seconds_after_finished: Some(300) });
        let cluster = validate(&source).expect("valid");
        assert_eq!(generate_name(&cluster, CruiseControlTaskOperation::AddBroker), "kafka-addbroker-");
        let operation = cruise_control_operation(&cluster, "kafka-addbroker-x7k2p".into());
        let labels = operation.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("kafka_cr").map(String::as_str), Some("kafka"));
        let owner = &operation.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("KafkaCluster", Some(true)));
        assert_eq!(operation.spec.ttl_seconds_after_finished, Some(300));
        assert_eq!(operation.spec.error_policy, Some(ErrorPolicy::Retry));
    }

    #[test]
    fn parameters_per_operation() {
        let add = current_task(&OperationRequest::AddBrokers(vec![3, 4]));
        assert_eq!(add.operation, CruiseControlTaskOperation::AddBroker);
        assert_eq!(add.parameters["brokerid"], "3,4");
        assert_eq!(add.parameters["exclude_recently_removed_brokers"], "true");
        let disks = OperationRequest::RebalanceDisks(vec![1]).parameters();
        assert_eq!((disks["rebalance_disk"].as_str(), disks["destination_broker_ids"].as_str()), ("true", "1"));
        let removal =
            OperationRequest::RemoveDisks([(1, vec!["/kafka-logs2".to_owned()]), (2, vec!["/x/".to_owned()])].into());
        assert_eq!(
            removal.parameters(),
            BTreeMap::from([("brokerid_and_logdirs".to_owned(), "1-/kafka-logs2/kafka,2-/x/kafka".to_owned())])
        );
        assert_eq!(OperationRequest::RemoveBrokers(vec![1]).describe(), "remove_broker brokerid=1");
    }
}
