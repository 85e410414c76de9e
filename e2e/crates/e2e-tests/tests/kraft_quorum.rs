//! The KRaft controller set changes on a running cluster (KIP-853), under acks=all production:
//! Koperator's split-role sample (3 broker-only nodes, controllers 3, 4, 5, Kafka 3.9.1) is made
//! with a dynamic quorum; controllers 6 and 7 join (3 → 5 voters), then the original 3 and 4 go
//! (5 → 3). After each step `kafka-metadata-quorum describe --status` (Kafka's own tool) shows
//! the voters, a topic can be created, and at the end every acknowledged message is consumed.
//! A controller's pod is deleted only once Kafka no longer lists it as a voter.
//!
//! A cluster whose status says its quorum is static (made before dynamic quorums, as every
//! cluster taken over from Koperator is) runs with `controller.quorum.voters`, and a change of
//! its controllers is refused with a Degraded condition naming both sets: no pod replaced.
//! Its roll then shows the controller gate: a node the roll restarted is stopped (SIGSTOP)
//! while the next restarts, and the third waits, the RollingUpgrade condition naming the
//! stopped node, until it runs again.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crd_types::kafka_cluster::QuorumKind;
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::rolling::{self, ContinuousProducer};
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kafka_topic};

const TOPIC: &str = "load";
/// Two controllers start, catch up and join one after the other on two shared cores.
const QUORUM_CHANGE_TIMEOUT: Duration = Duration::from_secs(480);
/// One node of a roll stops, starts and catches up on two shared cores.
const ROLL_STEP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the roll must stay held by a stopped controller.
const ROLL_HOLD: Duration = Duration::from_secs(20);

#[tokio::test]
async fn controllers_grow_from_three_to_five_and_shrink_to_three_under_load() -> Result<()> {
    namespace::run_isolated("kraft-quorum", async |ns| {
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        report_logs_on_failure(scenario(ns).await, || controller.log_tail(60))
    })
    .await
}

#[tokio::test]
async fn a_static_quorum_refuses_a_change_of_its_controllers() -> Result<()> {
    namespace::run_isolated("kraft-static", async |ns| {
        let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!("absent-cruise-control:8090");
        kafka_cluster::apply(ns, &cluster).await?;
        // What a cluster made before dynamic quorums carries, written before the operator runs.
        let status = json!({"status": {"kraft": {"quorum": "Static"}}});
        kafka_cluster::api(ns).patch_status("kafka", &PatchParams::default(), &Patch::Merge(&status)).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        report_logs_on_failure(static_scenario(ns, &mut cluster).await, || controller.log_tail(40))
    })
    .await
}

async fn static_scenario(ns: &TestNamespace, cluster: &mut Value) -> Result<()> {
    kafka_cluster::wait_running(ns, "kafka").await?;
    let bootstrap = bootstrap(ns, "kafka");
    let status = describe_status(&bootstrap).await?;
    ensure!(voters(&bootstrap).await? == BTreeSet::from([0, 1, 2]), "the voters:\n{status}");
    let before = rolling::pod_uids(ns, "kafka").await?;
    // Node 2 becomes broker-only: the controllers would go from 0, 1, 2 to 0, 1.
    cluster["spec"]["brokers"][2]["brokerConfig"] = json!({"processRoles": ["broker"]});
    kafka_cluster::apply(ns, cluster).await?;
    let refused = wait::until(&kafka_cluster::api(ns), "kafka", "refuses the change", Duration::from_secs(120), |c| {
        kafka_cluster::condition(c, "Degraded")
            .is_some_and(|d| d.status == "True" && d.message.contains("from [0, 1, 2] to [0, 1]"))
    })
    .await?;
    let message = kafka_cluster::condition(&refused, "Degraded").map(|d| d.message.clone()).unwrap_or_default();
    println!("refused: {message}");
    tokio::time::sleep(Duration::from_secs(15)).await;
    ensure!(rolling::pod_uids(ns, "kafka").await? == before, "a pod was replaced after the refused change");
    ensure!(voters(&bootstrap).await? == BTreeSet::from([0, 1, 2]), "the voters changed");

    // Back to three controllers, with a change every node restarts for.
    cluster["spec"]["brokers"][2].as_object_mut().context("broker 2")?.remove("brokerConfig");
    let read_only = cluster["spec"]["readOnlyConfig"].as_str().unwrap_or_default().to_owned();
    cluster["spec"]["readOnlyConfig"] = json!(format!("{read_only}background.threads=11\n"));
    kafka_cluster::apply(ns, cluster).await?;
    stopped_controller_holds_the_roll(ns, &before).await
}

/// During the roll, once one node has been restarted and the next is restarting, the restarted
/// node's Kafka is stopped (SIGSTOP, as a hung JVM): when the next node is back, the roll must
/// not take down the third while a controller restarted earlier cannot show it is in the quorum
/// and caught up, and the RollingUpgrade condition names it. Once it runs again the roll ends.
async fn stopped_controller_holds_the_roll(ns: &TestNamespace, before: &BTreeSet<String>) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let (restarted, restarted_pod, restarted_uid) =
        wait::eventually("one node restarted, the next restarting", ROLL_STEP_TIMEOUT, || async {
            let live = live_pods(&pods).await?;
            let fresh_ready: Vec<&Pod> =
                live.iter().filter(|p| !before.contains(&uid(p)) && e2e_tests::pod_state::is_ready(p)).collect();
            let old_remaining = live.iter().filter(|p| before.contains(&uid(p))).count();
            Ok(match fresh_ready.as_slice() {
                [one] if old_remaining == 1 => Check::Done((node_id(one)?, one.name_any(), uid(one))),
                _ => Check::Pending(format!(
                    "{} restarted and ready, {old_remaining} not restarted yet",
                    fresh_ready.len()
                )),
            })
        })
        .await?;
    let jvm = e2e_tests::processes::in_pod(&restarted_uid)
        .into_iter()
        .find(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "java"))
        .with_context(|| format!("no java process of pod {restarted_pod}"))?;
    signal(jvm, "STOP").await?;
    println!("node {restarted} restarted by the roll; its JVM (pid {jvm}) stopped");
    let held = held_while_stopped(ns, before, restarted).await;
    signal(jvm, "CONT").await?;
    println!("the roll waited {ROLL_HOLD:?} and more: {}", held?);
    rolling::wait_rolled(ns, "kafka", before, 3, ROLL_STEP_TIMEOUT * 3).await
}

/// Waits until the RollingUpgrade condition names node `stopped` as what the roll waits for,
/// then for [`ROLL_HOLD`], and checks that the last node the roll has not replaced still runs.
async fn held_while_stopped(ns: &TestNamespace, before: &BTreeSet<String>, stopped: i32) -> Result<String> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let (message, last_old) = held_for_node(ns, before, stopped).await?;
    tokio::time::sleep(ROLL_HOLD).await;
    ensure!(
        live_pods(&pods).await?.iter().any(|p| uid(p) == last_old),
        "the last node was restarted although node {stopped} was stopped"
    );
    Ok(message)
}

/// Waits until the RollingUpgrade condition names node `stopped` as what the roll waits for;
/// returns the message and the uid of the one pod the roll has not replaced yet.
async fn held_for_node(ns: &TestNamespace, before: &BTreeSet<String>, stopped: i32) -> Result<(String, String)> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let clusters = kafka_cluster::api(ns);
    let names = [format!("controller {stopped} "), format!("controller {stopped}'s"), format!("broker {stopped} ")];
    wait::eventually("the RollingUpgrade condition names the stopped node", ROLL_STEP_TIMEOUT, || async {
        let cluster = clusters.get("kafka").await?;
        let message =
            kafka_cluster::condition(&cluster, "RollingUpgrade").map(|c| c.message.clone()).unwrap_or_default();
        let gate = message.split_once("waits").map(|(_, gate)| gate).unwrap_or_default();
        let old: Vec<String> = live_pods(&pods).await?.iter().map(uid).filter(|uid| before.contains(uid)).collect();
        Ok(
            if let [last_old] = old.as_slice()
                && names.iter().any(|name| gate.contains(name.as_str()))
            {
                Check::Done((message, last_old.clone()))
            } else {
                Check::Pending(format!("RollingUpgrade: {message:?}"))
            },
        )
    })
    .await
}

async fn live_pods(pods: &Api<Pod>) -> Result<Vec<Pod>> {
    let list = pods.list(&ListParams::default().labels("kafka_cr=kafka,brokerId")).await?;
    Ok(list.items.into_iter().filter(|pod| pod.metadata.deletion_timestamp.is_none()).collect())
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn node_id(pod: &Pod) -> Result<i32> {
    pod.labels()
        .get("brokerId")
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("{}: no brokerId", pod.name_any()))
}

async fn signal(pid: u32, name: &str) -> Result<()> {
    let status = tokio::process::Command::new("kill").args([format!("-{name}"), pid.to_string()]).status().await?;
    ensure!(status.success(), "kill -{name} {pid}: {status}");
    Ok(())
}

async fn scenario(ns: &TestNamespace) -> Result<()> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
    // No Cruise Control: controller-only nodes hold no partitions, nothing is drained.
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!("absent-cruise-control:8090");
    kafka_cluster::apply(ns, &cluster).await?;
    let running = kafka_cluster::wait_running(ns, "kafka").await?;
    let kraft = running.status.as_ref().and_then(|s| s.kraft.clone()).context("status.kraft")?;
    ensure!(kraft.quorum == Some(QuorumKind::Dynamic), "a new 3.9.1 cluster's quorum must be dynamic: {kraft:?}");
    let bootstrap = bootstrap(ns, "kafka");
    ensure!(voters(&bootstrap).await? == BTreeSet::from([3, 4, 5]), "the initial voters");

    kafka_topic::create_with_kafka_tool(&bootstrap, TOPIC, 6, 3, &[("min.insync.replicas", "2")]).await?;
    let producer = ContinuousProducer::start(&bootstrap, TOPIC, 50);
    tokio::time::sleep(Duration::from_secs(5)).await;

    // 3 → 5: two more nodes of the controller group.
    let brokers = cluster["spec"]["brokers"].as_array_mut().context("brokers")?;
    brokers.extend([
        json!({"id": 6, "brokerConfigGroup": "controller"}),
        json!({"id": 7, "brokerConfigGroup": "controller"}),
    ]);
    let grown = change_controllers(ns, &cluster, &bootstrap, &[3, 4, 5, 6, 7]).await?;
    println!("controllers 3, 4, 5 → 3, 4, 5, 6, 7 in {grown:.0?}");
    kafka_topic::create_with_kafka_tool(&bootstrap, "after-growing", 3, 3, &[]).await?;

    // 5 → 3: the original 3 and 4 go; their pods only once Kafka says they left.
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.retain(|b| b["id"] != 3 && b["id"] != 4);
    let watch = tokio::spawn(deletions_of_voters(ns.client.clone(), ns.name.clone(), bootstrap.clone(), vec![3, 4]));
    let shrunk = change_controllers(ns, &cluster, &bootstrap, &[5, 6, 7]).await?;
    println!("controllers 3, 4, 5, 6, 7 → 5, 6, 7 in {shrunk:.0?}");
    watch.await.context("the deletion watch")??;
    kafka_topic::create_with_kafka_tool(&bootstrap, "after-shrinking", 3, 3, &[]).await?;

    let produced = producer.stop().await?;
    let acknowledged = rolling::expect_no_acknowledged_loss(&bootstrap, TOPIC, &produced).await?;
    println!(
        "{acknowledged} acknowledged messages all consumed ({} batches failed, unacknowledged)",
        produced.failed.len()
    );
    ensure!(acknowledged > 0, "nothing was acknowledged during the changes");
    Ok(())
}

/// Applies `cluster` and waits until Kafka's voters are `expected` and the status agrees.
async fn change_controllers(
    ns: &TestNamespace,
    cluster: &Value,
    bootstrap: &str,
    expected: &[i32],
) -> Result<Duration> {
    let started = Instant::now();
    kafka_cluster::apply(ns, cluster).await?;
    let expected: BTreeSet<i32> = expected.iter().copied().collect();
    wait::eventually("Kafka's voters are the spec's controllers", QUORUM_CHANGE_TIMEOUT, || async {
        let now = voters(bootstrap).await?;
        Ok(if now == expected { Check::Done(()) } else { Check::Pending(format!("voters {now:?}")) })
    })
    .await?;
    let took = started.elapsed();
    let wanted: Vec<i32> = expected.iter().copied().collect();
    wait::until(&kafka_cluster::api(ns), "kafka", "reports the new voters", Duration::from_secs(120), |c| {
        let recorded = c.status.as_ref().and_then(|s| s.kraft.as_ref()).map(|k| k.voters.clone());
        recorded.as_ref() == Some(&wanted)
            && kafka_cluster::condition(c, "ControllerQuorum").is_some_and(|c| c.status == "True")
    })
    .await?;
    println!("{}", describe_status(bootstrap).await?);
    Ok(took)
}

/// `kafka-metadata-quorum describe --status`, as an operator of the cluster would run it.
async fn describe_status(bootstrap: &str) -> Result<String> {
    host_command::run_ok(
        &["kafka-metadata-quorum", "--bootstrap-server", bootstrap, "describe", "--status"],
        None,
        Duration::from_secs(60),
    )
    .await
}

/// The voter ids in `CurrentVoters: [{"id": 3, ...}, ...]`.
async fn voters(bootstrap: &str) -> Result<BTreeSet<i32>> {
    let status = describe_status(bootstrap).await?;
    let line = status.lines().find(|l| l.trim_start().starts_with("CurrentVoters:")).context("no CurrentVoters")?;
    let list = line.split_once(':').map(|(_, list)| list.trim()).unwrap_or_default();
    let parsed: Value = serde_json::from_str(list).with_context(|| format!("CurrentVoters is not JSON: {list}"))?;
    let ids = parsed.as_array().context("CurrentVoters is no list")?.iter().filter_map(|v| v["id"].as_i64());
    Ok(ids.map(|id| id as i32).collect())
}

/// Watches the pods of nodes `ids` until all are gone; each time one is seen terminating or
/// gone, Kafka must no longer list the node as a voter.
async fn deletions_of_voters(client: kube::Client, namespace: String, bootstrap: String, ids: Vec<i32>) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    let mut pending: BTreeSet<i32> = ids.into_iter().collect();
    let deadline = Instant::now() + QUORUM_CHANGE_TIMEOUT;
    while !pending.is_empty() {
        ensure!(Instant::now() < deadline, "pods of nodes {pending:?} were never deleted");
        let list = pods.list(&ListParams::default().labels("kafka_cr=kafka")).await?;
        let live: BTreeSet<i32> = list
            .items
            .iter()
            .filter(|pod| pod.metadata.deletion_timestamp.is_none())
            .filter_map(|pod| pod.labels().get("brokerId")?.parse().ok())
            .collect();
        let deleted: Vec<i32> = pending.iter().copied().filter(|id| !live.contains(id)).collect();
        if !deleted.is_empty() {
            let voters = voters(&bootstrap).await?;
            for id in deleted {
                ensure!(
                    !voters.contains(&id),
                    "node {id}'s pod was deleted while Kafka lists it as a voter: {voters:?}"
                );
                println!("node {id}'s pod deleted; Kafka's voters then: {voters:?}");
                pending.remove(&id);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}
