use proptest::prelude::*;

use super::super::broker_states::OperationFacts;
use super::*;
use State::*;

fn found(task: Option<TaskState>) -> OperationView {
    OperationView::Found(OperationFacts { task, ..Default::default() })
}

fn wanted(previous: Option<State>, pod_lacks_it: bool, operation: OperationView) -> VolumeView {
    VolumeView { previous, desired: true, has_claim: true, pod_lacks_it, operation }
}

fn removed(previous: Option<State>, operation: OperationView) -> VolumeView {
    VolumeView { previous, desired: false, has_claim: true, pod_lacks_it: false, operation }
}

#[test]
fn added_disks_are_rebalanced_onto() {
    let table = [
        // An original volume: the pod has it from the start.
        (wanted(None, false, OperationView::NotNamed), None),
        (wanted(None, true, OperationView::NotNamed), Some(GracefulDiskRebalanceRequired)),
        (
            wanted(Some(GracefulDiskRebalanceRequired), false, OperationView::NotNamed),
            Some(GracefulDiskRebalanceRequired),
        ),
        (wanted(Some(GracefulDiskRebalanceScheduled), false, found(None)), Some(GracefulDiskRebalanceScheduled)),
        (
            wanted(Some(GracefulDiskRebalanceScheduled), false, found(Some(TaskState::Active))),
            Some(GracefulDiskRebalanceRunning),
        ),
        (
            wanted(Some(GracefulDiskRebalanceRunning), false, found(Some(TaskState::Completed))),
            Some(GracefulDiskRebalanceSucceeded),
        ),
        (
            wanted(Some(GracefulDiskRebalanceRunning), false, found(Some(TaskState::CompletedWithError))),
            Some(GracefulDiskRebalanceCompletedWithError),
        ),
        (
            wanted(Some(GracefulDiskRebalanceRunning), false, OperationView::Missing),
            Some(GracefulDiskRebalanceSucceeded),
        ),
        (
            wanted(Some(GracefulDiskRebalanceSucceeded), false, OperationView::NotNamed),
            Some(GracefulDiskRebalanceSucceeded),
        ),
        // Put back after its removal: a new disk again.
        (
            wanted(Some(GracefulDiskRemovalSucceeded), true, OperationView::NotNamed),
            Some(GracefulDiskRebalanceRequired),
        ),
        (
            wanted(Some(GracefulDiskRemovalRunning), false, found(Some(TaskState::InExecution))),
            Some(GracefulDiskRemovalRunning),
        ),
    ];
    for (view, expected) in table {
        assert_eq!(next_state(&view), expected, "{view:?}");
    }
}

#[test]
fn removed_disks_are_drained_first() {
    let table = [
        (removed(None, OperationView::NotNamed), GracefulDiskRemovalRequired),
        (removed(Some(GracefulDiskRebalanceSucceeded), OperationView::NotNamed), GracefulDiskRemovalRequired),
        (
            removed(Some(GracefulDiskRebalanceRunning), found(Some(TaskState::InExecution))),
            GracefulDiskRebalanceRunning,
        ),
        (removed(Some(GracefulDiskRebalanceRunning), found(Some(TaskState::Completed))), GracefulDiskRemovalRequired),
        (removed(Some(GracefulDiskRemovalScheduled), found(None)), GracefulDiskRemovalScheduled),
        (removed(Some(GracefulDiskRemovalRunning), found(Some(TaskState::Completed))), GracefulDiskRemovalSucceeded),
        (
            removed(Some(GracefulDiskRemovalRunning), found(Some(TaskState::CompletedWithError))),
            GracefulDiskRemovalCompletedWithError,
        ),
        (removed(Some(GracefulDiskRemovalRunning), OperationView::Missing), GracefulDiskRemovalRequired),
        (removed(Some(GracefulDiskRemovalSucceeded), OperationView::Missing), GracefulDiskRemovalSucceeded),
    ];
    for (view, expected) in table {
        assert_eq!(next_state(&view), Some(expected), "{view:?}");
    }
    let gone = VolumeView { has_claim: false, ..removed(Some(GracefulDiskRemovalSucceeded), OperationView::NotNamed) };
    assert_eq!(next_state(&gone), None);
}

#[test]
fn a_claim_goes_after_a_completed_removal_and_its_pod() {
    assert!(!may_delete_claim(Some(GracefulDiskRemovalSucceeded), true));
    assert!(may_delete_claim(Some(GracefulDiskRemovalSucceeded), false));
    for state in [GracefulDiskRemovalRequired, GracefulDiskRemovalRunning, GracefulDiskRemovalCompletedWithError] {
        assert!(!may_delete_claim(Some(state), false));
    }
    assert!(!may_delete_claim(None, false));
    assert!(keeps_volume(Some(GracefulDiskRemovalRunning)) && !keeps_volume(Some(GracefulDiskRemovalSucceeded)));
}

fn task_state() -> impl Strategy<Value = Option<TaskState>> {
    prop_oneof![
        Just(None),
        Just(Some(TaskState::Active)),
        Just(Some(TaskState::InExecution)),
        Just(Some(TaskState::Completed)),
        Just(Some(TaskState::CompletedWithError)),
    ]
}

proptest! {
    /// Whatever the operations report and however often the storage config comes and goes, a
    /// claim may only be deleted after the removal requested since it last left the spec
    /// reported `Completed`.
    #[test]
    fn no_claim_deletion_without_a_completed_removal(
        steps in prop::collection::vec((task_state(), any::<bool>(), any::<bool>(), any::<u8>(), any::<bool>()), 1..40)
    ) {
        let mut state: Option<State> = Some(GracefulDiskRebalanceSucceeded);
        let mut removal_completed = false;
        for (task, paused, vanished, desired, mounted) in steps {
            let desired = desired < 40;
            let names_operation = state.is_some_and(|s| {
                !matches!(s, GracefulDiskRebalanceRequired | GracefulDiskRemovalRequired | GracefulDiskRebalanceSucceeded | GracefulDiskRemovalSucceeded)
            });
            let operation = match (names_operation, vanished) {
                (false, _) => OperationView::NotNamed,
                (true, true) => OperationView::Missing,
                (true, false) => OperationView::Found(OperationFacts { task, paused, ignore_errors: paused }),
            };
            let removing = state.is_some_and(|s| !is_rebalance(s) && s != GracefulDiskRemovalRequired);
            if removing && matches!(&operation, OperationView::Found(f) if f.task == Some(TaskState::Completed)) {
                removal_completed = true;
            }
            let view = VolumeView { previous: state, desired, has_claim: true, pod_lacks_it: false, operation };
            state = next_state(&view);
            state = match state {
                Some(GracefulDiskRemovalRequired) => Some(GracefulDiskRemovalScheduled),
                Some(GracefulDiskRebalanceRequired) => Some(GracefulDiskRebalanceScheduled),
                other => other,
            };
            if desired || state.is_some_and(is_rebalance) {
                removal_completed = false;
            }
            if !desired && may_delete_claim(state, mounted) {
                prop_assert!(removal_completed, "claim deletable in {state:?} without a completed removal");
            }
        }
    }
}
