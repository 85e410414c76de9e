//! Decides, for every operation of one cluster, where it stands and what to ask of Cruise
//! Control and of the API server in this pass (pure: no client).
//!
//! Order of concerns: fold in Cruise Control's answers; deleted operations (stop a running
//! task first); finished ones (finalizer, TTL); running ones (time limit); then the queue
//! (`queue`), from which at most one task starts. What it decides is `decision`'s vocabulary.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlUserTaskState, ErrorPolicy};

use crate::decision::{Inputs, Plan, Planned, Situation, Wake};
use crate::model::{ClusterView, CruiseControlView, Observed, OperationView};
use crate::queue;
use crate::task_state::{self, Phase, parse_timestamp};

pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let mut plan = Plan::default();
    let mut wake = Wake::default();
    let mut queued: Vec<(&OperationView, CruiseControlTask)> = Vec::new();
    for operation in inputs.operations {
        let mut task = match inputs.cruise_control {
            CruiseControlView::Seen(observed) => task_state::observe(&operation.task, observed, inputs.now),
            _ => operation.task.clone(),
        };
        let phase = task_state::phase(&task);
        let failed_is_done = phase == Phase::Failed && operation.error_policy == ErrorPolicy::Ignore;
        let situation = if operation.deleting {
            plan_deletion(inputs, operation, &task, &mut plan, &mut wake)
        } else if phase == Phase::Completed || failed_is_done {
            plan_finished(operation, &task, &mut plan, &mut wake, inputs.now);
            if failed_is_done { Situation::FailedIgnored } else { Situation::Completed }
        } else if phase == Phase::Running {
            wake.at(inputs.pacing.poll_interval);
            plan_running(inputs, operation, &task, &mut plan)
        } else {
            queued.push((operation, task));
            continue;
        };
        if let Situation::Stopping(message) = &situation
            && plan.stop.as_deref() == Some(operation.name.as_str())
        {
            // Kept when Cruise Control reports the stopped task CompletedWithError.
            task.error_message = Some(message.clone());
        }
        plan.operations.insert(operation.name.clone(), Planned { task, situation });
    }
    queue::plan_queue(inputs, queued, &mut plan, &mut wake);
    plan.wake_after = wake.earliest();
    plan
}

fn plan_deletion(
    inputs: &Inputs<'_>,
    operation: &OperationView,
    task: &CruiseControlTask,
    plan: &mut Plan,
    wake: &mut Wake,
) -> Situation {
    if !operation.has_finalizer() {
        return Situation::Released;
    }
    // Nothing to stop, or no cluster left to stop it in.
    if task_state::phase(task) != Phase::Running || !matches!(inputs.cluster, ClusterView::Found { .. }) {
        plan.release_finalizer.push(operation.name.clone());
        return Situation::Released;
    }
    let id = task.id.clone().unwrap_or_default();
    wake.at(inputs.pacing.poll_interval);
    match inputs.cruise_control {
        CruiseControlView::Seen(observed) if executing(task, observed) => {
            if !observed.executor_stopping && plan.stop.is_none() {
                plan.stop = Some(operation.name.clone());
            }
            Situation::Stopping(format!("stopped: the operation was deleted while user task {id} executed"))
        }
        CruiseControlView::Seen(_) => Situation::Stopping(format!(
            "deleted while Cruise Control computes the proposal of user task {id}: its execution is stopped as \
             soon as it starts"
        )),
        CruiseControlView::Unreachable(reason) => Situation::Stopping(format!(
            "deleted while user task {id} may still execute, but Cruise Control is unreachable ({reason}); remove \
             the finalizer {} by hand to let go without stopping it",
            crate::model::FINALIZER
        )),
        CruiseControlView::NotAsked => {
            Situation::Stopping(format!("deleted while user task {id} may still execute: asking Cruise Control"))
        }
    }
}

/// Whether Cruise Control is executing this task's proposal right now (so a stop has an effect).
fn executing(task: &CruiseControlTask, observed: &Observed) -> bool {
    let ours = task.id.is_some() && observed.triggered_task == task.id;
    let in_execution = task.state == Some(CruiseControlUserTaskState::InExecution) && !observed.executor_idle;
    ours || in_execution
}

fn plan_finished(
    operation: &OperationView,
    task: &CruiseControlTask,
    plan: &mut Plan,
    wake: &mut Wake,
    now: Timestamp,
) {
    // Nothing left to stop: a deletion needs no help any more.
    if operation.has_finalizer() {
        plan.release_finalizer.push(operation.name.clone());
    }
    let (Some(ttl), Some(finished)) = (operation.ttl_after_finished, parse_timestamp(task.finished.as_deref())) else {
        return;
    };
    let expires = finished.as_second().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let remaining = expires - now.as_second();
    if remaining <= 0 {
        plan.delete.push(operation.name.clone());
    } else {
        wake.at(Duration::from_secs(remaining.unsigned_abs()));
    }
}

/// A task past the KafkaCluster's time limit is stopped (and so fails, and is retried).
fn plan_running(
    inputs: &Inputs<'_>,
    operation: &OperationView,
    task: &CruiseControlTask,
    plan: &mut Plan,
) -> Situation {
    let ClusterView::Found { task_time_limit: Some(limit) } = inputs.cluster else { return Situation::Running };
    let Some(started) = parse_timestamp(task.started.as_deref()) else { return Situation::Running };
    let ran = inputs.now.as_second() - started.as_second();
    if ran < i64::try_from(limit.as_secs()).unwrap_or(i64::MAX) {
        return Situation::Running;
    }
    let CruiseControlView::Seen(observed) = inputs.cruise_control else { return Situation::Running };
    if !executing(task, observed) {
        return Situation::Running;
    }
    if !observed.executor_stopping && plan.stop.is_none() {
        plan.stop = Some(operation.name.clone());
    }
    Situation::Stopping(time_limit_message(*limit))
}

/// Recorded as the task's error when the time limit stops it.
pub fn time_limit_message(limit: Duration) -> String {
    format!(
        "stopped after running longer than cruiseControlTaskSpec.RetryDurationMinutes ({} minutes)",
        limit.as_secs() / 60
    )
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
