//! Reads only: the operations of one cluster (straight from the API server, never a cache:
//! a stale status could send a task twice), the KafkaCluster's Cruise Control settings, and
//! what Cruise Control says about its executor and this cluster's user tasks.

use std::collections::HashSet;
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{Api, Client};
use serde_json::Value;

use crd_types::cruise_control_operation::CruiseControlTaskOperation;
use crd_types::labels::KAFKA_CR;
use crd_types::{CruiseControlOperation, KafkaCluster};
use cruise_control_client::{CruiseControlClient, CruiseControlEndpoint, Error, Submitted, TaskEndpoint, TaskRequest};

use crate::metrics::Metrics;
use crate::model::{ClusterKey, ClusterView, CruiseControlView, Observed, OperationView, PollOutcome};
use crate::task_state::{self, Phase};

/// Koperator's default for `RetryDurationMinutes: 0`.
const DEFAULT_TASK_TIME_LIMIT: Duration = Duration::from_secs(5 * 60);

/// The operations labelled for `cluster` (those without the label when its name is empty).
pub async fn operations(client: &Client, cluster: &ClusterKey) -> Result<Vec<CruiseControlOperation>, kube::Error> {
    let api: Api<CruiseControlOperation> = Api::namespaced(client.clone(), &cluster.namespace);
    if cluster.name.is_empty() {
        let all = api.list(&ListParams::default()).await?;
        return Ok(all.items.into_iter().filter(|op| ClusterKey::of(op).name.is_empty()).collect());
    }
    let selector = format!("{KAFKA_CR}={}", cluster.name);
    Ok(api.list(&ListParams::default().labels(&selector)).await?.items)
}

/// What the KafkaCluster of the operations says.
pub struct ClusterRead {
    pub view: ClusterView,
    pub endpoint: Option<CruiseControlEndpoint>,
    /// For events about the cluster; `None` when it does not exist.
    pub uid: Option<String>,
}

/// The KafkaCluster's settings, read untyped: a KafkaCluster whose spec another controller
/// finds invalid still says where its Cruise Control is.
pub async fn cluster(client: &Client, cluster: &ClusterKey) -> Result<ClusterRead, kube::Error> {
    let missing = |reason: String| ClusterRead { view: ClusterView::Missing(reason), endpoint: None, uid: None };
    if cluster.name.is_empty() {
        return Ok(missing(format!("the label {KAFKA_CR} naming the KafkaCluster is missing")));
    }
    let resource = ApiResource::erase::<KafkaCluster>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &cluster.namespace, &resource);
    Ok(match api.get_opt(&cluster.name).await? {
        Some(object) => {
            let (view, endpoint) = cluster_settings(&object.data, cluster);
            ClusterRead { view, endpoint, uid: object.metadata.uid }
        }
        None => missing(format!("KafkaCluster {cluster} (label {KAFKA_CR}) does not exist")),
    })
}

/// Pure part of [`cluster`]: endpoint and task time limit from the KafkaCluster's JSON.
pub fn cluster_settings(data: &Value, cluster: &ClusterKey) -> (ClusterView, Option<CruiseControlEndpoint>) {
    let text = |pointer: &str| data.pointer(pointer).and_then(Value::as_str);
    let explicit = text("/spec/cruiseControlConfig/cruiseControlEndpoint");
    let domain = text("/spec/kubernetesClusterDomain");
    let endpoint = match CruiseControlEndpoint::for_cluster(&cluster.name, &cluster.namespace, explicit, domain) {
        Ok(endpoint) => endpoint,
        Err(error) => {
            return (ClusterView::Invalid(format!("spec.cruiseControlConfig.cruiseControlEndpoint: {error}")), None);
        }
    };
    let task_time_limit = data
        .pointer("/spec/cruiseControlConfig/cruiseControlTaskSpec")
        .filter(|v| v.is_object())
        .map(|spec| match spec.get("RetryDurationMinutes").and_then(Value::as_u64).filter(|minutes| *minutes > 0) {
            Some(minutes) => Duration::from_secs(minutes.saturating_mul(60)),
            None => DEFAULT_TASK_TIME_LIMIT,
        });
    (ClusterView::Found { task_time_limit }, Some(endpoint))
}

/// Whether this pass must ask Cruise Control anything: a task may be running, or one may start.
pub fn needs_cruise_control(operations: &[OperationView]) -> bool {
    operations.iter().any(|operation| match task_state::phase(&operation.task) {
        Phase::Running => !operation.deleting || operation.has_finalizer(),
        Phase::Pending => !operation.deleting && !operation.paused,
        Phase::Failed => {
            !operation.deleting
                && !operation.paused
                && operation.error_policy == crd_types::cruise_control_operation::ErrorPolicy::Retry
        }
        Phase::Completed => false,
    })
}

/// The Cruise Control endpoint of an operation, if it is a task endpoint.
pub fn task_endpoint(operation: CruiseControlTaskOperation) -> Option<TaskEndpoint> {
    match operation {
        CruiseControlTaskOperation::AddBroker => Some(TaskEndpoint::AddBroker),
        CruiseControlTaskOperation::RemoveBroker => Some(TaskEndpoint::RemoveBroker),
        CruiseControlTaskOperation::Rebalance => Some(TaskEndpoint::Rebalance),
        CruiseControlTaskOperation::RemoveDisks => Some(TaskEndpoint::RemoveDisks),
        CruiseControlTaskOperation::StopProposalExecution | CruiseControlTaskOperation::Status => None,
    }
}

/// Executor state, the status of this cluster's running user tasks, and the answers to
/// tasks first answered with 202 (sent again with their User-Task-ID for the result).
pub async fn cruise_control(
    client: &CruiseControlClient,
    operations: &[OperationView],
    metrics: &Metrics,
) -> CruiseControlView {
    let unreachable = |error: &Error| CruiseControlView::Unreachable(operator_runtime::error_chain(error));
    let state = client.state().await;
    metrics.request("state", &state);
    let state = match state {
        Ok(state) => state,
        Err(error) => return unreachable(&error),
    };
    let running: Vec<&OperationView> =
        operations.iter().filter(|op| task_state::phase(&op.task) == Phase::Running && op.task.id.is_some()).collect();
    let ids: Vec<&str> = running.iter().filter_map(|op| op.task.id.as_deref()).collect();
    let tasks = if ids.is_empty() { Ok(Vec::new()) } else { client.user_tasks(&ids).await };
    if !ids.is_empty() {
        metrics.request("user_tasks", &tasks);
    }
    let tasks = match tasks {
        Ok(tasks) => tasks,
        Err(error) => return unreachable(&error),
    };
    let known: HashSet<&str> = tasks.iter().map(|task| task.user_task_id.as_str()).collect();
    let mut observed = Observed {
        executor_idle: state.executor.state.is_idle(),
        executor_stopping: state.executor.state == cruise_control_client::ExecutorStatus::StoppingExecution,
        busy_with: state.executor.busy_with(),
        triggered_task: state.executor.triggered_user_task_id.clone().filter(|id| !id.is_empty()),
        not_ready: state.not_ready_reason(),
        tasks: tasks.iter().map(|task| (task.user_task_id.clone(), task.status.clone())).collect(),
        polls: Default::default(),
    };
    for operation in running {
        let (Some(id), Some(endpoint)) = (operation.task.id.clone(), task_endpoint(operation.task.operation)) else {
            continue;
        };
        // Only tasks first answered with 202 lack their result, and only a task Cruise Control
        // still knows can be asked for it.
        if operation.task.http_response_code != Some(202) || !known.contains(id.as_str()) {
            continue;
        }
        let submitted = Submitted {
            // The same request as sent (see apply), or Cruise Control would not match the task id.
            request: TaskRequest::accepted_only(endpoint, operation.task.parameters.clone()).0,
            user_task_id: id.clone(),
            http_status: 202,
            result: None,
            progress: None,
        };
        let answer = client.poll(&submitted).await;
        metrics.request(endpoint.name(), &answer);
        let outcome = match answer {
            Ok(answer) => match answer.result {
                Some(result) => PollOutcome::Computed(task_state::summary(&result)),
                None => PollOutcome::Computing,
            },
            Err(Error::Status { status, message, .. }) => {
                PollOutcome::Failed { code: Some(i32::from(status)), message }
            }
            Err(_) => continue,
        };
        observed.polls.insert(id, outcome);
    }
    CruiseControlView::Seen(observed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> ClusterKey {
        ClusterKey { namespace: "ns".into(), name: "kafka".into() }
    }

    #[test]
    fn koperator_service_unless_an_endpoint_is_given() {
        let (view, endpoint) = cluster_settings(&json!({"spec": {"cruiseControlConfig": {}}}), &key());
        assert_eq!(view, ClusterView::Found { task_time_limit: None });
        assert_eq!(endpoint.expect("endpoint").base_url(), "http://kafka-cruisecontrol-svc.ns.svc.cluster.local:8090");

        let data = json!({"spec": {"kubernetesClusterDomain": "k8s.local",
            "cruiseControlConfig": {"cruiseControlEndpoint": "cc.tools:9090"}}});
        let (_, endpoint) = cluster_settings(&data, &key());
        assert_eq!(endpoint.expect("endpoint").base_url(), "http://cc.tools:9090");
    }

    #[test]
    fn task_time_limit_follows_koperator() {
        let limit = |spec: Value| match cluster_settings(&json!({"spec": {"cruiseControlConfig": spec}}), &key()).0 {
            ClusterView::Found { task_time_limit } => task_time_limit,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            limit(json!({"cruiseControlTaskSpec": {"RetryDurationMinutes": 12}})),
            Some(Duration::from_secs(720))
        );
        assert_eq!(
            limit(json!({"cruiseControlTaskSpec": {"RetryDurationMinutes": 0}})),
            Some(Duration::from_secs(300))
        );
        assert_eq!(limit(json!({})), None);
    }

    #[test]
    fn a_bad_endpoint_is_reported() {
        let data = json!({"spec": {"cruiseControlConfig": {"cruiseControlEndpoint": "ftp://cc"}}});
        assert!(matches!(cluster_settings(&data, &key()), (ClusterView::Invalid(_), None)));
    }
}
