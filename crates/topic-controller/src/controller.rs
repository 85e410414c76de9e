//! Wires the topic controller to the API: one watch on KafkaTopics feeding a cache, and one
//! worker per KafkaCluster woken by changes to that cluster's topics.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::Notify;

use crd_types::KafkaTopic;
use operator_runtime::CancellationToken;

use crate::cache::{self, TopicCache};
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
    let (cache, mut writer) = cache::new();
    let mut workers = Workers { running: HashMap::new(), cache, shared, pacing, stop: stop.clone() };
    let events = watcher(api, watcher::Config::default()).default_backoff();
    let dispatch = events.for_each(|event| {
        let changed = match event {
            Ok(watcher::Event::Init) => {
                writer.begin_relist();
                vec![]
            }
            Ok(watcher::Event::InitApply(topic)) => {
                writer.relisted(&topic);
                vec![]
            }
            Ok(watcher::Event::InitDone) => writer.finish_relist().into_iter().collect(),
            Ok(watcher::Event::Apply(topic)) => writer.applied(&topic),
            Ok(watcher::Event::Delete(topic)) => writer.deleted(&topic),
            Err(error) => {
                tracing::warn!(error = %operator_runtime::error_chain(&error), "KafkaTopic watch error");
                vec![]
            }
        };
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

/// One worker per cluster, started the first time the cluster has a KafkaTopic.
struct Workers {
    running: HashMap<ClusterKey, Arc<Notify>>,
    cache: TopicCache,
    shared: Arc<Shared>,
    pacing: Pacing,
    stop: CancellationToken,
}

impl Workers {
    fn wake(&mut self, cluster: ClusterKey) {
        let changed = self.running.entry(cluster.clone()).or_insert_with(|| {
            let changed = Arc::new(Notify::new());
            let (cache, shared, changed_for_worker, stop, pacing) =
                (self.cache.clone(), self.shared.clone(), changed.clone(), self.stop.clone(), self.pacing);
            tokio::spawn(async move {
                if cache.wait_until_ready().await {
                    worker::run(cluster, cache, shared, changed_for_worker, pacing, stop).await;
                }
            });
            changed
        });
        changed.notify_one();
    }
}
