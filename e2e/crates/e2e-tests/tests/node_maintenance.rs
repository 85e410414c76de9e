//! Node maintenance on the test bed's three nodes, with the combined sample, `oneBrokerPerNode:
//! true` (required pod anti-affinity on the node name) and `disruptionBudget.create`:
//! - the three nodes run on three different nodes; one budget (`kafka-pdb`) covers them all (the
//!   eviction API refuses a pod two budgets select): an eviction is admitted, a second at the
//!   same time refused (429);
//! - `kubectl drain` of two nodes under acks=all production (RF 3, min.insync.replicas 2): the
//!   first drain completes; its broker cannot come back while its node is cordoned (its volume
//!   is there, the other nodes hold a pod of the cluster each), and a drain of a second node
//!   started meanwhile does not complete while the `DisruptionBudget` condition says evictions
//!   are held; once the first node is uncordoned and its broker is back in sync, the second
//!   drain completes; never two nodes down, no acknowledged message lost;
//! - a fourth (broker-only) node stays Pending and the `Reconciling` condition names broker 3
//!   and the scheduler's reason.
//!
//! Drains select the test's pods by a label of their own (`brokerLabels`), so other tests'
//! pods on the drained node are left alone; the nodes are uncordoned whatever the outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{EvictParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::rolling::{self, ContinuousProducer, DownWatch};
use e2e_tests::wait::{self, Check};
use e2e_tests::{helm, kafka_cluster, kafka_topic, namespace, pod_state, testbed};

/// The label drains select the test's pods by (`brokerLabels`).
const DRAIN_LABEL: &str = "e2e-drain";

#[tokio::test]
async fn one_broker_per_node_leaves_a_fourth_broker_pending_and_says_why() -> Result<()> {
    namespace::run_isolated("one-per-node", async |ns| {
        let controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        let outcome = one_per_node(ns).await;
        report_logs_on_failure(outcome, || format!("cluster controller:\n{}", controller.log_tail(40)))
    })
    .await
}

async fn one_per_node(ns: &TestNamespace) -> Result<()> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    cluster["spec"]["oneBrokerPerNode"] = json!(true);
    // No Cruise Control: one JVM less, and nothing here needs it.
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!("absent-cruise-control:8090");
    cluster["spec"]["disruptionBudget"] = json!({"create": true});
    cluster["spec"]["brokerConfigGroups"]["default"]["brokerLabels"] = json!({DRAIN_LABEL: ns.name});
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let listed = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items;
    let nodes: BTreeSet<String> = listed.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
    ensure!(listed.len() == 3 && nodes.len() == 3, "{} pods on nodes {nodes:?}", listed.len());
    one_eviction_at_a_time(ns, &listed).await?;
    all_ready(&pods).await?;
    drains_wait_for_kafka(ns, &pods).await?;

    // A broker-only fourth node: every node already runs a pod of the cluster.
    let mut group = cluster["spec"]["brokerConfigGroups"]["default"].clone();
    group["brokerLabels"] = json!({});
    cluster["spec"]["brokerConfigGroups"]["broker"] = group;
    cluster["spec"]["brokerConfigGroups"]["broker"]["processRoles"] = json!(["broker"]);
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.push(json!({"id": 3, "brokerConfigGroup": "broker"}));
    kafka_cluster::apply(ns, &cluster).await?;
    let says = wait::eventually("broker 3 Pending, and the status says why", Duration::from_secs(120), || async {
        let cluster = kafka_cluster::api(ns).get("kafka").await?;
        let reconciling = kafka_cluster::condition(&cluster, "Reconciling").map(|c| c.message.clone());
        Ok(match reconciling {
            Some(message) if message.contains("broker 3") && message.contains("anti-affinity") => Check::Done(message),
            other => Check::Pending(format!("Reconciling: {other:?}")),
        })
    })
    .await?;
    let fourth = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka,brokerId=3")).await?.items;
    let phase = fourth.first().and_then(|p| p.status.as_ref()?.phase.clone());
    ensure!(phase.as_deref() == Some("Pending"), "broker 3's pod: {phase:?}");
    eprintln!("e2e: Reconciling says: {says}");
    Ok(())
}

/// One budget, `kafka-pdb`, over the three combined nodes: the first eviction is admitted,
/// a second at once refused.
async fn one_eviction_at_a_time(ns: &TestNamespace, pods: &[Pod]) -> Result<()> {
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::eventually("kafka-pdb allows one disruption of three pods", Duration::from_secs(60), || async {
        let names: Vec<String> =
            budgets.list(&ListParams::default()).await?.items.iter().map(|b| b.name_any()).collect();
        let allowed = budgets
            .get_opt("kafka-pdb")
            .await?
            .and_then(|b| b.status)
            .map(|s| (s.disruptions_allowed, s.expected_pods));
        Ok(if names == ["kafka-pdb"] && allowed == Some((1, 3)) {
            Check::Done(())
        } else {
            Check::Pending(format!("budgets {names:?}, kafka-pdb (allowed, expected) {allowed:?}"))
        })
    })
    .await?;
    // Without the client's retries, which would wait out the 429.
    let evictions: Api<Pod> = Api::namespaced(testbed::client_without_retries().await?, &ns.name);
    evictions.evict(&pods[0].name_any(), &EvictParams::default()).await.context("the first eviction")?;
    match evictions.evict(&pods[1].name_any(), &EvictParams::default()).await {
        Err(kube::Error::Api(status)) if status.code == 429 => Ok(()),
        other => anyhow::bail!("a second eviction at once was not refused by the budget: {other:?}"),
    }
}

async fn all_ready(pods: &Api<Pod>) -> Result<()> {
    wait::eventually("all three Kafka pods ready", Duration::from_secs(240), || async {
        let now = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items;
        let ready = now.iter().filter(|p| p.metadata.deletion_timestamp.is_none() && pod_state::is_ready(p)).count();
        Ok(if ready == 3 { Check::Done(()) } else { Check::Pending(format!("{ready} of 3 ready")) })
    })
    .await
}

/// Broker id → the node its pod runs on.
async fn nodes_of(pods: &Api<Pod>) -> Result<BTreeMap<i32, String>> {
    let listed = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items;
    let mut nodes = BTreeMap::new();
    for pod in listed {
        let id = pod.labels().get("brokerId").and_then(|id| id.parse::<i32>().ok());
        if let (Some(id), Some(node)) = (id, pod.spec.and_then(|s| s.node_name)) {
            nodes.insert(id, node);
        }
    }
    Ok(nodes)
}

/// `kubectl drain` of `node`, evicting only the pods of the test in `namespace`.
async fn drain(node: String, namespace: String) -> Result<String> {
    let selector = format!("--pod-selector={DRAIN_LABEL}={namespace}");
    helm::kubectl(&["drain", &node, &selector, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"], None)
        .await
}

/// Two drains, the second started while the first node's broker is down; see the module doc.
async fn drains_wait_for_kafka(ns: &TestNamespace, pods: &Api<Pod>) -> Result<()> {
    let nodes = nodes_of(pods).await?;
    let (first, second) = (nodes.get(&0).context("broker 0's node")?.clone(), nodes.get(&1).context("node")?.clone());
    let bootstrap = kafka_cluster::bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, "drained", 3, 3, &[("min.insync.replicas", "2")]).await?;
    let down = DownWatch::start(ns, "kafka", &[0, 1, 2]);
    let producer = ContinuousProducer::start(&bootstrap, "drained", 50);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let outcome = async {
        drain(first.clone(), ns.name.clone()).await.context("the first drain")?;
        let second_drain = tokio::spawn(drain(second.clone(), ns.name.clone()));
        let held =
            wait::eventually("the DisruptionBudget condition holds evictions", Duration::from_secs(60), || async {
                let cluster = kafka_cluster::api(ns).get("kafka").await?;
                Ok(match kafka_cluster::condition(&cluster, "DisruptionBudget") {
                    Some(c) if c.status == "False" => Check::Done(c.message.clone()),
                    other => Check::Pending(format!("{other:?}")),
                })
            })
            .await?;
        eprintln!("e2e: while broker 0 is away: {held}");
        tokio::time::sleep(Duration::from_secs(15)).await;
        ensure!(!second_drain.is_finished(), "the second drain completed while broker 0 was down");
        helm::kubectl(&["uncordon", &first], None).await?;
        second_drain.await?.context("the second drain")?;
        helm::kubectl(&["uncordon", &second], None).await?;
        all_ready(pods).await
    }
    .await;
    for node in [&first, &second] {
        if let Err(error) = helm::kubectl(&["uncordon", node], None).await {
            eprintln!("e2e: uncordon {node}: {error:#}");
        }
    }
    outcome?;
    let produced = producer.stop().await?;
    let acknowledged = rolling::expect_no_acknowledged_loss(&bootstrap, "drained", &produced).await?;
    let (worst, when) = down.worst();
    eprintln!("e2e: two drains; {acknowledged} acknowledged messages all consumed; at most {worst} node(s) down");
    ensure!(acknowledged > 0, "nothing was acknowledged during the drains");
    ensure!(worst <= 1, "{when}");
    Ok(())
}
