//! Health-gated rolling restarts and dynamic configuration on real Kafka, with the cluster
//! controller running as a process.
//!
//! - Kafka 3.9.0 → 3.9.1 (Koperator's image name) on three combined KRaft nodes while a producer
//!   writes with acks=all to a topic with RF 3 and min.insync.replicas 2: every acknowledged
//!   message is consumed afterwards, and a watch on the pods never sees two nodes down at once.
//! - A per-broker and a cluster-wide dynamic setting show in `kafka-configs --describe` (the
//!   cluster-wide one on every broker), with every pod UID unchanged.
//! - With one broker's process stopped (its pod stays ready: the probe is a TCP connect), a
//!   change that needs a restart does not roll; the status names the broker; once the process
//!   runs again the roll completes.
//! - Kafka 4.2.1 → 4.3.1 with three controller-only and three broker-only nodes under the same
//!   production: controllers go one at a time (the quorum keeps its majority), no two nodes down;
//!   then the operator raises `metadata.version` to 4.3's (`kafka-features describe`).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crd_types::kafka_cluster::{ClusterState, PerBrokerConfigurationState};
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::rolling;
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kafka_topic, processes};

const TOPIC: &str = "load";
/// A roll of six nodes on two shared cores: each node stops, starts and catches up in turn.
const ROLL_TIMEOUT: Duration = Duration::from_secs(720);
/// No Cruise Control here: it would only add a JVM to each roll.
const NO_CRUISE_CONTROL: &str = "absent-cruise-control:8090";

#[tokio::test]
async fn kafka_3_9_rolls_under_load_takes_dynamic_config_and_waits_for_health() -> Result<()> {
    namespace::run_isolated("roll-39", async |ns| {
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        report_logs_on_failure(combined_scenario(ns).await, || controller.log_tail(40))
    })
    .await
}

#[tokio::test]
async fn kafka_4_rolls_controllers_one_at_a_time_under_load() -> Result<()> {
    namespace::run_isolated("roll-4x", async |ns| {
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        report_logs_on_failure(dedicated_scenario(ns).await, || controller.log_tail(40))
    })
    .await
}

fn cluster_of(sample: &str, image: &str, ns: &TestNamespace) -> Result<Value> {
    let mut cluster = kafka_cluster::sample(sample)?;
    cluster["spec"]["clusterImage"] = json!(image);
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!(NO_CRUISE_CONTROL);
    // An environment variable per node, to find its process on the host.
    for broker in cluster["spec"]["brokers"].as_array_mut().context("brokers")? {
        let marker = format!("{}-{}", ns.name, broker["id"]);
        broker["brokerConfig"] = json!({"envs": [{"name": "E2E_NODE", "value": marker}]});
    }
    Ok(cluster)
}

async fn combined_scenario(ns: &TestNamespace) -> Result<()> {
    let mut cluster = cluster_of("deploy/samples/kafkacluster-kraft-combined.yaml", &image("3.9.0"), ns)?;
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let bootstrap = bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, TOPIC, 6, 3, &[("min.insync.replicas", "2")]).await?;

    upgrade_under_load(ns, &mut cluster, &[0, 1, 2], "3.9.1").await?;

    // Dynamic configuration: visible in Kafka, no pod replaced.
    let before = rolling::pod_uids(ns, "kafka").await?;
    cluster["spec"]["clusterWideConfig"] = json!("message.max.bytes=2000000\n");
    cluster["spec"]["brokers"][0]["brokerConfig"]["config"] = json!("log.cleaner.threads=2\n");
    kafka_cluster::apply(ns, &cluster).await?;
    // Right after a roll, on two cores shared with the other e2e binaries, a pass that asks Kafka
    // for facts and one kafka-configs JVM per broker each took minutes once (CI, 120 s exceeded).
    wait::eventually("kafka-configs shows the dynamic settings", Duration::from_secs(240), || async {
        let mut pending = Vec::new();
        for id in ["0", "1", "2"] {
            let described = describe_configs(&bootstrap, &["--entity-name", id]).await?;
            let per_broker = id != "0" || described.contains("log.cleaner.threads=2");
            if !per_broker || !described.contains("message.max.bytes=2000000") {
                pending.push(format!("broker {id}:\n{described}"));
            }
        }
        Ok(if pending.is_empty() { Check::Done(()) } else { Check::Pending(pending.join("\n")) })
    })
    .await?;
    wait::until(&kafka_cluster::api(ns), "kafka", "reports the dynamic config in sync", Duration::from_secs(60), |c| {
        let state = c.status.as_ref().and_then(|s| s.brokers_state.get("0")?.per_broker_configuration_state);
        state == Some(PerBrokerConfigurationState::PerBrokerConfigInSync)
            && kafka_cluster::condition(c, "DynamicConfig").is_some_and(|c| c.status == "True")
    })
    .await?;
    ensure!(rolling::pod_uids(ns, "kafka").await? == before, "a dynamic change replaced pods");

    // Health gate: broker 2's process stopped; a change that needs restarts must not roll.
    let stopped = processes::with_environment("E2E_NODE", &format!("{}-2", ns.name));
    ensure!(!stopped.is_empty(), "no process of broker 2 found");
    signal(&stopped, "-STOP").await?;
    let gated = gate_holds(ns, &mut cluster, &bootstrap).await;
    signal(&stopped, "-CONT").await?;
    let reason = gated?;
    println!("roll held with broker 2 stopped: {reason}");
    rolling::wait_rolled(ns, "kafka", &before, 3, ROLL_TIMEOUT).await?;
    Ok(())
}

/// Stops the roll with broker 2 unresponsive; returns the status's reason.
async fn gate_holds(ns: &TestNamespace, cluster: &mut Value, bootstrap: &str) -> Result<String> {
    wait::eventually("Kafka sees broker 2 fall out of the ISR", Duration::from_secs(120), || async {
        let metadata = e2e_tests::kcat::metadata(bootstrap, Some(TOPIC)).await?;
        let topic = metadata.topic(TOPIC).context("no topic")?;
        let lagging = topic.partitions.iter().any(|p| p.isrs.iter().all(|r| r.id != 2));
        Ok(if lagging { Check::Done(()) } else { Check::Pending(format!("{:?}", topic.partitions.len())) })
    })
    .await?;
    let before = rolling::pod_uids(ns, "kafka").await?;
    let read_only = cluster["spec"]["readOnlyConfig"].as_str().unwrap_or_default().to_owned();
    cluster["spec"]["readOnlyConfig"] = json!(format!("{read_only}num.recovery.threads.per.data.dir=2\n"));
    kafka_cluster::apply(ns, cluster).await?;
    let held =
        wait::until(&kafka_cluster::api(ns), "kafka", "holds the roll for broker 2", Duration::from_secs(90), |c| {
            kafka_cluster::condition(c, "RollingUpgrade")
                .is_some_and(|c| c.reason != "Restarting" && c.message.contains("broker 2"))
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(20)).await;
    ensure!(rolling::pod_uids(ns, "kafka").await? == before, "pods were replaced while broker 2 was stopped");
    let state = held.status.as_ref().and_then(|s| s.state);
    ensure!(state == Some(ClusterState::ClusterRollingUpgrading), "state {state:?}");
    Ok(kafka_cluster::condition(&held, "RollingUpgrade").map(|c| c.message.clone()).unwrap_or_default())
}

async fn dedicated_scenario(ns: &TestNamespace) -> Result<()> {
    let mut cluster = cluster_of("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml", &image("4.2.1"), ns)?;
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let bootstrap = bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, TOPIC, 6, 3, &[("min.insync.replicas", "2")]).await?;
    let before = metadata_version(&bootstrap).await?;
    upgrade_under_load(ns, &mut cluster, &[0, 1, 2, 3, 4, 5], "4.3.1").await?;
    // Every node runs 4.3.1: the operator raises metadata.version to 4.3's.
    let raised = wait::eventually("metadata.version is 4.3's", Duration::from_secs(120), || async {
        let level = metadata_version(&bootstrap).await?;
        Ok(if level.starts_with("4.3-") { Check::Done(level) } else { Check::Pending(level) })
    })
    .await?;
    println!("metadata.version {before} → {raised} (kafka-features describe)");
    wait::until(&kafka_cluster::api(ns), "kafka", "records the finalized version", Duration::from_secs(60), |c| {
        let kraft = c.status.as_ref().and_then(|s| s.kraft.as_ref());
        kraft.and_then(|k| k.metadata_version_finalized_for.as_deref()) == Some("4.3.1")
    })
    .await?;
    Ok(())
}

/// The finalized `metadata.version` as `kafka-features describe` prints it (`4.2-IV1`).
async fn metadata_version(bootstrap: &str) -> Result<String> {
    let described = host_command::run_ok(
        &["kafka-features", "--bootstrap-server", bootstrap, "describe"],
        None,
        Duration::from_secs(60),
    )
    .await?;
    let line = described
        .lines()
        .find(|l| l.contains("Feature: metadata.version"))
        .with_context(|| format!("no metadata.version in:\n{described}"))?;
    let level = line.split("FinalizedVersionLevel:").nth(1).and_then(|rest| rest.split_whitespace().next());
    level.map(str::to_owned).with_context(|| format!("no finalized level in: {line}"))
}

/// Changes the image to `version`, producing throughout; checks no acknowledged message is
/// lost, no two nodes were down at once, and reports the time the roll took.
async fn upgrade_under_load(ns: &TestNamespace, cluster: &mut Value, ids: &[i32], version: &str) -> Result<()> {
    cluster["spec"]["clusterImage"] = json!(image(version));
    let roll = rolling::roll_under_load(ns, cluster, ids, version, TOPIC, ROLL_TIMEOUT).await?;
    let (worst, when) = roll.worst;
    println!(
        "rolled {} nodes to Kafka {version} in {:.0?}; {} acknowledged messages all consumed \
         ({} batches failed, unacknowledged); at most {worst} node(s) down at once",
        ids.len(),
        roll.took,
        roll.acknowledged,
        roll.failed_batches
    );
    ensure!(worst <= 1, "{when}");
    Ok(())
}

fn image(version: &str) -> String {
    format!("ghcr.io/banzaicloud/kafka:2.13-{version}")
}

async fn describe_configs(bootstrap: &str, entity: &[&str]) -> Result<String> {
    let mut args = vec!["kafka-configs", "--bootstrap-server", bootstrap, "--describe", "--entity-type", "brokers"];
    args.extend_from_slice(entity);
    host_command::run_ok(&args, None, Duration::from_secs(60)).await
}

async fn signal(pids: &[u32], signal: &str) -> Result<()> {
    for pid in pids {
        let status = tokio::process::Command::new("kill").arg(signal).arg(pid.to_string()).status().await?;
        ensure!(status.success(), "kill {signal} {pid} failed");
    }
    Ok(())
}
