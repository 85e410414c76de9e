//! The status an operation should show (pure): Koperator's fields plus `Ready` and
//! `Degraded` conditions that say what it waits for, so an unchanged operation produces an
//! identical status and costs no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crd_types::CruiseControlOperationStatus;
use crd_types::conditions::{self, DEGRADED, READY};
use crd_types::cruise_control_operation::CruiseControlTask;
use cruise_control_client::TaskRequest;

use crate::decision::{Situation, Wait};
use crate::model::OperationView;
use crate::task_state::{self, Phase};

/// `status` (with the current task this pass arrived at) completed with errorPolicy and
/// conditions for `situation`; `now` stamps changed conditions only.
pub fn desired_status(
    operation: &OperationView,
    mut status: CruiseControlOperationStatus,
    situation: &Situation,
    now: &Time,
) -> CruiseControlOperationStatus {
    status.error_policy = Some(operation.error_policy);
    let task = status.current_task.clone().unwrap_or_default();
    let generation = operation.generation;
    let (ready, reason, mut message) = ready(operation, &task, status.retry_count, situation);
    let left_out = left_out_parameters(&task);
    if !left_out.is_empty() {
        let operation = task.operation.endpoint();
        message.push_str(&format!(" (left out parameters {operation} does not take: {})", left_out.join(", ")));
    }
    if matches!(situation, Situation::Running | Situation::Starting)
        && let Some(failed) = status.failed_tasks.last()
    {
        message.push_str(&format!(
            " (attempt {}; the previous one failed: {})",
            status.retry_count + 1,
            error_of(failed)
        ));
    }
    conditions::upsert(&mut status.conditions, conditions::new(READY, ready, reason, message, generation, now.clone()));
    let degraded = match situation {
        Situation::Waiting(Wait::ClusterMissing(message)) => Some(("ClusterNotFound", message.clone())),
        Situation::Waiting(Wait::InvalidCluster(message)) => Some(("InvalidCruiseControlEndpoint", message.clone())),
        _ if task_state::phase(&task) == Phase::Failed => Some(("TaskFailed", error_of(&task))),
        _ => None,
    };
    let degraded = match degraded {
        Some((reason, message)) => conditions::new(DEGRADED, true, reason, message, generation, now.clone()),
        None => conditions::new(DEGRADED, false, "AsExpected", "", generation, now.clone()),
    };
    conditions::upsert(&mut status.conditions, degraded);
    status
}

fn ready(
    operation: &OperationView,
    task: &CruiseControlTask,
    retry_count: i32,
    situation: &Situation,
) -> (bool, &'static str, String) {
    let id = task.id.as_deref().unwrap_or("(no id)");
    let what = operation.describe();
    match situation {
        Situation::Completed => (true, "Completed", format!("user task {id} ({what}) completed{}", summary_of(task))),
        Situation::FailedIgnored => (
            true,
            "FailedIgnored",
            format!("user task {id} ({what}) failed and errorPolicy is ignore: {}", error_of(task)),
        ),
        Situation::Starting => (false, "Starting", format!("sending {what} to Cruise Control")),
        Situation::Running => {
            let state = task.state.map(|s| format!("{s:?}")).unwrap_or_else(|| "unknown".to_owned());
            let computing = if task.http_response_code == Some(202) { ", computing the proposal" } else { "" };
            (false, "Running", format!("user task {id} ({what}) is {state}{computing}"))
        }
        Situation::Stopping(message) => (false, "Stopping", message.clone()),
        Situation::Released => (false, "Deleting", "deleted; no task of it executes".to_owned()),
        Situation::Waiting(wait) => {
            let (reason, message) = waiting(wait, task, retry_count);
            (false, reason, message)
        }
    }
}

fn waiting(wait: &Wait, task: &CruiseControlTask, retry_count: i32) -> (&'static str, String) {
    match wait {
        Wait::Paused => {
            let after = if task_state::phase(task) == Phase::Failed {
                format!(" (the last attempt failed: {})", error_of(task))
            } else {
                String::new()
            };
            ("Paused", format!("the label pause=\"true\" holds this operation{after}; remove the label to run it"))
        }
        Wait::ClusterMissing(message) => ("ClusterNotFound", message.clone()),
        Wait::InvalidCluster(message) => ("InvalidCruiseControlEndpoint", message.clone()),
        Wait::CruiseControlUnreachable(message) => {
            ("CruiseControlUnreachable", format!("waiting for Cruise Control, which is unreachable: {message}"))
        }
        Wait::CruiseControlBusy(busy_with) => {
            ("CruiseControlBusy", format!("waiting for Cruise Control to finish {busy_with}"))
        }
        Wait::CruiseControlNotReady(reason) => {
            ("CruiseControlNotReady", format!("waiting for Cruise Control to be ready: {reason}"))
        }
        Wait::OwnTaskRunning { operation, task } => (
            "WaitingForOperation",
            format!(
                "waiting for operation {operation} (user task {task}) to finish: one execution at a time per cluster"
            ),
        ),
        Wait::HigherPriority { operation } => (
            "Queued",
            format!(
                "queued behind operation {operation}, which runs first (add_broker, remove_broker, remove_disks, \
                 rebalance, then oldest first)"
            ),
        ),
        Wait::ApiError(message) => ("ApiError", format!("cannot start: {message}")),
        Wait::BackingOff { until } => (
            "BackingOff",
            format!(
                "attempt {} failed: {}; retrying at {}",
                retry_count + 1,
                error_of(task),
                task_state::timestamp(*until)
            ),
        ),
    }
}

/// Parameters the operation names that its Cruise Control endpoint does not take (not sent).
fn left_out_parameters(task: &CruiseControlTask) -> Vec<String> {
    crate::observe::task_endpoint(task.operation)
        .map(|endpoint| TaskRequest::accepted_only(endpoint, task.parameters.clone()).1)
        .unwrap_or_default()
}

fn error_of(task: &CruiseControlTask) -> String {
    let message = task.error_message.clone().unwrap_or_else(|| "no error message".to_owned());
    match task.http_response_code {
        Some(code) if code >= 400 => format!("HTTP {code}: {message}"),
        _ => message,
    }
}

/// ": 14 replica movements (387 MB), 5 leader movements" from Koperator's summary keys.
fn summary_of(task: &CruiseControlTask) -> String {
    let get = |key: &str| task.summary.get(key).cloned().unwrap_or_else(|| "?".to_owned());
    if task.summary.is_empty() {
        return String::new();
    }
    format!(
        ": {} replica movements ({} MB), {} leader movements",
        get("Number of replica movements"),
        get("Data to move"),
        get("Number of leader movements")
    )
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
