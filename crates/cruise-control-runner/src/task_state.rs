//! How an operation's `status.currentTask` moves (pure): where a task stands, what Cruise
//! Control's answers change in it, and what a new attempt does to the status.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use crd_types::CruiseControlOperationStatus;
use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlUserTaskState};
use cruise_control_client::{OptimizationResult, UserTaskStatus};

use crate::model::{Observed, PollOutcome};

/// Failed attempts kept in `status.failedTasks`, oldest dropped first.
pub const MAX_FAILED_TASKS: usize = 10;

/// Where a task stands, from its recorded state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Never sent (no id, no state).
    Pending,
    /// Sent; Cruise Control computes (Active) or executes (InExecution) its proposal.
    Running,
    Completed,
    /// CompletedWithError, or refused when sent. Never counts as success.
    Failed,
}

pub fn phase(task: &CruiseControlTask) -> Phase {
    match task.state {
        None if task.id.is_none() => Phase::Pending,
        None | Some(CruiseControlUserTaskState::Active | CruiseControlUserTaskState::InExecution) => Phase::Running,
        Some(CruiseControlUserTaskState::Completed) => Phase::Completed,
        Some(CruiseControlUserTaskState::CompletedWithError) => Phase::Failed,
    }
}

/// Status timestamps are RFC 3339 with whole seconds, like Kubernetes' own.
pub fn timestamp(now: Timestamp) -> String {
    Timestamp::from_second(now.as_second()).unwrap_or(now).to_string()
}

pub fn parse_timestamp(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(|text| text.parse().ok())
}

/// Folds this pass's answers about a running task into it: a re-sent request's result or
/// error, then the user task's status. A task Cruise Control no longer lists failed: it was
/// restarted, or forgot the task (`max.cached.completed.user.tasks`), and nobody can say
/// whether it completed.
pub fn observe(task: &CruiseControlTask, observed: &Observed, now: Timestamp) -> CruiseControlTask {
    let mut task = task.clone();
    let Some(id) = task.id.clone() else { return task };
    if phase(&task) != Phase::Running {
        return task;
    }
    match observed.polls.get(&id) {
        Some(PollOutcome::Computed(summary)) => {
            task.summary = summary.clone();
            task.http_response_code = Some(200);
        }
        Some(PollOutcome::Failed { code, message }) => {
            task.http_response_code = *code;
            return finish(task, CruiseControlUserTaskState::CompletedWithError, Some(message.clone()), now);
        }
        Some(PollOutcome::Computing) | None => {}
    }
    match observed.tasks.get(&id) {
        Some(UserTaskStatus::Active) => task.state = Some(CruiseControlUserTaskState::Active),
        Some(UserTaskStatus::InExecution) => task.state = Some(CruiseControlUserTaskState::InExecution),
        Some(UserTaskStatus::Completed) => return finish(task, CruiseControlUserTaskState::Completed, None, now),
        Some(UserTaskStatus::CompletedWithError) => {
            let message = task
                .error_message
                .clone()
                .unwrap_or_else(|| "Cruise Control reported the user task CompletedWithError".to_owned());
            return finish(task, CruiseControlUserTaskState::CompletedWithError, Some(message), now);
        }
        // A status this runner does not know: keep what was recorded and look again.
        Some(UserTaskStatus::Other(_)) => {}
        None => {
            let message = format!(
                "Cruise Control no longer lists user task {id}: it restarted, or dropped the task from its \
                 cache (max.cached.completed.user.tasks); whether the task completed is unknown"
            );
            return finish(task, CruiseControlUserTaskState::CompletedWithError, Some(message), now);
        }
    }
    task
}

fn finish(
    mut task: CruiseControlTask,
    state: CruiseControlUserTaskState,
    error: Option<String>,
    now: Timestamp,
) -> CruiseControlTask {
    task.state = Some(state);
    task.finished.get_or_insert_with(|| timestamp(now));
    if error.is_some() {
        task.error_message = error;
    }
    task
}

/// How Cruise Control answered a request that starts (or is) a task.
#[derive(Clone, Debug, PartialEq)]
pub enum Submission {
    /// 200 (execution started, `summary` set) or 202 (proposal being computed).
    Accepted { id: String, code: i32, summary: BTreeMap<String, String> },
    /// Done on the spot (`stop_proposal_execution`).
    Done { id: Option<String>, code: i32 },
    /// An error answer, or no answer at all (`code` is `None`).
    Refused { id: Option<String>, code: Option<i32>, message: String },
}

/// The status after a new attempt: a failed previous attempt moves to `failedTasks` (bounded)
/// and counts as a retry, as in Koperator; the new task starts from the same operation and
/// parameters.
pub fn after_submission(
    status: &CruiseControlOperationStatus,
    request_line: String,
    submission: Submission,
    now: Timestamp,
) -> CruiseControlOperationStatus {
    let mut status = status.clone();
    let previous = status.current_task.take().unwrap_or_default();
    if phase(&previous) == Phase::Failed {
        status.failed_tasks.push(previous.clone());
        let excess = status.failed_tasks.len().saturating_sub(MAX_FAILED_TASKS);
        status.failed_tasks.drain(..excess);
        status.retry_count += 1;
    }
    let mut task = CruiseControlTask {
        operation: previous.operation,
        parameters: previous.parameters,
        started: Some(timestamp(now)),
        http_request: Some(request_line),
        ..CruiseControlTask::default()
    };
    match submission {
        Submission::Accepted { id, code, summary } => {
            task.id = Some(id);
            task.http_response_code = Some(code);
            task.state = Some(if code == 202 {
                CruiseControlUserTaskState::Active
            } else {
                CruiseControlUserTaskState::InExecution
            });
            task.summary = summary;
        }
        Submission::Done { id, code } => {
            task.id = id;
            task.http_response_code = Some(code);
            task = finish(task, CruiseControlUserTaskState::Completed, None, now);
        }
        Submission::Refused { id, code, message } => {
            task.id = id;
            task.http_response_code = code;
            task = finish(task, CruiseControlUserTaskState::CompletedWithError, Some(message), now);
        }
    }
    status.current_task = Some(task);
    status
}

/// The proposal summary as Koperator records it (same keys, so dashboards keep working).
pub fn summary(result: &OptimizationResult) -> BTreeMap<String, String> {
    let summary = &result.summary;
    [
        ("Data to move", summary.data_to_move_mb.to_string()),
        ("Number of replica movements", summary.num_replica_movements.to_string()),
        ("Intra broker data to move", summary.intra_broker_data_to_move_mb.to_string()),
        ("Number of intra broker replica movements", summary.num_intra_broker_replica_movements.to_string()),
        ("Number of leader movements", summary.num_leader_movements.to_string()),
        ("Recent windows", summary.recent_windows.to_string()),
        ("Provision recommendation", summary.provision_recommendation.clone().unwrap_or_default()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

#[cfg(test)]
#[path = "task_state_tests.rs"]
mod tests;
