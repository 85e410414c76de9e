use std::collections::{BTreeMap, HashMap};

use crd_types::CruiseControlOperationStatus;
use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlTaskOperation, CruiseControlUserTaskState};
use cruise_control_client::UserTaskStatus;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::model::{Observed, PollOutcome};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("valid timestamp")
}

fn running(id: &str, code: i32) -> CruiseControlTask {
    CruiseControlTask {
        id: Some(id.into()),
        operation: CruiseControlTaskOperation::AddBroker,
        parameters: BTreeMap::from([("brokerid".into(), "3".into())]),
        state: Some(CruiseControlUserTaskState::Active),
        started: Some(timestamp(at(1_000))),
        http_response_code: Some(code),
        ..CruiseControlTask::default()
    }
}

fn observed(tasks: &[(&str, UserTaskStatus)]) -> Observed {
    Observed {
        executor_idle: false,
        tasks: tasks.iter().map(|(id, status)| ((*id).to_owned(), status.clone())).collect::<HashMap<_, _>>(),
        ..Observed::default()
    }
}

#[test]
fn phases_follow_the_recorded_state() {
    let pending = CruiseControlTask::default();
    assert_eq!(phase(&pending), Phase::Pending);
    assert_eq!(phase(&running("a", 202)), Phase::Running);
    let sent_without_state = CruiseControlTask { id: Some("a".into()), ..CruiseControlTask::default() };
    assert_eq!(phase(&sent_without_state), Phase::Running);
    let failed = CruiseControlTask { state: Some(CruiseControlUserTaskState::CompletedWithError), ..pending.clone() };
    assert_eq!(phase(&failed), Phase::Failed, "an HTTP error answer fails a task that never got an id");
}

#[test]
fn user_task_status_moves_a_running_task() {
    let task = running("a", 200);
    let executing = observe(&task, &observed(&[("a", UserTaskStatus::InExecution)]), at(2_000));
    assert_eq!(executing.state, Some(CruiseControlUserTaskState::InExecution));
    assert_eq!(executing.finished, None);

    let done = observe(&task, &observed(&[("a", UserTaskStatus::Completed)]), at(2_000));
    assert_eq!(done.state, Some(CruiseControlUserTaskState::Completed));
    assert_eq!(done.finished.as_deref(), Some("1970-01-01T00:33:20Z"));

    let failed = observe(&task, &observed(&[("a", UserTaskStatus::CompletedWithError)]), at(2_000));
    assert_eq!(phase(&failed), Phase::Failed);
    assert!(failed.error_message.is_some());
}

#[test]
fn a_task_cruise_control_forgot_failed() {
    let gone = observe(&running("a", 200), &observed(&[]), at(2_000));
    assert_eq!(phase(&gone), Phase::Failed);
    assert!(gone.error_message.as_deref().is_some_and(|m| m.contains("no longer lists user task a")));
}

#[test]
fn a_polled_result_fills_the_summary_and_an_error_fails_the_task() {
    let mut seen = observed(&[("a", UserTaskStatus::InExecution)]);
    seen.polls.insert("a".into(), PollOutcome::Computed(BTreeMap::from([("Data to move".into(), "5".into())])));
    let computed = observe(&running("a", 202), &seen, at(2_000));
    assert_eq!((computed.http_response_code, computed.summary.len()), (Some(200), 1));
    assert_eq!(computed.state, Some(CruiseControlUserTaskState::InExecution));

    seen.polls.insert("a".into(), PollOutcome::Failed { code: Some(500), message: "Broker 99 does not exist.".into() });
    let failed = observe(&running("a", 202), &seen, at(2_000));
    assert_eq!((phase(&failed), failed.http_response_code), (Phase::Failed, Some(500)));
    assert_eq!(failed.error_message.as_deref(), Some("Broker 99 does not exist."));
}

#[test]
fn finished_tasks_are_not_touched_by_observations() {
    let mut task = running("a", 200);
    task.state = Some(CruiseControlUserTaskState::Completed);
    assert_eq!(observe(&task, &observed(&[]), at(2_000)), task);
}

fn status_with(task: CruiseControlTask) -> CruiseControlOperationStatus {
    CruiseControlOperationStatus { current_task: Some(task), ..CruiseControlOperationStatus::default() }
}

#[test]
fn first_attempt_starts_the_task() {
    let pending = CruiseControlTask {
        operation: CruiseControlTaskOperation::AddBroker,
        parameters: BTreeMap::from([("brokerid".into(), "3".into())]),
        ..CruiseControlTask::default()
    };
    let accepted = Submission::Accepted { id: "a".into(), code: 202, summary: BTreeMap::new() };
    let status = after_submission(&status_with(pending), "POST /x".into(), accepted, at(1_000));
    let task = status.current_task.expect("task");
    assert_eq!((task.id.as_deref(), task.state), (Some("a"), Some(CruiseControlUserTaskState::Active)));
    assert_eq!((task.http_request.as_deref(), task.http_response_code), (Some("POST /x"), Some(202)));
    assert_eq!(task.parameters["brokerid"], "3");
    assert_eq!((status.retry_count, status.failed_tasks.len()), (0, 0));
}

#[test]
fn a_retry_moves_the_failed_attempt_to_the_bounded_history() {
    let mut status = status_with(CruiseControlTask::default());
    for attempt in 0..(MAX_FAILED_TASKS + 3) {
        let refused = Submission::Refused { id: None, code: Some(500), message: format!("attempt {attempt}") };
        status = after_submission(&status, "POST /x".into(), refused, at(1_000));
    }
    assert_eq!(status.retry_count, i32::try_from(MAX_FAILED_TASKS + 2).expect("small"));
    assert_eq!(status.failed_tasks.len(), MAX_FAILED_TASKS);
    let oldest = status.failed_tasks[0].error_message.as_deref();
    assert_eq!(oldest, Some("attempt 2"), "the oldest attempts are dropped first");
    let current = status.current_task.expect("task");
    assert_eq!((phase(&current), current.error_message.as_deref()), (Phase::Failed, Some("attempt 12")));
    assert!(current.finished.is_some());
}

#[test]
fn summary_uses_koperators_keys() {
    let result: cruise_control_client::OptimizationResult = serde_json::from_value(serde_json::json!({
        "summary": {"numReplicaMovements": 14, "dataToMoveMB": 387, "numLeaderMovements": 5, "recentWindows": 5}
    }))
    .expect("result");
    let summary = summary(&result);
    assert_eq!(summary["Number of replica movements"], "14");
    assert_eq!(summary["Data to move"], "387");
    assert_eq!(summary["Provision recommendation"], "");
    assert_eq!(summary.len(), 7);
}
