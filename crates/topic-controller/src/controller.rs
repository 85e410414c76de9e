//! Wires the topic controller to the API: one watch on KafkaTopics feeding a cache, and one
//! worker per KafkaCluster woken by changes to that cluster's topics.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use std::hash::{DefaultHasher, Hash, Hasher};

use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::Notify;

use crd_types::KafkaTopic;
use operator_runtime::CancellationToken;

use crate::request::ClusterKey;
use crate::sync::Shared;
use crate::worker::{self, Pacing};

/// Runs until `stop` is cancelled.
pub async fn run(
    client: Client,
    namespace: Option<&str>,
    shared: Arc<Shared>,
    pacing: Pacing,
    stop: CancellationToken,
) {
    let api: Api<KafkaTopic> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let (store, writer) = reflector::store();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        // The cache holds every KafkaTopic; managed fields are most of each object's size.
        .modify(|topic| topic.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
        // Our own status writes and finalizers must not wake the worker again.
        .predicate_filter(relevant_to_kafka, Default::default());

    let mut workers: HashMap<ClusterKey, Arc<Notify>> = HashMap::new();
    let ready = store.clone();
    let dispatch = events.for_each(|event| {
        match event {
            Ok(topic) => {
                let cluster = ClusterKey::of(&topic);
                let changed = workers.entry(cluster.clone()).or_insert_with(|| {
                    let changed = Arc::new(Notify::new());
                    let (store, shared, changed_for_worker, stop) =
                        (ready.clone(), shared.clone(), changed.clone(), stop.clone());
                    tokio::spawn(async move {
                        // Conflicts between KafkaTopics are decided on the whole set: wait for it.
                        if store.wait_until_ready().await.is_ok() {
                            worker::run(cluster, store, shared, changed_for_worker, pacing, stop).await;
                        }
                    });
                    changed
                });
                changed.notify_one();
            }
            Err(error) => tracing::warn!(error = %operator_runtime::error_chain(&error), "KafkaTopic watch error"),
        }
        async {}
    });
    tokio::select! {
        () = dispatch => {}
        () = stop.cancelled() => {}
    }
}

/// Changes that can alter what the controller does in Kafka: the spec (generation), deletion,
/// and the adoption and keep annotations.
fn relevant_to_kafka(topic: &KafkaTopic) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    topic.uid().hash(&mut hasher);
    topic.metadata.generation.hash(&mut hasher);
    topic.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    let annotations = topic.annotations();
    for key in [crate::request::MANAGED_BY_ANNOTATION, crate::request::KEEP_ON_DELETE_ANNOTATION] {
        annotations.get(key).hash(&mut hasher);
    }
    Some(hasher.finish())
}
