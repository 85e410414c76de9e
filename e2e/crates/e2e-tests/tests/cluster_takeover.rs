//! Taking over a KRaft cluster Koperator made, under acks=all production (issue 24).
//!
//! The cluster is laid out as Koperator lays it out, without our controller running: our
//! controller first builds the combined KRaft sample (3 nodes, Kafka 3.9.1) and is stopped;
//! `koperator_layout` then re-creates every ConfigMap and Service under Koperator's field
//! manager with Koperator's annotation and none of ours, replaces each pod (one at a time) by
//! one created under Koperator's manager from Koperator's `generateName`
//! (`kafka-controller-<id>-`, name chosen by the apiserver), writes Koperator's status
//! (ClusterRunning, its per-broker states, no conditions) and adds a Service Koperator makes
//! that we do not (`kafka-cruisecontrol-svc`). This is faithful in names, labels, owners,
//! field managers, annotations and status; the pod specs are ours, not Koperator's templates
//! (its start script and environment are not reproduced), which only matters to the roll: the
//! takeover replaces every pod it did not make, whatever its spec. PVCs are kept as they are
//! (Koperator's names and labels; the data must survive). Cruise Control is named external,
//! so that no extra JVM runs on the test bed.
//!
//! Then, with a producer writing with acks=all to a topic of RF 3 and min.insync.replicas 2,
//! our controller starts. The test waits for `TakingOver` False `Completed` with every pod
//! ours, and proves: every acknowledged message is consumed (kcat); a pod watch never saw two
//! nodes down at once; every Service, ConfigMap and PVC kept its uid (replaced in place, not
//! deleted); Koperator's Cruise Control Service is still there and named by the
//! `ForeignObjects` condition; events `TakeoverStarted`, `ObjectTakenOver` and
//! `TakeoverCompleted` were published.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::ClusterState;
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::koperator_layout::{self, KOPERATOR_MANAGER};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::rolling::{self, ContinuousProducer, DownWatch};
use e2e_tests::wait::{self, Check};
use e2e_tests::{kafka_topic, pod_state};

const CLUSTER: &str = "kafka";
const NODES: [i32; 3] = [0, 1, 2];
const TOPIC: &str = "load";
/// Three nodes replaced in turn on two shared cores, each stopping, starting and catching up.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(720);
/// The annotation our pods carry (the configuration they were created with).
const CONFIG_HASH_ANNOTATION: &str = "koperator-rs.io/config-hash";
/// The annotation every other object of ours carries (what was last applied).
const DESIRED_HASH_ANNOTATION: &str = "koperator-rs.io/desired-hash";

#[tokio::test]
async fn a_cluster_koperator_made_is_taken_over_under_load_without_losing_messages() -> Result<()> {
    namespace::run_isolated("takeover", async |ns| {
        lay_out_as_koperator(ns).await?;
        kafka_topic::create_with_kafka_tool(&bootstrap(ns, CLUSTER), TOPIC, 6, 3, &[("min.insync.replicas", "2")])
            .await?;
        take_over_under_load(ns).await
    })
    .await
}

/// A running cluster that looks as Koperator leaves it (see the file's doc comment).
async fn lay_out_as_koperator(ns: &TestNamespace) -> Result<()> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!("absent-cruise-control:8090");
    let mut builder = ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
    kafka_cluster::apply(ns, &cluster).await?;
    report_logs_on_failure(kafka_cluster::wait_running(ns, CLUSTER).await, || builder.log_tail(40))?;
    builder.terminate()?;
    builder.wait_for_exit(Duration::from_secs(30)).await?;

    let started = Instant::now();
    koperator_layout::rewrite_as_koperator(ns, CLUSTER, &NODES).await?;
    koperator_layout::add_foreign_service(ns, CLUSTER).await?;
    println!("laid out as Koperator in {:.0?}", started.elapsed());

    // What the takeover starts from: no pod of ours, no condition of ours.
    let pods = node_pods(ns).await?;
    ensure!(pods.len() == NODES.len(), "{} pods", pods.len());
    for pod in &pods {
        ensure!(!pod.annotations().contains_key(CONFIG_HASH_ANNOTATION), "pod {} is ours", pod.name_any());
        let managers: Vec<_> = pod.managed_fields().iter().filter_map(|m| m.manager.as_deref()).collect();
        ensure!(managers.contains(&KOPERATOR_MANAGER), "pod {} managers {managers:?}", pod.name_any());
    }
    let stored = kafka_cluster::api(ns).get(CLUSTER).await?;
    let status = stored.status.as_ref().context("no status")?;
    ensure!(status.conditions.is_empty() && status.state == Some(ClusterState::ClusterRunning), "{status:?}");
    Ok(())
}

async fn take_over_under_load(ns: &TestNamespace) -> Result<()> {
    let bootstrap = bootstrap(ns, CLUSTER);
    let kept_before = kept_objects(ns).await?;
    let koperator_pods: Vec<String> = node_pods(ns).await?.iter().map(|p| p.uid().unwrap_or_default()).collect();
    let down = DownWatch::start(ns, CLUSTER, &NODES);
    let producer = ContinuousProducer::start(&bootstrap, TOPIC, 50);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started = Instant::now();
    let controller = ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
    let taken_over = report_logs_on_failure(wait_taken_over(ns, &koperator_pods).await, || controller.log_tail(60))?;
    let took = started.elapsed();
    // The producer keeps writing to the cluster as taken over for a moment.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let produced = producer.stop().await?;
    let (worst, when) = down.worst();
    let acknowledged = rolling::expect_no_acknowledged_loss(&bootstrap, TOPIC, &produced).await?;
    println!(
        "took over {} nodes in {took:.0?}; {acknowledged} acknowledged messages all consumed ({} batches failed, \
         unacknowledged); at most {worst} node(s) down at once",
        NODES.len(),
        produced.failed.len()
    );
    ensure!(worst <= 1, "{when}");
    ensure!(acknowledged > 0, "nothing was acknowledged during the takeover");

    let kept_after = kept_objects(ns).await?;
    let replaced: Vec<_> =
        kept_before.iter().filter(|(object, uid)| kept_after.get(*object) != Some(uid)).map(|(o, _)| o).collect();
    ensure!(replaced.is_empty(), "deleted or re-created during the takeover: {replaced:?}");

    expect_no_koperator_leftovers(ns).await?;

    let foreign = kafka_cluster::condition(&taken_over, "ForeignObjects").context("no ForeignObjects condition")?;
    ensure!(
        foreign.status == "True" && foreign.message.contains("Service kafka-cruisecontrol-svc"),
        "ForeignObjects: {foreign:?}"
    );
    let uid = taken_over.uid().context("a stored cluster has a uid")?;
    for reason in ["TakeoverStarted", "ObjectTakenOver", "TakeoverCompleted", "ForeignObjects"] {
        kafka_topic::wait_event(ns, &uid, reason, Duration::from_secs(30)).await?;
    }
    Ok(())
}

/// Waits for `TakingOver` False `Completed`, every node on a ready pod of ours (none of
/// `koperator_pods`) and the cluster running; returns the cluster.
async fn wait_taken_over(ns: &TestNamespace, koperator_pods: &[String]) -> Result<KafkaCluster> {
    wait::eventually("the takeover completes", TAKEOVER_TIMEOUT, || async {
        let cluster = kafka_cluster::api(ns).get(CLUSTER).await?;
        let pods = node_pods(ns).await?;
        let ours = pods
            .iter()
            .filter(|p| p.annotations().contains_key(CONFIG_HASH_ANNOTATION) && pod_state::is_ready(p))
            .filter(|p| !koperator_pods.contains(&p.uid().unwrap_or_default()))
            .count();
        let taking_over =
            kafka_cluster::condition(&cluster, "TakingOver").map(|c| (c.status.clone(), c.reason.clone()));
        let state = cluster.status.as_ref().and_then(|s| s.state);
        let completed = taking_over.as_ref().is_some_and(|(status, reason)| status == "False" && reason == "Completed");
        Ok(
            if completed
                && ours == NODES.len()
                && pods.len() == NODES.len()
                && state == Some(ClusterState::ClusterRunning)
            {
                Check::Done(cluster)
            } else {
                Check::Pending(format!(
                    "{ours}/{} pods ours and ready; TakingOver {taking_over:?}; state {state:?}",
                    NODES.len()
                ))
            },
        )
    })
    .await
}

/// Every Service and ConfigMap of the cluster but Koperator's Cruise Control Service is ours
/// now: our annotation, not Koperator's, and no field left to Koperator's manager (a field it
/// still owned would survive the day we stop setting it).
async fn expect_no_koperator_leftovers(ns: &TestNamespace) -> Result<()> {
    let selector = ListParams::default().labels(&format!("kafka_cr={CLUSTER}"));
    let mut objects: Vec<(String, ObjectMeta)> = Vec::new();
    for service in Api::<Service>::namespaced(ns.client.clone(), &ns.name).list(&selector).await?.items {
        objects.push((format!("Service {}", service.name_any()), service.metadata));
    }
    for config_map in Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name).list(&selector).await?.items {
        objects.push((format!("ConfigMap {}", config_map.name_any()), config_map.metadata));
    }
    let mut leftovers = Vec::new();
    for (object, metadata) in objects.iter().filter(|(object, _)| object != "Service kafka-cruisecontrol-svc") {
        let annotations = metadata.annotations.clone().unwrap_or_default();
        let managers: Vec<&str> =
            metadata.managed_fields.iter().flatten().filter_map(|m| m.manager.as_deref()).collect();
        if !annotations.contains_key(DESIRED_HASH_ANNOTATION)
            || annotations.contains_key(koperator_layout::LAST_APPLIED_ANNOTATION)
            || managers.contains(&KOPERATOR_MANAGER)
        {
            leftovers.push(format!("{object}: annotations {:?}, field managers {managers:?}", annotations.keys()));
        }
    }
    ensure!(objects.len() > 3, "only {objects:?}");
    ensure!(leftovers.is_empty(), "Koperator's marks left after the takeover:\n{}", leftovers.join("\n"));
    Ok(())
}

/// The node pods of the cluster.
async fn node_pods(ns: &TestNamespace) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={CLUSTER},brokerId");
    Ok(pods.list(&ListParams::default().labels(&selector)).await?.items)
}

/// `<Kind> <name>` → uid of every Service, ConfigMap and PVC of the namespace: the takeover may
/// replace their content, never the objects.
async fn kept_objects(ns: &TestNamespace) -> Result<BTreeMap<String, String>> {
    let mut kept = BTreeMap::new();
    let all = ListParams::default();
    for service in Api::<Service>::namespaced(ns.client.clone(), &ns.name).list(&all).await?.items {
        kept.insert(format!("Service {}", service.name_any()), service.uid().unwrap_or_default());
    }
    for config_map in Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name).list(&all).await?.items {
        kept.insert(format!("ConfigMap {}", config_map.name_any()), config_map.uid().unwrap_or_default());
    }
    for claim in Api::<PersistentVolumeClaim>::namespaced(ns.client.clone(), &ns.name).list(&all).await?.items {
        kept.insert(format!("PersistentVolumeClaim {}", claim.name_any()), claim.uid().unwrap_or_default());
    }
    Ok(kept)
}
