//! One pass over the operations of one cluster: read them and the KafkaCluster → ask Cruise
//! Control (only when a task may run or start) → plan (pure) → apply → write the statuses
//! that changed and the events.
//!
//! A write the API server refuses does not end the pass: every other status is still
//! written, and the pass then returns the first failure, for the worker's retry pacing, the
//! reconcile metrics and a Warning event.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;

use crd_types::CruiseControlOperationStatus;
use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint};
use operator_runtime::error_class::{Classify, ErrorClass, kube_error_class};
use operator_runtime::keyed_worker::{NextPass, PassOutcome};

use crate::apply::{self, Context};
use crate::decision::{Inputs, Situation};
use crate::kube_writes::{OperationWriter, WriteError};
use crate::metrics::Metrics;
use crate::model::{ClusterKey, CruiseControlView, OperationView, Pacing};
use crate::{observe, plan, status};

/// Why a pass could not do all of its work.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("failed to list the CruiseControlOperations of KafkaCluster {cluster}")]
    ListOperations {
        cluster: ClusterKey,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read KafkaCluster {cluster}")]
    ReadCluster {
        cluster: ClusterKey,
        #[source]
        source: kube::Error,
    },
    #[error("{failed} writes for the CruiseControlOperations of KafkaCluster {cluster} failed; the first")]
    Write {
        cluster: ClusterKey,
        failed: usize,
        #[source]
        source: WriteError,
    },
}

impl Classify for PassError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::ListOperations { source, .. } | Self::ReadCluster { source, .. } => kube_error_class(source),
            Self::Write { source, .. } => source.class(),
        }
    }
}

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
    /// The KafkaCluster's uid as last read, for events about it.
    pub cluster_uid: Option<String>,
    /// One HTTP client per Cruise Control, replaced when the endpoint changes.
    cruise_control: Option<CruiseControlClient>,
    /// Statuses whose write failed, by operation uid: until one is written, the next pass
    /// starts from it rather than from what the API server has, so that a task just sent is
    /// not taken for one never sent (and sent twice).
    unwritten: HashMap<String, CruiseControlOperationStatus>,
}

/// Runs one pass; answers when to run the next one without being woken, and its failure.
pub async fn run_pass(shared: &Shared, state: &mut ClusterState, cluster: &ClusterKey) -> PassOutcome<PassError> {
    let resources = match observe::operations(&shared.client, cluster).await {
        Ok(resources) => resources,
        Err(source) => return PassOutcome::failed(PassError::ListOperations { cluster: cluster.clone(), source }),
    };
    let mut operations: Vec<OperationView> = resources.iter().filter_map(OperationView::from_resource).collect();
    if operations.is_empty() {
        state.unwritten.clear();
        return PassOutcome::done(NextPass::Idle);
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
    let observe::ClusterRead { view: cluster_view, endpoint, uid } =
        match observe::cluster(&shared.client, cluster).await {
            Ok(read) => read,
            Err(source) => return PassOutcome::failed(PassError::ReadCluster { cluster: cluster.clone(), source }),
        };
    state.cluster_uid = uid;
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
    let mut write_failures = applied.write_failures;
    let now = Time(now);
    for operation in &operations {
        let Some(entry) = applied.operations.get(&operation.name) else { continue };
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
                state.unwritten.insert(operation.uid.clone(), desired);
                write_failures.push(error);
            }
        }
    }
    let failed = write_failures.len();
    let failure =
        write_failures.into_iter().next().map(|source| PassError::Write { cluster: cluster.clone(), failed, source });
    PassOutcome { next: wake_after.map_or(NextPass::Idle, NextPass::After), failure }
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
