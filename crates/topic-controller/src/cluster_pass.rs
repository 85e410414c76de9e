//! A KafkaCluster's passes as the keyed worker runs them: the first waits for the whole
//! KafkaTopic list, each takes the cluster's topics from the cache, and the cluster's state
//! (its Kafka admin client, its status queue) lives here between passes.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::ObjectReference;

use crd_types::KafkaCluster;
use operator_runtime::CancellationToken;
use operator_runtime::keyed_worker::{KeyedPass, NextPass, PassOutcome};
use operator_runtime::reconcile_report::regarding;

use crate::cache::TopicCache;
use crate::request::ClusterKey;
use crate::status_writer::StatusQueue;
use crate::sync::{self, ClusterState, PassError, Shared};

pub struct ClusterPass {
    cluster: ClusterKey,
    cache: TopicCache,
    shared: Arc<Shared>,
    state: ClusterState,
    statuses: StatusQueue,
}

impl ClusterPass {
    /// Starts the cluster's status writer too, which runs until `stop`.
    pub fn start(cluster: ClusterKey, cache: TopicCache, shared: Arc<Shared>, stop: CancellationToken) -> Self {
        let statuses = StatusQueue::default();
        tokio::spawn(statuses.clone().run(shared.writer.clone(), stop));
        Self { cluster, cache, shared, state: ClusterState::new(statuses.clone()), statuses }
    }

    async fn run_pass(&mut self) -> PassOutcome<PassError> {
        // Conflicts between KafkaTopics are decided on the whole set: not before it is listed.
        if !self.cache.wait_until_ready().await {
            return PassOutcome::done(NextPass::Idle);
        }
        let resources = self.cache.topics_of(&self.cluster);
        if resources.is_empty() {
            // No topics left: drop the Kafka client and sleep until one appears.
            self.state = ClusterState::new(self.statuses.clone());
            return PassOutcome::done(NextPass::Idle);
        }
        let started = Instant::now();
        let report = sync::run_pass(&self.shared, &mut self.state, &self.cluster, resources).await;
        // The topic benchmark counts these lines and reads their `topics` and `elapsed`.
        tracing::debug!(
            cluster = %self.cluster,
            topics = report.topics,
            elapsed = ?started.elapsed(),
            retry_soon = report.retry_soon,
            failed = report.failure.is_some(),
            statuses_queued = self.statuses.len(),
            "pass done"
        );
        let next = if report.retry_soon { NextPass::Soon } else { NextPass::Idle };
        PassOutcome { next, failure: report.failure }
    }
}

impl KeyedPass for ClusterPass {
    type Error = PassError;

    fn run(&mut self) -> impl Future<Output = PassOutcome<PassError>> + Send {
        self.run_pass()
    }

    /// The KafkaCluster: a pass covers all of its KafkaTopics. Its uid is not known here
    /// (the topic controller does not read KafkaClusters), so `kubectl describe` does not
    /// list the event; `kubectl get events --field-selector involvedObject.name=<cluster>` does.
    fn regarding(&self) -> ObjectReference {
        regarding::<KafkaCluster>(&self.cluster.namespace, &self.cluster.name, None)
    }
}
