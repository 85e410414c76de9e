use std::collections::BTreeMap;

use crd_types::CruiseControlOperationStatus;
use crd_types::cruise_control_operation::{
    CruiseControlTask, CruiseControlTaskOperation, CruiseControlUserTaskState, ErrorPolicy,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;

fn at(second: i64) -> Time {
    Time(Timestamp::from_second(second).expect("valid timestamp"))
}

fn operation(task: CruiseControlTask, retry_count: i32) -> OperationView {
    let status = CruiseControlOperationStatus { current_task: Some(task.clone()), retry_count, ..Default::default() };
    OperationView {
        name: "kafka-addbroker-x".into(),
        uid: "uid".into(),
        created: None,
        generation: Some(3),
        deleting: false,
        finalizers: Vec::new(),
        paused: false,
        error_policy: ErrorPolicy::Retry,
        ttl_after_finished: None,
        trace_parent: None,
        task,
        status,
    }
}

fn add_broker(state: Option<CruiseControlUserTaskState>) -> CruiseControlTask {
    CruiseControlTask {
        id: state.map(|_| "t1".to_owned()),
        operation: CruiseControlTaskOperation::AddBroker,
        parameters: BTreeMap::from([("brokerid".into(), "3".into())]),
        state,
        ..CruiseControlTask::default()
    }
}

fn condition<'a>(status: &'a CruiseControlOperationStatus, type_: &str) -> &'a Condition {
    status.conditions.iter().find(|c| c.type_ == type_).expect("condition present")
}

#[test]
fn a_completed_task_is_ready_with_its_summary() {
    let mut task = add_broker(Some(CruiseControlUserTaskState::Completed));
    task.summary = BTreeMap::from([
        ("Number of replica movements".into(), "14".into()),
        ("Data to move".into(), "387".into()),
        ("Number of leader movements".into(), "5".into()),
    ]);
    let op = operation(task, 0);
    let status = desired_status(&op, op.status.clone(), &Situation::Completed, &at(10));
    let ready = condition(&status, READY);
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", "Completed"));
    assert_eq!(
        ready.message,
        "user task t1 (add_broker brokerid=3) completed: 14 replica movements (387 MB), 5 leader movements"
    );
    assert_eq!(ready.observed_generation, Some(3));
    assert_eq!(status.error_policy, Some(ErrorPolicy::Retry));
    assert_eq!(condition(&status, DEGRADED).status, "False");
}

#[test]
fn recomputing_an_unchanged_situation_gives_an_identical_status() {
    let op = operation(add_broker(None), 0);
    let waiting = Situation::Waiting(Wait::CruiseControlBusy("user task x (LEADER_MOVEMENT_TASK_IN_PROGRESS)".into()));
    let first = desired_status(&op, op.status.clone(), &waiting, &at(10));
    let second = desired_status(&op, first.clone(), &waiting, &at(99));
    assert_eq!(first, second, "a later pass must not rewrite an unchanged status");
    assert_eq!(condition(&first, READY).reason, "CruiseControlBusy");
}

#[test]
fn a_backing_off_retry_says_why_and_when() {
    let mut task = add_broker(Some(CruiseControlUserTaskState::CompletedWithError));
    task.http_response_code = Some(500);
    task.error_message = Some("Broker 99 does not exist.".into());
    let op = operation(task, 2);
    let until = Timestamp::from_second(1_000).expect("valid");
    let status = desired_status(&op, op.status.clone(), &Situation::Waiting(Wait::BackingOff { until }), &at(10));
    let ready = condition(&status, READY);
    assert_eq!(ready.reason, "BackingOff");
    assert_eq!(
        ready.message,
        "attempt 3 failed: HTTP 500: Broker 99 does not exist.; retrying at 1970-01-01T00:16:40Z"
    );
    let degraded = condition(&status, DEGRADED);
    assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "TaskFailed"));
}

#[test]
fn paused_and_queued_operations_say_what_holds_them() {
    let op = operation(add_broker(None), 0);
    let paused = desired_status(&op, op.status.clone(), &Situation::Waiting(Wait::Paused), &at(10));
    assert!(condition(&paused, READY).message.contains("pause=\"true\""));
    let queued = Situation::Waiting(Wait::HigherPriority { operation: "up (add_broker brokerid=4)".into() });
    let queued = desired_status(&op, op.status.clone(), &queued, &at(10));
    assert!(condition(&queued, READY).message.starts_with("queued behind operation up (add_broker brokerid=4)"));
}

#[test]
fn parameters_the_endpoint_does_not_take_are_named() {
    let mut task = add_broker(None);
    task.operation = CruiseControlTaskOperation::RemoveDisks;
    task.parameters = BTreeMap::from([
        ("brokerid_and_logdirs".into(), "1-/kafka-logs2/kafka".into()),
        ("exclude_recently_removed_brokers".into(), "true".into()),
    ]);
    let op = operation(task, 0);
    let status = desired_status(&op, op.status.clone(), &Situation::Starting, &at(10));
    let message = &condition(&status, READY).message;
    assert!(
        message.ends_with("(left out parameters remove_disks does not take: exclude_recently_removed_brokers)"),
        "{message}"
    );
}
