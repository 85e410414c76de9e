//! Health-gated rolling restarts: a node whose pod runs an older pod spec or configuration
//! than the desired one gets its pod replaced, one node at a time, only while Kafka is healthy
//! (see [`decide`] for the gates). The replacement pod is created by the broker step of the next
//! pass, with the desired configuration.
//!
//! `concurrentBrokerRestartCountPerRack` above 1 needs rack awareness, which this operator does
//! not implement yet; until then one node restarts at a time.

mod decide;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::events::{Event, EventType};

use crd_types::kafka_cluster::{ClusterState, KafkaClusterStatus};
use kafka_admin::ReplicaHealth;

use crate::model::ValidatedCluster;
use crate::status::{BrokerPhase, BrokerProgress, RollStatus};

use super::kafka_access::KafkaAccess;
use super::writes::{self, Writer};
use decide::{Gates, RollNode, RollStep};

/// What holds a roll besides the pods and Kafka.
pub struct ExternalGates<'a> {
    /// Set while Cruise Control moves data: for which brokers.
    pub cruise_control_busy: Option<&'a str>,
    /// Firing alerts labelled `rollingupgrade`.
    pub rolling_upgrade_alerts: i32,
}

pub async fn reconcile(
    writer: &Writer,
    access: &KafkaAccess,
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    brokers: &[BrokerProgress],
    external: &ExternalGates<'_>,
) -> Result<(RollStatus, Vec<Event>), writes::Error> {
    let cruise_control_busy = external.cruise_control_busy;
    let nodes = roll_nodes(cluster, brokers);
    let step = match decide::before_kafka(&nodes, cruise_control_busy) {
        Some(step) => step,
        None => {
            let health = replica_health(access, cluster).await;
            let outdated_controllers: Vec<i32> =
                decide::outdated(&nodes).iter().filter(|n| n.is_controller).map(|n| n.id).collect();
            let active_controller = if cluster.is_kraft() && !outdated_controllers.is_empty() {
                let controllers: Vec<i32> = nodes.iter().filter(|n| n.is_controller).map(|n| n.id).collect();
                access.active_controller(cluster, &controllers).await
            } else {
                None
            };
            let gates = Gates {
                cruise_control_busy,
                health: Some(&health),
                failure_threshold: cluster.spec.rolling_upgrade_config.failure_threshold,
                alerts: external.rolling_upgrade_alerts,
                active_controller,
            };
            decide::decide(&nodes, &gates)
        }
    };
    let was_rolling = previous.and_then(|p| p.state) == Some(ClusterState::ClusterRollingUpgrading);
    let all_ready = brokers.iter().all(BrokerProgress::is_ready);
    let mut events = Vec::new();
    let status = match step {
        RollStep::Done => RollStatus { in_progress: was_rolling && !all_ready, message: None },
        RollStep::Wait(reason) => RollStatus { in_progress: true, message: Some(reason) },
        RollStep::Restart { id, pod, why } => {
            writer.delete::<Pod>(&cluster.namespace, &pod).await?;
            let note = format!("restarting broker {id} (pod {pod}): {why}");
            events.push(super::event(EventType::Normal, "RollingRestart", "RestartBroker", note.clone()));
            RollStatus { in_progress: true, message: Some(note) }
        }
    };
    Ok((status, events))
}

fn roll_nodes(cluster: &ValidatedCluster, brokers: &[BrokerProgress]) -> Vec<RollNode> {
    cluster
        .brokers
        .iter()
        .filter_map(|model| {
            let progress = brokers.iter().find(|b| b.id == model.id)?;
            let pod = match &progress.phase {
                BrokerPhase::Ready { pod } | BrokerPhase::Starting { pod, .. } => Some(pod.clone()),
                BrokerPhase::WaitingForStorage { .. } | BrokerPhase::WaitingForOldPod { .. } => None,
            };
            Some(RollNode {
                id: model.id,
                is_controller: cluster.is_kraft() && model.is_controller(),
                is_broker: model.is_broker(),
                outdated: pod.is_some() && progress.running_config_hash.is_some() && !progress.in_sync(),
                storage_pending: progress.storage_pending.clone(),
                pod,
                ready: progress.is_ready(),
            })
        })
        .collect()
}

async fn replica_health(access: &KafkaAccess, cluster: &ValidatedCluster) -> Result<ReplicaHealth, String> {
    let admin = access.admin(cluster)?;
    admin.replica_health().await.map_err(|error| operator_runtime::error_chain(&error))
}
