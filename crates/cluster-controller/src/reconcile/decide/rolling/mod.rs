//! Pure: health-gated rolling restarts. A node whose pod runs an older pod spec or
//! configuration than the desired one (or that another operator made, or that is named as
//! before this operator named pods as Koperator) gets its pod replaced, one node at a time,
//! only while Kafka is healthy (see [`gate`] for the gates), or with
//! `concurrentBrokerRestartCountPerRack` several brokers of one rack together. The replacement
//! pod is created by the broker step of the next pass, with the desired configuration.

mod budget;
mod gate;

use crd_types::kafka_cluster::{ClusterState, KafkaClusterStatus};

use crate::model::ValidatedCluster;
use crate::reconcile::decide::brokers::{BrokerPhase, BrokerProgress};
use crate::reconcile::decide::facts::{Facts, Needs};
use crate::reconcile::decide::plan::{Action, Notice, Step};

pub use budget::BudgetGate;
use gate::{Gates, RollNode, RollStep};
pub use gate::{RestartReason, RollWait};

/// The rolling restart's part of the status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RollStatus {
    pub in_progress: bool,
    /// What the roll does or waits for.
    pub report: Option<RollReport>,
    /// Whether the PodDisruptionBudgets admit an eviction; None without budgets.
    pub budget: Option<BudgetGate>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RollReport {
    Restarting { id: i32, pod: String, why: RestartReason },
    Waiting(RollWait),
}

impl std::fmt::Display for RollReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Restarting { id, pod, why } => write!(f, "restarting broker {id} (pod {pod}): {why}"),
            Self::Waiting(wait) => wait.fmt(f),
        }
    }
}

/// What holds a roll besides the pods and Kafka.
pub struct ExternalGates<'a> {
    /// Set while Cruise Control moves data: for which brokers.
    pub cruise_control_busy: Option<&'a str>,
    /// Firing alerts labelled `rollingupgrade`.
    pub rolling_upgrade_alerts: i32,
    /// Node names (`<hostname>.<service>`) whose records this pass writes (see `node_names`):
    /// until they are served, a node restarted now could not reach, or be reached by, a peer.
    pub names_pending: &'a [String],
    /// A dynamic KRaft quorum's voters as last seen: the controllers the roll must keep whole
    /// (a node that is to become a controller is none until it joined); None: every node with
    /// the controller role.
    pub voters: Option<&'a std::collections::BTreeSet<i32>>,
    /// Each broker's `broker.rack` under `rackAwareness` (empty without).
    pub racks: &'a std::collections::BTreeMap<i32, String>,
}

/// The roll's step for this pass (a pod deletion onto `steps`), and its status.
pub fn plan(
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    brokers: &[BrokerProgress],
    external: &ExternalGates<'_>,
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
) -> RollStatus {
    let cruise_control_busy = external.cruise_control_busy;
    let nodes = roll_nodes(cluster, brokers, external.voters, external.racks);
    let per_rack = per_rack(cluster);
    let controller_ids: Vec<i32> = nodes.iter().filter(|n| n.is_controller).map(|n| n.id).collect();
    let budget = budget_gate(cluster, &nodes, external, &controller_ids, known, needs);
    let waiting_for_names =
        gate::outdated(&nodes).first().map(|next| next.id).filter(|_| !external.names_pending.is_empty());
    let before_kafka = match waiting_for_names {
        Some(next) => Some(RollStep::Wait(RollWait::NamesPending { next, names: external.names_pending.to_vec() })),
        None => gate::before_kafka(&nodes, cruise_control_busy, per_rack),
    };
    let step = match before_kafka {
        Some(step) => step,
        None => {
            let health = known.replica_health(needs);
            // Every controller: the quorum must be whole before any node goes, and the active
            // one goes last of the controllers.
            let controllers = if cluster.is_kraft() { known.controllers(controller_ids.clone(), needs) } else { None };
            let gates = Gates {
                cruise_control_busy,
                health,
                failure_threshold: cluster.spec.rolling_upgrade_config.failure_threshold,
                alerts: external.rolling_upgrade_alerts,
                controllers,
                per_rack,
            };
            gate::decide(&nodes, &gates)
        }
    };
    let was_rolling = previous.and_then(|p| p.state) == Some(ClusterState::ClusterRollingUpgrading);
    let all_ready = brokers.iter().all(BrokerProgress::is_ready);
    match step {
        RollStep::Done => RollStatus { in_progress: was_rolling && !all_ready, report: None, budget },
        RollStep::Wait(wait) => RollStatus { in_progress: true, report: Some(RollReport::Waiting(wait)), budget },
        RollStep::Restart { id, pod, why } => {
            let note = format!("restarting broker {id} (pod {pod}): {why}");
            steps.push(Step::noted(
                Action::RestartPod { pod: pod.clone() },
                Notice::normal("RollingRestart", "RestartBroker", note),
            ));
            RollStatus { in_progress: true, report: Some(RollReport::Restarting { id, pod, why }), budget }
        }
    }
}

/// Whether the PodDisruptionBudgets admit an eviction; None without budgets. Asks Kafka only
/// while every node is up and Cruise Control idle.
fn budget_gate(
    cluster: &ValidatedCluster,
    nodes: &[RollNode],
    external: &ExternalGates<'_>,
    controller_ids: &[i32],
    known: &Facts,
    needs: &mut Needs,
) -> Option<BudgetGate> {
    cluster.spec.disruption_budget.as_ref().filter(|b| b.create == Some(true))?;
    if let Some(hold) = budget::before_kafka(nodes, external.cruise_control_busy) {
        return Some(BudgetGate::Closed(hold));
    }
    let controllers = if cluster.is_kraft() { known.controllers(controller_ids.to_vec(), needs) } else { None };
    Some(budget::with_kafka(nodes, known.replica_health(needs), controllers, external.rolling_upgrade_alerts))
}

/// `concurrentBrokerRestartCountPerRack` where racks exist to restart brokers of, else 1.
fn per_rack(cluster: &ValidatedCluster) -> usize {
    let count = cluster.spec.rolling_upgrade_config.concurrent_broker_restart_count_per_rack.unwrap_or(1);
    if cluster.spec.rack_awareness.is_some() { usize::try_from(count).unwrap_or(1).max(1) } else { 1 }
}

fn roll_nodes(
    cluster: &ValidatedCluster,
    brokers: &[BrokerProgress],
    voters: Option<&std::collections::BTreeSet<i32>>,
    racks: &std::collections::BTreeMap<i32, String>,
) -> Vec<RollNode> {
    cluster
        .brokers
        .iter()
        .filter_map(|model| {
            let progress = brokers.iter().find(|b| b.id == model.id)?;
            let pod = match &progress.phase {
                BrokerPhase::Ready { pod } | BrokerPhase::Starting { pod, .. } => Some(pod.clone()),
                BrokerPhase::WaitingForStorage { .. }
                | BrokerPhase::WaitingForCertificate { .. }
                | BrokerPhase::WaitingForExternalAccess { .. }
                | BrokerPhase::WaitingForRack { .. }
                | BrokerPhase::WaitingForOldPod { .. } => None,
            };
            Some(RollNode {
                id: model.id,
                is_controller: cluster.is_kraft()
                    && model.is_controller()
                    && voters.is_none_or(|voters| voters.contains(&model.id)),
                // Registered as a broker only once a pod with the role runs.
                is_broker: model.is_broker() && !progress.runs_without_broker_role,
                outdated: pod.as_ref().and(progress.outdated()),
                storage_pending: progress.storage_pending.clone(),
                rack: racks.get(&model.id).cloned(),
                pod,
                ready: progress.is_ready(),
            })
        })
        .collect()
}
