//! One pass over the operations of one cluster: read them and the KafkaCluster → ask Cruise
//! Control (only when a task may run or start) → plan (pure) → apply → write the statuses
//! that changed and the events.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;

use crd_types::CruiseControlOperationStatus;
use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint};

use crate::apply::{self, Context};
use crate::decision::{Inputs, Situation};
use crate::kube_writes::OperationWriter;
use crate::metrics::Metrics;
use crate::model::{ClusterKey, CruiseControlView, OperationView, Pacing};
use crate::plan;
use crate::{observe, status};

/// What every cluster worker shares.
pub struct Shared {
    pub client: Client,
    pub writer: OperationWriter,
    pub metrics: Metrics,
    pub pacing: Pacing,
    pub cruise_control: ClientSettings,
}

/// What one cluster's worker keeps between passes.
#[derive(Default)]
pub struct ClusterState {
    /// One HTTP client per Cruise Control, replaced when the endpoint changes.
    cruise_control: Option<CruiseControlClient>,
    /// Statuses whose write failed, by operation uid: until one is written, the next pass
    /// starts from it rather than from what the API server has, so that a task just sent is
    /// not taken for one never sent (and sent twice).
    unwritten: HashMap<String, CruiseControlOperationStatus>,
}

/// Runs one pass; answers when to run the next one without being woken (`None`: only on a change).
pub async fn run_pass(shared: &Shared, state: &mut ClusterState, cluster: &ClusterKey) -> Option<Duration> {
    let retry_later = Some(shared.pacing.poll_interval);
    let resources = match observe::operations(&shared.client, cluster).await {
        Ok(resources) => resources,
        Err(error) => {
            tracing::warn!(%cluster, error = %operator_runtime::error_chain(&error), "failed to list CruiseControlOperations");
            return retry_later;
        }
    };
    let mut operations: Vec<OperationView> = resources.iter().filter_map(OperationView::from_resource).collect();
    if operations.is_empty() {
        state.unwritten.clear();
        return None;
    }
    let as_read: HashMap<String, CruiseControlOperationStatus> =
        operations.iter().map(|op| (op.name.clone(), op.status.clone())).collect();
    state.unwritten.retain(|uid, _| operations.iter().any(|op| op.uid == *uid));
    for operation in &mut operations {
        if let Some(status) = state.unwritten.get(&operation.uid) {
            operation.task = status.current_task.clone().unwrap_or_else(|| operation.task.clone());
            operation.status = status.clone();
        }
    }
    let (cluster_view, endpoint) = match observe::cluster(&shared.client, cluster).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%cluster, error = %operator_runtime::error_chain(&error), "failed to read the KafkaCluster");
            return retry_later;
        }
    };
    let client = endpoint.and_then(|endpoint| client_for(shared, state, endpoint));
    let cruise_control = match &client {
        Some(client) if observe::needs_cruise_control(&operations) => {
            observe::cruise_control(client, &operations, &shared.metrics).await
        }
        _ => CruiseControlView::NotAsked,
    };
    if let CruiseControlView::Unreachable(reason) = &cruise_control {
        tracing::info!(%cluster, %reason, "Cruise Control is unreachable");
    }
    let now = Timestamp::now();
    let inputs = Inputs {
        operations: &operations,
        cluster: &cluster_view,
        cruise_control: &cruise_control,
        pacing: &shared.pacing,
        now,
    };
    let plan = plan::plan(&inputs);
    let wake_after = plan.wake_after;
    let context = Context {
        writer: &shared.writer,
        metrics: &shared.metrics,
        cruise_control: client.as_ref(),
        namespace: &cluster.namespace,
        pacing: &shared.pacing,
        now,
    };
    let applied = apply::apply(&context, &operations, plan).await;
    let now = Time(now);
    let mut next = wake_after;
    for operation in &operations {
        let Some(entry) = applied.get(&operation.name) else { continue };
        for notice in &entry.notices {
            tracing::info!(%cluster, operation = %operation.name, reason = notice.reason, "{}", notice.note);
            shared.writer.publish(&cluster.namespace, operation, notice).await;
        }
        // An operation let go of is about to disappear: nothing worth writing.
        if entry.situation == Situation::Released {
            continue;
        }
        let desired = status::desired_status(operation, entry.status.clone(), &entry.situation, &now);
        let Some(read) = as_read.get(&operation.name) else { continue };
        match shared.writer.write_status(&cluster.namespace, &operation.name, read, &desired).await {
            Ok(_) => {
                state.unwritten.remove(&operation.uid);
            }
            Err(error) => {
                tracing::warn!(error = %operator_runtime::error_chain(&error), "will retry on the next pass");
                state.unwritten.insert(operation.uid.clone(), desired);
                next = retry_later;
            }
        }
    }
    next
}

fn client_for(
    shared: &Shared,
    state: &mut ClusterState,
    endpoint: CruiseControlEndpoint,
) -> Option<CruiseControlClient> {
    if let Some(client) = state.cruise_control.as_ref().filter(|client| *client.endpoint() == endpoint) {
        return Some(client.clone());
    }
    match CruiseControlClient::new(endpoint, shared.cruise_control.clone()) {
        Ok(client) => {
            state.cruise_control = Some(client.clone());
            Some(client)
        }
        Err(error) => {
            tracing::error!(error = %operator_runtime::error_chain(&error), "failed to create a Cruise Control client");
            None
        }
    }
}
