//! The umbrella chart installed on the test bed, every deployable watching only the test's
//! namespace and running in-cluster (service account token, KUBERNETES_SERVICE_HOST). Its pods
//! run our images, built from the Dockerfiles first (e2e/images/deployables.sh), and the
//! chart's security context is checked on the running process: user 65532, read-only root
//! file system, no capabilities, no new privileges. Then:
//! - least privilege, asked of the apiserver with `kubectl auth can-i --as` each ServiceAccount:
//!   only the cluster controller creates pods and PVCs, the topic controller cannot touch pods,
//!   the alert receiver cannot write KafkaClusters;
//! - Koperator's quick start through the chart-installed operator: the KRaft sample runs, the
//!   quick-start KafkaTopic is created in Kafka, messages produced to it are consumed back;
//! - leader failover with 2 cluster controller replicas: the leader's process killed (a crash:
//!   its Lease must expire), then the next leader's pod deleted (graceful: it releases the
//!   Lease); each time the figure is the time to the next leader's first reconcile, seen as
//!   `status.observedGeneration` catching up with a spec change made right after;
//! - `alert-receiver.enabled=false` removes exactly the alert receiver's objects.
//!
//! The alert receiver is installed but only its pod's creation is checked: it is still
//! being written, and the rest of the file must not depend on it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use crd_types::KafkaTopic;
use e2e_tests::helm::{Release, SUBCHARTS};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{crds, kafka_cluster, kafka_topic, kcat, processes, testbed};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
/// Cruise Control elsewhere, so the operator starts no Cruise Control JVM of its own.
const EXTERNAL_CRUISE_CONTROL: &str = "cruise-control.elsewhere:8090";
/// The chart's default lease is 15 s, retried every 2 s: a crashed leader's Lease expires
/// for the follower 15-17 s after it last saw it renewed, then the reconcile itself.
const CRASH_TAKEOVER_LIMIT: Duration = Duration::from_secs(30);
/// A leader that stops releases its Lease; a follower takes it at its next retry (2 s).
const GRACEFUL_TAKEOVER_LIMIT: Duration = Duration::from_secs(10);
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const MESSAGES: u32 = 200;

#[tokio::test]
async fn umbrella_chart_runs_the_quick_start_fails_over_and_drops_a_component() -> Result<()> {
    namespace::run_isolated("chart", async |ns| {
        // The CRDs may exist already (other tests): the chart's crds/ are then skipped.
        crds::install(&ns.client).await?;
        testbed::deployable_images().await?;
        let release = Release::in_namespace(&ns.name);
        let watch = format!("global.watchNamespace={}", ns.name);
        let sets = [watch.as_str(), "cluster-controller.replicaCount=2", "alert-receiver.replicaCount=1"];
        let outcome = match release.install(&sets).await {
            Ok(_) => scenario(ns, &release).await,
            Err(error) => Err(error),
        };
        let cleanup = cleanup(ns, &release).await;
        outcome?;
        cleanup
    })
    .await
}

async fn scenario(ns: &TestNamespace, release: &Release) -> Result<()> {
    for (subchart, replicas) in [("cluster-controller", 2), ("topic-controller", 1), ("cruise-control-runner", 1)] {
        wait_ready(ns, &release.object_name(subchart), replicas).await?;
    }
    alert_receiver_pod_is_created(ns, release).await?;
    security_context_is_enforced(ns, release).await?;
    least_privilege(release).await?;
    quick_start(ns).await?;
    failover(ns, release).await?;
    disabling_a_subchart_removes_exactly_it(ns, release).await
}

async fn wait_ready(ns: &TestNamespace, deployment: &str, replicas: i32) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::until(&api, deployment, &format!("has {replicas} ready replicas"), READY_TIMEOUT, |d: &Deployment| {
        d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0) >= replicas
    })
    .await
    .map(|_| ())
}

async fn alert_receiver_pod_is_created(ns: &TestNamespace, release: &Release) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("app.kubernetes.io/name=alert-receiver,app.kubernetes.io/instance={}", release.name);
    wait::eventually("the alert receiver's pod exists", READY_TIMEOUT, || async {
        let count = pods.list(&ListParams::default().labels(&selector)).await?.items.len();
        Ok(if count > 0 { Check::Done(()) } else { Check::Pending("no pod".into()) })
    })
    .await
}

/// What the kernel says about a cluster controller's process, as the chart's securityContext
/// asks: the image's non-root user, a read-only root file system, no effective capability and
/// no way to gain privileges.
async fn security_context_is_enforced(ns: &TestNamespace, release: &Release) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("app.kubernetes.io/name=cluster-controller,app.kubernetes.io/instance={}", release.name);
    let pod = pods.list(&ListParams::default().labels(&selector)).await?.items.into_iter().next();
    let name = pod.map(|pod| pod.name_any()).context("no cluster controller pod")?;
    let pid = *processes::with_environment("POD_NAME", &name).first().context("the pod's process is not found")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |key: &str| {
        status.lines().find_map(|line| line.strip_prefix(key)).map(str::split_whitespace).into_iter().flatten().next()
    };
    ensure!(field("Uid:") == Some("65532"), "{name} runs as uid {:?}, not 65532", field("Uid:"));
    ensure!(field("CapEff:") == Some("0000000000000000"), "{name} has capabilities {:?}", field("CapEff:"));
    ensure!(field("NoNewPrivs:") == Some("1"), "{name} may gain privileges");
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    let root = mounts.lines().find(|line| line.split_whitespace().nth(4) == Some("/")).context("no root mount")?;
    let options = root.split_whitespace().nth(5).unwrap_or_default();
    ensure!(options.split(',').any(|option| option == "ro"), "{name}'s root file system is mounted {options}");
    println!("[pass] {name} runs our image as uid 65532, root file system read-only, no capability");
    Ok(())
}

async fn least_privilege(release: &Release) -> Result<()> {
    const KAFKA_CLUSTERS: &str = "kafkaclusters.kafka.banzaicloud.io";
    const WRITES: [&str; 4] = ["create", "update", "patch", "delete"];
    let mut failures = Vec::new();
    let mut expect = async |subchart: &str, verb: &str, resource: &str, allowed: bool| -> Result<()> {
        if release.can_i(subchart, verb, resource).await? != allowed {
            failures.push(format!("{subchart} {} {verb} {resource}", if allowed { "cannot" } else { "can" }));
        }
        Ok(())
    };
    for subchart in SUBCHARTS {
        let creates_brokers = subchart == "cluster-controller";
        expect(subchart, "create", "pods", creates_brokers).await?;
        expect(subchart, "create", "persistentvolumeclaims", creates_brokers).await?;
    }
    for verb in ["get", "list", "watch", "create", "update", "patch", "delete"] {
        expect("topic-controller", verb, "pods", false).await?;
    }
    for verb in WRITES {
        expect("alert-receiver", verb, KAFKA_CLUSTERS, false).await?;
        expect("cruise-control-runner", verb, KAFKA_CLUSTERS, false).await?;
        expect("topic-controller", verb, KAFKA_CLUSTERS, false).await?;
    }
    // What each one needs, so the refusals above are not a broken binding.
    expect("alert-receiver", "get", "persistentvolumeclaims", true).await?;
    expect("topic-controller", "patch", "kafkatopics.kafka.banzaicloud.io", true).await?;
    expect("topic-controller", "patch", "kafkausers.kafka.banzaicloud.io", true).await?;
    // A KafkaUser's Secret is written by name; Secrets are never listed or watched.
    expect("topic-controller", "create", "secrets", true).await?;
    expect("topic-controller", "list", "secrets", false).await?;
    expect("cruise-control-runner", "patch", "cruisecontroloperations.kafka.banzaicloud.io", true).await?;
    expect("cluster-controller", "create", "deployments.apps", true).await?;
    ensure!(failures.is_empty(), "RBAC is not least privilege:\n{}", failures.join("\n"));
    Ok(())
}

async fn quick_start(ns: &TestNamespace) -> Result<()> {
    let mut cluster = kafka_cluster::sample(SAMPLE)?;
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!(EXTERNAL_CRUISE_CONTROL);
    kafka_cluster::apply(ns, &cluster).await?;
    let topic = kafka_topic::quick_start()?;
    kafka_topic::apply(ns, &topic).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let name = topic["spec"]["name"].as_str().context("the sample names its topic")?;
    kafka_topic::wait_in_sync(ns, "my-topic", kafka_topic::CONDITION_TIMEOUT).await?;
    let bootstrap = kafka_cluster::bootstrap(ns, "kafka");
    kcat::produce_numbered(&bootstrap, name, 0..MESSAGES).await?;
    kcat::expect_exactly(&bootstrap, name, 0..MESSAGES).await?;
    println!("[pass] quick start through the chart: cluster running, {name} created, {MESSAGES} messages back");
    Ok(())
}

async fn lease_holder(ns: &TestNamespace, lease: &str) -> Result<String> {
    let leases: Api<Lease> = Api::namespaced(ns.client.clone(), &ns.name);
    let lease = leases.get(lease).await?;
    lease.spec.and_then(|spec| spec.holder_identity).context("the Lease has no holder")
}

/// Changes the spec without touching a broker; returns the new generation.
async fn bump_generation(ns: &TestNamespace, failure_threshold: i32) -> Result<i64> {
    let patch = json!({"spec": {"rollingUpgradeConfig": {"failureThreshold": failure_threshold}}});
    let cluster = kafka_cluster::api(ns).patch("kafka", &PatchParams::default(), &Patch::Merge(&patch)).await?;
    cluster.metadata.generation.context("no generation")
}

/// Time from `since` until a reconcile of `generation` shows in the status.
async fn until_reconciled(ns: &TestNamespace, generation: i64, since: Instant, limit: Duration) -> Result<Duration> {
    let clusters = kafka_cluster::api(ns);
    wait::until(&clusters, "kafka", &format!("observedGeneration is {generation}"), limit, |cluster| {
        cluster.status.as_ref().and_then(|status| status.observed_generation) >= Some(generation)
    })
    .await?;
    Ok(since.elapsed())
}

async fn failover(ns: &TestNamespace, release: &Release) -> Result<()> {
    let lease = release.object_name("cluster-controller");
    let first = lease_holder(ns, &lease).await?;
    // Containers are host processes; the pod name is in their environment (POD_NAME).
    let pids = processes::with_environment("POD_NAME", &first);
    ensure!(pids.len() == 1, "leader {first}: expected one process, found {pids:?}");
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let killed_at = Instant::now();
    let status = std::process::Command::new("kill").args(["-KILL", &pids[0].to_string()]).status()?;
    ensure!(status.success(), "kill -KILL {} failed", pids[0]);
    // As if its node died: the pod goes too, so no restarted container comes back under the
    // same identity (which would take its own Lease back at once).
    pods.delete(&first, &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() }).await?;
    let generation = bump_generation(ns, 2).await?;
    let crash = until_reconciled(ns, generation, killed_at, CRASH_TAKEOVER_LIMIT).await?;
    let second = lease_holder(ns, &lease).await?;
    ensure!(second != first, "the killed leader {first} still holds the Lease");
    println!("[figure] leader crash (SIGKILL) → first reconcile by the next leader: {crash:.1?} ({first} → {second})");

    // The Deployment replaces the killed pod; two replicas again before the graceful case.
    wait_ready(ns, &lease, 2).await?;
    let second = lease_holder(ns, &lease).await?;
    let deleted_at = Instant::now();
    pods.delete(&second, &DeleteParams::default()).await?;
    // Until its SIGTERM arrives the deleted leader still leads, and would reconcile a change
    // made now itself: change the spec once another replica holds the Lease.
    let third = wait::eventually("another replica holds the Lease", GRACEFUL_TAKEOVER_LIMIT, || async {
        let leases: Api<Lease> = Api::namespaced(ns.client.clone(), &ns.name);
        let holder = leases.get(&lease).await?.spec.and_then(|spec| spec.holder_identity).unwrap_or_default();
        Ok(if holder.is_empty() || holder == second { Check::Pending(holder) } else { Check::Done(holder) })
    })
    .await?;
    let generation = bump_generation(ns, 3).await?;
    let graceful = until_reconciled(ns, generation, deleted_at, GRACEFUL_TAKEOVER_LIMIT).await?;
    println!(
        "[figure] leader pod deleted (SIGTERM) → first reconcile by the next leader: {graceful:.1?} ({second} → {third})"
    );
    Ok(())
}

/// (kind, name, uid) of every object of `release` of kind `K`.
async fn owned<K>(ns: &TestNamespace, release: &Release) -> Result<BTreeSet<(String, String, String)>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ns.client.clone(), &ns.name);
    list_owned(api, release).await
}

async fn owned_cluster_wide<K>(ns: &TestNamespace, release: &Release) -> Result<BTreeSet<(String, String, String)>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    list_owned(Api::<K>::all(ns.client.clone()), release).await
}

async fn list_owned<K>(api: Api<K>, release: &Release) -> Result<BTreeSet<(String, String, String)>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let selector = format!("app.kubernetes.io/instance={}", release.name);
    let list = api.list(&ListParams::default().labels(&selector)).await?;
    Ok(list
        .items
        .iter()
        .map(|object| (K::kind(&()).into_owned(), object.name_any(), object.uid().unwrap_or_default()))
        .collect())
}

async fn release_objects(ns: &TestNamespace, release: &Release) -> Result<BTreeSet<(String, String, String)>> {
    let mut all = owned::<Deployment>(ns, release).await?;
    all.extend(owned::<Service>(ns, release).await?);
    all.extend(owned::<ServiceAccount>(ns, release).await?);
    all.extend(owned::<PodDisruptionBudget>(ns, release).await?);
    all.extend(owned::<Secret>(ns, release).await?);
    all.extend(owned_cluster_wide::<ClusterRole>(ns, release).await?);
    all.extend(owned_cluster_wide::<ClusterRoleBinding>(ns, release).await?);
    Ok(all)
}

async fn disabling_a_subchart_removes_exactly_it(ns: &TestNamespace, release: &Release) -> Result<()> {
    let before = release_objects(ns, release).await?;
    // Deployment, Service, ServiceAccount, PDB, ClusterRole and binding each, and the token Secret.
    ensure!(before.len() == 6 * SUBCHARTS.len() + 1, "unexpected objects: {before:#?}");
    release.upgrade(&["alert-receiver.enabled=false"]).await?;
    let after = release_objects(ns, release).await?;
    let alert_receiver = release.object_name("alert-receiver");
    let expected: BTreeSet<_> =
        before.iter().filter(|(_, name, _)| !name.starts_with(alert_receiver.as_str())).cloned().collect();
    ensure!(
        after == expected,
        "alert-receiver.enabled=false should remove exactly the alert receiver's 7 objects (others keep their uid):\nbefore: {before:#?}\nafter: {after:#?}"
    );
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("app.kubernetes.io/name=alert-receiver,app.kubernetes.io/instance={}", release.name);
    wait::eventually("the alert receiver's pods are gone", READY_TIMEOUT, || async {
        let left = pods.list(&ListParams::default().labels(&selector)).await?.items.len();
        Ok(if left == 0 { Check::Done(()) } else { Check::Pending(format!("{left} pods left")) })
    })
    .await?;
    wait_ready(ns, &release.object_name("cluster-controller"), 2).await
}

/// KafkaTopics carry the topic controller's finalizer: they go while it still runs, then the
/// cluster, then the release (whose ClusterRoles the namespace's deletion would leave).
async fn cleanup(ns: &TestNamespace, release: &Release) -> Result<()> {
    let topics: Api<KafkaTopic> = kafka_topic::api(ns);
    let deleted = topics.delete_collection(&DeleteParams::default(), &ListParams::default()).await;
    let topics_gone = wait::eventually("every KafkaTopic is gone", Duration::from_secs(60), || async {
        let left = topics.list(&ListParams::default()).await?.items.len();
        Ok(if left == 0 { Check::Done(()) } else { Check::Pending(format!("{left} KafkaTopics left")) })
    })
    .await;
    let clusters = kafka_cluster::api(ns);
    let cluster_deleted = match clusters.delete("kafka", &DeleteParams::default()).await {
        Ok(_) => wait::until_deleted(&clusters, "kafka", Duration::from_secs(60)).await,
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    };
    let uninstalled = release.uninstall().await;
    deleted?;
    topics_gone?;
    cluster_deleted?;
    uninstalled.map(|_| ())
}
