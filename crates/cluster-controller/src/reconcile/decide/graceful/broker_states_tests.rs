use proptest::prelude::*;

use super::*;
use State::*;

/// States of a drain (`GracefulDownscale*`).
fn is_downscale(state: State) -> bool {
    use State::*;
    matches!(
        state,
        GracefulDownscaleRequired
            | GracefulDownscaleScheduled
            | GracefulDownscaleRunning
            | GracefulDownscaleSucceeded
            | GracefulDownscaleCompletedWithError
            | GracefulDownscalePaused
    )
}

fn found(task: Option<TaskState>) -> OperationView {
    OperationView::Found(OperationFacts { task, ..Default::default() })
}

fn view(previous: Option<State>, in_spec: bool, operation: OperationView) -> BrokerView {
    BrokerView { previous, in_spec, holds_data: true, has_objects: true, operation }
}

#[test]
fn joining_brokers() {
    let table = [
        // (previous, established, operation, expected)
        (None, false, OperationView::NotNamed, GracefulUpscaleSucceeded),
        (None, true, OperationView::NotNamed, GracefulUpscaleRequired),
        (Some(GracefulUpscaleRequired), true, OperationView::NotNamed, GracefulUpscaleRequired),
        (Some(GracefulUpscaleScheduled), true, found(None), GracefulUpscaleScheduled),
        (Some(GracefulUpscaleScheduled), true, found(Some(TaskState::Active)), GracefulUpscaleRunning),
        (Some(GracefulUpscaleRunning), true, found(Some(TaskState::InExecution)), GracefulUpscaleRunning),
        (Some(GracefulUpscaleRunning), true, found(Some(TaskState::Completed)), GracefulUpscaleSucceeded),
        (
            Some(GracefulUpscaleRunning),
            true,
            found(Some(TaskState::CompletedWithError)),
            GracefulUpscaleCompletedWithError,
        ),
        // Koperator: a vanished add_broker operation counts as done.
        (Some(GracefulUpscaleRunning), true, OperationView::Missing, GracefulUpscaleSucceeded),
        // A state that lost its reference asks again.
        (Some(GracefulUpscaleScheduled), true, OperationView::NotNamed, GracefulUpscaleRequired),
        (Some(GracefulUpscaleSucceeded), true, OperationView::NotNamed, GracefulUpscaleSucceeded),
    ];
    for (previous, established, operation, expected) in table {
        let got = next_state(&view(previous, true, operation.clone()), established);
        assert_eq!(got, Some(expected), "{previous:?} with {operation:?}");
    }
}

#[test]
fn paused_and_ignored_operations() {
    let paused = OperationView::Found(OperationFacts {
        task: Some(TaskState::CompletedWithError),
        paused: true,
        ignore_errors: false,
    });
    let ignored = OperationView::Found(OperationFacts {
        task: Some(TaskState::CompletedWithError),
        paused: false,
        ignore_errors: true,
    });
    let up = |operation| next_state(&view(Some(GracefulUpscaleRunning), true, operation), true);
    let down = |operation| next_state(&view(Some(GracefulDownscaleRunning), false, operation), true);
    assert_eq!(up(paused.clone()), Some(GracefulUpscalePaused));
    assert_eq!(up(ignored.clone()), Some(GracefulUpscaleSucceeded));
    assert_eq!(down(paused), Some(GracefulDownscalePaused));
    // A failed drain is never success, even when nothing will retry it.
    assert_eq!(down(ignored), Some(GracefulDownscaleCompletedWithError));
}

#[test]
fn leaving_brokers() {
    let table = [
        (Some(GracefulUpscaleSucceeded), OperationView::NotNamed, Some(GracefulDownscaleRequired)),
        (None, OperationView::NotNamed, Some(GracefulDownscaleRequired)),
        (Some(GracefulUpscaleRequired), OperationView::NotNamed, Some(GracefulDownscaleRequired)),
        (Some(GracefulUpscaleRunning), found(Some(TaskState::InExecution)), Some(GracefulUpscaleRunning)),
        (Some(GracefulUpscaleRunning), found(Some(TaskState::Completed)), Some(GracefulDownscaleRequired)),
        (Some(GracefulDownscaleRequired), OperationView::NotNamed, Some(GracefulDownscaleRequired)),
        (Some(GracefulDownscaleScheduled), found(None), Some(GracefulDownscaleScheduled)),
        (Some(GracefulDownscaleScheduled), found(Some(TaskState::Active)), Some(GracefulDownscaleRunning)),
        (Some(GracefulDownscaleRunning), found(Some(TaskState::Completed)), Some(GracefulDownscaleSucceeded)),
        (
            Some(GracefulDownscaleRunning),
            found(Some(TaskState::CompletedWithError)),
            Some(GracefulDownscaleCompletedWithError),
        ),
        // A drain whose operation vanished is requested again, never assumed done.
        (Some(GracefulDownscaleRunning), OperationView::Missing, Some(GracefulDownscaleRequired)),
        (Some(GracefulDownscaleSucceeded), OperationView::Missing, Some(GracefulDownscaleSucceeded)),
    ];
    for (previous, operation, expected) in table {
        assert_eq!(next_state(&view(previous, false, operation.clone()), true), expected, "{previous:?} {operation:?}");
    }
}

#[test]
fn nothing_to_drain_and_controller_only_nodes() {
    let empty =
        BrokerView { has_objects: false, ..view(Some(GracefulUpscaleSucceeded), false, OperationView::NotNamed) };
    assert_eq!(next_state(&empty, true), None);
    assert!(may_remove(None, true));
    let controller = BrokerView { holds_data: false, ..view(None, true, OperationView::NotNamed) };
    assert_eq!(next_state(&controller, true), Some(GracefulUpscaleSucceeded));
    let leaving_controller = BrokerView { in_spec: false, ..controller };
    assert_eq!(next_state(&leaving_controller, true), None);
    assert!(may_remove(Some(GracefulUpscaleSucceeded), false));
}

#[test]
fn taken_back_brokers() {
    // Before the drain started: nothing moved, nothing to do.
    assert_eq!(
        next_state(&view(Some(GracefulDownscaleRequired), true, OperationView::NotNamed), true),
        Some(GracefulUpscaleSucceeded)
    );
    // Mid-drain: the drain ends first, then the broker rejoins through add_broker.
    let running = found(Some(TaskState::InExecution));
    assert_eq!(next_state(&view(Some(GracefulDownscaleRunning), true, running), true), Some(GracefulDownscaleRunning));
    let done = found(Some(TaskState::Completed));
    assert_eq!(next_state(&view(Some(GracefulDownscaleRunning), true, done), true), Some(GracefulUpscaleRequired));
}

#[test]
fn only_a_completed_drain_allows_removal() {
    for state in [
        GracefulDownscaleRequired,
        GracefulDownscaleScheduled,
        GracefulDownscaleRunning,
        GracefulDownscaleCompletedWithError,
        GracefulDownscalePaused,
        GracefulUpscaleSucceeded,
        GracefulUpscaleRunning,
    ] {
        assert!(!may_remove(Some(state), true), "{state:?}");
    }
    assert!(may_remove(Some(GracefulDownscaleSucceeded), true));
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

/// What one reconcile may observe: the operation (if the state names one) and spec membership.
#[derive(Clone, Debug)]
struct Step {
    vanished: bool,
    facts: OperationFacts,
    in_spec: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (any::<u8>(), task_state(), any::<bool>(), any::<bool>(), any::<u8>()).prop_map(
        |(vanish, task, paused, ignore_errors, spec)| Step {
            vanished: vanish < 20,
            facts: OperationFacts { task, paused, ignore_errors },
            // Mostly out of the spec, sometimes taken back.
            in_spec: spec < 30,
        },
    )
}

fn initial_state() -> impl Strategy<Value = Option<State>> {
    prop_oneof![
        Just(None),
        Just(Some(GracefulUpscaleSucceeded)),
        Just(Some(GracefulUpscaleRequired)),
        Just(Some(GracefulUpscaleRunning)),
        Just(Some(GracefulUpscaleCompletedWithError)),
    ]
}

fn names_operation(state: Option<State>) -> bool {
    state.is_some_and(|s| is_in_progress(s) && !matches!(s, GracefulUpscaleRequired | GracefulDownscaleRequired))
}

proptest! {
    /// Whatever the operations report, in whatever order, and however often the broker is taken
    /// back and removed again: a leaving broker may only go after the drain requested since it
    /// last left reported `Completed`.
    #[test]
    fn no_removal_without_a_completed_drain(initial in initial_state(), steps in prop::collection::vec(step(), 1..40)) {
        let mut state = initial;
        let mut drain_completed = false;
        for step in steps {
            let operation = if !names_operation(state) {
                OperationView::NotNamed
            } else if step.vanished {
                OperationView::Missing
            } else {
                OperationView::Found(step.facts.clone())
            };
            let is_drain = state.is_some_and(|s| matches!(
                s, GracefulDownscaleScheduled | GracefulDownscaleRunning | GracefulDownscaleCompletedWithError | GracefulDownscalePaused
            ));
            if is_drain && matches!(&operation, OperationView::Found(f) if f.task == Some(TaskState::Completed)) {
                drain_completed = true;
            }
            let view = BrokerView { previous: state, in_spec: step.in_spec, holds_data: true, has_objects: true, operation };
            state = next_state(&view, true);
            // The planner creates the operation a Required state asks for.
            state = match state {
                Some(GracefulDownscaleRequired) => Some(GracefulDownscaleScheduled),
                Some(GracefulUpscaleRequired) => Some(GracefulUpscaleScheduled),
                other => other,
            };
            if step.in_spec || !state.is_some_and(is_downscale) {
                drain_completed = false;
            }
            if !step.in_spec && may_remove(state, true) {
                prop_assert!(drain_completed, "removable in {state:?} without a completed drain");
            }
        }
    }
}
