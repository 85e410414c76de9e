//! Wires the KafkaUser reconciler to the API: one watch on KafkaUsers feeding a reflector
//! store, and one keyed worker per KafkaCluster woken when one of its users changes in a way
//! that matters (its spec, deletion, a new object); our own status, label and finalizer writes
//! do not wake it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crd_types::{KafkaCluster, KafkaUser};
use operator_runtime::CancellationToken;
use operator_runtime::keyed_worker::{KeyedPass, KeyedWorkers, NextPass, Pacing, PassOutcome};
use operator_runtime::reconcile_report::{ReconcileReporter, regarding};

use super::pass::{self, ClusterState, PassError, Shared};
use super::request::UserRequest;
use crate::request::{ClusterKey, ResourceKey};

/// Runs until `stop` is cancelled.
pub async fn run(
    client: Client,
    namespace: Option<&str>,
    shared: Arc<Shared>,
    pacing: Pacing,
    reporter: ReconcileReporter,
    stop: CancellationToken,
) {
    let api: Api<KafkaUser> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let (store, writer) = reflector::store();
    let start = |cluster: &ClusterKey| UsersPass {
        cluster: cluster.clone(),
        store: store.clone(),
        shared: shared.clone(),
        state: ClusterState::default(),
    };
    let mut workers = KeyedWorkers::new(start, pacing, reporter, stop.clone());
    let mut seen: HashMap<ResourceKey, (ClusterKey, u64)> = HashMap::new();
    let events = watcher(api, watcher::Config::default()).default_backoff().reflect(writer);
    let dispatch = events.for_each(|event| {
        let mut changed = Vec::new();
        match event {
            Ok(watcher::Event::Apply(user) | watcher::Event::InitApply(user)) => {
                let request = UserRequest::from_resource(&user);
                let now = (request.cluster.clone(), relevance(&request));
                match seen.insert(request.resource.clone(), now.clone()) {
                    Some(before) if before == now => {}
                    Some((before, _)) if before != now.0 => changed.extend([before, now.0]),
                    _ => changed.push(now.0),
                }
            }
            Ok(watcher::Event::Delete(user)) => {
                let key = ResourceKey { namespace: user.namespace().unwrap_or_default(), name: user.name_any() };
                changed.extend(seen.remove(&key).map(|(cluster, _)| cluster));
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => {
                tracing::warn!(error = %operator_runtime::error_chain(&error), "KafkaUser watch error");
            }
        }
        for cluster in changed {
            workers.wake(cluster);
        }
        async {}
    });
    tokio::select! {
        () = dispatch => {}
        () = stop.cancelled() => {}
    }
}

/// What can alter the work for a user: the object, its spec, its deletion.
fn relevance(request: &UserRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    request.uid.hash(&mut hasher);
    request.generation.hash(&mut hasher);
    request.deleting.hash(&mut hasher);
    hasher.finish()
}

struct UsersPass {
    cluster: ClusterKey,
    store: Store<KafkaUser>,
    shared: Arc<Shared>,
    state: ClusterState,
}

impl UsersPass {
    async fn run_pass(&mut self) -> PassOutcome<PassError> {
        if self.store.wait_until_ready().await.is_err() {
            return PassOutcome::done(NextPass::Idle);
        }
        let users: Vec<UserRequest> = self
            .store
            .state()
            .iter()
            .map(|user| UserRequest::from_resource(user))
            .filter(|user| user.cluster == self.cluster)
            .collect();
        if users.is_empty() {
            // No users left: drop the Kafka client and sleep until one appears.
            self.state = ClusterState::default();
            return PassOutcome::done(NextPass::Idle);
        }
        let report = pass::run_pass(&self.shared, &mut self.state, &self.cluster, &users).await;
        tracing::debug!(cluster = %self.cluster, users = users.len(), retry_soon = report.retry_soon, "users pass done");
        let next = if report.retry_soon { NextPass::Soon } else { NextPass::Idle };
        PassOutcome { next, failure: report.failure }
    }
}

impl KeyedPass for UsersPass {
    type Error = PassError;

    fn run(&mut self) -> impl Future<Output = PassOutcome<PassError>> + Send {
        self.run_pass()
    }

    fn regarding(&self) -> ObjectReference {
        regarding::<KafkaCluster>(&self.cluster.namespace, &self.cluster.name, None)
    }
}
