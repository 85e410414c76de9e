//! Pure: each broker's rack (`spec.rackAwareness.labels`), decided once, before its pod first
//! starts, so Kafka starts with `broker.rack` and never restarts to learn it.
//!
//! Koperator reads the labels of the node a broker's pod landed on, writes `broker.rack` into
//! the KafkaCluster and restarts the broker; a pod rescheduled into another zone keeps the old
//! value. Here the rack is chosen first (the least used of the racks the nodes offer), the pod
//! is required to run on a node of that rack (node affinity on the same labels), and the choice
//! is recorded in `status.brokersState.<id>.rackAwarenessState`, so the rack the broker reports
//! is always the one its node is in — which is also where its zonal volumes are.
//!
//! In order: a broker whose pod runs on a node is in that node's rack (which the pod is pinned
//! to, unless it was made before rack awareness was switched on, or by Koperator); a broker
//! without one keeps the rack the status recorded; any other broker gets the rack with the
//! fewest brokers (ties by name). Only nodes with every label offer a
//! rack; while none does, a new broker waits, and the status says which labels are missing.
//! KRaft controller-only nodes serve no partitions and get no rack.

use std::collections::BTreeMap;

use crd_types::KafkaClusterStatus;

pub use crate::build::Rack;
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

/// The racks of the cluster's brokers, and why some have none yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Racks {
    pub by_broker: BTreeMap<i32, Rack>,
    /// Brokers that wait for a rack, and why (one sentence each).
    pub waiting: BTreeMap<i32, String>,
}

/// Each broker-role node's rack; empty without `rackAwareness`.
pub fn decide(cluster: &ValidatedCluster, observed: &ObservedCluster, previous: Option<&KafkaClusterStatus>) -> Racks {
    let mut racks = Racks::default();
    let Some(labels) = cluster.spec.rack_awareness.as_ref().map(|r| &r.labels).filter(|l| !l.is_empty()) else {
        return racks;
    };
    let rack_of_node = |node: &str| rack_of(labels, observed.nodes.get(node)?);
    let offered: Vec<Rack> = {
        let mut offered: Vec<Rack> = observed.nodes.values().filter_map(|node| rack_of(labels, node)).collect();
        offered.sort();
        offered.dedup();
        offered
    };
    let brokers: Vec<i32> = cluster.brokers.iter().filter(|b| b.is_broker()).map(|b| b.id).collect();

    // What is already decided: where a running pod is, or what the status recorded.
    let mut undecided = Vec::new();
    for &id in &brokers {
        let running = observed.pods.get(&id).into_iter().flatten().filter(|p| p.metadata.deletion_timestamp.is_none());
        let node = running.filter_map(|pod| pod.spec.as_ref()?.node_name.clone()).next();
        let recorded = || {
            let state = previous?.brokers_state.get(&id.to_string())?.rack_awareness_state.as_deref()?;
            recorded_rack(state, labels, &offered)
        };
        match node.and_then(|node| rack_of_node(&node)).or_else(recorded) {
            Some(rack) => {
                racks.by_broker.insert(id, rack);
            }
            None => undecided.push(id),
        }
    }

    // The rest: the least used rack, one broker at a time.
    for id in undecided {
        let least_used = offered.iter().min_by_key(|rack| racks.by_broker.values().filter(|r| r == rack).count());
        match least_used {
            Some(rack) => {
                racks.by_broker.insert(id, rack.clone());
            }
            None => {
                racks.waiting.insert(
                    id,
                    format!(
                        "spec.rackAwareness.labels: no node has every one of the labels {labels:?}, so broker {id} \
                         has no rack to run in; label the nodes, or name labels they have"
                    ),
                );
            }
        }
    }
    racks
}

/// The node's rack, if it has every label.
fn rack_of(labels: &[String], node_labels: &BTreeMap<String, String>) -> Option<Rack> {
    let values = labels.iter().map(|label| Some((label.clone(), node_labels.get(label)?.clone())));
    Some(Rack { labels: values.collect::<Option<Vec<_>>>()? })
}

/// The rack a recorded state names: one the nodes offer, or with a single label its value (a
/// rack whose nodes are all gone for now).
fn recorded_rack(state: &str, labels: &[String], offered: &[Rack]) -> Option<Rack> {
    let value = Rack::recorded_value(state)?;
    let single = || match labels {
        [label] => Some(Rack { labels: vec![(label.clone(), value.to_owned())] }),
        _ => None,
    };
    offered.iter().find(|rack| rack.broker_rack() == value).cloned().or_else(single)
}
