//! Pure: what a broker's graceful state means for the user — which broker, which operation,
//! which Cruise Control task, and what (if anything) they must do.

use std::collections::BTreeMap;

use crd_types::CruiseControlOperation;
use crd_types::kafka_cluster::{CruiseControlState as State, CruiseControlVolumeState as VolumeState};

/// The sentence for broker `id` in `state`, or None when nothing is in flight.
pub fn broker_wait(
    id: i32,
    state: State,
    in_spec: bool,
    reference: Option<&str>,
    operation: Option<&CruiseControlOperation>,
) -> Option<String> {
    use State::*;
    let name = reference.unwrap_or("?");
    let task = task_summary(operation);
    let text = match state {
        GracefulUpscaleSucceeded => return None,
        GracefulDownscaleSucceeded if in_spec => return None,
        GracefulUpscaleRequired => format!("broker {id}: joins through Cruise Control (add_broker) once ready"),
        GracefulUpscaleScheduled => {
            format!("broker {id}: add_broker requested in CruiseControlOperation {name}, not started yet")
        }
        GracefulUpscaleRunning => format!("broker {id}: Cruise Control adds it (CruiseControlOperation {name}{task})"),
        GracefulUpscaleCompletedWithError => {
            format!("broker {id}: add_broker failed (CruiseControlOperation {name}{task}); the runner retries it")
        }
        GracefulUpscalePaused => format!(
            "broker {id}: add_broker is paused (CruiseControlOperation {name}{task}); remove its label pause=true to go on"
        ),
        GracefulDownscaleRequired => {
            format!(
                "broker {id}: left spec.brokers; its drain through Cruise Control (remove_broker) is being requested"
            )
        }
        GracefulDownscaleScheduled => {
            format!("broker {id}: drain requested in CruiseControlOperation {name}, not started yet; {KEPT}")
        }
        GracefulDownscaleRunning => {
            format!("broker {id}: Cruise Control moves its replicas away (CruiseControlOperation {name}{task}); {KEPT}")
        }
        GracefulDownscaleCompletedWithError if ignores_errors(operation) => format!(
            "broker {id}: its drain failed (CruiseControlOperation {name}{task}) and errorPolicy is ignore, so \
             nothing retries it; nothing is deleted: fix the cause and delete CruiseControlOperation {name} to \
             drain again, or put broker {id} back into spec.brokers"
        ),
        GracefulDownscaleCompletedWithError => format!(
            "broker {id}: its drain failed (CruiseControlOperation {name}{task}); the runner retries it; {KEPT}"
        ),
        GracefulDownscalePaused => format!(
            "broker {id}: its drain is paused (CruiseControlOperation {name}{task}); remove its label pause=true \
             to go on; {KEPT}"
        ),
        GracefulDownscaleSucceeded => format!("broker {id}: drained; its pod, ConfigMap, Service and then PVCs go"),
    };
    Some(text)
}

const KEPT: &str = "its pod, ConfigMap, Service and PVCs stay until the drain completes";
const KEPT_VOLUME: &str = "the volume stays mounted and its PVC kept until its data moved off";

/// The sentence for volume `mount_path` of broker `id`, or None when nothing is in flight.
pub fn volume_wait(
    id: i32,
    mount_path: &str,
    state: VolumeState,
    reference: Option<&str>,
    operation: Option<&CruiseControlOperation>,
) -> Option<String> {
    use VolumeState::*;
    let name = reference.unwrap_or("?");
    let task = task_summary(operation);
    let volume = format!("broker {id} volume {mount_path}");
    let text = match state {
        GracefulDiskRebalanceSucceeded => return None,
        GracefulDiskRebalanceRequired => {
            format!("{volume}: data is spread onto it (rebalance) once the pod runs with it")
        }
        GracefulDiskRebalanceScheduled => {
            format!("{volume}: disk rebalance requested in CruiseControlOperation {name}, not started yet")
        }
        GracefulDiskRebalanceRunning => {
            format!("{volume}: Cruise Control moves data onto it (CruiseControlOperation {name}{task})")
        }
        GracefulDiskRebalanceCompletedWithError => {
            format!("{volume}: the disk rebalance failed (CruiseControlOperation {name}{task}); the runner retries it")
        }
        GracefulDiskRebalancePaused => format!(
            "{volume}: the disk rebalance is paused (CruiseControlOperation {name}{task}); remove its label pause=true to go on"
        ),
        GracefulDiskRemovalRequired => {
            format!("{volume}: left the storage configs; moving its data off (remove_disks) is being requested")
        }
        GracefulDiskRemovalScheduled => {
            format!("{volume}: remove_disks requested in CruiseControlOperation {name}, not started yet; {KEPT_VOLUME}")
        }
        GracefulDiskRemovalRunning => {
            format!("{volume}: Cruise Control moves its data off (CruiseControlOperation {name}{task}); {KEPT_VOLUME}")
        }
        GracefulDiskRemovalCompletedWithError if ignores_errors(operation) => format!(
            "{volume}: moving its data off failed (CruiseControlOperation {name}{task}) and errorPolicy is ignore, so \
             nothing retries it; nothing is deleted: fix the cause and delete CruiseControlOperation {name} to try again"
        ),
        GracefulDiskRemovalCompletedWithError => format!(
            "{volume}: moving its data off failed (CruiseControlOperation {name}{task}); the runner retries it; {KEPT_VOLUME}"
        ),
        GracefulDiskRemovalPaused => format!(
            "{volume}: moving its data off is paused (CruiseControlOperation {name}{task}); remove its label \
             pause=true to go on; {KEPT_VOLUME}"
        ),
        GracefulDiskRemovalSucceeded => format!(
            "{volume}: its data moved off; its PVC goes once the broker's pod runs without it (after a restart)"
        ),
    };
    Some(text)
}

/// `broker 1 /a, /b; broker 2 /c`.
pub fn volume_list(volumes: &BTreeMap<i32, Vec<String>>) -> String {
    let per_broker: Vec<String> =
        volumes.iter().map(|(id, paths)| format!("broker {id} {}", paths.join(", "))).collect();
    per_broker.join("; ")
}

fn ignores_errors(operation: Option<&CruiseControlOperation>) -> bool {
    operation.is_some_and(|o| o.spec.error_policy == Some(crd_types::cruise_control_operation::ErrorPolicy::Ignore))
}

/// `, Cruise Control task <id> InExecution, 2 retries: <error>` — whatever the operation knows.
fn task_summary(operation: Option<&CruiseControlOperation>) -> String {
    let Some(status) = operation.and_then(|o| o.status.as_ref()) else { return String::new() };
    let mut text = String::new();
    if let Some(task) = &status.current_task {
        if let Some(id) = &task.id {
            text.push_str(&format!(", Cruise Control task {id}"));
        }
        if let Some(state) = task.state {
            text.push_str(&format!(" {state:?}"));
        }
    }
    if status.retry_count > 0 {
        text.push_str(&format!(", {} retries", status.retry_count));
    }
    if let Some(error) = status.current_task.as_ref().and_then(|t| t.error_message.as_deref()) {
        text.push_str(&format!(": {error}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::cruise_control_operation::{
        CruiseControlTask, CruiseControlTaskOperation, CruiseControlUserTaskState, ErrorPolicy,
    };
    use crd_types::{CruiseControlOperationSpec, CruiseControlOperationStatus};

    fn operation(state: CruiseControlUserTaskState, policy: ErrorPolicy) -> CruiseControlOperation {
        let mut operation = CruiseControlOperation::new(
            "kafka-removebroker-x7k2p",
            CruiseControlOperationSpec { error_policy: Some(policy), ..Default::default() },
        );
        operation.status = Some(CruiseControlOperationStatus {
            current_task: Some(CruiseControlTask {
                id: Some("6e3f".into()),
                operation: CruiseControlTaskOperation::RemoveBroker,
                state: Some(state),
                error_message: Some("broker 1 does not exist".into()),
                ..Default::default()
            }),
            retry_count: 2,
            ..Default::default()
        });
        operation
    }

    #[test]
    fn names_broker_operation_and_task() {
        let running = operation(CruiseControlUserTaskState::InExecution, ErrorPolicy::Retry);
        let text =
            broker_wait(1, State::GracefulDownscaleRunning, false, Some("kafka-removebroker-x7k2p"), Some(&running))
                .expect("waits");
        assert!(text.starts_with("broker 1: Cruise Control moves its replicas away"), "{text}");
        assert!(text.contains("kafka-removebroker-x7k2p, Cruise Control task 6e3f InExecution, 2 retries"), "{text}");
        assert!(text.contains("stay until the drain completes"), "{text}");
    }

    #[test]
    fn an_ignored_failure_tells_the_user_what_to_do() {
        let failed = operation(CruiseControlUserTaskState::CompletedWithError, ErrorPolicy::Ignore);
        let text = broker_wait(
            1,
            State::GracefulDownscaleCompletedWithError,
            false,
            Some("kafka-removebroker-x7k2p"),
            Some(&failed),
        )
        .expect("waits");
        assert!(text.contains("nothing retries it; nothing is deleted"), "{text}");
        assert!(text.contains("delete CruiseControlOperation kafka-removebroker-x7k2p"), "{text}");
    }

    #[test]
    fn settled_brokers_wait_for_nothing() {
        assert_eq!(broker_wait(0, State::GracefulUpscaleSucceeded, true, None, None), None);
    }
}
