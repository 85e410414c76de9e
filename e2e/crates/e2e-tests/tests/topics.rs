//! The topic controller against real Kafka (the combined KRaft sample, 3 brokers, Kafka 3.9.1):
//! Koperator's quick-start KafkaTopic applied unchanged before its cluster exists waits, then
//! is created; a burst of KafkaTopics all become Ready; partitions grow (a shrink is refused at
//! admission); configuration changes and drift made with kafka-configs are set back; deletion
//! removes the topic unless the keep annotation says otherwise; an existing topic is adopted
//! only when annotated; a second KafkaTopic for the same topic is a Conflict; Kafka's refusal of
//! a config key and a replication factor above the broker count are reported; the finalizer is
//! on before the topic exists; an idle resync writes nothing; and no KafkaTopic but the bad
//! ones is ever Degraded, even for one pass. Kafka's state is read with Kafka's own tools.
//!
//! One cluster serves every scenario (Kafka takes 20-40 s to start); after the two that need
//! the cluster's start, the scenarios run concurrently, each on topics of its own, and each
//! reports pass or fail by itself (`--nocapture` shows the lines).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_topic::{
    self as topics, CONDITION_TIMEOUT, KAFKA_REQUESTS, KEEP_ON_DELETE_ANNOTATION, MANAGED_BY_ANNOTATION, Metrics,
    WRITES,
};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::wait::{self, Check};
use e2e_tests::{crds, kafka_cluster, manifests, namespace};

/// Reserved for this test binary (cluster_kafka4 uses 19590).
const GRPC_ADDRESS: &str = "127.0.0.1:19591";
const RESYNC: Duration = Duration::from_secs(5);
/// Scenarios running at once; each starts a few JVM tools of Kafka, on two cores.
const CONCURRENCY: usize = 4;
/// KafkaTopics of the burst scenario.
const BURST: usize = 150;

/// What every scenario shares.
struct Bed<'a> {
    ns: &'a TestNamespace,
    bootstrap: String,
    metrics: String,
}

impl Bed<'_> {
    async fn scrape(&self) -> Result<Metrics> {
        topics::scrape(&self.metrics).await
    }

    fn metadata_requests(metrics: &Metrics) -> f64 {
        metrics.sum(KAFKA_REQUESTS, &[("operation", "Metadata")])
    }

    /// Waits until the controller has begun `passes` more passes over the cluster (one
    /// Metadata request each), so that "nothing happened" means a pass looked and left it.
    async fn wait_for_passes(&self, passes: u32) -> Result<()> {
        let start = Self::metadata_requests(&self.scrape().await?);
        let what = format!("the topic controller makes {passes} more passes (Metadata requests)");
        wait::eventually(&what, RESYNC * 2 * passes + Duration::from_secs(60), || async {
            let now = Self::metadata_requests(&self.scrape().await?);
            Ok(if now >= start + f64::from(passes) {
                Check::Done(())
            } else {
                Check::Pending(format!("Metadata requests {start} -> {now}"))
            })
        })
        .await
    }
}

type Scenario<'a> = (&'static str, LocalBoxFuture<'a, Result<()>>);

/// Runs `scenarios` (at most `concurrency` at once), printing each one's result and time;
/// returns the failures.
async fn run_scenarios(scenarios: Vec<Scenario<'_>>, concurrency: usize) -> Vec<String> {
    futures::stream::iter(scenarios)
        .map(|(name, body)| async move {
            let started = Instant::now();
            let result = body.await;
            let seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(()) => {
                    eprintln!("topics: [pass {seconds:5.1} s] {name}");
                    None
                }
                Err(error) => {
                    eprintln!("topics: [FAIL {seconds:5.1} s] {name}: {error:#}");
                    Some(format!("{name}: {error:#}"))
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|failure| async move { failure })
        .collect()
        .await
}

#[tokio::test]
async fn topics_are_reconciled_against_real_kafka() -> Result<()> {
    namespace::run_isolated("topics", async |ns| {
        let started = Instant::now();
        crds::install(&ns.client).await?;
        let _cluster_controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", GRPC_ADDRESS]).await?;
        let endpoint = format!("http://{GRPC_ADDRESS}");
        let topic_controller = ControllerProcess::start(
            "topic-controller",
            &ns.name,
            &["--cluster-access-endpoint", &endpoint, "--resync-interval", "5s"],
        )
        .await?;
        let metrics = topics::metrics_address(&topic_controller.log, Duration::from_secs(60)).await?;
        let bed = Bed { ns, bootstrap: kafka_cluster::bootstrap(ns, "kafka"), metrics };

        let degraded = DegradedLog::start(ns);
        let outcome = all_scenarios(&bed, &degraded).await;
        degraded.stop();
        // KafkaTopics carry finalizers: they must go while the controller still runs, or the
        // namespace could not be deleted.
        let removed = topics::remove_all(ns, "kafka").await;
        eprintln!(
            "topics: {:.0} s in all; topic controller log: {}",
            started.elapsed().as_secs_f64(),
            topic_controller.log.display()
        );
        report_logs_on_failure(outcome, || format!("topic controller log tail:\n{}", topic_controller.log_tail(30)))?;
        removed
    })
    .await
}

async fn all_scenarios(bed: &Bed<'_>, degraded: &DegradedLog) -> Result<()> {
    let mut failures =
        run_scenarios(vec![("the quick-start topic waits for its cluster", waits_for_cluster(bed).boxed_local())], 1)
            .await;

    let cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    kafka_cluster::apply(bed.ns, &cluster).await?;
    kafka_cluster::wait_running(bed.ns, "kafka").await?;

    failures.extend(
        run_scenarios(
            vec![("the quick-start topic is created once the cluster runs", quick_start_created(bed).boxed_local())],
            1,
        )
        .await,
    );
    let scenarios: Vec<Scenario<'_>> = vec![
        ("a burst of KafkaTopics all become Ready", burst(bed).boxed_local()),
        (
            "partitions grow, a shrink is refused, config changes and drift are set back",
            grow_configure_drift(bed).boxed_local(),
        ),
        ("deleting a KafkaTopic deletes its topic", deletion(bed).boxed_local()),
        ("the keep annotation keeps the topic", keep_on_delete(bed).boxed_local()),
        ("an existing topic is adopted only when annotated", adoption(bed).boxed_local()),
        ("a second KafkaTopic for the same topic is a Conflict", conflict(bed).boxed_local()),
        ("an unknown config key is InvalidConfig until fixed", invalid_config(bed).boxed_local()),
        ("a replication factor above the broker count is InvalidSpec", too_many_replicas(bed).boxed_local()),
        ("the finalizer is on before the topic is created", finalizer_first(bed).boxed_local()),
    ];
    failures.extend(run_scenarios(scenarios, CONCURRENCY).await);
    failures.extend(
        run_scenarios(
            vec![
                ("the metrics count every kind of write and Kafka request", metrics_name_everything(bed).boxed_local()),
                ("an idle resync writes nothing", idle_resync(bed).boxed_local()),
                ("no KafkaTopic was ever Degraded but the bad ones", degraded.check().boxed_local()),
            ],
            1,
        )
        .await,
    );
    if !failures.is_empty() {
        bail!("{} scenario(s) failed:\n{}", failures.len(), failures.join("\n\n"));
    }
    Ok(())
}

// --- Before and at the cluster's start ---------------------------------------------------------

async fn waits_for_cluster(bed: &Bed<'_>) -> Result<()> {
    let sample = topics::quick_start()?;
    topics::apply(bed.ns, &sample).await?;
    let topic =
        topics::wait_condition(bed.ns, "my-topic", "Ready", "False", "WaitingForCluster", CONDITION_TIMEOUT).await?;
    ensure!(topics::state(&topic) == "creating", "a waiting topic is creating, not failed:\n{}", topics::show(&topic));
    ensure!(
        topics::has_condition(&topic, "Degraded", "False", "AsExpected"),
        "waiting for the cluster is not Degraded:\n{}",
        topics::show(&topic)
    );
    Ok(())
}

async fn quick_start_created(bed: &Bed<'_>) -> Result<()> {
    // The worker backs off (up to 30 s) while the cluster starts.
    let topic = topics::wait_in_sync(bed.ns, "my-topic", Duration::from_secs(120)).await?;
    let description =
        topics::describe(&bed.bootstrap, "my-topic").await?.context("kafka-topics does not know my-topic")?;
    ensure!(
        description == topics::TopicDescription { partitions: 1, replication_factor: 1 },
        "kafka-topics describes my-topic as {description:?}"
    );
    let overrides = topics::overrides(&bed.bootstrap, "my-topic").await?;
    ensure!(
        overrides == map(&[("retention.ms", "604800000"), ("cleanup.policy", "delete")]),
        "kafka-configs shows my-topic's overrides as {overrides:?}\n{}",
        topics::show(&topic)
    );
    Ok(())
}

// --- Scenarios on the running cluster ---------------------------------------------------------

async fn grow_configure_drift(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let mut manifest = topics::quick_start()?;
    manifest["spec"]["partitions"] = json!(3);
    let applied = topics::apply(ns, &manifest).await?;
    let uid = applied.uid().context("no uid")?;
    topics::wait_in_sync(ns, "my-topic", CONDITION_TIMEOUT).await?;
    let description = topics::describe(&bed.bootstrap, "my-topic").await?.context("my-topic is gone")?;
    ensure!(description.partitions == 3 && description.replication_factor == 1, "after growing: {description:?}");
    let event = topics::wait_event(ns, &uid, "PartitionsIncreased", Duration::from_secs(60)).await?;
    ensure!(event.type_ == "Normal", "{event:?}");

    // Kafka cannot remove partitions: the apiserver refuses the edit (CEL transition rule).
    let mut shrink = manifest.clone();
    shrink["spec"]["partitions"] = json!(2);
    let refused = topics::apply(ns, &shrink).await.err().map(|e| format!("{e:#}"));
    let refused = refused.context("the apiserver accepted spec.partitions 3 -> 2")?;
    ensure!(refused.contains("can only grow"), "refused, but not by the partitions rule: {refused}");
    let stored = topics::api(ns).get("my-topic").await?;
    ensure!(stored.spec.partitions == 3, "spec.partitions is {} after the refused shrink", stored.spec.partitions);

    // Configuration: one key changed, one added, one removed (it must leave Kafka's overrides).
    manifest["spec"]["config"] = json!({"retention.ms": "3600000", "max.message.bytes": "2097152"});
    topics::apply(ns, &manifest).await?;
    topics::wait_in_sync(ns, "my-topic", CONDITION_TIMEOUT).await?;
    let expected = [("retention.ms", "3600000"), ("max.message.bytes", "2097152")];
    topics::wait_overrides(&bed.bootstrap, "my-topic", &expected, Duration::from_secs(60)).await?;
    let event = topics::wait_event(ns, &uid, "ConfigChanged", Duration::from_secs(60)).await?;
    ensure!(event.type_ == "Normal" && event.message.contains("cleanup.policy"), "{event:?}");

    // Drift: a value changed and a key added behind the operator's back are set back.
    topics::alter_config(&bed.bootstrap, "my-topic", "retention.ms=1000,segment.ms=7200000").await?;
    let event = topics::wait_event(ns, &uid, "ConfigDriftCorrected", Duration::from_secs(60)).await?;
    ensure!(event.type_ == "Warning", "drift correction is a Warning event: {event:?}");
    ensure!(event.message.contains("retention.ms") && event.message.contains("segment.ms"), "{event:?}");
    topics::wait_overrides(&bed.bootstrap, "my-topic", &expected, Duration::from_secs(60)).await?;
    let topic = topics::api(ns).get("my-topic").await?;
    ensure!(topics::has_condition(&topic, "Ready", "True", "InSync"), "after the drift:\n{}", topics::show(&topic));
    ensure!(
        !topics::events(ns, &uid)
            .await?
            .iter()
            .any(|e| e.reason == "ConfigChanged" && e.message.contains("segment.ms")),
        "the drift was reported as a spec change"
    );
    Ok(())
}

/// KafkaTopics arriving together (as `kubectl apply -f dir/` sends them) are created in a few
/// passes; each must end up Ready, none mistaking the topic it has just created for a foreign
/// one (Kafka's metadata may not list a new topic yet in the next pass).
async fn burst(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let names: Vec<String> = (0..BURST).map(|i| format!("burst-{i:03}")).collect();
    futures::stream::iter(&names)
        .map(|name| async move {
            let mut manifest = topics::manifest(name, name, 1, 1, &[("retention.ms", "86400000")]);
            manifest["metadata"]["labels"] = json!({"e2e-burst": "true"});
            topics::apply(ns, &manifest).await
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    // Degraded needs the user: nothing will change it, so it fails at once.
    let what = format!("all {BURST} burst KafkaTopics are Ready (or one is Degraded)");
    let degraded = wait::eventually(&what, Duration::from_secs(120), || async {
        let list = topics::api(ns).list(&ListParams::default().labels("e2e-burst=true")).await?;
        let mut not_ready: BTreeMap<String, usize> = BTreeMap::new();
        for topic in list.items.iter().filter(|t| !topics::has_condition(t, "Ready", "True", "InSync")) {
            let reason = topics::condition(topic, "Ready").map(|c| c.reason.clone()).unwrap_or_default();
            *not_ready.entry(format!("{} {reason}", topics::state(topic))).or_default() += 1;
        }
        let degraded: Vec<String> = list
            .items
            .iter()
            .filter_map(|t| topics::condition(t, "Degraded").filter(|c| c.status == "True").map(|c| (t, c)))
            .map(|(t, c)| format!("{}: {}: {}", t.name_any(), c.reason, c.message))
            .collect();
        Ok(if !degraded.is_empty() {
            Check::Done(Some(format!("{} Degraded ({not_ready:?}), e.g. {}", degraded.len(), degraded[0])))
        } else if list.items.len() == BURST && not_ready.is_empty() {
            Check::Done(None)
        } else {
            Check::Pending(format!("{} KafkaTopics; not Ready, by state and reason: {not_ready:?}", list.items.len()))
        })
    })
    .await?;
    if let Some(degraded) = degraded {
        bail!("burst KafkaTopics are Degraded: {degraded}");
    }
    // Ready follows the controller's acceptance of CreateTopics; the broker answering the
    // metadata request learns of the topic from the metadata log a moment later.
    wait::eventually("every Ready burst KafkaTopic is in Kafka's metadata", Duration::from_secs(30), || async {
        let in_kafka = topics::topic_names(&bed.bootstrap).await?;
        let missing: Vec<&String> = names.iter().filter(|name| !in_kafka.contains(*name)).collect();
        Ok(if missing.is_empty() {
            Check::Done(())
        } else {
            Check::Pending(format!("Ready, but not in Kafka: {missing:?}"))
        })
    })
    .await
}

async fn deletion(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let applied = topics::apply(ns, &topics::manifest("doomed", "doomed-topic", 2, 2, &[])).await?;
    let uid = applied.uid().context("no uid")?;
    topics::wait_in_sync(ns, "doomed", CONDITION_TIMEOUT).await?;
    let description = topics::describe(&bed.bootstrap, "doomed-topic").await?.context("doomed-topic not in Kafka")?;
    ensure!(description == topics::TopicDescription { partitions: 2, replication_factor: 2 }, "{description:?}");

    topics::api(ns).delete("doomed", &DeleteParams::default()).await?;
    wait::until_deleted(&topics::api(ns), "doomed", CONDITION_TIMEOUT).await?;
    // The finalizer goes only after Kafka deleted the topic (allowing for metadata to spread).
    topics::wait_topic_presence(&bed.bootstrap, "doomed-topic", false, Duration::from_secs(5))
        .await
        .context("the KafkaTopic is gone but its topic is still in Kafka")?;
    let event = topics::wait_event(ns, &uid, "TopicDeleted", Duration::from_secs(60)).await?;
    ensure!(event.message.contains("doomed-topic"), "{event:?}");
    Ok(())
}

async fn keep_on_delete(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let mut manifest = topics::manifest("kept", "kept-topic", 1, 1, &[("retention.ms", "7200000")]);
    topics::annotate(&mut manifest, KEEP_ON_DELETE_ANNOTATION, "true");
    let uid = topics::apply(ns, &manifest).await?.uid().context("no uid")?;
    topics::wait_in_sync(ns, "kept", CONDITION_TIMEOUT).await?;
    topics::wait_topic_presence(&bed.bootstrap, "kept-topic", true, Duration::from_secs(10)).await?;

    topics::api(ns).delete("kept", &DeleteParams::default()).await?;
    wait::until_deleted(&topics::api(ns), "kept", CONDITION_TIMEOUT).await?;
    let event = topics::wait_event(ns, &uid, "TopicKept", Duration::from_secs(60)).await?;
    ensure!(event.type_ == "Normal", "{event:?}");
    ensure!(
        !topics::events(ns, &uid).await?.iter().any(|e| e.reason == "TopicDeleted"),
        "TopicDeleted on a kept topic"
    );
    bed.wait_for_passes(2).await?;
    ensure!(
        topics::topic_names(&bed.bootstrap).await?.contains("kept-topic"),
        "kept-topic was deleted from Kafka despite {KEEP_ON_DELETE_ANNOTATION}"
    );
    let overrides = topics::overrides(&bed.bootstrap, "kept-topic").await?;
    ensure!(overrides == map(&[("retention.ms", "7200000")]), "kept-topic's overrides changed: {overrides:?}");
    Ok(())
}

async fn adoption(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    topics::create_with_kafka_tool(&bed.bootstrap, "legacy", 2, 1, &[("retention.ms", "86400000")]).await?;
    let mut manifest = topics::manifest("legacy", "legacy", 2, 1, &[("retention.ms", "172800000")]);
    let uid = topics::apply(ns, &manifest).await?.uid().context("no uid")?;
    let topic = topics::wait_degraded(ns, "legacy", "TopicExists", CONDITION_TIMEOUT).await?;
    ensure!(topics::state(&topic) == "failed", "state {:?}:\n{}", topics::state(&topic), topics::show(&topic));
    let message = topics::condition(&topic, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.contains(MANAGED_BY_ANNOTATION), "the message does not say how to adopt: {message}");
    ensure!(topics::has_condition(&topic, "Ready", "False", "TopicExists"), "{}", topics::show(&topic));
    // Kafka stays untouched while the KafkaTopic waits for the annotation.
    bed.wait_for_passes(2).await?;
    let overrides = topics::overrides(&bed.bootstrap, "legacy").await?;
    ensure!(overrides == map(&[("retention.ms", "86400000")]), "an unadopted topic was changed: {overrides:?}");
    ensure!(
        !topics::events(ns, &uid).await?.iter().any(|e| e.reason == "TopicAdopted"),
        "adopted without the annotation"
    );

    topics::annotate(&mut manifest, MANAGED_BY_ANNOTATION, "koperator");
    topics::apply(ns, &manifest).await?;
    topics::wait_in_sync(ns, "legacy", CONDITION_TIMEOUT).await?;
    topics::wait_event(ns, &uid, "TopicAdopted", Duration::from_secs(60)).await?;
    topics::wait_overrides(&bed.bootstrap, "legacy", &[("retention.ms", "172800000")], Duration::from_secs(60)).await?;
    let description = topics::describe(&bed.bootstrap, "legacy").await?.context("legacy is gone")?;
    ensure!(description == topics::TopicDescription { partitions: 2, replication_factor: 1 }, "{description:?}");
    Ok(())
}

async fn conflict(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    topics::apply(ns, &topics::manifest("orders-a", "orders", 1, 1, &[("retention.ms", "86400000")])).await?;
    topics::wait_in_sync(ns, "orders-a", CONDITION_TIMEOUT).await?;
    topics::apply(ns, &topics::manifest("orders-b", "orders", 1, 1, &[("retention.ms", "1000")])).await?;
    let loser = topics::wait_degraded(ns, "orders-b", "Conflict", CONDITION_TIMEOUT).await?;
    let message = topics::condition(&loser, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.contains("orders-a"), "the Conflict does not name the other KafkaTopic: {message}");
    ensure!(topics::state(&loser) == "failed", "the loser's state:\n{}", topics::show(&loser));
    ensure!(loser.status.as_ref().and_then(|s| s.managed_by.clone()).is_none(), "the loser claims the topic");
    let winner = topics::api(ns).get("orders-a").await?;
    ensure!(topics::has_condition(&winner, "Ready", "True", "InSync"), "the owner:\n{}", topics::show(&winner));
    let overrides = topics::overrides(&bed.bootstrap, "orders").await?;
    ensure!(overrides == map(&[("retention.ms", "86400000")]), "the loser changed the topic: {overrides:?}");

    topics::api(ns).delete("orders-b", &DeleteParams::default()).await?;
    wait::until_deleted(&topics::api(ns), "orders-b", CONDITION_TIMEOUT).await?;
    bed.wait_for_passes(2).await?;
    ensure!(topics::topic_names(&bed.bootstrap).await?.contains("orders"), "deleting the loser deleted the topic");
    let winner = topics::api(ns).get("orders-a").await?;
    ensure!(topics::has_condition(&winner, "Ready", "True", "InSync"), "the owner:\n{}", topics::show(&winner));
    Ok(())
}

async fn invalid_config(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let valid = ("retention.ms", "3600000");
    topics::apply(ns, &topics::manifest("bad-config", "bad-config", 1, 1, &[("foo.bar", "1"), valid])).await?;
    let topic = topics::wait_degraded(ns, "bad-config", "InvalidConfig", CONDITION_TIMEOUT).await?;
    let message = topics::condition(&topic, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.contains("foo.bar"), "the message does not carry Kafka's answer naming foo.bar: {message}");
    ensure!(topics::state(&topic) == "failed", "state:\n{}", topics::show(&topic));
    ensure!(
        !topics::topic_names(&bed.bootstrap).await?.contains("bad-config"),
        "a topic with a bad config was created"
    );

    // The fix: the unknown key removed, the valid one kept.
    topics::apply(ns, &topics::manifest("bad-config", "bad-config", 1, 1, &[valid])).await?;
    topics::wait_in_sync(ns, "bad-config", CONDITION_TIMEOUT).await?;
    topics::wait_topic_presence(&bed.bootstrap, "bad-config", true, Duration::from_secs(10)).await?;
    let overrides = topics::overrides(&bed.bootstrap, "bad-config").await?;
    ensure!(overrides == map(&[valid]), "bad-config has overrides {overrides:?}");
    Ok(())
}

async fn too_many_replicas(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    topics::apply(ns, &topics::manifest("too-many-replicas", "too-many-replicas", 1, 5, &[])).await?;
    let topic = topics::wait_degraded(ns, "too-many-replicas", "InvalidSpec", CONDITION_TIMEOUT).await?;
    let message = topics::condition(&topic, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.contains("at most 3"), "the message does not give the limit: {message}");
    ensure!(topics::state(&topic) == "failed", "state:\n{}", topics::show(&topic));
    ensure!(!topics::topic_names(&bed.bootstrap).await?.contains("too-many-replicas"), "the topic was created");
    Ok(())
}

/// A ValidatingAdmissionPolicy refuses the finalizer on KafkaTopic `guarded`: the topic must
/// not appear in Kafka while the finalizer cannot be added, and must once it can.
async fn finalizer_first(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    let (policy, binding) = finalizer_guard(&ns.name);
    manifests::apply_object(&ns.client, "", &policy).await?;
    manifests::apply_object(&ns.client, "", &binding).await?;
    let guarded = guarded_phase(bed).await;
    let removed = async {
        for object in [&binding, &policy] {
            let (api, name) = manifests::api_for(&ns.client, "", object).await?;
            api.delete(&name, &DeleteParams::default()).await?;
        }
        wait_for_guard(bed, false).await
    }
    .await;
    guarded?;
    removed?;

    // Retried by the controller itself once the apiserver lets the finalizer through.
    let topic = topics::wait_in_sync(ns, "guarded", Duration::from_secs(90)).await?;
    ensure!(topic.finalizers().iter().any(|f| f == topics::FINALIZER), "no finalizer");
    topics::wait_topic_presence(&bed.bootstrap, "guarded", true, Duration::from_secs(10)).await
}

async fn guarded_phase(bed: &Bed<'_>) -> Result<()> {
    let ns = bed.ns;
    wait_for_guard(bed, true).await?;
    topics::apply(ns, &topics::manifest("guarded", "guarded", 1, 1, &[])).await?;
    let topic = topics::wait_condition(ns, "guarded", "Ready", "False", "ApiError", CONDITION_TIMEOUT).await?;
    ensure!(topic.finalizers().is_empty(), "the finalizer got past the policy: {:?}", topic.finalizers());
    ensure!(
        !topics::topic_names(&bed.bootstrap).await?.contains("guarded"),
        "the topic was created although its finalizer could not be added"
    );
    bed.wait_for_passes(2).await?;
    ensure!(
        !topics::topic_names(&bed.bootstrap).await?.contains("guarded"),
        "a later pass created the topic without the finalizer"
    );
    Ok(())
}

/// A policy and binding, scoped to this namespace, that refuse the topic finalizer on
/// KafkaTopics whose name starts with `guarded`.
fn finalizer_guard(namespace: &str) -> (Value, Value) {
    let name = format!("{namespace}-guard");
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["kafka.banzaicloud.io"], "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE"], "resources": ["kafkatopics"],
            }]},
            "matchConditions": [{"name": "guarded", "expression": "object.metadata.name.startsWith('guarded')"}],
            "validations": [{
                "expression": format!(
                    "!has(object.metadata.finalizers) || !object.metadata.finalizers.exists(f, f == '{}')",
                    topics::FINALIZER
                ),
                "message": "e2e: this test refuses the topic finalizer",
            }],
        },
    });
    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    });
    (policy, binding)
}

/// Waits until the apiserver enforces the guard (`active`) or no longer does: a dry-run
/// create of a KafkaTopic carrying the finalizer is refused, or accepted.
async fn wait_for_guard(bed: &Bed<'_>, active: bool) -> Result<()> {
    let mut probe = topics::manifest("guarded-probe", "guarded-probe", 1, 1, &[]);
    probe["metadata"]["finalizers"] = json!([topics::FINALIZER]);
    let what = format!("the finalizer guard is {}", if active { "enforced" } else { "gone" });
    wait::eventually(&what, Duration::from_secs(30), || async {
        let answer = manifests::dry_run_create(&bed.ns.client, &bed.ns.name, &probe).await?;
        let refused = matches!(&answer, Err(kube::Error::Api(status)) if status.message.contains("e2e: this test"));
        Ok(if refused == active { Check::Done(()) } else { Check::Pending(format!("{answer:?}")) })
    })
    .await
}

// --- After the scenarios ----------------------------------------------------------------------

async fn metrics_name_everything(bed: &Bed<'_>) -> Result<()> {
    let metrics = bed.scrape().await?;
    // Finalizers (a JSON patch), statuses (server-side apply), events.
    for (kind, verb) in [("kafkatopics", "patch"), ("kafkatopics/status", "apply"), ("events", "create")] {
        let count = metrics.sum(WRITES, &[("kind", kind), ("verb", verb)]);
        ensure!(count > 0.0, "{WRITES}{{kind=\"{kind}\",verb=\"{verb}\"}} is {count}");
    }
    let operations =
        ["Metadata", "DescribeConfigs", "CreateTopics", "CreatePartitions", "IncrementalAlterConfigs", "DeleteTopics"];
    for operation in operations {
        let count = metrics.sum(KAFKA_REQUESTS, &[("operation", operation)]);
        ensure!(count > 0.0, "{KAFKA_REQUESTS}{{operation=\"{operation}\"}} is {count}");
    }
    for sample in metrics.matching(KAFKA_REQUESTS, &[]) {
        let validate_only = sample.labels.get("validate_only").map(String::as_str);
        ensure!(matches!(validate_only, Some("true" | "false")), "a sample without validate_only: {sample:?}");
        let operation = sample.labels.get("operation").cloned().unwrap_or_default();
        ensure!(operations.contains(&operation.as_str()), "unexpected operation {operation:?}: {sample:?}");
    }
    let validated = metrics.sum(KAFKA_REQUESTS, &[("operation", "IncrementalAlterConfigs"), ("validate_only", "true")]);
    ensure!(validated > 0.0, "no configuration change was validated first");
    Ok(())
}

/// Once every KafkaTopic is settled (in sync, or Degraded waiting for the user), two resync
/// passes cost no API write and no Kafka write.
async fn idle_resync(bed: &Bed<'_>) -> Result<()> {
    wait::eventually("every KafkaTopic is settled", Duration::from_secs(60), || async {
        let list = topics::api(bed.ns).list(&ListParams::default()).await?;
        let unsettled: Vec<String> = list
            .items
            .iter()
            .filter(|t| {
                !topics::has_condition(t, "Ready", "True", "InSync")
                    && !t.status.as_ref().is_some_and(|s| {
                        s.observed_generation == t.metadata.generation
                            && s.conditions.iter().any(|c| c.type_ == "Degraded" && c.status == "True")
                    })
            })
            .map(topics::show)
            .collect();
        Ok(if unsettled.is_empty() { Check::Done(()) } else { Check::Pending(unsettled.join("\n---\n")) })
    })
    .await?;
    let before = bed.scrape().await?;
    tokio::time::sleep(RESYNC * 2 + Duration::from_secs(1)).await;
    // Two resync passes, however long a busy machine makes them take.
    let after = wait::eventually("two idle resync passes", Duration::from_secs(60), || async {
        let after = bed.scrape().await?;
        let passes = Bed::metadata_requests(&after) - Bed::metadata_requests(&before);
        Ok(if passes >= 2.0 {
            Check::Done(after)
        } else {
            Check::Pending(format!("{passes} passes (Metadata requests)"))
        })
    })
    .await?;
    let passes = Bed::metadata_requests(&after) - Bed::metadata_requests(&before);
    let mut changes = before.changes(&after, WRITES);
    changes.extend(
        before
            .changes(&after, KAFKA_REQUESTS)
            .into_iter()
            .filter(|change| topics::KAFKA_WRITE_OPERATIONS.iter().any(|op| change.contains(&format!("\"{op}\"")))),
    );
    ensure!(changes.is_empty(), "writes during {passes} idle passes:\n{}", changes.join("\n"));
    eprintln!("topics: idle: {passes} passes, no writes");
    Ok(())
}

/// Every `Degraded` True any KafkaTopic showed during the test, seen through a watch (every
/// status write is an event), so that a wrong status that is corrected a pass later still
/// counts: e.g. a topic the controller has just created taken for a foreign one.
struct DegradedLog {
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The KafkaTopics that are Degraded on purpose, and why.
const EXPECTED_DEGRADED: [(&str, &str); 4] = [
    ("legacy", "TopicExists"),
    ("orders-b", "Conflict"),
    ("bad-config", "InvalidConfig"),
    ("too-many-replicas", "InvalidSpec"),
];

impl DegradedLog {
    fn start(ns: &TestNamespace) -> Self {
        let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
        let (api, record) = (topics::api(ns), seen.clone());
        let task = tokio::spawn(async move {
            let events = watcher(api, watcher::Config::default()).default_backoff().applied_objects();
            events
                .for_each(|topic| {
                    if let Ok(topic) = topic
                        && let Some(c) = topics::condition(&topic, "Degraded").filter(|c| c.status == "True")
                    {
                        let entry = (topic.name_any(), c.reason.clone(), c.message.clone());
                        let mut seen = record.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        if !seen.contains(&entry) {
                            seen.push(entry);
                        }
                    }
                    async {}
                })
                .await;
        });
        Self { seen, task }
    }

    async fn check(&self) -> Result<()> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let unexpected: Vec<String> = seen
            .iter()
            .filter(|(name, reason, _)| !EXPECTED_DEGRADED.contains(&(name.as_str(), reason.as_str())))
            .map(|(name, reason, message)| format!("{name}: {reason}: {message}"))
            .collect();
        ensure!(unexpected.is_empty(), "Degraded without cause:\n{}", unexpected.join("\n"));
        for (name, reason) in EXPECTED_DEGRADED {
            ensure!(seen.iter().any(|(n, r, _)| n == name && r == reason), "the watch never saw {name} {reason}");
        }
        Ok(())
    }

    fn stop(&self) {
        self.task.abort();
    }
}

// --- Helpers ----------------------------------------------------------------------------------

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}
