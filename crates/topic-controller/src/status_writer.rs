//! Writes KafkaTopic statuses behind the pass, so that creating the next batch of topics in
//! Kafka does not wait for the API server to take the previous batch's statuses.
//!
//! Pending statuses are kept per KafkaTopic and replaced by newer ones, so a status is
//! written at most once however many passes computed it, and never an outdated one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};
use tokio::sync::Notify;

use crd_types::KafkaTopicStatus;
use operator_runtime::CancellationToken;

use crate::kube_writes::TopicWriter;
use crate::request::ResourceKey;

/// Status writes in flight at once; lower than the finalizer writes' concurrency so that
/// topics waiting to be created keep most of the API server's attention.
const CONCURRENCY: usize = 16;

#[derive(Clone, Default)]
pub struct StatusQueue {
    pending: Arc<Mutex<HashMap<ResourceKey, KafkaTopicStatus>>>,
    queued: Arc<Notify>,
}

impl StatusQueue {
    /// Queues `changed` statuses; `settled` KafkaTopics already show the status the pass
    /// wanted, so anything still queued for them is outdated.
    pub fn submit(&self, changed: Vec<(ResourceKey, KafkaTopicStatus)>, settled: impl Iterator<Item = ResourceKey>) {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in settled {
            pending.remove(&key);
        }
        let any = !changed.is_empty();
        pending.extend(changed);
        drop(pending);
        if any {
            self.queued.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.pending.lock().map(|pending| pending.len()).unwrap_or_default()
    }

    fn take(&self) -> Vec<(ResourceKey, KafkaTopicStatus)> {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.drain().collect()
    }

    /// Writes until `stop`; a failed write is dropped, the next pass computes it again.
    pub async fn run(self, writer: TopicWriter, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.queued.notified() => {}
            }
            loop {
                let batch = self.take();
                if batch.is_empty() {
                    break;
                }
                stream::iter(batch)
                    .for_each_concurrent(CONCURRENCY, |(key, status)| {
                        let writer = &writer;
                        async move {
                            if let Err(error) = writer.write_status(&key, &status).await {
                                tracing::warn!(error = %operator_runtime::error_chain(&error), "will retry on the next pass");
                            }
                        }
                    })
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::kafka_topic::TopicState;

    fn key(name: &str) -> ResourceKey {
        ResourceKey { namespace: "ns".into(), name: name.into() }
    }

    fn status(state: TopicState) -> KafkaTopicStatus {
        KafkaTopicStatus { state: Some(state), ..Default::default() }
    }

    #[test]
    fn a_newer_status_replaces_the_queued_one() {
        let queue = StatusQueue::default();
        queue.submit(vec![(key("a"), status(TopicState::Creating))], std::iter::empty());
        queue.submit(vec![(key("a"), status(TopicState::Created))], std::iter::empty());
        assert_eq!(queue.take(), vec![(key("a"), status(TopicState::Created))]);
    }

    #[test]
    fn a_settled_topic_drops_its_outdated_queued_status() {
        let queue = StatusQueue::default();
        queue.submit(
            vec![(key("a"), status(TopicState::Failed)), (key("b"), status(TopicState::Created))],
            std::iter::empty(),
        );
        queue.submit(vec![], [key("a")].into_iter());
        assert_eq!(queue.take(), vec![(key("b"), status(TopicState::Created))]);
    }
}
