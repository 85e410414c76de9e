use std::collections::BTreeMap;
use std::time::Duration;

use crd_types::CruiseControlOperationStatus;
use crd_types::cruise_control_operation::{
    CruiseControlTask, CruiseControlTaskOperation as Op, CruiseControlUserTaskState as State, ErrorPolicy,
};
use cruise_control_client::UserTaskStatus;
use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::decision::Wait;
use crate::model::{FINALIZER, Observed, Pacing};
use crate::queue::{backoff, priority};
use crate::task_state::timestamp;

const NOW: i64 = 10_000;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("valid timestamp")
}

fn operation(name: &str, kind: Op, created: i64) -> OperationView {
    let task = CruiseControlTask {
        operation: kind,
        parameters: BTreeMap::from([("brokerid".into(), "3".into())]),
        ..CruiseControlTask::default()
    };
    OperationView {
        name: name.into(),
        uid: format!("uid-{name}"),
        created: Some(at(created)),
        generation: Some(1),
        deleting: false,
        finalizers: Vec::new(),
        paused: false,
        error_policy: ErrorPolicy::Retry,
        ttl_after_finished: None,
        trace_parent: None,
        status: CruiseControlOperationStatus { current_task: Some(task.clone()), ..Default::default() },
        task,
    }
}

fn with_task(mut op: OperationView, id: &str, state: State, finished: Option<i64>) -> OperationView {
    op.task.id = Some(id.into());
    op.task.state = Some(state);
    op.task.started = Some(timestamp(at(NOW - 100)));
    op.task.finished = finished.map(|second| timestamp(at(second)));
    op.task.http_response_code = Some(200);
    op.status.current_task = Some(op.task.clone());
    op.finalizers = vec![FINALIZER.into()];
    op
}

fn idle() -> Observed {
    Observed { executor_idle: true, busy_with: "nothing".into(), ..Observed::default() }
}

fn seen(observed: Observed) -> CruiseControlView {
    CruiseControlView::Seen(observed)
}

fn found() -> ClusterView {
    ClusterView::Found { task_time_limit: None }
}

fn plan_for(operations: &[OperationView], cluster: &ClusterView, cruise_control: &CruiseControlView) -> Plan {
    let pacing = Pacing::default();
    plan(&Inputs { operations, cluster, cruise_control, pacing: &pacing, now: at(NOW) })
}

fn run(operations: &[OperationView], cruise_control: &CruiseControlView) -> Plan {
    plan_for(operations, &found(), cruise_control)
}

fn situation<'a>(plan: &'a Plan, name: &str) -> &'a Situation {
    &plan.operations.get(name).expect("planned").situation
}

#[test]
fn a_pending_operation_starts_on_an_idle_cruise_control_with_the_finalizer_first() {
    let plan = run(&[operation("up", Op::AddBroker, 1)], &seen(idle()));
    assert_eq!(plan.start.as_deref(), Some("up"));
    assert_eq!(plan.add_finalizer, vec!["up".to_owned()]);
    assert_eq!(situation(&plan, "up"), &Situation::Starting);
    assert_eq!(plan.wake_after, Some(Pacing::default().poll_interval));
}

#[test]
fn priority_beats_age_and_age_breaks_ties() {
    let operations = [
        operation("rebalance", Op::Rebalance, 1),
        operation("remove-disks", Op::RemoveDisks, 2),
        operation("down-new", Op::RemoveBroker, 5),
        operation("down-old", Op::RemoveBroker, 4),
        operation("up", Op::AddBroker, 9),
    ];
    let plan = run(&operations, &seen(idle()));
    assert_eq!(plan.start.as_deref(), Some("up"));
    let order = |ops: &[OperationView]| {
        let mut ops = ops.to_vec();
        let mut order = Vec::new();
        while let Some(name) = run(&ops, &seen(idle())).start {
            order.push(name.clone());
            ops.retain(|op| op.name != name);
        }
        order
    };
    assert_eq!(order(&operations), vec!["up", "down-old", "down-new", "remove-disks", "rebalance"]);
    assert!(
        matches!(situation(&plan, "rebalance"), Situation::Waiting(Wait::HigherPriority { operation }) if operation.starts_with("up "))
    );
}

#[test]
fn nothing_starts_while_cruise_control_is_busy_unreachable_or_not_ready() {
    let ops = [operation("up", Op::AddBroker, 1)];
    let busy =
        Observed { executor_idle: false, busy_with: "user task x (LEADER_MOVEMENT_TASK_IN_PROGRESS)".into(), ..idle() };
    let plan = run(&ops, &seen(busy));
    assert_eq!(plan.start, None);
    assert!(
        matches!(situation(&plan, "up"), Situation::Waiting(Wait::CruiseControlBusy(b)) if b.contains("user task x"))
    );

    let plan = run(&ops, &CruiseControlView::Unreachable("connection refused".into()));
    assert!(matches!(situation(&plan, "up"), Situation::Waiting(Wait::CruiseControlUnreachable(_))));
    assert_eq!(plan.wake_after, Some(Pacing::default().poll_interval));

    let not_ready = Observed { not_ready: Some("its load monitor is LOADING".into()), ..idle() };
    let plan = run(&ops, &seen(not_ready));
    assert!(matches!(situation(&plan, "up"), Situation::Waiting(Wait::CruiseControlNotReady(_))));
}

#[test]
fn one_execution_at_a_time_per_cluster() {
    let executing = with_task(operation("down", Op::RemoveBroker, 1), "t1", State::InExecution, None);
    let mut observed = idle();
    observed.tasks.insert("t1".into(), UserTaskStatus::Active);
    let plan = run(&[executing, operation("up", Op::AddBroker, 2)], &seen(observed));
    assert_eq!(plan.start, None, "Cruise Control is idle, but our own task still computes its proposal");
    assert!(matches!(situation(&plan, "up"), Situation::Waiting(Wait::OwnTaskRunning { task, .. }) if task == "t1"));
    assert_eq!(situation(&plan, "down"), &Situation::Running);
}

#[test]
fn finished_tasks_are_recorded_and_let_go_of() {
    let running = with_task(operation("up", Op::AddBroker, 1), "t1", State::InExecution, None);
    let mut observed = idle();
    observed.tasks.insert("t1".into(), UserTaskStatus::Completed);
    let plan = run(&[running], &seen(observed));
    assert_eq!(situation(&plan, "up"), &Situation::Completed);
    assert_eq!(plan.release_finalizer, vec!["up".to_owned()]);
    assert_eq!(plan.operations["up"].task.finished.as_deref(), Some(timestamp(at(NOW)).as_str()));
}

#[test]
fn a_failed_task_is_retried_after_its_back_off() {
    let mut failed = with_task(operation("up", Op::AddBroker, 1), "t1", State::CompletedWithError, Some(NOW - 30));
    failed.status.retry_count = 1;
    // 20 s doubled once: 40 s after the failure.
    let plan = run(std::slice::from_ref(&failed), &seen(idle()));
    assert_eq!(plan.start, None);
    assert_eq!(situation(&plan, "up"), &Situation::Waiting(Wait::BackingOff { until: at(NOW + 10) }));
    assert_eq!(plan.release_finalizer, vec!["up".to_owned()], "nothing runs while it backs off");
    assert_eq!(plan.wake_after, Some(Duration::from_secs(10)));

    failed.task.finished = Some(timestamp(at(NOW - 40)));
    failed.finalizers.clear();
    let plan = run(&[failed], &seen(idle()));
    assert_eq!((plan.start.as_deref(), plan.add_finalizer), (Some("up"), vec!["up".to_owned()]));
}

#[test]
fn back_off_doubles_up_to_the_cap() {
    let pacing = Pacing::default();
    let delays: Vec<u64> = (0..6).map(|retries| backoff(&pacing, retries).as_secs()).collect();
    assert_eq!(delays, vec![20, 40, 80, 160, 300, 300]);
    assert_eq!(backoff(&pacing, i32::MAX), pacing.max_backoff);
}

#[test]
fn ignore_counts_a_failure_as_finished() {
    let mut failed = with_task(operation("up", Op::AddBroker, 1), "t1", State::CompletedWithError, Some(NOW - 1));
    failed.error_policy = ErrorPolicy::Ignore;
    let plan = run(&[failed, operation("down", Op::RemoveBroker, 2)], &seen(idle()));
    assert_eq!(situation(&plan, "up"), &Situation::FailedIgnored);
    assert_eq!(plan.start.as_deref(), Some("down"), "a finished operation does not hold the queue");
}

#[test]
fn paused_operations_neither_start_nor_hold_the_queue() {
    let mut paused = operation("up", Op::AddBroker, 1);
    paused.paused = true;
    let mut failed = with_task(operation("down", Op::RemoveBroker, 2), "t1", State::CompletedWithError, Some(0));
    failed.paused = true;
    let plan = run(&[paused, failed, operation("rebalance", Op::Rebalance, 3)], &seen(idle()));
    assert_eq!(plan.start.as_deref(), Some("rebalance"));
    assert_eq!(situation(&plan, "up"), &Situation::Waiting(Wait::Paused));
    assert_eq!(situation(&plan, "down"), &Situation::Waiting(Wait::Paused));
}

#[test]
fn a_deleted_executing_operation_is_stopped_before_it_is_let_go() {
    let mut executing = with_task(operation("up", Op::AddBroker, 1), "t1", State::InExecution, None);
    executing.deleting = true;
    let mut observed = Observed { executor_idle: false, triggered_task: Some("t1".into()), ..idle() };
    observed.tasks.insert("t1".into(), UserTaskStatus::InExecution);
    let plan = run(std::slice::from_ref(&executing), &seen(observed.clone()));
    assert_eq!(plan.stop.as_deref(), Some("up"));
    assert!(plan.release_finalizer.is_empty());
    assert!(matches!(situation(&plan, "up"), Situation::Stopping(_)));

    observed.executor_stopping = true;
    assert_eq!(run(std::slice::from_ref(&executing), &seen(observed.clone())).stop, None, "already stopping");

    observed.tasks.insert("t1".into(), UserTaskStatus::CompletedWithError);
    let plan = run(std::slice::from_ref(&executing), &seen(observed));
    assert_eq!((plan.stop, plan.release_finalizer), (None, vec!["up".to_owned()]));

    let plan = run(std::slice::from_ref(&executing), &CruiseControlView::Unreachable("timeout".into()));
    assert!(plan.release_finalizer.is_empty(), "an unreachable Cruise Control may still be executing");
    assert!(matches!(situation(&plan, "up"), Situation::Stopping(m) if m.contains("by hand")));

    let gone = plan_with_cluster(&[executing], ClusterView::Missing("no KafkaCluster".into()));
    assert_eq!(gone.release_finalizer, vec!["up".to_owned()]);
}

fn plan_with_cluster(operations: &[OperationView], cluster: ClusterView) -> Plan {
    plan_for(operations, &cluster, &CruiseControlView::NotAsked)
}

#[test]
fn the_task_time_limit_stops_a_long_execution() {
    let mut executing = with_task(operation("up", Op::AddBroker, 1), "t1", State::InExecution, None);
    executing.task.started = Some(timestamp(at(NOW - 601)));
    let mut observed = Observed { executor_idle: false, triggered_task: Some("t1".into()), ..idle() };
    observed.tasks.insert("t1".into(), UserTaskStatus::InExecution);
    let cluster = ClusterView::Found { task_time_limit: Some(Duration::from_secs(600)) };
    let plan = plan_for(&[executing], &cluster, &seen(observed));
    assert_eq!(plan.stop.as_deref(), Some("up"));
    let message = plan.operations["up"].task.error_message.clone().expect("reason recorded");
    assert!(message.contains("RetryDurationMinutes (10 minutes)"), "{message}");
}

#[test]
fn finished_operations_are_deleted_after_their_ttl() {
    let mut done = with_task(operation("up", Op::AddBroker, 1), "t1", State::Completed, Some(NOW - 50));
    done.finalizers.clear();
    done.ttl_after_finished = Some(Duration::from_secs(60));
    let plan = run(std::slice::from_ref(&done), &CruiseControlView::NotAsked);
    assert_eq!((plan.delete.len(), plan.wake_after), (0, Some(Duration::from_secs(10))));
    done.ttl_after_finished = Some(Duration::ZERO);
    assert_eq!(run(&[done], &CruiseControlView::NotAsked).delete, vec!["up".to_owned()]);
}

#[test]
fn a_missing_cluster_is_said_and_looked_at_again() {
    let plan = plan_with_cluster(
        &[operation("up", Op::AddBroker, 1)],
        ClusterView::Missing("KafkaCluster ns/kafka does not exist".into()),
    );
    assert!(matches!(situation(&plan, "up"), Situation::Waiting(Wait::ClusterMissing(_))));
    assert_eq!(plan.wake_after, Some(Duration::from_secs(30)));
}

#[test]
fn a_stop_request_jumps_the_queue_and_ignores_a_busy_executor() {
    let busy = Observed { executor_idle: false, ..idle() };
    let plan = run(&[operation("up", Op::AddBroker, 1), operation("stop", Op::StopProposalExecution, 2)], &seen(busy));
    assert_eq!(plan.start.as_deref(), Some("stop"));
    assert!(plan.add_finalizer.is_empty(), "a stop request has nothing to stop when deleted");
}

fn arbitrary_operation() -> impl Strategy<Value = OperationView> {
    let kinds = prop_oneof![Just(Op::AddBroker), Just(Op::RemoveBroker), Just(Op::RemoveDisks), Just(Op::Rebalance)];
    let states = prop_oneof![
        Just(None),
        Just(Some(State::Active)),
        Just(Some(State::InExecution)),
        Just(Some(State::Completed)),
        Just(Some(State::CompletedWithError)),
    ];
    (kinds, states, 0..100i64, any::<bool>(), any::<bool>(), any::<bool>(), 0..1000u32).prop_map(
        |(kind, state, created, paused, deleting, ignore, id)| {
            let mut op = operation(&format!("op-{id}-{created}"), kind, created);
            if let Some(state) = state {
                op = with_task(op, &format!("t{id}"), state, Some(0));
            }
            op.paused = paused;
            op.deleting = deleting;
            op.error_policy = if ignore { ErrorPolicy::Ignore } else { ErrorPolicy::Retry };
            op
        },
    )
}

proptest! {
    #[test]
    fn at_most_one_start_never_beside_a_running_task(
        operations in prop::collection::vec(arbitrary_operation(), 0..8),
        idle_executor in any::<bool>(),
    ) {
        let mut operations = operations;
        operations.sort_by(|a, b| a.name.cmp(&b.name));
        operations.dedup_by(|a, b| a.name == b.name);
        let mut observed = Observed { executor_idle: idle_executor, ..idle() };
        for op in &operations {
            if let Some(id) = &op.task.id {
                observed.tasks.insert(id.clone(), UserTaskStatus::InExecution);
            }
        }
        let plan = run(&operations, &seen(observed));
        let running = plan.operations.values().any(|p| task_state::phase(&p.task) == task_state::Phase::Running);
        if let Some(started) = &plan.start {
            let op = operations.iter().find(|op| &op.name == started).expect("started one of them");
            prop_assert!(!op.paused && !op.deleting);
            prop_assert!(!running && idle_executor);
            let queued_before = operations.iter().filter(|other| {
                !other.paused && !other.deleting
                    && matches!(plan.operations[&other.name].situation, Situation::Waiting(_) | Situation::Starting)
                    && (priority(other.task.operation), other.created) < (priority(op.task.operation), op.created)
            }).count();
            prop_assert_eq!(queued_before, 0);
        }
        prop_assert_eq!(plan.operations.len(), operations.len());
    }
}
