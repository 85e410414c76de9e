//! When the cluster may be changed by an alert at all (Koperator's rules): only while it runs
//! (`status.state` ClusterRunning), with no Cruise Control operation in flight, and within
//! `spec.alertManagerConfig` limits (zero or negative means none).

use crd_types::CruiseControlOperation;
use crd_types::cruise_control_operation::CruiseControlUserTaskState;
use crd_types::kafka_cluster::{
    ClusterState, CruiseControlState, CruiseControlVolumeState, KafkaClusterSpec, KafkaClusterStatus,
};
use kube::ResourceExt;

use super::Rejection;

/// Refused unless the cluster controller last reported the cluster as running: an action on a
/// cluster that is still starting, rolling or scaling would stack changes on changes.
pub fn running(status: Option<&KafkaClusterStatus>) -> Result<(), Rejection> {
    match status.and_then(|s| s.state) {
        Some(ClusterState::ClusterRunning) => Ok(()),
        other => Err(Rejection::Refused(format!(
            "the cluster is not running (status.state {})",
            other.map_or_else(|| "unset".to_owned(), |state| format!("{state:?}"))
        ))),
    }
}

/// Refused while Cruise Control moves data: a CruiseControlOperation of this cluster not
/// finished yet, or a broker or volume whose graceful action is scheduled or running.
pub fn cruise_control_idle(
    status: Option<&KafkaClusterStatus>,
    operations: &[CruiseControlOperation],
) -> Result<(), Rejection> {
    let busy_operation = operations.iter().find(|operation| {
        let task = operation.status.as_ref().and_then(|s| s.current_task.as_ref());
        match task.and_then(|t| t.state) {
            Some(CruiseControlUserTaskState::Active | CruiseControlUserTaskState::InExecution) => true,
            Some(CruiseControlUserTaskState::Completed | CruiseControlUserTaskState::CompletedWithError) => false,
            // Created but not run yet.
            None => task.is_none_or(|t| t.finished.is_none()),
        }
    });
    if let Some(operation) = busy_operation {
        return Err(Rejection::Refused(format!("Cruise Control operation {} is in flight", operation.name_any())));
    }
    for (id, broker) in status.map(|s| &s.brokers_state).into_iter().flatten() {
        let graceful = &broker.graceful_action_state;
        if let Some(state) = graceful.cruise_control_state.filter(|state| broker_in_flight(*state)) {
            return Err(Rejection::Refused(format!("broker {id} is in Cruise Control state {state:?}")));
        }
        for (mount_path, volume) in &graceful.volume_states {
            if let Some(state) = volume.cruise_control_volume_state.filter(|state| volume_in_flight(*state)) {
                return Err(Rejection::Refused(format!(
                    "volume {mount_path} of broker {id} is in Cruise Control state {state:?}"
                )));
            }
        }
    }
    Ok(())
}

fn broker_in_flight(state: CruiseControlState) -> bool {
    use CruiseControlState::*;
    matches!(
        state,
        GracefulUpscaleScheduled | GracefulUpscaleRunning | GracefulDownscaleScheduled | GracefulDownscaleRunning
    )
}

fn volume_in_flight(state: CruiseControlVolumeState) -> bool {
    use CruiseControlVolumeState::*;
    matches!(
        state,
        GracefulDiskRebalanceScheduled
            | GracefulDiskRebalanceRunning
            | GracefulDiskRemovalScheduled
            | GracefulDiskRemovalRunning
    )
}

/// `upScaleLimit` is the most brokers (entries of spec.brokers) alerts may grow the cluster to.
pub fn below_up_scale_limit(spec: &KafkaClusterSpec) -> Result<(), Rejection> {
    let limit = spec.alert_manager_config.as_ref().and_then(|c| c.up_scale_limit).unwrap_or(0);
    let brokers = spec.brokers.len();
    if limit > 0 && brokers >= usize::try_from(limit).unwrap_or(usize::MAX) {
        return Err(Rejection::Refused(format!("upScaleLimit {limit} reached: spec.brokers has {brokers} entries")));
    }
    Ok(())
}

/// `downScaleLimit` is the fewest brokers alerts may shrink the cluster to.
pub fn above_down_scale_limit(spec: &KafkaClusterSpec) -> Result<(), Rejection> {
    let limit = spec.alert_manager_config.as_ref().and_then(|c| c.down_scale_limit).unwrap_or(0);
    let brokers = spec.brokers.len();
    if limit > 0 && brokers <= usize::try_from(limit).unwrap_or(0) {
        return Err(Rejection::Refused(format!("downScaleLimit {limit} reached: spec.brokers has {brokers} entries")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crd_types::cruise_control_operation::{CruiseControlOperationStatus, CruiseControlTask};
    use crd_types::kafka_cluster::{AlertManagerConfig, Broker, BrokerState};

    use super::*;

    fn spec(brokers: i32, up: Option<i32>, down: Option<i32>) -> KafkaClusterSpec {
        KafkaClusterSpec {
            brokers: (0..brokers).map(|id| Broker { id, ..Default::default() }).collect(),
            alert_manager_config: Some(AlertManagerConfig { up_scale_limit: up, down_scale_limit: down }),
            ..Default::default()
        }
    }

    #[test]
    fn limits_bound_the_broker_count_and_zero_means_none() {
        assert!(below_up_scale_limit(&spec(3, Some(4), None)).is_ok());
        let refused = below_up_scale_limit(&spec(4, Some(4), None)).expect_err("at the limit");
        assert_eq!(refused, Rejection::Refused("upScaleLimit 4 reached: spec.brokers has 4 entries".into()));
        assert!(below_up_scale_limit(&spec(40, Some(0), None)).is_ok());
        assert!(below_up_scale_limit(&spec(40, Some(-1), None)).is_ok());
        assert!(above_down_scale_limit(&spec(3, None, Some(2))).is_ok());
        assert!(above_down_scale_limit(&spec(2, None, Some(2))).is_err());
        assert!(above_down_scale_limit(&spec(1, None, None)).is_ok());
    }

    #[test]
    fn only_a_running_cluster_may_be_changed() {
        let running_status = KafkaClusterStatus { state: Some(ClusterState::ClusterRunning), ..Default::default() };
        assert!(running(Some(&running_status)).is_ok());
        let rolling = KafkaClusterStatus { state: Some(ClusterState::ClusterRollingUpgrading), ..Default::default() };
        assert!(running(Some(&rolling)).is_err());
        assert!(running(None).is_err());
    }

    fn operation(state: Option<CruiseControlUserTaskState>) -> CruiseControlOperation {
        let mut operation = CruiseControlOperation::new("kafka-add-3", Default::default());
        operation.status = Some(CruiseControlOperationStatus {
            current_task: Some(CruiseControlTask { state, ..Default::default() }),
            ..Default::default()
        });
        operation
    }

    #[test]
    fn a_running_operation_or_graceful_action_keeps_alerts_out() {
        assert!(cruise_control_idle(None, &[operation(Some(CruiseControlUserTaskState::Completed))]).is_ok());
        assert!(cruise_control_idle(None, &[operation(Some(CruiseControlUserTaskState::InExecution))]).is_err());
        assert!(cruise_control_idle(None, &[operation(None)]).is_err());

        let mut status = KafkaClusterStatus::default();
        let mut broker = BrokerState::default();
        broker.graceful_action_state.cruise_control_state = Some(CruiseControlState::GracefulUpscaleSucceeded);
        status.brokers_state.insert("3".into(), broker.clone());
        assert!(cruise_control_idle(Some(&status), &[]).is_ok());
        broker.graceful_action_state.cruise_control_state = Some(CruiseControlState::GracefulUpscaleRunning);
        status.brokers_state.insert("3".into(), broker);
        let refused = cruise_control_idle(Some(&status), &[]).expect_err("running");
        assert!(refused.to_string().contains("broker 3"), "{refused}");
    }
}
