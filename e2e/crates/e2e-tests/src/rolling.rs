//! Watching a rolling restart from outside: how many nodes are down at any moment (from a watch
//! on the cluster's pods), and a producer that keeps writing with acks=all throughout, so that
//! "no acknowledged message lost" can be checked afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::watcher::{self, Event};
use kube::{Api, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::ClusterState;

use crate::namespace::TestNamespace;
use crate::wait::{self, Check};
use crate::{kafka_cluster, kcat, message_accounting, pod_state};

/// Counts, from a pod watch, the nodes without a ready pod; remembers the worst moment and
/// every set of nodes that was down together.
pub struct DownWatch {
    worst: Arc<Mutex<(usize, String)>>,
    together: Arc<Mutex<BTreeSet<Vec<i32>>>>,
    task: JoinHandle<()>,
}

impl DownWatch {
    /// Watches the pods of `cluster`'s nodes `ids`.
    pub fn start(ns: &TestNamespace, cluster: &str, ids: &[i32]) -> Self {
        let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
        let config = watcher::Config::default().labels(&format!("kafka_cr={cluster},brokerId"));
        let ids: BTreeSet<i32> = ids.iter().copied().collect();
        let worst = Arc::new(Mutex::new((0, String::new())));
        let recorded = Arc::clone(&worst);
        let together = Arc::new(Mutex::new(BTreeSet::new()));
        let sets = Arc::clone(&together);
        let task = tokio::spawn(async move {
            let mut known: BTreeMap<String, Pod> = BTreeMap::new();
            // Pods arrive one by one while the watch (re)lists; only a complete list counts.
            let (mut listing, mut listed) = (BTreeMap::new(), false);
            let mut events = watcher::watcher(pods, config).boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(Event::Init) => (listing, listed) = (BTreeMap::new(), false),
                    Ok(Event::InitApply(pod)) => drop(listing.insert(pod.name_any(), pod)),
                    Ok(Event::InitDone) => (known, listed) = (std::mem::take(&mut listing), true),
                    Ok(Event::Apply(pod)) => drop(known.insert(pod.name_any(), pod)),
                    Ok(Event::Delete(pod)) => drop(known.remove(&pod.name_any())),
                    Err(_) => continue,
                }
                if !listed {
                    continue;
                }
                let up: BTreeSet<i32> = known
                    .values()
                    .filter(|p| p.metadata.deletion_timestamp.is_none() && pod_state::is_ready(p))
                    .filter_map(|p| p.labels().get("brokerId")?.parse().ok())
                    .collect();
                let down: Vec<i32> = ids.difference(&up).copied().collect();
                if !down.is_empty() {
                    sets.lock().unwrap_or_else(PoisonError::into_inner).insert(down.clone());
                }
                let mut worst = recorded.lock().unwrap_or_else(PoisonError::into_inner);
                if down.len() > worst.0 {
                    *worst = (down.len(), format!("nodes {down:?} down at once"));
                }
            }
        });
        Self { worst, together, task }
    }

    /// Every set of nodes (ids ascending) that was down at one moment.
    pub fn down_together(&self) -> BTreeSet<Vec<i32>> {
        self.together.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The most nodes down at one moment since the start, and which.
    pub fn worst(&self) -> (usize, String) {
        self.worst.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for DownWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a [`ContinuousProducer`] wrote.
#[derive(Debug, Default)]
pub struct Produced {
    /// Batches kcat reported delivered (acks=all).
    pub acknowledged: Vec<Range<u32>>,
    /// Batches that failed: their messages may or may not be in the topic.
    pub failed: Vec<Range<u32>>,
}

/// Produces numbered batches to a topic, one after the other, until stopped.
pub struct ContinuousProducer {
    stop: watch::Sender<bool>,
    task: JoinHandle<Produced>,
}

impl ContinuousProducer {
    pub fn start(bootstrap: &str, topic: &str, batch: u32) -> Self {
        Self::start_with(bootstrap, topic, batch, Vec::new())
    }

    /// As [`Self::start`], kcat with `settings` (`-X` pairs, e.g. TLS).
    pub fn start_with(bootstrap: &str, topic: &str, batch: u32, settings: Vec<String>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
        let task = tokio::spawn(async move {
            let mut produced = Produced::default();
            let mut next = 0;
            while !*stopped.borrow() {
                let numbers = next..next + batch;
                next += batch;
                match kcat::produce_numbered_with(&bootstrap, &topic, numbers.clone(), &settings).await {
                    Ok(()) => produced.acknowledged.push(numbers),
                    Err(_) => produced.failed.push(numbers),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            produced
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Result<Produced> {
        let _ = self.stop.send(true);
        Ok(self.task.await?)
    }
}

/// Fails unless every acknowledged message of `produced` is in `topic`.
pub async fn expect_no_acknowledged_loss(bootstrap: &str, topic: &str, produced: &Produced) -> Result<usize> {
    expect_no_acknowledged_loss_with(bootstrap, topic, produced, &[]).await
}

/// As [`expect_no_acknowledged_loss`], kcat with `settings`.
pub async fn expect_no_acknowledged_loss_with(
    bootstrap: &str,
    topic: &str,
    produced: &Produced,
    settings: &[String],
) -> Result<usize> {
    let received: BTreeSet<String> = kcat::consume_all_with(bootstrap, topic, settings).await?.into_iter().collect();
    let acknowledged: Vec<u32> = produced.acknowledged.iter().flat_map(Clone::clone).collect();
    let lost: Vec<u32> =
        acknowledged.iter().copied().filter(|n| !received.contains(&message_accounting::message(*n))).collect();
    if !lost.is_empty() {
        bail!(
            "{} of {} acknowledged messages lost, e.g. {:?}",
            lost.len(),
            acknowledged.len(),
            &lost[..lost.len().min(10)]
        );
    }
    Ok(acknowledged.len())
}

/// The uids of `cluster`'s Kafka pods.
pub async fn pod_uids(ns: &TestNamespace, cluster: &str) -> Result<BTreeSet<String>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={cluster},brokerId");
    Ok(pods.list(&ListParams::default().labels(&selector)).await?.items.iter().map(uid).collect())
}

fn uid(pod: &Pod) -> String {
    pod.uid().unwrap_or_default()
}

/// Waits until every one of `nodes` nodes runs a pod other than those in `before`, ready, and
/// the cluster is running.
pub async fn wait_rolled(
    ns: &TestNamespace,
    cluster: &str,
    before: &BTreeSet<String>,
    nodes: usize,
    timeout: Duration,
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let clusters = kafka_cluster::api(ns);
    let selector = format!("kafka_cr={cluster},brokerId");
    wait::eventually("every node's pod is replaced and the cluster is running", timeout, || async {
        let current = pods.list(&ListParams::default().labels(&selector)).await?.items;
        let fresh = current.iter().filter(|p| !before.contains(&uid(p)) && pod_state::is_ready(p)).count();
        let kafka_cluster = clusters.get(cluster).await?;
        let state = kafka_cluster.status.as_ref().and_then(|s| s.state);
        let rolling = kafka_cluster::condition(&kafka_cluster, "RollingUpgrade").map(|c| c.message.clone());
        Ok(if fresh == nodes && current.len() == nodes && state == Some(ClusterState::ClusterRunning) {
            Check::Done(())
        } else {
            Check::Pending(format!("{fresh}/{nodes} replaced and ready; state {state:?}; roll: {rolling:?}"))
        })
    })
    .await
}

/// What a roll under load showed.
#[derive(Debug)]
pub struct RollUnderLoad {
    /// From the apply until every pod was replaced and the cluster ran.
    pub took: Duration,
    /// Acknowledged messages, every one consumed afterwards.
    pub acknowledged: usize,
    /// Batches that failed (unacknowledged).
    pub failed_batches: usize,
    /// The most nodes down at once, and which.
    pub worst: (usize, String),
    /// Every set of nodes down at one moment.
    pub down_together: BTreeSet<Vec<i32>>,
}

/// Applies `cluster` (whose new image runs Kafka `version`) while producing with acks=all to
/// `topic`; waits until the pods of the nodes `ids` are all replaced and the status reports
/// `version` for every broker; fails if an acknowledged message is lost or none was acknowledged.
pub async fn roll_under_load(
    ns: &TestNamespace,
    cluster: &serde_json::Value,
    ids: &[i32],
    version: &str,
    topic: &str,
    timeout: Duration,
) -> Result<RollUnderLoad> {
    let bootstrap = kafka_cluster::bootstrap(ns, "kafka");
    let down = DownWatch::start(ns, "kafka", ids);
    let producer = ContinuousProducer::start(&bootstrap, topic, 50);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = pod_uids(ns, "kafka").await?;
    let started = Instant::now();
    kafka_cluster::apply(ns, cluster).await?;
    wait_rolled(ns, "kafka", &before, ids.len(), timeout).await?;
    let took = started.elapsed();
    let reports = |c: &KafkaCluster| {
        c.status.as_ref().is_some_and(|s| s.brokers_state.values().all(|b| b.version.as_deref() == Some(version)))
    };
    wait::until(&kafka_cluster::api(ns), "kafka", "reports the new version", Duration::from_secs(60), reports).await?;
    let produced = producer.stop().await?;
    let acknowledged = expect_no_acknowledged_loss(&bootstrap, topic, &produced).await?;
    ensure!(acknowledged > 0, "nothing was acknowledged during the roll");
    Ok(RollUnderLoad {
        took,
        acknowledged,
        failed_batches: produced.failed.len(),
        worst: down.worst(),
        down_together: down.down_together(),
    })
}
