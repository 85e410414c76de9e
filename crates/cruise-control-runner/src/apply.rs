//! Carries out a plan, in this order: let go of operations that need no finalizer any more,
//! stop an execution, start at most one task (finalizer first), delete expired operations.
//! Answers what each operation's task and situation are afterwards, with the events to record,
//! and the writes the API server refused (retried by the next pass).

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use crd_types::CruiseControlOperationStatus;
use crd_types::cruise_control_operation::ErrorPolicy;
use cruise_control_client::{CruiseControlClient, Error, TaskRequest};
use operator_runtime::trace_context;
use tracing::Instrument as _;

use crate::decision::{Plan, Situation, Wait};
use crate::kube_writes::{Notice, OperationWriter, WriteError};
use crate::metrics::{Metrics, OperationLabels, OutcomeLabels};
use crate::model::{FINALIZER, OperationView, Pacing};
use crate::observe::task_endpoint;
use crate::queue;
use crate::task_state::{self, Phase, Submission};

/// One operation after the pass's actions.
pub struct Applied {
    /// The status before conditions: Koperator's fields with the new current task.
    pub status: CruiseControlOperationStatus,
    pub situation: Situation,
    pub notices: Vec<Notice>,
}

/// Every operation after the pass's actions.
pub struct AppliedPlan {
    /// By operation name; none for operations deleted in this pass.
    pub operations: BTreeMap<String, Applied>,
    pub write_failures: Vec<WriteError>,
}

pub struct Context<'a> {
    pub writer: &'a OperationWriter,
    pub metrics: &'a Metrics,
    pub cruise_control: Option<&'a CruiseControlClient>,
    pub namespace: &'a str,
    pub pacing: &'a Pacing,
    pub now: Timestamp,
}

pub async fn apply(context: &Context<'_>, operations: &[OperationView], plan: Plan) -> AppliedPlan {
    let by_name: BTreeMap<&str, &OperationView> = operations.iter().map(|op| (op.name.as_str(), op)).collect();
    let mut write_failures = Vec::new();
    for name in &plan.release_finalizer {
        if let Some(operation) = by_name.get(name.as_str())
            && let Err(error) = context.writer.remove_finalizer(context.namespace, operation).await
        {
            write_failures.push(error);
        }
    }
    let mut applied = BTreeMap::new();
    for (name, planned) in plan.operations {
        let Some(operation) = by_name.get(name.as_str()).copied() else { continue };
        let mut status = operation.status.clone();
        status.current_task = Some(planned.task);
        let mut entry = Applied { status, situation: planned.situation, notices: Vec::new() };
        let stopping = plan.stop.as_deref() == Some(name.as_str());
        let starting = plan.start.as_deref() == Some(name.as_str());
        let started_now = if stopping || starting {
            async {
                if stopping {
                    stop(context, operation, &mut entry).await;
                }
                starting
                    && start(context, operation, plan.add_finalizer.contains(&name), &mut entry, &mut write_failures)
                        .await
            }
            .instrument(task_span(operation))
            .await
        } else {
            false
        };
        record_transition(context.metrics, operation, &mut entry, started_now);
        applied.insert(name, entry);
    }
    for name in &plan.delete {
        if let Some(operation) = by_name.get(name.as_str()) {
            match context.writer.delete(context.namespace, operation).await {
                Ok(()) => tracing::info!(operation = %name, "deleted: ttlSecondsAfterFinished passed"),
                Err(error) => write_failures.push(error),
            }
            applied.remove(name);
        }
    }
    AppliedPlan { operations: applied, write_failures }
}

/// The span a start or a stop of `operation`'s task runs in: the child of the span that created
/// the operation (its traceparent annotation), so the trace of the pass that asked for the task
/// shows what became of it. A parent rather than a link: a start or a stop is one short request
/// about that operation. The hours a task may run in between are not spanned: a span per poll
/// would add one to the creator's trace every few seconds.
fn task_span(operation: &OperationView) -> tracing::Span {
    let span = tracing::info_span!("cruise control task", operation = %operation.name, task = %operation.describe());
    let parent = operation.trace_parent.as_deref().and_then(trace_context::context_from_traceparent);
    trace_context::set_parent(&span, parent);
    span
}

async fn stop(context: &Context<'_>, operation: &OperationView, entry: &mut Applied) {
    let Some(client) = context.cruise_control else { return };
    let answer = client.stop_proposal_execution().await;
    context.metrics.request("stop_proposal_execution", &answer);
    let id = entry.status.current_task.as_ref().and_then(|task| task.id.clone()).unwrap_or_default();
    match answer {
        Ok(result) => entry.notices.push(Notice {
            warning: false,
            reason: "StoppingExecution",
            note: format!("asked Cruise Control to stop the execution of user task {id}: {}", result.message),
        }),
        Err(error) => {
            tracing::warn!(operation = %operation.name, error = %operator_runtime::error_chain(&error), "stop failed; will retry");
        }
    }
}

/// Sends the operation's request; false when it could not be sent at all.
async fn start(
    context: &Context<'_>,
    operation: &OperationView,
    needs_finalizer: bool,
    entry: &mut Applied,
    write_failures: &mut Vec<WriteError>,
) -> bool {
    let Some(client) = context.cruise_control else { return false };
    if needs_finalizer && let Err(error) = context.writer.add_finalizer(context.namespace, operation).await {
        entry.situation = Situation::Waiting(Wait::ApiError(operator_runtime::error_chain(&error)));
        write_failures.push(error);
        return false;
    }
    let task = entry.status.current_task.clone().unwrap_or_default();
    let (request_line, submission) = match task_endpoint(task.operation) {
        Some(endpoint) => {
            let (request, _) = TaskRequest::accepted_only(endpoint, task.parameters.clone());
            let answer = client.submit(&request).await;
            context.metrics.request(endpoint.name(), &answer);
            let submission = match answer {
                Ok(submitted) => Submission::Accepted {
                    id: submitted.user_task_id,
                    code: i32::from(submitted.http_status),
                    summary: submitted.result.as_ref().map(task_state::summary).unwrap_or_default(),
                },
                Err(error) => refused(error),
            };
            (request.request_line(), submission)
        }
        None => {
            let answer = client.stop_proposal_execution().await;
            context.metrics.request("stop_proposal_execution", &answer);
            let submission = match answer {
                Ok(result) => Submission::Done { id: result.user_task_id, code: 200 },
                Err(error) => refused(error),
            };
            ("POST /kafkacruisecontrol/stop_proposal_execution?json=true".to_owned(), submission)
        }
    };
    entry.status = task_state::after_submission(&entry.status, request_line, submission, context.now);
    let started = entry.status.current_task.clone().unwrap_or_default();
    let id = started.id.clone().unwrap_or_else(|| "(none)".to_owned());
    let what = operation.describe();
    let phase = task_state::phase(&started);
    if matches!(phase, Phase::Failed | Phase::Completed) {
        // Refused or done on the spot: nothing runs that a deletion would have to stop.
        let mut with_finalizer = operation.clone();
        if needs_finalizer {
            with_finalizer.finalizers.push(FINALIZER.to_owned());
        }
        if let Err(error) = context.writer.remove_finalizer(context.namespace, &with_finalizer).await {
            write_failures.push(error);
        }
    }
    match phase {
        Phase::Failed => {
            entry.situation = if operation.error_policy == ErrorPolicy::Ignore {
                Situation::FailedIgnored
            } else {
                let delay = queue::backoff(context.pacing, entry.status.retry_count);
                let until = context.now.as_second().saturating_add(i64::try_from(delay.as_secs()).unwrap_or(0));
                Situation::Waiting(Wait::BackingOff { until: Timestamp::from_second(until).unwrap_or(context.now) })
            };
        }
        Phase::Completed => entry.situation = Situation::Completed,
        Phase::Running | Phase::Pending => {
            entry.situation = Situation::Running;
            let code = started.http_response_code.unwrap_or_default();
            entry.notices.push(Notice {
                warning: false,
                reason: "TaskStarted",
                note: format!("sent {what} to Cruise Control: user task {id} (HTTP {code})"),
            });
        }
    }
    let operation_label = OperationLabels { operation: task.operation.endpoint().to_owned() };
    context.metrics.tasks_started.get_or_create(&operation_label).inc();
    true
}

/// A refused request is a failed attempt; without any answer nothing is known, which the
/// message says (the back-off then gives Cruise Control time before the request is repeated).
fn refused(error: Error) -> Submission {
    let message = operator_runtime::error_chain(&error);
    match error {
        Error::Status { status, message, user_task_id, .. } => {
            Submission::Refused { id: user_task_id, code: Some(i32::from(status)), message }
        }
        _ => Submission::Refused { id: None, code: None, message },
    }
}

/// Events and counters for tasks that finished in this pass (sent earlier, or just now).
fn record_transition(metrics: &Metrics, operation: &OperationView, entry: &mut Applied, started_now: bool) {
    let Some(task) = entry.status.current_task.as_ref() else { return };
    let after = task_state::phase(task);
    let sent_before = task_state::phase(&operation.task) == Phase::Running;
    if !matches!(after, Phase::Completed | Phase::Failed) || !(sent_before || started_now) {
        return;
    }
    let id = task.id.clone().unwrap_or_else(|| "(none)".to_owned());
    let what = operation.describe();
    let outcome = if after == Phase::Completed { "completed" } else { "failed" };
    let labels = OutcomeLabels { operation: task.operation.endpoint().to_owned(), outcome: outcome.to_owned() };
    metrics.tasks_finished.get_or_create(&labels).inc();
    let notice = if after == Phase::Completed {
        Notice { warning: false, reason: "TaskCompleted", note: format!("user task {id} ({what}) completed") }
    } else {
        let error = task.error_message.clone().unwrap_or_default();
        let code = task
            .http_response_code
            .filter(|code| *code >= 400)
            .map(|code| format!(" (HTTP {code})"))
            .unwrap_or_default();
        Notice { warning: true, reason: "TaskFailed", note: format!("user task {id} ({what}) failed{code}: {error}") }
    };
    entry.notices.push(notice);
}
