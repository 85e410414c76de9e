//! Pure: the graceful state of one broker volume (Koperator's `GracefulDiskRebalance*` and
//! `GracefulDiskRemoval*`, keyed by mount path).
//!
//! A storage config added to a running broker: once the pod runs with its claim, one rebalance
//! (`rebalance_disk=true`) spreads data onto it. A storage config removed: the broker keeps the
//! volume (in its pod and its `log.dirs`) while one remove_disks operation moves the data off
//! it; only after that completed — never on `CompletedWithError` — may the claim go, and only
//! once no pod mounts it any more. As for brokers, a rebalance that vanished counts as done (it
//! costs balance, never data), a removal that vanished is requested again.

use crd_types::cruise_control_operation::CruiseControlUserTaskState as TaskState;
use crd_types::kafka_cluster::CruiseControlVolumeState as State;

use super::broker_states::OperationView;

/// One volume of a broker in the spec, as the decision sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeView {
    pub previous: Option<State>,
    /// The mount path is among the broker's storage configs.
    pub desired: bool,
    /// A claim for the mount path exists.
    pub has_claim: bool,
    /// The broker's live pod exists but does not mount this volume's claim: the volume was
    /// added to a broker that already runs.
    pub pod_lacks_it: bool,
    pub operation: OperationView,
}

/// The volume's next state; None when it has none (an original volume, or a removed one gone).
pub fn next_state(view: &VolumeView) -> Option<State> {
    if view.desired {
        wanted(view)
    } else if view.has_claim {
        Some(removed(view))
    } else {
        None
    }
}

fn wanted(view: &VolumeView) -> Option<State> {
    use State::*;
    let next = match view.previous {
        None if view.pod_lacks_it => GracefulDiskRebalanceRequired,
        None => return None,
        Some(GracefulDiskRebalanceRequired) => GracefulDiskRebalanceRequired,
        Some(GracefulDiskRebalanceSucceeded) => GracefulDiskRebalanceSucceeded,
        Some(state) if is_rebalance(state) => rebalance_from(&view.operation),
        // Put back: it is a new disk again, once a removal in flight has ended.
        Some(GracefulDiskRemovalRequired | GracefulDiskRemovalSucceeded) => GracefulDiskRebalanceRequired,
        Some(_) => match removal_from(&view.operation) {
            GracefulDiskRemovalSucceeded | GracefulDiskRemovalRequired => GracefulDiskRebalanceRequired,
            in_flight => in_flight,
        },
    };
    Some(next)
}

fn removed(view: &VolumeView) -> State {
    use State::*;
    match view.previous {
        Some(GracefulDiskRemovalRequired) => GracefulDiskRemovalRequired,
        Some(GracefulDiskRemovalSucceeded) => GracefulDiskRemovalSucceeded,
        Some(state) if !is_rebalance(state) => removal_from(&view.operation),
        // A rebalance in flight ends first (Koperator's order).
        Some(GracefulDiskRebalanceScheduled | GracefulDiskRebalanceRunning) => match rebalance_from(&view.operation) {
            in_flight @ (GracefulDiskRebalanceScheduled | GracefulDiskRebalanceRunning) => in_flight,
            _ => GracefulDiskRemovalRequired,
        },
        _ => GracefulDiskRemovalRequired,
    }
}

/// Whether the claim of a volume removed from the spec may be deleted.
pub fn may_delete_claim(state: Option<State>, mounted_by_a_pod: bool) -> bool {
    state == Some(State::GracefulDiskRemovalSucceeded) && !mounted_by_a_pod
}

/// The volume is kept in the broker's pod and `log.dirs` until its data moved off.
pub fn keeps_volume(previous: Option<State>) -> bool {
    previous != Some(State::GracefulDiskRemovalSucceeded)
}

pub fn is_in_progress(state: State) -> bool {
    !matches!(state, State::GracefulDiskRebalanceSucceeded)
}

fn is_rebalance(state: State) -> bool {
    use State::*;
    matches!(
        state,
        GracefulDiskRebalanceRequired
            | GracefulDiskRebalanceScheduled
            | GracefulDiskRebalanceRunning
            | GracefulDiskRebalanceSucceeded
            | GracefulDiskRebalanceCompletedWithError
            | GracefulDiskRebalancePaused
    )
}

fn rebalance_from(operation: &OperationView) -> State {
    use State::*;
    let facts = match operation {
        OperationView::NotNamed => return GracefulDiskRebalanceRequired,
        OperationView::Missing => return GracefulDiskRebalanceSucceeded,
        OperationView::Found(facts) => facts,
    };
    match facts.task {
        Some(TaskState::Completed) => GracefulDiskRebalanceSucceeded,
        Some(TaskState::Active | TaskState::InExecution) => GracefulDiskRebalanceRunning,
        _ if facts.paused => GracefulDiskRebalancePaused,
        Some(TaskState::CompletedWithError) if facts.ignore_errors => GracefulDiskRebalanceSucceeded,
        Some(TaskState::CompletedWithError) => GracefulDiskRebalanceCompletedWithError,
        None => GracefulDiskRebalanceScheduled,
    }
}

fn removal_from(operation: &OperationView) -> State {
    use State::*;
    let facts = match operation {
        OperationView::NotNamed | OperationView::Missing => return GracefulDiskRemovalRequired,
        OperationView::Found(facts) => facts,
    };
    match facts.task {
        Some(TaskState::Completed) => GracefulDiskRemovalSucceeded,
        Some(TaskState::Active | TaskState::InExecution) => GracefulDiskRemovalRunning,
        _ if facts.paused => GracefulDiskRemovalPaused,
        Some(TaskState::CompletedWithError) => GracefulDiskRemovalCompletedWithError,
        None => GracefulDiskRemovalScheduled,
    }
}

#[cfg(test)]
#[path = "volume_states_tests.rs"]
mod tests;
