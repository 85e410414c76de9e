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
    }
}

fn healthy() -> Result<ReplicaHealth, Unavailable> {
    Ok(ReplicaHealth { broker_ids: vec![0, 1, 2], ..Default::default() })
}

fn gates(health: &Result<ReplicaHealth, Unavailable>) -> Gates<'_> {
    Gates { cruise_control_busy: None, health: Some(health), failure_threshold: 1, alerts: 0, controllers: None }
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
    assert_eq!(before_kafka(&nodes, None), Some(RollStep::Done));
}

#[test]
fn a_down_outdated_node_is_replaced_at_once() {
    let nodes = [node(0, true, true), node(1, true, false)];
    assert_eq!(before_kafka(&nodes, Some("op")).map(restarts), Some(1));
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
