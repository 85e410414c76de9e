//! Wires the runner to the API: one watch on CruiseControlOperations, and one keyed worker
//! per KafkaCluster (operator-runtime's `keyed_worker`) woken by changes to that cluster's
//! operations. The watch only wakes workers; each pass reads the operations afresh (see
//! `observe`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crd_types::CruiseControlOperation;
use crd_types::labels::{KAFKA_CR, PAUSE};
use operator_runtime::CancellationToken;
use operator_runtime::keyed_worker::{KeyedWorkers, Pacing};
use operator_runtime::reconcile_report::ReconcileReporter;

use crate::cluster_pass::ClusterPass;
use crate::model::ClusterKey;
use crate::pass::Shared;

/// Runs until `stop` is cancelled.
pub async fn run(
    client: Client,
    namespace: Option<&str>,
    shared: Arc<Shared>,
    pacing: Pacing,
    reporter: ReconcileReporter,
    stop: CancellationToken,
) {
    let api: Api<CruiseControlOperation> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        // Our own status writes and finalizers must not wake the worker again.
        .predicate_filter(relevant, Default::default());

    let start_pass = |cluster: &ClusterKey| ClusterPass::new(cluster.clone(), shared.clone());
    let mut workers = KeyedWorkers::new(start_pass, pacing, reporter, stop.clone());
    let dispatch = events.for_each(|event| {
        match event {
            Ok(operation) => workers.wake(ClusterKey::of(&operation)),
            Err(error) => {
                tracing::warn!(error = %operator_runtime::error_chain(&error), "CruiseControlOperation watch error")
            }
        }
        async {}
    });
    tokio::select! {
        () = dispatch => {}
        () = stop.cancelled() => {}
    }
}

/// Changes that can alter what the runner does: a new object, its task being set by its
/// creator (operation and parameters; our own writes never change those), deletion, the
/// spec, and the pause and cluster labels.
fn relevant(operation: &CruiseControlOperation) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    operation.uid().hash(&mut hasher);
    operation.metadata.generation.hash(&mut hasher);
    operation.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    for key in [PAUSE, KAFKA_CR] {
        operation.labels().get(key).hash(&mut hasher);
    }
    let task = operation.status.as_ref().and_then(|status| status.current_task.as_ref());
    task.map(|task| task.operation).hash(&mut hasher);
    task.map(|task| &task.parameters).hash(&mut hasher);
    Some(hasher.finish())
}
