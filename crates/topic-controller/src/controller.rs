//! Wires the topic controller to the API: one watch on KafkaTopics feeding a cache, and one
//! keyed worker per KafkaCluster (operator-runtime's `keyed_worker`) woken by changes to that
//! cluster's topics.

use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};

use crd_types::KafkaTopic;
use operator_runtime::CancellationToken;
use operator_runtime::keyed_worker::{KeyedWorkers, Pacing};
use operator_runtime::reconcile_report::ReconcileReporter;

use crate::cache;
use crate::cluster_pass::ClusterPass;
use crate::request::ClusterKey;
use crate::sync::Shared;

/// Runs until `stop` is cancelled.
pub async fn run(
    client: Client,
    namespace: Option<&str>,
    shared: Arc<Shared>,
    pacing: Pacing,
    reporter: ReconcileReporter,
    stop: CancellationToken,
) {
    let api: Api<KafkaTopic> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let (cache, mut writer) = cache::new();
    let start_pass =
        |cluster: &ClusterKey| ClusterPass::start(cluster.clone(), cache.clone(), shared.clone(), stop.clone());
    let mut workers = KeyedWorkers::new(start_pass, pacing, reporter, stop.clone());
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
