//! Rack awareness on the test bed's three nodes, one per zone (`topology.kubernetes.io/zone`
//! zone-a, zone-b, zone-c): a split-role cluster of six brokers and three controllers with
//! `rackAwareness.labels: [topology.kubernetes.io/zone]`.
//! - Every broker reports (`kafka-configs --describe --all`) a `broker.rack` equal to the zone
//!   of the node its pod runs on, two brokers per zone, and the status records it in
//!   `brokersState.<id>.rackAwarenessState` as Koperator does (`broker.rack=<zone>\n`).
//! - The rack was there at the first start: no broker pod was replaced or restarted.
//! - Kafka places an RF 3 topic's replicas in three zones for every partition.
//! - `taintedBrokersSelector` (adobe/koperator's, as a node-recycling tool uses it): a label
//!   put on broker 0's live pod gets that pod replaced exactly once, through the gated roll;
//!   the replacement runs in the same rack.
//! - `concurrentBrokerRestartCountPerRack: 2`: Kafka 3.9.0 → 3.9.1 under acks=all production
//!   (RF 3, min.insync.replicas 2): controllers one at a time, then the two brokers of a zone
//!   together, never brokers of two zones down at once, no acknowledged message lost; then back
//!   to 3.9.0 with the count at 1, one node at a time. Both times are printed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::rolling;
use e2e_tests::wait::{self, Check};
use e2e_tests::{cruise_control, kafka_cluster, kafka_topic, kcat, namespace};

const ZONE: &str = "topology.kubernetes.io/zone";
const BROKERS: [i32; 6] = [0, 1, 2, 3, 4, 5];
/// The label adobe's node-recycling tool puts on a pod it parks.
const PARKED_LABEL: &str = "shredder.ethos.adobe.net/upgrade-status";
const CONTROLLERS: [i32; 3] = [6, 7, 8];
/// Nine nodes rolled on two shared cores.
const ROLL_TIMEOUT: Duration = Duration::from_secs(900);

fn image(version: &str) -> String {
    format!("ghcr.io/adobe/koperator/kafka:2.13-{version}")
}

fn six_brokers_in_racks() -> Result<serde_json::Value> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
    let spec = &mut cluster["spec"];
    spec["clusterImage"] = json!(image("3.9.0"));
    spec["rollingUpgradeConfig"]["concurrentBrokerRestartCountPerRack"] = json!(2);
    let mut brokers: Vec<serde_json::Value> =
        BROKERS.iter().map(|id| json!({"id": id, "brokerConfigGroup": "broker"})).collect();
    brokers.extend([6, 7, 8].map(|id| json!({"id": id, "brokerConfigGroup": "controller"})));
    spec["brokers"] = json!(brokers);
    spec["rackAwareness"] = json!({"labels": [ZONE]});
    Ok(cluster)
}

#[tokio::test]
async fn brokers_start_in_the_rack_of_their_node_and_topics_span_three_zones() -> Result<()> {
    namespace::run_isolated("racks", async |ns| {
        let controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        let outcome = racks(ns).await;
        report_logs_on_failure(outcome, || format!("cluster controller:\n{}", controller.log_tail(40)))
    })
    .await
}

async fn racks(ns: &TestNamespace) -> Result<()> {
    kafka_cluster::apply(ns, &six_brokers_in_racks()?).await?;
    let running = kafka_cluster::wait_running(ns, "kafka").await?;
    let first_pods = broker_pods(ns).await?;
    let zones = node_zones(ns).await?;
    let bootstrap = kafka_cluster::bootstrap(ns, "kafka");

    let mut racks = BTreeMap::new();
    for id in BROKERS {
        let pod = first_pods.get(&id).with_context(|| format!("no pod of broker {id}"))?;
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).context("not scheduled")?;
        let zone = zones.get(&node).with_context(|| format!("node {node} has no zone"))?;
        let reported = broker_rack(&bootstrap, id).await?;
        ensure!(reported.as_deref() == Some(zone.as_str()), "broker {id} on {node} ({zone}) reports rack {reported:?}");
        let state = running.status.as_ref().and_then(|s| s.brokers_state.get(&id.to_string()));
        let recorded = state.and_then(|s| s.rack_awareness_state.clone());
        ensure!(recorded == Some(format!("broker.rack={zone}\n")), "broker {id}: rackAwarenessState {recorded:?}");
        racks.insert(id, zone.clone());
    }
    let mut per_zone: BTreeMap<&String, usize> = BTreeMap::new();
    for zone in racks.values() {
        *per_zone.entry(zone).or_default() += 1;
    }
    ensure!(per_zone.values().all(|count| *count == 2) && per_zone.len() == 3, "brokers per zone: {per_zone:?}");
    eprintln!("e2e: racks {racks:?}");

    kafka_topic::create_with_kafka_tool(&bootstrap, "spread", 6, 3, &[]).await?;
    kcat::wait_known_to_every_broker(&bootstrap, "spread", 6, &[], Duration::from_secs(60)).await?;
    let metadata = kcat::metadata(&bootstrap, Some("spread")).await?;
    let topic = metadata.topic("spread").context("topic spread")?;
    for partition in &topic.partitions {
        let zones: BTreeSet<&String> = partition.replicas.iter().filter_map(|r| racks.get(&r.id)).collect();
        ensure!(zones.len() == 3, "partition {} has replicas in {zones:?}", partition.partition);
    }

    // Started once, with the rack: the same pods, no container restarted.
    let now = broker_pods(ns).await?;
    for id in BROKERS {
        let (before, after) = (&first_pods[&id], now.get(&id).context("pod gone")?);
        ensure!(before.metadata.uid == after.metadata.uid, "broker {id}'s pod was replaced");
        let restarts: i32 = after
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .map(|c| c.restart_count)
            .sum();
        ensure!(restarts == 0, "broker {id}'s containers restarted {restarts} times");
    }
    replaced_once_when_tainted(ns, &first_pods[&0], &racks[&0], &zones).await?;
    rolls_rack_by_rack(ns, &racks).await
}

/// 3.9.0 → 3.9.1 two brokers of a zone at a time, then back one node at a time, under load.
async fn rolls_rack_by_rack(ns: &TestNamespace, racks: &BTreeMap<i32, String>) -> Result<()> {
    let bootstrap = kafka_cluster::bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, "load", 6, 3, &[("min.insync.replicas", "2")]).await?;
    let mut cluster = six_brokers_in_racks()?;
    cluster["spec"]["taintedBrokersSelector"] = json!({"matchLabels": {PARKED_LABEL: "parked"}});

    cluster["spec"]["clusterImage"] = json!(image("3.9.1"));
    let (batched, together) = roll_under_load(ns, &cluster, "3.9.1").await?;
    for down in &together {
        let brokers: Vec<i32> = down.iter().copied().filter(|id| !CONTROLLERS.contains(id)).collect();
        let zones: BTreeSet<&String> = brokers.iter().filter_map(|id| racks.get(id)).collect();
        ensure!(brokers.len() == down.len() || down.len() == 1, "a controller went down with others: {down:?}");
        ensure!(zones.len() <= 1 && brokers.len() <= 2, "nodes {down:?} were down at once, zones {zones:?}");
    }
    let pairs: Vec<&Vec<i32>> = together.iter().filter(|down| down.len() == 2).collect();
    ensure!(!pairs.is_empty(), "no two brokers of a zone restarted together: {together:?}");

    cluster["spec"]["rollingUpgradeConfig"]["concurrentBrokerRestartCountPerRack"] = json!(1);
    cluster["spec"]["clusterImage"] = json!(image("3.9.0"));
    let (one_at_a_time, together) = roll_under_load(ns, &cluster, "3.9.0").await?;
    ensure!(together.iter().all(|down| down.len() == 1), "one at a time, yet {together:?} were down at once");
    eprintln!(
        "e2e: nine nodes rolled in {batched:.0?} with concurrentBrokerRestartCountPerRack 2 (brokers down together: \
         {pairs:?}), in {one_at_a_time:.0?} one at a time"
    );
    Ok(())
}

/// Rolls all nine nodes to `version` under load: the time it took, the node sets down at once.
async fn roll_under_load(
    ns: &TestNamespace,
    cluster: &serde_json::Value,
    version: &str,
) -> Result<(Duration, BTreeSet<Vec<i32>>)> {
    let nodes: Vec<i32> = BROKERS.iter().chain(&CONTROLLERS).copied().collect();
    let roll = rolling::roll_under_load(ns, cluster, &nodes, version, "load", ROLL_TIMEOUT).await?;
    eprintln!(
        "e2e: rolled to {version} in {:.0?}; {} acknowledged messages all consumed",
        roll.took, roll.acknowledged
    );
    Ok((roll.took, roll.down_together))
}

/// Labels broker 0's pod as `taintedBrokersSelector` selects: it is replaced, once.
async fn replaced_once_when_tainted(
    ns: &TestNamespace,
    pod: &Pod,
    rack: &str,
    zones: &BTreeMap<String, String>,
) -> Result<()> {
    let mut cluster = six_brokers_in_racks()?;
    cluster["spec"]["taintedBrokersSelector"] = json!({"matchLabels": {PARKED_LABEL: "parked"}});
    kafka_cluster::apply(ns, &cluster).await?;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let name = pod.metadata.name.clone().context("pod name")?;
    let label = json!({"metadata": {"labels": {PARKED_LABEL: "parked"}}});
    pods.patch(&name, &PatchParams::default(), &Patch::Merge(&label)).await?;
    let started = std::time::Instant::now();
    let replacement = wait::eventually("broker 0's pod to be replaced and ready", Duration::from_secs(300), || async {
        let now = broker_pods(ns).await?;
        let Some(current) = now.get(&0) else { return Ok(Check::Pending("no pod".to_owned())) };
        let ready = current
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        Ok(if current.metadata.uid != pod.metadata.uid && ready {
            Check::Done(current.clone())
        } else {
            Check::Pending(format!("{:?}", current.metadata.name))
        })
    })
    .await?;
    eprintln!("e2e: tainted pod {name} replaced after {:.0?}", started.elapsed());
    let labels = replacement.metadata.labels.clone().unwrap_or_default();
    ensure!(!labels.contains_key(PARKED_LABEL), "the replacement carries {labels:?}");
    let node = replacement.spec.as_ref().and_then(|s| s.node_name.clone()).context("not scheduled")?;
    ensure!(zones.get(&node).map(String::as_str) == Some(rack), "the replacement runs on {node}, out of {rack}");
    // Replaced once: 20 s later, after the passes its own events woke, it is the same pod.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let later = broker_pods(ns).await?;
    ensure!(later.get(&0).map(|p| &p.metadata.uid) == Some(&replacement.metadata.uid), "broker 0 replaced again");
    Ok(())
}

/// Broker pods by broker id (one each once the cluster runs).
async fn broker_pods(ns: &TestNamespace) -> Result<BTreeMap<i32, Pod>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let mut by_id = BTreeMap::new();
    for pod in pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items {
        let id = pod.metadata.labels.as_ref().and_then(|l| l.get("brokerId")).and_then(|id| id.parse::<i32>().ok());
        if let Some(id) = id.filter(|id| BROKERS.contains(id)) {
            ensure!(by_id.insert(id, pod).is_none(), "two pods of broker {id}");
        }
    }
    Ok(by_id)
}

/// Node name → its zone label.
async fn node_zones(ns: &TestNamespace) -> Result<BTreeMap<String, String>> {
    let nodes: Api<Node> = Api::all(ns.client.clone());
    let mut zones = BTreeMap::new();
    for node in nodes.list(&ListParams::default()).await?.items {
        let zone = node.metadata.labels.as_ref().and_then(|l| l.get(ZONE)).cloned();
        if let (Some(name), Some(zone)) = (node.metadata.name, zone) {
            zones.insert(name, zone);
        }
    }
    Ok(zones)
}

/// `broker.rack` as broker `id` reports it (`kafka-configs --describe --all`).
async fn broker_rack(bootstrap: &str, id: i32) -> Result<Option<String>> {
    let stdout = cruise_control::all_broker_configs(bootstrap, id).await?;
    Ok(stdout.lines().find_map(|line| {
        let value = line.trim().strip_prefix("broker.rack=")?;
        Some(value.split_whitespace().next().unwrap_or_default().to_owned())
    }))
}
