//! Wires the runner to the API: one watch on CruiseControlOperations, and one worker per
//! KafkaCluster woken by changes to that cluster's operations. The watch only wakes workers;
//! each pass reads the operations afresh (see `observe`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::Notify;

use crd_types::CruiseControlOperation;
use crd_types::labels::{KAFKA_CR, PAUSE};
use operator_runtime::CancellationToken;

use crate::model::ClusterKey;
use crate::pass::Shared;
use crate::worker;

/// Runs until `stop` is cancelled.
pub async fn run(client: Client, namespace: Option<&str>, shared: Arc<Shared>, stop: CancellationToken) {
    let api: Api<CruiseControlOperation> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        // Our own status writes and finalizers must not wake the worker again.
        .predicate_filter(relevant, Default::default());

    let mut workers: HashMap<ClusterKey, Arc<Notify>> = HashMap::new();
    let dispatch = events.for_each(|event| {
        match event {
            Ok(operation) => {
                let cluster = ClusterKey::of(&operation);
                let changed = workers.entry(cluster.clone()).or_insert_with(|| {
                    let changed = Arc::new(Notify::new());
                    let (shared, changed_for_worker, stop) = (shared.clone(), changed.clone(), stop.clone());
                    tokio::spawn(worker::run(cluster, shared, changed_for_worker, stop));
                    changed
                });
                changed.notify_one();
            }
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
