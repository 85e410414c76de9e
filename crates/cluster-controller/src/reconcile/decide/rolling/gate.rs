//! Pure: which node a rolling restart takes down next, or why none may go now. The caller
//! gathers pod states, Kafka's replica health and the active controller, and carries out the
//! answer.
//!
//! The rules, in order:
//! 1. A node that is down already (its pod not ready) and runs an old configuration is
//!    replaced at once, unless a node the roll replaced is still coming up: restarting it costs
//!    nothing, and the new configuration may be what it needs to come up.
//! 2. Otherwise every node must be up, no Cruise Control operation may be moving data, Kafka
//!    must answer, every broker must be registered, a node restarted earlier in the roll must be
//!    back in every ISR, every KRaft controller must be a voter (leader or follower) that holds
//!    everything the quorum committed, and offline partitions + brokers with out-of-sync replicas +
//!    `rollingupgrade` alerts must stay below `failureThreshold`.
//! 3. Then one node goes: KRaft controllers first, the active controller last of them (each
//!    controller change of leadership costs an election), then the other nodes by id.
//!
//! With `concurrentBrokerRestartCountPerRack` above 1 and racks known, rule 2 makes room for a
//! rack batch: while the only nodes down are brokers (not controllers) of one rack that the roll
//! restarted, fewer than that count, another outdated broker of the same rack may go. The
//! restarting brokers of the rack then do not count against `failureThreshold` or the
//! registration and ISR gates, but no partition of the candidate may have another replica on a
//! restarting or out-of-sync broker: every partition loses at most one replica, as in a roll
//! of one node at a time. (Koperator asks Cruise Control whether `RackAwareDistributionGoal`
//! holds; the replicas themselves say it more exactly, and without Cruise Control.)

use std::collections::BTreeSet;
use std::fmt;

use kafka_admin::ReplicaHealth;

use std::collections::BTreeMap;

use crate::reconcile::decide::brokers::Outdated;
use crate::reconcile::decide::facts::{RaftView, Unavailable};

/// One node as the roll sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollNode {
    pub id: i32,
    pub is_controller: bool,
    pub is_broker: bool,
    /// The live (not terminating) pod, if any.
    pub pod: Option<String>,
    pub ready: bool,
    /// Why the live pod is not the desired one; None when it is.
    pub outdated: Option<Outdated>,
    /// Claims the new pod needs that are not seen or not bound yet: the node waits for them.
    pub storage_pending: Vec<String>,
    /// Its `broker.rack` under `rackAwareness`; None without.
    pub rack: Option<String>,
}

/// What the roll does now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollStep {
    /// Every node with a pod runs the desired configuration.
    Done,
    /// Delete this pod; its replacement is created with the desired configuration.
    Restart { id: i32, pod: String, why: RestartReason },
    /// The roll is held, naming the node and the gate.
    Wait(RollWait),
}

/// Why a node is restarted now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestartReason {
    /// It is down already: replacing it takes nothing away.
    AlreadyDown,
    /// Its pod is not the desired one and Kafka is healthy enough.
    Outdated {
        because: Outdated,
        problems: usize,
        threshold: i32,
        controller: ControllerOrder,
        /// Set when it joins brokers of its rack that are restarting.
        batch: Option<RackBatch>,
    },
}

/// Brokers of one rack restarting together (`concurrentBrokerRestartCountPerRack`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RackBatch {
    pub rack: String,
    /// The rack's brokers that are down now, restarted by the roll.
    pub restarting: Vec<i32>,
    /// `concurrentBrokerRestartCountPerRack`.
    pub limit: usize,
}

/// Where a restarted controller stands in the order controllers go in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerOrder {
    /// Not a KRaft controller.
    NotController,
    /// The active controller, restarted last of the controllers.
    Active,
    /// Another controller goes first; this one is not active.
    ActiveIs(i32),
    /// No controller says it is active, so controllers go by id.
    ActiveUnknown,
}

/// Which gate holds the roll. `next` is the node the roll would take next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollWait {
    StoragePending {
        next: i32,
        claims: Vec<String>,
    },
    /// Node names this pass writes records for (see `node_names`) that are not served yet.
    NamesPending {
        next: i32,
        names: Vec<String>,
    },
    NodeNotReady {
        next: i32,
        node: i32,
        pod: Option<String>,
    },
    CruiseControlBusy {
        next: i32,
        moving: String,
    },
    HealthUnknown {
        next: i32,
        error: Option<Unavailable>,
    },
    NotRegistered {
        next: i32,
        broker: i32,
    },
    NotInSync {
        next: i32,
        broker: i32,
        partitions: Vec<String>,
    },
    /// A KRaft controller that is not a voter taking part (its Raft state), or not reachable.
    ControllerNotInQuorum {
        next: i32,
        controller: i32,
        state: Result<String, Unavailable>,
    },
    /// A KRaft controller that has not caught up with the quorum's committed records.
    ControllerBehind {
        next: i32,
        controller: i32,
        records: u64,
    },
    OverThreshold {
        next: i32,
        problems: usize,
        threshold: i32,
        details: Vec<String>,
    },
    /// `next` would join a rack batch, but one of its partitions has another replica on a
    /// broker that is restarting or not in sync: it waits for that broker.
    SharesPartition {
        next: i32,
        partition: String,
        broker: i32,
    },
}

impl RollStep {
    /// The condition reason of a held roll.
    #[cfg(test)]
    pub fn wait_reason(self) -> Option<&'static str> {
        match self {
            Self::Wait(wait) => Some(wait.reason()),
            _ => None,
        }
    }
}

impl RollWait {
    /// The condition reason for this gate.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::StoragePending { .. } => "WaitingForStorage",
            Self::NamesPending { .. } => "WaitingForNodeNames",
            Self::NodeNotReady { .. } => "WaitingForNode",
            Self::CruiseControlBusy { .. } => "WaitingForCruiseControl",
            Self::HealthUnknown { .. } => "KafkaHealthUnknown",
            Self::NotRegistered { .. } => "BrokerNotRegistered",
            Self::NotInSync { .. } => "BrokerNotInSync",
            Self::ControllerNotInQuorum { .. } => "ControllerNotInQuorum",
            Self::ControllerBehind { .. } => "ControllerCatchingUp",
            Self::OverThreshold { .. } => "FailureThresholdReached",
            Self::SharesPartition { .. } => "WaitingForReplica",
        }
    }
}

impl fmt::Display for RollWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StoragePending { next, claims } => write!(
                f,
                "rolling restart of broker {next} waits for its PersistentVolumeClaims {} to exist and be bound",
                claims.join(", ")
            ),
            Self::NamesPending { next, names } => write!(
                f,
                "rolling restart of broker {next} waits until the names {} resolve (nodes of both naming layouts run)",
                names.join(", ")
            ),
            Self::NodeNotReady { next, node, pod } => {
                let what = match pod {
                    Some(pod) => format!("pod {pod} is not ready"),
                    None => "has no running pod".to_owned(),
                };
                write!(
                    f,
                    "rolling restart of broker {next} waits: broker {node} {what}; one node is restarted at a time \
                     (with concurrentBrokerRestartCountPerRack, several brokers of one rack)"
                )
            }
            Self::CruiseControlBusy { next, moving } => {
                write!(f, "rolling restart of broker {next} waits until Cruise Control has moved the data: {moving}")
            }
            Self::HealthUnknown { next, error: Some(error) } => {
                write!(f, "rolling restart of broker {next} waits: Kafka's health cannot be checked: {error}")
            }
            Self::HealthUnknown { next, error: None } => {
                write!(f, "rolling restart of broker {next} waits for Kafka's health")
            }
            Self::NotRegistered { next, broker } => write!(
                f,
                "rolling restart of broker {next} waits: broker {broker} is not registered with Kafka (still \
                 starting, or fenced because it stopped heartbeating)"
            ),
            Self::NotInSync { next, broker, partitions } => write!(
                f,
                "rolling restart of broker {next} waits: broker {broker} is not back in every ISR yet ({})",
                count_and_examples(partitions, "partition")
            ),
            Self::ControllerNotInQuorum { next, controller, state: Ok(state) } => write!(
                f,
                "rolling restart of broker {next} waits: KRaft controller {controller} is {state}, not a voter \
                 taking part in the quorum (leader or follower)"
            ),
            Self::ControllerNotInQuorum { next, controller, state: Err(error) } => write!(
                f,
                "rolling restart of broker {next} waits: KRaft controller {controller}'s Raft state cannot be read: \
                 {error}"
            ),
            Self::ControllerBehind { next, controller, records } => write!(
                f,
                "rolling restart of broker {next} waits: KRaft controller {controller} has not caught up with the \
                 quorum ({records} committed records behind)"
            ),
            Self::OverThreshold { next, problems, threshold, details } => write!(
                f,
                "rolling restart of broker {next} waits: {} against failureThreshold {threshold}: {}",
                plural(*problems, "problem"),
                details.join("; ")
            ),
            Self::SharesPartition { next, partition, broker } => write!(
                f,
                "rolling restart of broker {next} waits: partition {partition} also has a replica on broker {broker}, \
                 which is restarting or not in sync; the two restart one after the other, not together"
            ),
        }
    }
}

impl fmt::Display for RestartReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyDown => write!(f, "it is not ready, so replacing it takes nothing away"),
            Self::Outdated { because, problems, threshold, controller, batch } => {
                write!(
                    f,
                    "{because}; Kafka is healthy ({} against failureThreshold {threshold})",
                    plural(*problems, "problem")
                )?;
                if let Some(RackBatch { rack, restarting, limit }) = batch {
                    let ids: Vec<String> = restarting.iter().map(ToString::to_string).collect();
                    write!(
                        f,
                        "; together with {} {} of rack {rack} (concurrentBrokerRestartCountPerRack {limit}), no \
                         partition having replicas on both",
                        if ids.len() == 1 { "broker" } else { "brokers" },
                        ids.join(", ")
                    )?;
                }
                match controller {
                    ControllerOrder::NotController => Ok(()),
                    ControllerOrder::Active => write!(f, "; it is the active controller, restarted last"),
                    ControllerOrder::ActiveIs(active) => write!(f, "; the active controller is {active}"),
                    ControllerOrder::ActiveUnknown => {
                        write!(f, "; the active controller is not known, so controllers go by id")
                    }
                }
            }
        }
    }
}

/// What the roll needs from Kafka before it can pick a node; `None` answers mean "not asked".
pub struct Gates<'a> {
    /// Set while Cruise Control adds, drains or rebalances: what graceful scaling waits for.
    pub cruise_control_busy: Option<&'a str>,
    pub health: Option<&'a Result<ReplicaHealth, Unavailable>>,
    /// `spec.rollingUpgradeConfig.failureThreshold`; values below 1 count as 1.
    pub failure_threshold: i32,
    /// Firing alerts labelled `rollingupgrade` (status.rollingUpgradeStatus.errorCount).
    pub alerts: i32,
    /// KRaft controllers' Raft state; None in ZooKeeper mode (or not asked).
    pub controllers: Option<&'a BTreeMap<i32, Result<RaftView, Unavailable>>>,
    /// `concurrentBrokerRestartCountPerRack`, 1 when unset.
    pub per_rack: usize,
}

impl Gates<'_> {
    /// The controller whose metrics say it is active.
    fn active_controller(&self) -> Option<i32> {
        let controllers = self.controllers?;
        controllers.iter().find(|(_, view)| view.as_ref().is_ok_and(|v| v.active)).map(|(id, _)| *id)
    }
}

/// The first controller that is not a voter taking part, or not caught up. A controller that
/// exports no Raft metrics (the user's own JMX exporter rules) is not held against the roll:
/// that would hold it forever.
fn quorum_wait(next: i32, controllers: &BTreeMap<i32, Result<RaftView, Unavailable>>) -> Option<RollWait> {
    controllers.iter().find_map(|(&controller, view)| match view {
        Err(error) => Some(RollWait::ControllerNotInQuorum { next, controller, state: Err(error.clone()) }),
        Ok(view) => match (view.in_quorum(), view.behind()) {
            (Some(false), _) => Some(RollWait::ControllerNotInQuorum {
                next,
                controller,
                state: Ok(view.state.clone().expect("in_quorum is Some only with a state")),
            }),
            // Offsets are whole numbers exported as floats.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (_, Some(records)) if records >= 1.0 => {
                Some(RollWait::ControllerBehind { next, controller, records: records as u64 })
            }
            _ => None,
        },
    })
}

/// Nodes whose pod must be replaced, in the order the roll takes them.
pub fn outdated(nodes: &[RollNode]) -> Vec<&RollNode> {
    let mut outdated: Vec<&RollNode> = nodes.iter().filter(|n| n.outdated.is_some() && n.pod.is_some()).collect();
    outdated.sort_by_key(|n| (!n.is_controller, n.id));
    outdated
}

/// Outdated nodes whose new pod could start now: their claims exist and are bound.
fn replaceable(nodes: &[RollNode]) -> Vec<&RollNode> {
    outdated(nodes).into_iter().filter(|n| n.storage_pending.is_empty()).collect()
}

/// The rack batch `next` may join: every node down is a broker (not a controller) the roll
/// restarted, all of one rack, fewer than `per_rack`, and an outdated ready broker of that rack
/// is left to go. None when nothing is down or no batch can form.
fn rack_batch(nodes: &[RollNode], per_rack: usize) -> Option<(RackBatch, &RollNode)> {
    let down: Vec<&RollNode> = nodes.iter().filter(|n| !n.ready).collect();
    let rack = down.first()?.rack.as_deref()?;
    let joinable = |n: &RollNode| !n.is_controller && n.rack.as_deref() == Some(rack);
    if per_rack < 2 || down.len() >= per_rack || !down.iter().all(|n| joinable(n) && n.outdated.is_none()) {
        return None;
    }
    let candidate = replaceable(nodes).into_iter().find(|n| n.ready && joinable(n))?;
    let restarting = down.iter().map(|n| n.id).collect();
    Some((RackBatch { rack: rack.to_owned(), restarting, limit: per_rack }, candidate))
}

/// Step 1 and the checks that need no Kafka request: `None` means "ask Kafka, then [`decide`]".
pub fn before_kafka(nodes: &[RollNode], cruise_control_busy: Option<&str>, per_rack: usize) -> Option<RollStep> {
    let all_outdated = outdated(nodes);
    let Some(waiting) = all_outdated.first() else { return Some(RollStep::Done) };
    let outdated = replaceable(nodes);
    let Some(first) = outdated.first() else {
        return Some(RollStep::Wait(RollWait::StoragePending {
            next: waiting.id,
            claims: waiting.storage_pending.clone(),
        }));
    };
    // Only while no node the roll already replaced is still coming up: two nodes down at
    // once would be the roll's doing.
    let replaced_node_starting = nodes.iter().any(|n| !n.ready && n.outdated.is_none());
    if let Some(down) = outdated.iter().find(|n| !n.ready).filter(|_| !replaced_node_starting) {
        let pod = down.pod.clone().expect("outdated nodes have a pod");
        return Some(RollStep::Restart { id: down.id, pod, why: RestartReason::AlreadyDown });
    }
    if let Some(not_ready) = nodes.iter().find(|n| !n.ready).filter(|_| rack_batch(nodes, per_rack).is_none()) {
        return Some(RollStep::Wait(RollWait::NodeNotReady {
            next: first.id,
            node: not_ready.id,
            pod: not_ready.pod.clone(),
        }));
    }
    if let Some(moving) = cruise_control_busy {
        return Some(RollStep::Wait(RollWait::CruiseControlBusy { next: first.id, moving: moving.to_owned() }));
    }
    None
}

/// Steps 2 and 3, once Kafka's health (and the active controller) is known.
pub fn decide(nodes: &[RollNode], gates: &Gates<'_>) -> RollStep {
    if let Some(step) = before_kafka(nodes, gates.cruise_control_busy, gates.per_rack) {
        return step;
    }
    let outdated = replaceable(nodes);
    let Some(first) = outdated.first() else { return RollStep::Done };
    let batch = rack_batch(nodes, gates.per_rack);
    let next = batch.as_ref().map_or(first.id, |(_, candidate)| candidate.id);
    // The rack's restarting brokers are the batch's own doing, not a problem to wait for.
    let restarting: BTreeSet<i32> = batch.iter().flat_map(|(batch, _)| batch.restarting.iter().copied()).collect();
    let health = match gates.health {
        Some(Ok(health)) => health,
        Some(Err(error)) => return RollStep::Wait(RollWait::HealthUnknown { next, error: Some(error.clone()) }),
        None => return RollStep::Wait(RollWait::HealthUnknown { next, error: None }),
    };
    if let Some(missing) =
        nodes.iter().find(|n| n.is_broker && !health.broker_ids.contains(&n.id) && !restarting.contains(&n.id))
    {
        return RollStep::Wait(RollWait::NotRegistered { next, broker: missing.id });
    }
    let restarted: BTreeSet<i32> =
        nodes.iter().filter(|n| n.outdated.is_none() && !restarting.contains(&n.id)).map(|n| n.id).collect();
    if let Some((id, partitions)) = health.out_of_sync.iter().find(|(id, _)| restarted.contains(id)) {
        return RollStep::Wait(RollWait::NotInSync { next, broker: *id, partitions: partitions.clone() });
    }
    if let Some(wait) = gates.controllers.and_then(|controllers| quorum_wait(next, controllers)) {
        return RollStep::Wait(wait);
    }
    let (problems, details) = problems(health, gates.alerts, &restarting);
    let threshold = gates.failure_threshold.max(1);
    if problems >= usize::try_from(threshold).expect("threshold is at least 1") {
        return RollStep::Wait(RollWait::OverThreshold { next, problems, threshold, details });
    }
    if let Some((batch, candidate)) = batch {
        if let Some(wait) = shared_partition(candidate.id, &restarting, health) {
            return RollStep::Wait(wait);
        }
        let because = candidate.outdated.expect("candidates are outdated");
        let controller = ControllerOrder::NotController;
        let why = RestartReason::Outdated { because, problems, threshold, controller, batch: Some(batch) };
        let pod = candidate.pod.clone().expect("outdated nodes have a pod");
        return RollStep::Restart { id: candidate.id, pod, why };
    }
    // The active controller goes last of the controllers, before the other nodes.
    let active_controller = gates.active_controller();
    let is_active = |n: &RollNode| n.is_controller && Some(n.id) == active_controller;
    let chosen = outdated.iter().min_by_key(|n| (!n.is_controller, is_active(n), n.id)).unwrap_or(first);
    let controller = match active_controller {
        _ if !chosen.is_controller => ControllerOrder::NotController,
        Some(active) if active == chosen.id => ControllerOrder::Active,
        Some(active) => ControllerOrder::ActiveIs(active),
        None => ControllerOrder::ActiveUnknown,
    };
    let because = chosen.outdated.expect("chosen among the outdated nodes");
    let why = RestartReason::Outdated { because, problems, threshold, controller, batch: None };
    RollStep::Restart { id: chosen.id, pod: chosen.pod.clone().expect("outdated nodes have a pod"), why }
}

/// A partition of `candidate` with another replica on a restarting or out-of-sync broker.
fn shared_partition(candidate: i32, restarting: &BTreeSet<i32>, health: &ReplicaHealth) -> Option<RollWait> {
    let out_of_sync = |broker: i32, partition: &String| {
        health.out_of_sync.get(&broker).is_some_and(|partitions| partitions.contains(partition))
    };
    health.replica_sets.iter().filter(|(_, replicas)| replicas.contains(&candidate)).find_map(
        |(partition, replicas)| {
            let broker = replicas
                .iter()
                .copied()
                .find(|&b| b != candidate && (restarting.contains(&b) || out_of_sync(b, partition)))?;
            Some(RollWait::SharesPartition { next: candidate, partition: partition.clone(), broker })
        },
    )
}

/// What counts against `failureThreshold`: each offline partition, each broker hosting
/// out-of-sync replicas (but those of a rack batch, `restarting`), each firing alert. Returns
/// the count and one sentence per kind.
fn problems(health: &ReplicaHealth, alerts: i32, restarting: &BTreeSet<i32>) -> (usize, Vec<String>) {
    let alerts = usize::try_from(alerts).unwrap_or(0);
    let out_of_sync: Vec<(&i32, &Vec<String>)> =
        health.out_of_sync.iter().filter(|(id, _)| !restarting.contains(id)).collect();
    let count = health.offline_partitions.len() + out_of_sync.len() + alerts;
    let mut sentences = Vec::new();
    if !health.offline_partitions.is_empty() {
        sentences.push(format!("{} offline", count_and_examples(&health.offline_partitions, "partition")));
    }
    for (id, partitions) in out_of_sync {
        sentences.push(format!("broker {id}: {} under-replicated", count_and_examples(partitions, "partition")));
    }
    if alerts > 0 {
        sentences.push(format!("{} labelled rollingupgrade firing", plural(alerts, "alert")));
    }
    (count, sentences)
}

fn count_and_examples(items: &[String], noun: &str) -> String {
    const SHOWN: usize = 3;
    let examples: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
    let more = if items.len() > SHOWN { ", …" } else { "" };
    format!("{} ({}{more})", plural(items.len(), noun), examples.join(", "))
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
