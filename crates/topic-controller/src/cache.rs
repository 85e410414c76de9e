//! The KafkaTopics the controller knows, kept as [`CachedTopic`]s instead of whole objects.
//!
//! A reflector would keep every KafkaTopic as the API returns it: at 10,000 topics that is
//! most of the controller's memory, and nearly all of it (metadata the controller never
//! reads, a BTreeMap node per config, ...) is dead weight. The watch events are read into
//! what the passes use, once, and nothing else is kept.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt};
use tokio::sync::watch;

use crd_types::KafkaTopic;

use crate::request::{ClusterKey, ResourceKey, TopicRequest};

/// One KafkaTopic as the passes use it.
#[derive(Debug)]
pub struct CachedTopic {
    pub cluster: ClusterKey,
    pub request: TopicRequest,
    pub finalizers: Vec<String>,
    resource_version: Option<String>,
    /// Fingerprint of what can change the controller's work in Kafka (see [`relevance`]).
    relevance: u64,
}

impl CachedTopic {
    pub fn from_resource(topic: &KafkaTopic) -> Self {
        let request = TopicRequest::from_resource(topic);
        Self {
            cluster: ClusterKey::of(topic),
            relevance: relevance(&request),
            finalizers: topic.finalizers().to_vec(),
            resource_version: topic.resource_version(),
            request,
        }
    }

    /// For events about this KafkaTopic.
    pub fn object_ref(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some(KafkaTopic::api_version(&()).into_owned()),
            kind: Some(KafkaTopic::kind(&()).into_owned()),
            namespace: Some(self.request.resource.namespace.clone()),
            name: Some(self.request.resource.name.clone()),
            uid: Some(self.request.uid.clone()),
            resource_version: self.resource_version.clone(),
            ..Default::default()
        }
    }
}

/// What can alter what the controller does in Kafka: the object (uid), its spec
/// (generation), deletion, and the adoption and keep annotations. Our own status and
/// finalizer writes change none of these, so they do not wake the worker again.
fn relevance(request: &TopicRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    request.uid.hash(&mut hasher);
    request.generation.hash(&mut hasher);
    request.deleting.hash(&mut hasher);
    request.adopt.hash(&mut hasher);
    request.keep_on_delete.hash(&mut hasher);
    hasher.finish()
}

type Topics = HashMap<ResourceKey, Arc<CachedTopic>>;

/// Shared between the watch (the only writer) and the cluster workers.
#[derive(Clone)]
pub struct TopicCache {
    topics: Arc<RwLock<Topics>>,
    ready: watch::Receiver<bool>,
}

/// The watch's side of the cache.
pub struct CacheWriter {
    cache: TopicCache,
    ready: watch::Sender<bool>,
    /// A relist in progress (after the first start or a lost watch), swapped in when done.
    relist: Option<Topics>,
}

pub fn new() -> (TopicCache, CacheWriter) {
    let (ready_tx, ready_rx) = watch::channel(false);
    let cache = TopicCache { topics: Arc::default(), ready: ready_rx };
    (cache.clone(), CacheWriter { cache, ready: ready_tx, relist: None })
}

impl TopicCache {
    /// Waits until the first full list is in; conflicts between KafkaTopics are decided on
    /// the whole set.
    pub async fn wait_until_ready(&self) -> bool {
        self.ready.clone().wait_for(|ready| *ready).await.is_ok()
    }

    pub fn topics_of(&self, cluster: &ClusterKey) -> Vec<Arc<CachedTopic>> {
        let topics = self.topics.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        topics.values().filter(|topic| &topic.cluster == cluster).cloned().collect()
    }
}

impl CacheWriter {
    pub fn begin_relist(&mut self) {
        self.relist = Some(Topics::new());
    }

    pub fn relisted(&mut self, topic: &KafkaTopic) {
        let cached = CachedTopic::from_resource(topic);
        self.relist.get_or_insert_default().insert(cached.request.resource.clone(), Arc::new(cached));
    }

    /// Swaps the relisted set in; returns every cluster whose topics may have changed.
    pub fn finish_relist(&mut self) -> BTreeSet<ClusterKey> {
        let relisted = self.relist.take().unwrap_or_default();
        let mut topics = self.cache.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let old = std::mem::replace(&mut *topics, relisted);
        drop(topics);
        let _ = self.ready.send(true);
        let current = self.cache.topics.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        old.values().chain(current.values()).map(|topic| topic.cluster.clone()).collect()
    }

    /// Records a change; returns the clusters whose worker must look again.
    pub fn applied(&mut self, topic: &KafkaTopic) -> Vec<ClusterKey> {
        let cached = Arc::new(CachedTopic::from_resource(topic));
        let mut topics = self.cache.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = topics.insert(cached.request.resource.clone(), cached.clone());
        match previous {
            Some(previous) if previous.relevance == cached.relevance && previous.cluster == cached.cluster => vec![],
            Some(previous) if previous.cluster != cached.cluster => {
                vec![previous.cluster.clone(), cached.cluster.clone()]
            }
            _ => vec![cached.cluster.clone()],
        }
    }

    pub fn deleted(&mut self, topic: &KafkaTopic) -> Vec<ClusterKey> {
        let key = ResourceKey { namespace: topic.namespace().unwrap_or_default(), name: topic.name_any() };
        let mut topics = self.cache.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        topics.remove(&key).map(|previous| vec![previous.cluster.clone()]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::KafkaTopicSpec;

    fn topic(name: &str, generation: i64) -> KafkaTopic {
        let mut topic: KafkaTopic = KafkaTopic::new(name, KafkaTopicSpec::default());
        topic.metadata.namespace = Some("ns".into());
        topic.metadata.uid = Some(format!("uid-{name}"));
        topic.metadata.generation = Some(generation);
        topic.spec.name = name.into();
        topic.spec.cluster_ref.name = "kafka".into();
        topic
    }

    fn kafka() -> ClusterKey {
        ClusterKey { namespace: "ns".into(), name: "kafka".into() }
    }

    #[tokio::test]
    async fn only_changes_that_matter_to_kafka_wake_the_worker() {
        let (cache, mut writer) = new();
        writer.begin_relist();
        writer.relisted(&topic("a", 1));
        assert_eq!(writer.finish_relist().into_iter().collect::<Vec<_>>(), vec![kafka()]);
        assert!(cache.wait_until_ready().await);

        let mut with_status = topic("a", 1);
        with_status.status = Some(Default::default());
        with_status.metadata.finalizers = Some(vec!["f".into()]);
        assert!(writer.applied(&with_status).is_empty(), "our own writes must not wake the worker");
        assert_eq!(cache.topics_of(&kafka())[0].finalizers, vec!["f".to_owned()]);
        assert_eq!(writer.applied(&topic("a", 2)), vec![kafka()]);

        let mut moved = topic("a", 3);
        moved.spec.cluster_ref.name = "other".into();
        let other = ClusterKey { namespace: "ns".into(), name: "other".into() };
        assert_eq!(writer.applied(&moved), vec![kafka(), other.clone()]);
        assert!(cache.topics_of(&kafka()).is_empty());
        assert_eq!(writer.deleted(&moved), vec![other]);
    }

    #[test]
    fn a_relist_replaces_the_whole_set() {
        let (cache, mut writer) = new();
        writer.begin_relist();
        writer.relisted(&topic("a", 1));
        writer.finish_relist();
        writer.begin_relist();
        writer.relisted(&topic("b", 1));
        writer.finish_relist();
        let names: Vec<String> = cache.topics_of(&kafka()).iter().map(|t| t.request.resource.name.clone()).collect();
        assert_eq!(names, vec!["b".to_owned()]);
    }
}
