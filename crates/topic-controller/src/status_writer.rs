//! Writes KafkaTopic statuses behind the pass, so that creating the next batch of topics in
//! Kafka does not wait for the API server to take the previous batch's statuses.
//!
//! Pending statuses are kept per KafkaTopic and replaced by newer ones, so a status is
//! written at most once however many passes computed it, and never an outdated one.
//!
//! The cache lags behind our own writes, so a pass that runs before a written status comes
//! back computes it again, with a new `lastTransitionTime` (the cached conditions it would
//! keep the time from are still the old ones). The queue remembers a fingerprint of each
//! status it wrote, until the cache shows it, and does not write the same status twice.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};
use tokio::sync::Notify;

use crd_types::KafkaTopicStatus;
use operator_runtime::CancellationToken;

use crate::kube_writes::TopicWriter;
use crate::request::{ResourceKey, status_fingerprint};

/// Status writes in flight at once; lower than the finalizer writes' concurrency so that
/// topics waiting to be created keep most of the API server's attention.
const CONCURRENCY: usize = 16;

/// A status to write for one KafkaTopic object.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusUpdate {
    pub resource: ResourceKey,
    /// The status without its transition times, and the object's uid: the same status for a
    /// KafkaTopic deleted and created again under the same name is a different write.
    pub fingerprint: u64,
    pub status: KafkaTopicStatus,
}

impl StatusUpdate {
    pub fn new(resource: ResourceKey, uid: &str, status: KafkaTopicStatus) -> Self {
        let mut hasher = DefaultHasher::new();
        uid.hash(&mut hasher);
        status_fingerprint(&status).hash(&mut hasher);
        Self { resource, fingerprint: hasher.finish(), status }
    }
}

#[derive(Default)]
struct Queues {
    pending: HashMap<ResourceKey, StatusUpdate>,
    /// Fingerprints of statuses being written or written, and not yet seen settled in the
    /// cache.
    written: HashMap<ResourceKey, u64>,
}

#[derive(Clone, Default)]
pub struct StatusQueue {
    queues: Arc<Mutex<Queues>>,
    queued: Arc<Notify>,
}

impl StatusQueue {
    /// Queues `changed` statuses; `settled` KafkaTopics already show the status the pass
    /// wanted, so anything still queued for them is outdated.
    pub fn submit(&self, changed: Vec<StatusUpdate>, settled: impl Iterator<Item = ResourceKey>) {
        let mut queues = self.lock();
        for key in settled {
            queues.pending.remove(&key);
            queues.written.remove(&key);
        }
        let mut any = false;
        for update in changed {
            if queues.written.get(&update.resource) == Some(&update.fingerprint) {
                // Already written; the cache has not caught up yet.
                queues.pending.remove(&update.resource);
                continue;
            }
            any = true;
            queues.pending.insert(update.resource.clone(), update);
        }
        drop(queues);
        if any {
            self.queued.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the pending statuses to write; they count as written from now on, so a pass
    /// that computes one again while it is in flight does not queue it a second time.
    fn take(&self) -> Vec<StatusUpdate> {
        let mut queues = self.lock();
        let batch: Vec<StatusUpdate> = queues.pending.drain().map(|(_, update)| update).collect();
        for update in &batch {
            queues.written.insert(update.resource.clone(), update.fingerprint);
        }
        batch
    }

    /// A failed write is forgotten, so that the next pass queues it again.
    fn forget_failed(&self, update: &StatusUpdate) {
        let mut queues = self.lock();
        if queues.written.get(&update.resource) == Some(&update.fingerprint) {
            queues.written.remove(&update.resource);
        }
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
                    .for_each_concurrent(CONCURRENCY, |update| {
                        let (writer, queue) = (&writer, &self);
                        async move {
                            if let Err(error) = writer.write_status(&update.resource, &update.status).await {
                                queue.forget_failed(&update);
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
    use crd_types::conditions;
    use crd_types::kafka_topic::TopicState;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn key(name: &str) -> ResourceKey {
        ResourceKey { namespace: "ns".into(), name: name.into() }
    }

    fn update(name: &str, state: TopicState) -> StatusUpdate {
        StatusUpdate::new(key(name), "uid", KafkaTopicStatus { state: Some(state), ..Default::default() })
    }

    fn ready_at(seconds: i64) -> KafkaTopicStatus {
        let time = Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("valid"));
        let ready = conditions::new(conditions::READY, true, "InSync", "", Some(1), time);
        KafkaTopicStatus { state: Some(TopicState::Created), conditions: vec![ready], ..Default::default() }
    }

    #[test]
    fn a_newer_status_replaces_the_queued_one() {
        let queue = StatusQueue::default();
        queue.submit(vec![update("a", TopicState::Creating)], std::iter::empty());
        queue.submit(vec![update("a", TopicState::Created)], std::iter::empty());
        assert_eq!(queue.take(), vec![update("a", TopicState::Created)]);
    }

    #[test]
    fn a_settled_topic_drops_its_outdated_queued_status() {
        let queue = StatusQueue::default();
        queue.submit(vec![update("a", TopicState::Failed), update("b", TopicState::Created)], std::iter::empty());
        queue.submit(vec![], [key("a")].into_iter());
        assert_eq!(queue.take(), vec![update("b", TopicState::Created)]);
    }

    #[test]
    fn a_status_written_or_in_flight_is_not_queued_again_while_the_cache_lags() {
        let queue = StatusQueue::default();
        queue.submit(vec![StatusUpdate::new(key("a"), "uid", ready_at(1))], std::iter::empty());
        assert_eq!(queue.take().len(), 1);
        // The next pass still sees the old cached status and computes the same one, newer.
        queue.submit(vec![StatusUpdate::new(key("a"), "uid", ready_at(2))], std::iter::empty());
        assert!(queue.take().is_empty());
        // A different status, or the same one for a new object of that name, is written.
        queue.submit(vec![StatusUpdate::new(key("a"), "other-uid", ready_at(2))], std::iter::empty());
        assert_eq!(queue.take().len(), 1);
    }

    #[test]
    fn a_settled_or_failed_write_is_forgotten() {
        let queue = StatusQueue::default();
        let first = StatusUpdate::new(key("a"), "uid", ready_at(1));
        queue.submit(vec![first.clone()], std::iter::empty());
        queue.take();
        queue.forget_failed(&first);
        queue.submit(vec![first.clone()], std::iter::empty());
        assert_eq!(queue.take().len(), 1);
        queue.submit(vec![], [key("a")].into_iter());
        queue.submit(vec![first], std::iter::empty());
        assert_eq!(queue.take().len(), 1);
    }
}
