//! One task per KafkaCluster that has topics: it runs a pass when any of the cluster's
//! KafkaTopics changes (after a short pause that gathers a burst into one pass), soon again
//! while something waits, and otherwise once per resync interval to correct drift.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use operator_runtime::CancellationToken;

use crate::cache::TopicCache;

use crate::request::ClusterKey;
use crate::status_writer::StatusQueue;
use crate::sync::{self, ClusterState, Shared};

/// How a worker paces its passes.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Full pass with nothing changed: picks up drift made in Kafka.
    pub resync_interval: Duration,
    /// Gathers a burst of changes (10,000 topics applied at once) into few passes.
    pub debounce: Duration,
    /// First retry while something waits; doubles up to `max_retry`.
    pub min_retry: Duration,
    pub max_retry: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            resync_interval: Duration::from_secs(300),
            debounce: Duration::from_millis(250),
            min_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
        }
    }
}

pub async fn run(
    cluster: ClusterKey,
    cache: TopicCache,
    shared: Arc<Shared>,
    changed: Arc<Notify>,
    pacing: Pacing,
    stop: CancellationToken,
) {
    let statuses = StatusQueue::default();
    tokio::spawn(statuses.clone().run(shared.writer.clone(), stop.clone()));
    let mut state = ClusterState::new(statuses.clone());
    let mut retry = pacing.min_retry;
    let mut next_pass = Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = changed.notified() => {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(pacing.debounce) => {}
                }
                retry = pacing.min_retry;
            }
            () = tokio::time::sleep_until(next_pass.into()) => {}
        }
        let resources = cache.topics_of(&cluster);
        if resources.is_empty() {
            // No topics left: drop the Kafka client and sleep until one appears.
            state = ClusterState::new(statuses.clone());
            next_pass = Instant::now() + pacing.resync_interval;
            continue;
        }
        let started = Instant::now();
        let report = sync::run_pass(&shared, &mut state, &cluster, resources).await;
        tracing::debug!(
            %cluster,
            topics = report.topics,
            elapsed = ?started.elapsed(),
            retry_soon = report.retry_soon,
            statuses_queued = statuses.len(),
            "pass done"
        );
        if report.retry_soon {
            next_pass = Instant::now() + retry;
            retry = (retry * 2).min(pacing.max_retry);
        } else {
            next_pass = Instant::now() + pacing.resync_interval;
            retry = pacing.min_retry;
        }
    }
}
