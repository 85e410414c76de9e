use std::collections::BTreeMap;

use kafka_admin::ReplicaHealth;

use super::*;
use crate::reconcile::decide::facts::RaftView;

fn node(id: i32, outdated: bool, ready: bool) -> RollNode {
    RollNode {
        id,
        is_controller: true,
        is_broker: true,
        pod: Some(format!("kafka-{id}-abc")),
        ready,
        outdated: outdated.then_some(Outdated::Changed),
        storage_pending: Vec::new(),
        rack: None,
    }
}

fn healthy() -> Result<ReplicaHealth, Unavailable> {
    Ok(ReplicaHealth { broker_ids: vec![0, 1, 2], ..Default::default() })
}

fn gates(health: &Result<ReplicaHealth, Unavailable>) -> Gates<'_> {
    Gates {
        cruise_control_busy: None,
        health: Some(health),
        failure_threshold: 1,
        alerts: 0,
        controllers: None,
        per_rack: 1,
    }
}

fn waits(step: RollStep) -> String {
    match step {
        RollStep::Wait(reason) => reason.to_string(),
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn restarts(step: RollStep) -> i32 {
    match step {
        RollStep::Restart { id, .. } => id,
        other => panic!("expected a restart, got {other:?}"),
    }
}

#[test]
fn nothing_outdated_is_done_without_asking_kafka() {
    let nodes = [node(0, false, true), node(1, false, false)];
    assert_eq!(before_kafka(&nodes, None, 1), Some(RollStep::Done));
}

#[test]
fn a_down_outdated_node_is_replaced_at_once() {
    let nodes = [node(0, true, true), node(1, true, false)];
    assert_eq!(before_kafka(&nodes, Some("op"), 1).map(restarts), Some(1));
}

#[test]
fn a_down_outdated_node_waits_while_a_replaced_node_is_starting() {
    let nodes = [node(0, false, false), node(1, true, false)];
    let reason = waits(decide(&nodes, &gates(&healthy())));
    assert!(reason.contains("broker 0"), "{reason}");
}

#[test]
fn another_node_not_ready_holds_the_roll_and_is_named() {
    let nodes = [node(0, true, true), node(1, false, false)];
    let reason = waits(decide(&nodes, &gates(&healthy())));
    assert!(reason.contains("broker 1") && reason.contains("not ready"), "{reason}");
}

#[test]
fn a_running_cruise_control_operation_holds_the_roll() {
    let nodes = [node(0, true, true)];
    let health = healthy();
    let reason = waits(decide(&nodes, &Gates { cruise_control_busy: Some("kafka-addbroker-x"), ..gates(&health) }));
    assert!(reason.contains("kafka-addbroker-x"), "{reason}");
}

#[test]
fn under_replicated_partitions_hold_the_roll_and_are_counted() {
    let nodes = [node(0, true, true), node(1, true, true), node(2, true, true)];
    let health = Ok(ReplicaHealth {
        broker_ids: vec![0, 1, 2],
        offline_partitions: Vec::new(),
        out_of_sync: BTreeMap::from([(2, vec!["orders-0".into(), "orders-1".into(), "orders-2".into()])]),
        ..Default::default()
    });
    let reason = waits(decide(&nodes, &gates(&health)));
    assert!(reason.contains("broker 2: 3 partitions (orders-0, orders-1, orders-2) under-replicated"), "{reason}");
    assert!(reason.contains("1 problem against failureThreshold 1"), "{reason}");
    // A higher threshold tolerates it.
    assert_eq!(restarts(decide(&nodes, &Gates { failure_threshold: 2, ..gates(&health) })), 0);
}

#[test]
fn alerts_count_against_the_threshold() {
    let nodes = [node(0, true, true)];
    let health = healthy();
    let reason = waits(decide(&nodes, &Gates { alerts: 2, failure_threshold: 2, ..gates(&health) }));
    assert!(reason.contains("2 alerts labelled rollingupgrade firing"), "{reason}");
}

#[test]
fn a_restarted_node_must_be_back_in_every_isr_whatever_the_threshold() {
    let nodes = [node(0, false, true), node(1, true, true)];
    let health = Ok(ReplicaHealth {
        broker_ids: vec![0, 1],
        offline_partitions: Vec::new(),
        out_of_sync: BTreeMap::from([(0, vec!["orders-0".into()])]),
        ..Default::default()
    });
    let reason = waits(decide(&nodes, &Gates { failure_threshold: 5, ..gates(&health) }));
    assert!(reason.contains("broker 0 is not back in every ISR"), "{reason}");
}

#[test]
fn an_unregistered_broker_holds_the_roll() {
    let nodes = [node(0, true, true), node(3, false, true)];
    let reason = waits(decide(&nodes, &gates(&healthy())));
    assert!(reason.contains("broker 3 is not registered"), "{reason}");
}

#[test]
fn unreachable_kafka_holds_the_roll_with_the_error() {
    let nodes = [node(0, true, true)];
    let health = Err(Unavailable("connection refused".to_owned()));
    assert!(waits(decide(&nodes, &gates(&health))).contains("connection refused"));
}

#[test]
fn controllers_go_first_and_the_active_controller_last_of_them() {
    let broker = |id| RollNode { is_controller: false, ..node(id, true, true) };
    let controller = |id, outdated| RollNode { is_broker: false, ..node(id, outdated, true) };
    let nodes = [broker(0), controller(3, true), controller(4, true), controller(5, true)];
    let health = Ok(ReplicaHealth { broker_ids: vec![0], ..Default::default() });
    let quorum = |active: i32| quorum(&[3, 4, 5], active);
    let active_3 = quorum(3);
    let with_active = |controllers| Gates { controllers: Some(controllers), ..gates(&health) };
    assert_eq!(restarts(decide(&nodes, &with_active(&active_3))), 4);
    assert_eq!(restarts(decide(&nodes[..2], &with_active(&active_3))), 3);
    let after_controllers = [broker(0), controller(3, false), controller(4, false), controller(5, false)];
    assert_eq!(restarts(decide(&after_controllers, &with_active(&active_3))), 0);
}

fn with_quorum<'a>(
    health: &'a Result<ReplicaHealth, Unavailable>,
    controllers: &'a BTreeMap<i32, Result<RaftView, Unavailable>>,
) -> Gates<'a> {
    Gates { controllers: Some(controllers), ..gates(health) }
}

/// Controllers `ids`, `active` the leader, the others caught-up followers.
fn quorum(ids: &[i32], active: i32) -> BTreeMap<i32, Result<RaftView, Unavailable>> {
    ids.iter()
        .map(|&id| {
            let view = RaftView {
                active: id == active,
                state: Some(if id == active { "leader" } else { "follower" }.to_owned()),
                high_watermark: Some(100.0),
                log_end_offset: Some(100.0),
            };
            (id, Ok(view))
        })
        .collect()
}

#[test]
fn a_controller_out_of_the_quorum_or_behind_holds_the_roll_and_is_named() {
    let controller = |id, outdated| RollNode { is_broker: false, ..node(id, outdated, true) };
    let nodes = [controller(3, true), controller(4, false), controller(5, true)];
    let health = Ok(ReplicaHealth::default());
    let mut controllers = quorum(&[3, 4, 5], 3);
    // Restarted controller 4 is back, but only as an unattached node.
    controllers.insert(4, Ok(RaftView { state: Some("unattached".into()), ..Default::default() }));
    let step = decide(&nodes, &with_quorum(&health, &controllers));
    assert!(matches!(step, RollStep::Wait(RollWait::ControllerNotInQuorum { controller: 4, .. })), "{step:?}");
    assert!(waits(step).contains("KRaft controller 4 is unattached"));
    // A follower again, but 40 committed records behind.
    let behind = RaftView {
        state: Some("follower".into()),
        high_watermark: Some(140.0),
        log_end_offset: Some(100.0),
        ..Default::default()
    };
    controllers.insert(4, Ok(behind));
    let step = decide(&nodes, &with_quorum(&health, &controllers));
    assert_eq!(step.clone().wait_reason(), Some("ControllerCatchingUp"));
    assert!(waits(step).contains("controller 4 has not caught up with the quorum (40 committed records behind)"));
    // Caught up: the roll goes on, with the other outdated follower before the active one.
    controllers.insert(
        4,
        Ok(RaftView {
            state: Some("follower".into()),
            high_watermark: Some(140.0),
            log_end_offset: Some(140.0),
            ..Default::default()
        }),
    );
    assert_eq!(restarts(decide(&nodes, &with_quorum(&health, &controllers))), 5);
    // Metrics that do not answer hold the roll; metrics without Raft series (the user's own
    // rules) do not.
    controllers.insert(4, Err(Unavailable("connection refused".into())));
    assert!(waits(decide(&nodes, &with_quorum(&health, &controllers))).contains("cannot be read: connection refused"));
    controllers.insert(4, Ok(RaftView::default()));
    assert_eq!(restarts(decide(&nodes, &with_quorum(&health, &controllers))), 5);
}

#[test]
fn a_node_whose_new_claims_are_not_bound_keeps_its_pod() {
    let pending = RollNode { storage_pending: vec!["kafka-0-storage-1-x".into()], ..node(0, true, true) };
    let reason = waits(decide(&[pending.clone(), node(1, false, true)], &gates(&healthy())));
    assert!(reason.contains("kafka-0-storage-1-x"), "{reason}");
    // Others still go.
    assert_eq!(restarts(decide(&[pending, node(1, true, true)], &gates(&healthy()))), 1);
}

/// A broker-only node in `rack`.
fn broker_in(id: i32, rack: &str, outdated: bool, ready: bool) -> RollNode {
    RollNode { is_controller: false, rack: Some(rack.to_owned()), ..node(id, outdated, ready) }
}

/// Six brokers over three racks, two each: 0 and 3 in a, 1 and 4 in b, 2 and 5 in c.
fn six_brokers(down: &[i32], replaced: &[i32]) -> Vec<RollNode> {
    (0..6)
        .map(|id| {
            let rack = ["a", "b", "c"][usize::try_from(id % 3).expect("small")];
            broker_in(id, rack, !replaced.contains(&id) && !down.contains(&id), !down.contains(&id))
        })
        .collect()
}

/// Rack-aware placement: each partition has one replica per rack.
fn rack_aware_health(out_of_sync: &[i32]) -> Result<ReplicaHealth, Unavailable> {
    let replica_sets = BTreeMap::from([
        ("orders-0".to_owned(), vec![0, 1, 2]),
        ("orders-1".to_owned(), vec![3, 4, 5]),
        ("orders-2".to_owned(), vec![3, 1, 5]),
    ]);
    let out_of_sync = out_of_sync
        .iter()
        .map(|id| {
            let partitions = replica_sets.iter().filter(|(_, r)| r.contains(id)).map(|(p, _)| p.clone()).collect();
            (*id, partitions)
        })
        .collect();
    Ok(ReplicaHealth { broker_ids: (0..6).collect(), out_of_sync, replica_sets, ..Default::default() })
}

#[test]
fn with_a_per_rack_count_a_second_broker_of_the_restarting_rack_goes_too() {
    // Broker 0 (rack a) is restarting: out of every ISR, not even registered.
    let nodes = six_brokers(&[0], &[]);
    let mut health = rack_aware_health(&[0]);
    health.as_mut().expect("health").broker_ids.retain(|id| *id != 0);
    let step = decide(&nodes, &Gates { per_rack: 2, ..gates(&health) });
    let RollStep::Restart { id, why, .. } = step else { panic!("expected a restart, got {step:?}") };
    assert_eq!(id, 3, "the other broker of rack a");
    let text = why.to_string();
    assert!(text.contains("together with broker 0 of rack a (concurrentBrokerRestartCountPerRack 2)"), "{text}");
    // One at a time (the default), the same state holds the roll and names broker 0.
    let one = waits(decide(&nodes, &gates(&health)));
    assert!(one.contains("broker 0 pod kafka-0-abc is not ready"), "{one}");
}

#[test]
fn a_rack_batch_never_exceeds_the_count_nor_spans_two_racks() {
    let health = rack_aware_health(&[0, 3]);
    let full = six_brokers(&[0, 3], &[]);
    let mut three_per_rack = full.clone();
    three_per_rack.push(broker_in(6, "a", true, true));
    let reason = waits(decide(&three_per_rack, &Gates { per_rack: 2, ..gates(&health) }));
    assert!(reason.contains("not ready"), "two of rack a are down: {reason}");
    // Rack a's batch is done (0 and 3 replaced) but they are still down: rack b waits.
    let reason = waits(decide(&full, &Gates { per_rack: 3, ..gates(&health) }));
    assert!(reason.contains("rolling restart of broker 1 waits: broker 0"), "{reason}");
    // Back up but not in sync: the next rack still waits for them.
    let back = six_brokers(&[], &[0, 3]);
    let reason = waits(decide(&back, &Gates { per_rack: 2, ..gates(&health) }));
    assert!(reason.contains("broker 0 is not back in every ISR"), "{reason}");
}

#[test]
fn controllers_are_never_part_of_a_rack_batch() {
    let mut nodes = six_brokers(&[0], &[]);
    nodes[0].is_controller = true;
    let health = rack_aware_health(&[0]);
    let reason = waits(decide(&nodes, &Gates { per_rack: 2, ..gates(&health) }));
    assert!(reason.contains("broker 0 pod kafka-0-abc is not ready"), "{reason}");
}

#[test]
fn a_broker_sharing_a_partition_with_a_restarting_one_waits_for_it() {
    // Not rack-aware placement: orders-9 has replicas on 0 and 3, both of rack a.
    let nodes = six_brokers(&[0], &[]);
    let mut health = rack_aware_health(&[0]);
    health.as_mut().expect("health").replica_sets.insert("orders-9".to_owned(), vec![0, 3, 1]);
    let step = decide(&nodes, &Gates { per_rack: 2, ..gates(&health) });
    assert_eq!(step.clone().wait_reason(), Some("WaitingForReplica"));
    let reason = waits(step);
    assert!(reason.contains("partition orders-9 also has a replica on broker 0"), "{reason}");
}

#[test]
fn problems_outside_the_restarting_rack_still_count() {
    let nodes = six_brokers(&[0], &[]);
    let health = rack_aware_health(&[0, 4]);
    let step = decide(&nodes, &Gates { per_rack: 2, ..gates(&health) });
    assert_eq!(step.clone().wait_reason(), Some("FailureThresholdReached"));
    assert!(waits(step).contains("broker 4"));
    let offline = {
        let mut health = rack_aware_health(&[0]);
        health.as_mut().expect("health").offline_partitions.push("orders-7".to_owned());
        health
    };
    assert_eq!(
        decide(&nodes, &Gates { per_rack: 2, ..gates(&offline) }).wait_reason(),
        Some("FailureThresholdReached")
    );
}
