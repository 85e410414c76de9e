//! Pure: the graceful state of one broker, from its previous state, whether it is still in
//! `spec.brokers`, and what the CruiseControlOperation its state names says.
//!
//! The states are Koperator's (`GracefulUpscale*`, `GracefulDownscale*`) and so is most of the
//! mapping from an operation's task state; two rules are stricter, because a wrong answer there
//! deletes data: a drain counts as done only when its task says `Completed` (never
//! `CompletedWithError`, whatever the error policy), and a drain whose operation vanished is
//! started again rather than assumed finished.

use crd_types::cruise_control_operation::CruiseControlUserTaskState as TaskState;
use crd_types::kafka_cluster::CruiseControlState as State;

/// What the operation named by a broker's state says, as far as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationView {
    /// The broker's state names no operation.
    NotNamed,
    /// Named, but the apiserver has no such operation (a user or its TTL deleted it).
    Missing,
    Found(OperationFacts),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationFacts {
    /// `status.currentTask.state`; None until the runner started the task.
    pub task: Option<TaskState>,
    /// Label `pause: "true"`: the runner does not retry it.
    pub paused: bool,
    /// `errorPolicy: ignore`: the runner gives up after a failure.
    pub ignore_errors: bool,
}

/// One broker, as the decision sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerView {
    pub previous: Option<State>,
    pub in_spec: bool,
    /// Nodes with the broker role hold partitions; KRaft controller-only nodes hold none and
    /// Cruise Control does not know them (Koperator scales them without it, too).
    pub holds_data: bool,
    /// A pod or claim of the broker exists, so there may be data to move before it goes.
    pub has_objects: bool,
    pub operation: OperationView,
}

/// The broker's next state; None for a leaving broker with nothing to drain.
pub fn next_state(view: &BrokerView, established: bool) -> Option<State> {
    if !view.holds_data {
        return view.in_spec.then_some(State::GracefulUpscaleSucceeded);
    }
    if view.in_spec { staying(view, established) } else { leaving(view) }
}

/// Whether a broker that left `spec.brokers` may lose its pod, ConfigMap, Service and claims.
pub fn may_remove(state: Option<State>, holds_data: bool) -> bool {
    !holds_data || matches!(state, None | Some(State::GracefulDownscaleSucceeded))
}

/// A state that waits on an operation still in flight (or one still to be created).
pub fn is_in_progress(state: State) -> bool {
    !matches!(state, State::GracefulUpscaleSucceeded | State::GracefulDownscaleSucceeded)
}

fn staying(view: &BrokerView, established: bool) -> Option<State> {
    use State::*;
    let next = match view.previous {
        None => {
            if established {
                GracefulUpscaleRequired
            } else {
                GracefulUpscaleSucceeded
            }
        }
        Some(GracefulUpscaleRequired) => GracefulUpscaleRequired,
        Some(GracefulUpscaleSucceeded) => GracefulUpscaleSucceeded,
        Some(
            GracefulUpscaleScheduled
            | GracefulUpscaleRunning
            | GracefulUpscaleCompletedWithError
            | GracefulUpscalePaused,
        ) => upscale_from(&view.operation),
        // Taken back before anything moved: it still has its data.
        Some(GracefulDownscaleRequired) => GracefulUpscaleSucceeded,
        Some(GracefulDownscaleSucceeded) => GracefulUpscaleRequired,
        Some(
            GracefulDownscaleScheduled
            | GracefulDownscaleRunning
            | GracefulDownscaleCompletedWithError
            | GracefulDownscalePaused,
        ) => match downscale_from(&view.operation) {
            // The drain ran (or is gone): the broker rejoins through Cruise Control.
            GracefulDownscaleSucceeded | GracefulDownscaleRequired => GracefulUpscaleRequired,
            // Cruise Control runs one execution at a time; the drain in flight ends first.
            still_draining => still_draining,
        },
    };
    Some(next)
}

fn leaving(view: &BrokerView) -> Option<State> {
    use State::*;
    let next = match view.previous {
        Some(GracefulDownscaleRequired) => GracefulDownscaleRequired,
        Some(
            GracefulDownscaleScheduled
            | GracefulDownscaleRunning
            | GracefulDownscaleCompletedWithError
            | GracefulDownscalePaused,
        ) => downscale_from(&view.operation),
        Some(GracefulDownscaleSucceeded) => GracefulDownscaleSucceeded,
        // An upscale in flight finishes first: Cruise Control would refuse the drain meanwhile.
        Some(GracefulUpscaleScheduled | GracefulUpscaleRunning)
            if matches!(upscale_from(&view.operation), GracefulUpscaleScheduled | GracefulUpscaleRunning) =>
        {
            upscale_from(&view.operation)
        }
        _ if !view.has_objects => return None,
        _ => GracefulDownscaleRequired,
    };
    Some(next)
}

/// Koperator's mapping for an add_broker operation. A vanished operation counts as done:
/// an upscale that did not happen costs balance, never data.
fn upscale_from(operation: &OperationView) -> State {
    use State::*;
    let facts = match operation {
        OperationView::NotNamed => return GracefulUpscaleRequired,
        OperationView::Missing => return GracefulUpscaleSucceeded,
        OperationView::Found(facts) => facts,
    };
    match facts.task {
        Some(TaskState::Completed) => GracefulUpscaleSucceeded,
        Some(TaskState::Active | TaskState::InExecution) => GracefulUpscaleRunning,
        _ if facts.paused => GracefulUpscalePaused,
        Some(TaskState::CompletedWithError) if facts.ignore_errors => GracefulUpscaleSucceeded,
        Some(TaskState::CompletedWithError) => GracefulUpscaleCompletedWithError,
        None => GracefulUpscaleScheduled,
    }
}

/// The mapping for a remove_broker operation: only `Completed` is success; a failure stays a
/// failure even under `errorPolicy: ignore` (then nothing retries it and the user decides),
/// and a vanished or unnamed operation means the drain has to be requested again.
fn downscale_from(operation: &OperationView) -> State {
    use State::*;
    let facts = match operation {
        OperationView::NotNamed | OperationView::Missing => return GracefulDownscaleRequired,
        OperationView::Found(facts) => facts,
    };
    match facts.task {
        Some(TaskState::Completed) => GracefulDownscaleSucceeded,
        Some(TaskState::Active | TaskState::InExecution) => GracefulDownscaleRunning,
        _ if facts.paused => GracefulDownscalePaused,
        Some(TaskState::CompletedWithError) => GracefulDownscaleCompletedWithError,
        None => GracefulDownscaleScheduled,
    }
}

#[cfg(test)]
#[path = "broker_states_tests.rs"]
mod tests;
