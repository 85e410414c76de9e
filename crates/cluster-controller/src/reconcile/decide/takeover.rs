//! Pure: what of a cluster another operator made (Koperator, before a takeover) and how the
//! status and events report it. Nothing here writes or removes anything:
//! - pods another operator made are replaced by the health-gated rolling restart (`rolling`),
//!   one node at a time; until none is left the `TakingOver` condition says which still run;
//! - objects labelled for the cluster that this operator would not make, and did not make, are
//!   named in the `ForeignObjects` condition and an event, and left as they are: running
//!   brokers may depend on them, and only the user knows whether they are still needed.
//!   (Objects of the same names as ours are replaced by ours: see `drift::ApplyReason::Foreign`.)

use std::collections::BTreeSet;

use kube::ResourceExt;

use crd_types::kafka_cluster::KafkaClusterStatus;

use crate::build;
use crate::model::{CruiseControlPlan, ValidatedCluster};
use crate::reconcile::observe::ObservedCluster;

use super::brokers::{BrokerPhase, BrokerProgress};
use super::cluster_objects::{Wanted, applied_by_us};
use super::plan::Notice;

/// Condition: pods another operator made still run; False once the takeover completed.
pub const TAKING_OVER: &str = "TakingOver";
/// Condition, present while objects of the cluster exist that this operator would not make.
pub const FOREIGN_OBJECTS: &str = "ForeignObjects";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TakeoverReport {
    /// (node id, pod) of the running pods another operator made.
    pub foreign_pods: Vec<(i32, String)>,
    /// `<Kind> <name>` of the objects labelled for the cluster that nobody here wants.
    pub foreign_objects: Vec<String>,
}

impl TakeoverReport {
    pub fn taking_over_message(&self) -> String {
        let pods: Vec<String> = self.foreign_pods.iter().map(|(id, pod)| format!("broker {id} (pod {pod})")).collect();
        format!(
            "taking over a cluster another operator made: {} still run as it made them; the rolling restart \
             replaces them with the operator's own, one node at a time while Kafka is healthy",
            pods.join(", ")
        )
    }

    pub fn foreign_objects_message(&self) -> String {
        format!(
            "objects labelled kafka_cr for this cluster that the operator does not make and leaves as they are: {}; \
             delete them once nothing uses them",
            self.foreign_objects.join(", ")
        )
    }
}

/// What another operator left of the cluster, and the events worth publishing about it this
/// pass (a takeover starting or completing, a changed list of foreign objects).
pub fn report(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    brokers: &[BrokerProgress],
    wanted: &Wanted,
    previous: Option<&KafkaClusterStatus>,
    notices: &mut Vec<Notice>,
) -> TakeoverReport {
    let foreign_pods = brokers
        .iter()
        .filter(|b| b.made_elsewhere)
        .filter_map(|b| match &b.phase {
            BrokerPhase::Ready { pod } | BrokerPhase::Starting { pod, .. } => Some((b.id, pod.clone())),
            BrokerPhase::WaitingForStorage { .. }
            | BrokerPhase::WaitingForCertificate { .. }
            | BrokerPhase::WaitingForExternalAccess { .. }
            | BrokerPhase::WaitingForRack { .. }
            | BrokerPhase::WaitingForOldPod { .. } => None,
        })
        .collect();
    let report = TakeoverReport { foreign_pods, foreign_objects: foreign_objects(cluster, observed, wanted) };

    let previously = |type_: &str| previous?.conditions.iter().find(|c| c.type_ == type_);
    let was_taking_over = previously(TAKING_OVER).is_some_and(|c| c.status == "True");
    match (was_taking_over, report.foreign_pods.is_empty()) {
        (false, false) => {
            notices.push(Notice::normal("TakeoverStarted", "TakeOver", report.taking_over_message()));
        }
        (true, true) => notices.push(Notice::normal(
            "TakeoverCompleted",
            "TakeOver",
            "every node runs a pod of this operator; the takeover is complete".to_owned(),
        )),
        _ => {}
    }
    let previous_foreign = previously(FOREIGN_OBJECTS).map(|c| c.message.clone());
    if !report.foreign_objects.is_empty() && previous_foreign.as_ref() != Some(&report.foreign_objects_message()) {
        notices.push(Notice::warning("ForeignObjects", "TakeOver", report.foreign_objects_message()));
    }
    report
}

/// Objects of the cluster (in the caches: labelled `kafka_cr`) that this pass does not want,
/// that are not a broker's (graceful scaling's), and that this operator did not make.
fn foreign_objects(cluster: &ValidatedCluster, observed: &ObservedCluster, wanted: &Wanted) -> Vec<String> {
    // Cruise Control's objects are wanted unless another Cruise Control is named; a spec that
    // cannot run it yet leaves what runs alone.
    let (cruise_control_config_maps, cruise_control_deployment) = match cluster.cruise_control.plan {
        CruiseControlPlan::External { .. } => (BTreeSet::new(), None),
        CruiseControlPlan::Deploy(_) | CruiseControlPlan::Blocked { .. } => (
            BTreeSet::from([
                build::cruise_control_config_map_name(cluster),
                build::cruise_control_jmx_config_map_name(cluster),
            ]),
            Some(build::cruise_control_deployment_name(cluster)),
        ),
    };
    let mut found = Vec::new();
    for (name, service) in &observed.services {
        if foreign(service.as_ref(), wanted.services.contains(name)) {
            found.push(format!("Service {name}"));
        }
    }
    for (name, config_map) in &observed.config_maps {
        let is_wanted = wanted.config_maps.contains(name) || cruise_control_config_maps.contains(name);
        if foreign(config_map.as_ref(), is_wanted) {
            found.push(format!("ConfigMap {name}"));
        }
    }
    for (name, pdb) in &observed.pod_disruption_budgets {
        if foreign(pdb.as_ref(), wanted.pod_disruption_budgets.contains(name)) {
            found.push(format!("PodDisruptionBudget {name}"));
        }
    }
    for (name, deployment) in &observed.deployments {
        if foreign(deployment.as_ref(), cruise_control_deployment.as_ref() == Some(name)) {
            found.push(format!("Deployment {name}"));
        }
    }
    found
}

/// Not wanted, not a broker's (graceful scaling keeps or removes those), not applied by this
/// operator (it carries the desired-hash annotation).
fn foreign<K: ResourceExt>(object: &K, wanted: bool) -> bool {
    !wanted && !object.labels().contains_key(crd_types::labels::BROKER_ID) && !applied_by_us(object)
}
