//! Pure: whether the PodDisruptionBudgets (`disruptionBudget.create`) let a drain evict a node
//! now. A budget counts ready pods only, so on its own it lets `kubectl drain` evict the next
//! broker as soon as the last one's pod is ready, before it is back in the ISRs, and while
//! Cruise Control moves data. The operator closes its budgets (`minAvailable` = every pod they
//! select) while the gates of its own roll would hold a restart, and opens them (the spec's
//! allowance) once they pass; `kubectl drain` retries a refused eviction every few seconds, so
//! each node leaves only while Kafka is healthy. (Strimzi's Drain Cleaner reaches the same end
//! with an eviction webhook that hands each eviction to its operator's roll.)

use std::collections::BTreeMap;
use std::fmt;

use kafka_admin::ReplicaHealth;

use super::gate::RollNode;
use crate::reconcile::decide::facts::{RaftView, Unavailable};

/// Whether the budgets admit an eviction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BudgetGate {
    /// Kafka is healthy: the budgets allow what the spec allows.
    Open,
    /// Evictions are refused until this clears.
    Closed(Hold),
}

/// Why evictions are held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    NodeDown { node: i32, pod: Option<String> },
    CruiseControlBusy(String),
    HealthUnknown(Option<Unavailable>),
    NotRegistered(i32),
    OutOfSync { broker: i32, partitions: usize },
    Offline(usize),
    ControllerNotInQuorum { controller: i32, state: Result<String, Unavailable> },
    ControllerBehind { controller: i32, records: u64 },
    Alerts(i32),
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NodeDown { node, pod: Some(pod) } => write!(f, "broker {node}'s pod {pod} is not ready"),
            Self::NodeDown { node, pod: None } => write!(f, "broker {node} has no running pod"),
            Self::CruiseControlBusy(moving) => write!(f, "Cruise Control is moving data: {moving}"),
            Self::HealthUnknown(Some(error)) => write!(f, "Kafka's health cannot be checked: {error}"),
            Self::HealthUnknown(None) => write!(f, "Kafka's health is not known yet"),
            Self::NotRegistered(broker) => write!(f, "broker {broker} is not registered with Kafka"),
            Self::OutOfSync { broker, partitions } => {
                write!(f, "broker {broker} is out of the ISR of {partitions} partition(s)")
            }
            Self::Offline(partitions) => write!(f, "{partitions} partition(s) have no leader"),
            Self::ControllerNotInQuorum { controller, state: Ok(state) } => {
                write!(f, "KRaft controller {controller} is {state}, not a voter taking part in the quorum")
            }
            Self::ControllerNotInQuorum { controller, state: Err(error) } => {
                write!(f, "KRaft controller {controller}'s Raft state cannot be read: {error}")
            }
            Self::ControllerBehind { controller, records } => {
                write!(f, "KRaft controller {controller} is {records} committed records behind the quorum")
            }
            Self::Alerts(count) => write!(f, "{count} alert(s) labelled rollingupgrade are firing"),
        }
    }
}

/// The holds that need no Kafka request; `None`: ask Kafka, then [`with_kafka`].
pub fn before_kafka(nodes: &[RollNode], cruise_control_busy: Option<&str>) -> Option<Hold> {
    if let Some(down) = nodes.iter().find(|n| !n.ready) {
        return Some(Hold::NodeDown { node: down.id, pod: down.pod.clone() });
    }
    cruise_control_busy.map(|moving| Hold::CruiseControlBusy(moving.to_owned()))
}

/// The gate, from Kafka's replicas and the controllers' Raft state. Stricter than the roll's
/// `failureThreshold`: any broker out of an ISR holds evictions, since the next node to go may
/// hold that partition's last in-sync replicas.
pub fn with_kafka(
    nodes: &[RollNode],
    health: Option<&Result<ReplicaHealth, Unavailable>>,
    controllers: Option<&BTreeMap<i32, Result<RaftView, Unavailable>>>,
    alerts: i32,
) -> BudgetGate {
    let closed = |hold| BudgetGate::Closed(hold);
    let health = match health {
        Some(Ok(health)) => health,
        Some(Err(error)) => return closed(Hold::HealthUnknown(Some(error.clone()))),
        None => return closed(Hold::HealthUnknown(None)),
    };
    if let Some(missing) = nodes.iter().find(|n| n.is_broker && !health.broker_ids.contains(&n.id)) {
        return closed(Hold::NotRegistered(missing.id));
    }
    if let Some((broker, partitions)) = health.out_of_sync.iter().next() {
        return closed(Hold::OutOfSync { broker: *broker, partitions: partitions.len() });
    }
    if !health.offline_partitions.is_empty() {
        return closed(Hold::Offline(health.offline_partitions.len()));
    }
    for (&controller, view) in controllers.into_iter().flatten() {
        match view {
            Err(error) => return closed(Hold::ControllerNotInQuorum { controller, state: Err(error.clone()) }),
            Ok(view) => match (view.in_quorum(), view.behind()) {
                (Some(false), _) => {
                    let state = view.state.clone().unwrap_or_default();
                    return closed(Hold::ControllerNotInQuorum { controller, state: Ok(state) });
                }
                // Offsets are whole numbers exported as floats.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                (_, Some(records)) if records >= 1.0 => {
                    return closed(Hold::ControllerBehind { controller, records: records as u64 });
                }
                _ => {}
            },
        }
    }
    if alerts > 0 {
        return closed(Hold::Alerts(alerts));
    }
    BudgetGate::Open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::decide::brokers::Outdated;

    fn node(id: i32, ready: bool) -> RollNode {
        RollNode {
            id,
            is_controller: false,
            is_broker: true,
            pod: Some(format!("kafka-{id}-abc")),
            ready,
            outdated: None::<Outdated>,
            storage_pending: Vec::new(),
            rack: None,
        }
    }

    fn healthy() -> Result<ReplicaHealth, Unavailable> {
        Ok(ReplicaHealth { broker_ids: vec![0, 1, 2], ..Default::default() })
    }

    #[test]
    fn a_node_down_or_cruise_control_moving_data_holds_evictions_without_asking_kafka() {
        let nodes = [node(0, true), node(1, false), node(2, true)];
        let hold = before_kafka(&nodes, None).expect("held");
        assert_eq!(hold.to_string(), "broker 1's pod kafka-1-abc is not ready");
        let all_up = [node(0, true), node(1, true), node(2, true)];
        assert_eq!(
            before_kafka(&all_up, Some("kafka-rebalance-x")),
            Some(Hold::CruiseControlBusy("kafka-rebalance-x".into()))
        );
        assert_eq!(before_kafka(&all_up, None), None);
    }

    #[test]
    fn evictions_open_only_with_every_replica_in_sync() {
        let nodes = [node(0, true), node(1, true), node(2, true)];
        assert_eq!(with_kafka(&nodes, Some(&healthy()), None, 0), BudgetGate::Open);
        let mut lagging = healthy();
        lagging.as_mut().expect("health").out_of_sync.insert(2, vec!["orders-0".into()]);
        let gate = with_kafka(&nodes, Some(&lagging), None, 0);
        assert_eq!(gate, BudgetGate::Closed(Hold::OutOfSync { broker: 2, partitions: 1 }));
        assert_eq!(with_kafka(&nodes, None, None, 0), BudgetGate::Closed(Hold::HealthUnknown(None)));
        assert_eq!(with_kafka(&nodes, Some(&healthy()), None, 1), BudgetGate::Closed(Hold::Alerts(1)));
        let unregistered = Ok(ReplicaHealth { broker_ids: vec![0, 1], ..Default::default() });
        assert_eq!(with_kafka(&nodes, Some(&unregistered), None, 0), BudgetGate::Closed(Hold::NotRegistered(2)));
    }
}
