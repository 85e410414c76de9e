//! The queue of operations waiting to start (pure): at most one starts per pass, and only
//! when no task of this cluster runs and Cruise Control is reachable, idle and ready.
//!
//! The queue is strict, as in Koperator: the first operation by priority (add_broker >
//! remove_broker > remove_disks > rebalance), then age, runs first, and a failed one holds
//! the queue through its back-off. Paused operations are skipped; a user-created
//! `stop_proposal_execution` jumps the queue and needs no idle executor.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlTaskOperation};

use crate::decision::{Inputs, Plan, Planned, Situation, Wait, Wake};
use crate::model::{ClusterView, CruiseControlView, OperationView, Pacing};
use crate::task_state::{self, Phase, parse_timestamp};

/// How often a cluster that is missing or misconfigured is looked at again (the runner does
/// not watch KafkaClusters).
const CLUSTER_RECHECK: Duration = Duration::from_secs(30);

/// Lower runs first.
pub fn priority(operation: CruiseControlTaskOperation) -> u8 {
    match operation {
        CruiseControlTaskOperation::StopProposalExecution => 0,
        CruiseControlTaskOperation::AddBroker => 1,
        CruiseControlTaskOperation::RemoveBroker => 2,
        CruiseControlTaskOperation::RemoveDisks => 3,
        CruiseControlTaskOperation::Rebalance | CruiseControlTaskOperation::Status => 4,
    }
}

/// `backoff · 2^retryCount`, at most `max_backoff`: the wait after the attempt that failed.
pub fn backoff(pacing: &Pacing, retry_count: i32) -> Duration {
    let doublings = u32::try_from(retry_count.clamp(0, 20)).unwrap_or(0);
    pacing.backoff.saturating_mul(2u32.saturating_pow(doublings)).min(pacing.max_backoff)
}

/// Plans the operations not yet started (or failed, to be retried) after every other one is planned.
pub(crate) fn plan_queue(
    inputs: &Inputs<'_>,
    mut queued: Vec<(&OperationView, CruiseControlTask)>,
    plan: &mut Plan,
    wake: &mut Wake,
) {
    queued.sort_by(|(a, _), (b, _)| {
        (priority(a.task.operation), a.created, &a.name).cmp(&(priority(b.task.operation), b.created, &b.name))
    });
    let mut head: Option<String> = None;
    for (operation, task) in queued {
        let wait = if operation.paused {
            Some(Wait::Paused)
        } else if let Some(first) = &head {
            Some(Wait::HigherPriority { operation: first.clone() })
        } else {
            head = Some(format!("{} ({})", operation.name, operation.describe()));
            gate(inputs, operation, &task, plan)
        };
        let situation = match wait {
            Some(wait) => {
                if let Some(after) = wake_for(&wait, inputs.pacing, inputs.now) {
                    wake.at(after);
                }
                // Nothing of it runs: a finalizer would only hold a deletion (of its namespace,
                // too) for as long as this runner is not there to remove it.
                if operation.has_finalizer() {
                    plan.release_finalizer.push(operation.name.clone());
                }
                Situation::Waiting(wait)
            }
            None => {
                plan.start = Some(operation.name.clone());
                // A stop request has nothing to stop when it is deleted.
                let needs_finalizer = task.operation != CruiseControlTaskOperation::StopProposalExecution;
                if needs_finalizer && !operation.has_finalizer() {
                    plan.add_finalizer.push(operation.name.clone());
                }
                wake.at(inputs.pacing.poll_interval);
                Situation::Starting
            }
        };
        plan.operations.insert(operation.name.clone(), Planned { task, situation });
    }
}

/// What keeps the first queued operation from starting now, if anything.
fn gate(inputs: &Inputs<'_>, operation: &OperationView, task: &CruiseControlTask, plan: &Plan) -> Option<Wait> {
    match inputs.cluster {
        ClusterView::Missing(reason) => return Some(Wait::ClusterMissing(reason.clone())),
        ClusterView::Invalid(reason) => return Some(Wait::InvalidCluster(reason.clone())),
        ClusterView::Found { .. } => {}
    }
    let observed = match inputs.cruise_control {
        CruiseControlView::Seen(observed) => observed,
        CruiseControlView::Unreachable(reason) => return Some(Wait::CruiseControlUnreachable(reason.clone())),
        CruiseControlView::NotAsked => return Some(Wait::CruiseControlUnreachable("not asked yet".to_owned())),
    };
    if task.operation != CruiseControlTaskOperation::StopProposalExecution {
        let running = inputs.operations.iter().find_map(|other| {
            let planned = plan.operations.get(&other.name)?;
            (task_state::phase(&planned.task) == Phase::Running).then_some((other, planned))
        });
        if let Some((other, planned)) = running {
            let task = planned.task.id.clone().unwrap_or_default();
            return Some(Wait::OwnTaskRunning { operation: format!("{} ({})", other.name, other.describe()), task });
        }
        if !observed.executor_idle {
            return Some(Wait::CruiseControlBusy(observed.busy_with.clone()));
        }
        if let Some(reason) = &observed.not_ready {
            return Some(Wait::CruiseControlNotReady(reason.clone()));
        }
    }
    if task_state::phase(task) == Phase::Failed {
        let finished = parse_timestamp(task.finished.as_deref())?;
        let delay = backoff(inputs.pacing, operation.status.retry_count);
        let until = finished.as_second().saturating_add(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX));
        if until > inputs.now.as_second() {
            return Some(Wait::BackingOff { until: Timestamp::from_second(until).unwrap_or(inputs.now) });
        }
    }
    None
}

fn wake_for(wait: &Wait, pacing: &Pacing, now: Timestamp) -> Option<Duration> {
    match wait {
        Wait::Paused | Wait::HigherPriority { .. } => None,
        Wait::ClusterMissing(_) | Wait::InvalidCluster(_) => Some(CLUSTER_RECHECK.max(pacing.poll_interval)),
        Wait::CruiseControlUnreachable(_)
        | Wait::ApiError(_)
        | Wait::CruiseControlBusy(_)
        | Wait::CruiseControlNotReady(_)
        | Wait::OwnTaskRunning { .. } => Some(pacing.poll_interval),
        Wait::BackingOff { until } => {
            Some(Duration::from_secs(until.as_second().saturating_sub(now.as_second()).max(1).unsigned_abs()))
        }
    }
}
