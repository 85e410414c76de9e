//! Graceful scaling through CruiseControlOperations, on a real KRaft cluster (three broker-only
//! nodes and one controller) with the operator's Cruise Control, the cluster controller and the
//! cruise-control-runner running as processes.
//!
//! - 3 → 4: exactly one add_broker operation, and partitions move onto the new broker.
//! - 4 → 3 (removing broker 1, a middle id): exactly one remove_broker operation; while it is
//!   only requested the cluster controller is killed, the broker's pod deleted, and a restarted
//!   controller rebuilds the pod from the recorded configuration; the pod goes only after the
//!   drain completed and broker 1 hosts no replica; every message acknowledged before is
//!   consumed after; its PVCs, ConfigMap and status entry go at the end.
//! - A volume added to a running broker: the rolling restart gives its pod the volume, then one
//!   rebalance with `rebalance_disk=true` moves replicas onto it. Removed again: one remove_disks
//!   operation empties it while the pod keeps it; only then does the rolling restart replace the
//!   pod, and its claim goes once the pod runs without it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crd_types::cruise_control_operation::{CruiseControlTaskOperation, CruiseControlUserTaskState};
use crd_types::kafka_cluster::{CruiseControlState, CruiseControlVolumeState};
use crd_types::{CruiseControlOperation, KafkaCluster};
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{cruise_control, host_command, kafka_topic, kcat};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml";
const CONTROLLER_ID: i64 = 10;
const TOPIC: &str = "accounting";
const MESSAGES: u32 = 3000;
/// A new broker's JVM start, Cruise Control noticing it, and the reassignment.
const UPSCALE_TIMEOUT: Duration = Duration::from_secs(240);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Kafka's CLI tools on a busy test bed: one attempt may time out, the next one answers.
const KAFKA_READ_TIMEOUT: Duration = Duration::from_secs(150);

/// `read`, tried again while it fails (a tool that timed out), for at most [`KAFKA_READ_TIMEOUT`].
async fn retried<T, F, Fut>(what: &str, mut read: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    wait::eventually(what, KAFKA_READ_TIMEOUT, || {
        let attempt = read();
        async move { attempt.await.map(Check::Done) }
    })
    .await
}

#[tokio::test]
async fn brokers_join_and_leave_through_cruise_control() -> Result<()> {
    namespace::run_isolated("graceful", async |ns| {
        let mut processes = Processes::start(ns).await?;
        let outcome = scenario(ns, &mut processes).await;
        report_logs_on_failure(outcome, || processes.log_tails())
    })
    .await
}

struct Processes {
    namespace: String,
    cluster_controller: ControllerProcess,
    runner: Option<ControllerProcess>,
}

impl Processes {
    async fn start(ns: &TestNamespace) -> Result<Self> {
        Ok(Self {
            namespace: ns.name.clone(),
            cluster_controller: start_cluster_controller(&ns.name).await?,
            runner: Some(ControllerProcess::start("cruise-control-runner", &ns.name, &[]).await?),
        })
    }

    fn log_tails(&self) -> String {
        let runner = self.runner.as_ref().map(|r| r.log_tail(30)).unwrap_or_default();
        format!("cluster controller log tail:\n{}\nrunner log tail:\n{runner}", self.cluster_controller.log_tail(40))
    }
}

async fn start_cluster_controller(namespace: &str) -> Result<ControllerProcess> {
    ControllerProcess::start("cluster-controller", namespace, &["--grpc-addr", "127.0.0.1:0"]).await
}

/// Three broker-only nodes (0, 1, 2) and one controller-only node, so that removing a broker
/// never touches the KRaft quorum.
fn three_brokers() -> Result<Value> {
    let mut cluster = kafka_cluster::sample(SAMPLE)?;
    let brokers = json!([
        {"id": 0, "brokerConfigGroup": "broker"},
        {"id": 1, "brokerConfigGroup": "broker"},
        {"id": 2, "brokerConfigGroup": "broker"},
        {"id": CONTROLLER_ID, "brokerConfigGroup": "controller"},
    ]);
    cluster["spec"]["brokers"] = brokers;
    Ok(cluster)
}

async fn scenario(ns: &TestNamespace, processes: &mut Processes) -> Result<()> {
    let mut cluster = three_brokers()?;
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let bootstrap = bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, TOPIC, 12, 3, &[]).await?;
    kcat::produce_numbered(&bootstrap, TOPIC, 0..MESSAGES).await?;
    let clusters = kafka_cluster::api(ns);
    let operations: Api<CruiseControlOperation> = Api::namespaced(ns.client.clone(), &ns.name);

    // 3 → 4: broker 3 joins through one add_broker operation and receives replicas.
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.push(json!({"id": 3, "brokerConfigGroup": "broker"}));
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&clusters, "kafka", "has added broker 3 through Cruise Control", UPSCALE_TIMEOUT, |c| {
        graceful_state(c, 3) == Some(CruiseControlState::GracefulUpscaleSucceeded)
    })
    .await?;
    let added = of_kind(&operations, CruiseControlTaskOperation::AddBroker).await?;
    ensure!(added.len() == 1, "expected one add_broker operation, found {}", names(&added));
    let parameters = task_parameter(&added[0], "brokerid");
    ensure!(parameters.as_deref() == Some("3"), "add_broker brokerid={parameters:?}");
    ensure!(task_state(&added[0]) == Some(CruiseControlUserTaskState::Completed), "{:?}", added[0].status);
    wait::eventually(&format!("Kafka reports partitions of {TOPIC} on broker 3"), KAFKA_READ_TIMEOUT, || async {
        let placement = cruise_control::replicas(&bootstrap, TOPIC).await?;
        if placement.values().any(|r| r.contains(&3)) {
            return Ok(Check::Done(()));
        }
        bail!("no partition of {TOPIC} moved to broker 3: {placement:?}")
    })
    .await?;

    // 4 → 3, first with no runner: the drain is requested but cannot start.
    if let Some(mut runner) = processes.runner.take() {
        runner.kill().await?;
    }
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);
    let claims_of_1 = names_of(&claims.list(&broker(1)).await?.items);
    ensure!(!claims_of_1.is_empty(), "broker 1 has no claims");
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.retain(|b| b["id"] != json!(1));
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&clusters, "kafka", "has requested the drain of broker 1", Duration::from_secs(60), |c| {
        graceful_state(c, 1) == Some(CruiseControlState::GracefulDownscaleScheduled)
    })
    .await?;

    // Killed mid-drain; meanwhile the broker's pod is lost. The restarted controller rebuilds it.
    processes.cluster_controller.kill().await?;
    let lost = single_pod(&pods, 1).await?;
    pods.delete(&lost.name_any(), &DeleteParams::default().grace_period(0)).await?;
    wait::until_deleted(&pods, &lost.name_any(), Duration::from_secs(60)).await?;
    processes.cluster_controller = start_cluster_controller(&processes.namespace).await?;
    let rebuilt = wait::eventually("broker 1's pod is rebuilt while it drains", Duration::from_secs(90), || async {
        Ok(match pods.list(&broker(1)).await?.items.into_iter().next() {
            Some(pod) if pod.uid() != lost.uid() => Check::Done(pod),
            other => Check::Pending(format!("{:?}", other.map(|p| p.name_any()))),
        })
    })
    .await?;
    ensure!(names_of(&claims.list(&broker(1)).await?.items) == claims_of_1, "broker 1's claims changed mid-drain");
    wait::until(&pods, &rebuilt.name_any(), "is ready", kafka_cluster::RUNNING_TIMEOUT, |pod: &Pod| {
        e2e_tests::pod_state::is_ready(pod)
    })
    .await?;

    // The runner executes the drain; broker 1 goes only once it completed.
    processes.runner = Some(ControllerProcess::start("cruise-control-runner", &processes.namespace, &[]).await?);
    let drain = wait::eventually("broker 1's pod goes after its drain", DRAIN_TIMEOUT, || async {
        let removals = of_kind(&operations, CruiseControlTaskOperation::RemoveBroker).await?;
        let completed = removals.iter().any(|o| task_state(o) == Some(CruiseControlUserTaskState::Completed));
        let pod = pods.get_opt(&rebuilt.name_any()).await?;
        let going = pod.as_ref().is_none_or(|p| p.metadata.deletion_timestamp.is_some());
        match (going, completed) {
            (true, false) => bail!("broker 1's pod is deleted before its drain completed: {}", states(&removals)),
            (true, true) => Ok(Check::Done(removals)),
            (false, _) => Ok(Check::Pending(states(&removals))),
        }
    })
    .await?;
    let hosted = retried("kafka-topics --describe", || replicas_on(&bootstrap, 1)).await?;
    ensure!(hosted.is_empty(), "broker 1's pod went while it still hosted {hosted:?}");
    ensure!(drain.len() == 1, "expected one remove_broker operation, found {}", names(&drain));
    ensure!(task_parameter(&drain[0], "brokerid").as_deref() == Some("1"), "{:?}", drain[0].status);

    retried("consuming every message", || kcat::expect_exactly(&bootstrap, TOPIC, 0..MESSAGES)).await?;

    let config_maps: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::until_deleted(&config_maps, "kafka-config-1", Duration::from_secs(60)).await?;
    for claim in &claims_of_1 {
        wait::until_deleted(&claims, claim, Duration::from_secs(120)).await?;
    }
    wait::until(&clusters, "kafka", "forgets broker 1 and settles", Duration::from_secs(120), |c| {
        let status = c.status.as_ref();
        status.is_some_and(|s| !s.brokers_state.contains_key("1") && s.brokers_ready.as_deref() == Some("4/4"))
            && kafka_cluster::condition(c, "GracefulActions").is_none()
    })
    .await?;
    let removals = of_kind(&operations, CruiseControlTaskOperation::RemoveBroker).await?;
    ensure!(removals.len() == 1, "a restarted controller asked again: {}", names(&removals));
    Ok(())
}

const ADDED_VOLUME: &str = "/kafka-logs2";

#[tokio::test]
async fn volumes_join_and_leave_through_cruise_control() -> Result<()> {
    namespace::run_isolated("graceful-disks", async |ns| {
        let processes = Processes::start(ns).await?;
        let outcome = disk_scenario(ns).await;
        report_logs_on_failure(outcome, || processes.log_tails())
    })
    .await
}

async fn disk_scenario(ns: &TestNamespace) -> Result<()> {
    let mut cluster = three_brokers()?;
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.retain(|b| b["id"] != json!(2));
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;
    let bootstrap = bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&bootstrap, TOPIC, 8, 2, &[]).await?;
    kcat::produce_numbered(&bootstrap, TOPIC, 0..MESSAGES).await?;
    let clusters = kafka_cluster::api(ns);
    let operations: Api<CruiseControlOperation> = Api::namespaced(ns.client.clone(), &ns.name);
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);

    // A second volume for broker 0: the running pod lacks it until the rolling restart replaces
    // it. The group's volume is listed first: KRaft keeps its metadata log in the first of log.dirs.
    let original = cluster["spec"]["brokerConfigGroups"]["broker"]["storageConfigs"][0].clone();
    let mut added = original.clone();
    added["mountPath"] = json!(ADDED_VOLUME);
    let broker_0 = cluster["spec"]["brokers"].as_array_mut().context("brokers")?.get_mut(0).context("broker 0")?;
    broker_0["brokerConfig"] = json!({"storageConfigs": [original, added]});
    let before = single_pod(&pods, 0).await?;
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&clusters, "kafka", "has rebalanced onto the new volume", UPSCALE_TIMEOUT, |c| {
        volume_state(c, 0) == Some(CruiseControlVolumeState::GracefulDiskRebalanceSucceeded)
    })
    .await?;
    let rolled = pods.list(&broker(0)).await?.items;
    ensure!(rolled.iter().all(|p| p.uid() != before.uid()), "broker 0's pod was not replaced to mount the new volume");
    let rebalances = of_kind(&operations, CruiseControlTaskOperation::Rebalance).await?;
    ensure!(rebalances.len() == 1, "expected one rebalance operation, found {}", names(&rebalances));
    ensure!(task_parameter(&rebalances[0], "rebalance_disk").as_deref() == Some("true"), "{:?}", rebalances[0].status);
    let added_dir = format!("{ADDED_VOLUME}/kafka");
    let spread = retried("kafka-log-dirs --describe", || partitions_per_log_dir(&bootstrap, 0)).await?;
    ensure!(spread.get(&added_dir).is_some_and(|n| *n > 0), "nothing moved onto {added_dir}: {spread:?}");

    // Removed again: its data moves off first, while the pod keeps the volume.
    let claim = claims
        .list(&broker(0))
        .await?
        .items
        .into_iter()
        .find(|c| c.annotations().get("mountPath").map(String::as_str) == Some(ADDED_VOLUME))
        .context("no claim for the added volume")?;
    cluster["spec"]["brokers"][0].as_object_mut().context("broker 0")?.remove("brokerConfig");
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&clusters, "kafka", "has moved the data off the removed volume", DRAIN_TIMEOUT, |c| {
        volume_state(c, 0) == Some(CruiseControlVolumeState::GracefulDiskRemovalSucceeded)
    })
    .await?;
    let removals = of_kind(&operations, CruiseControlTaskOperation::RemoveDisks).await?;
    ensure!(removals.len() == 1, "expected one remove_disks operation, found {}", names(&removals));
    let logdirs = task_parameter(&removals[0], "brokerid_and_logdirs");
    ensure!(logdirs.as_deref() == Some(&*format!("0-{added_dir}")), "remove_disks brokerid_and_logdirs={logdirs:?}");
    let spread = retried("kafka-log-dirs --describe", || partitions_per_log_dir(&bootstrap, 0)).await?;
    ensure!(spread.get(&added_dir).copied().unwrap_or(0) == 0, "{added_dir} still holds data: {spread:?}");

    // The roll replaces the pod again, without the volume; then the claim goes (never while a
    // live pod of broker 0 mounts it), and the volume's state.
    let claim_name = claim.name_any();
    wait::eventually("the removed volume's claim goes after the pod stops mounting it", DRAIN_TIMEOUT, || async {
        let going = claims.get_opt(&claim_name).await?.is_none_or(|c| c.metadata.deletion_timestamp.is_some());
        let mounting: Vec<String> = pods
            .list(&broker(0))
            .await?
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && mounts(p, &claim_name))
            .map(|p| p.name_any())
            .collect();
        match (going, mounting.is_empty()) {
            (true, false) => bail!("claim {claim_name} is deleted while pods {mounting:?} mount it"),
            (true, true) => Ok(Check::Done(())),
            (false, _) => Ok(Check::Pending(format!("pods mounting it: {mounting:?}"))),
        }
    })
    .await?;
    wait::until_deleted(&claims, &claim_name, DRAIN_TIMEOUT).await?;
    wait::until(&clusters, "kafka", "forgets the removed volume", Duration::from_secs(60), |c| {
        volume_state(c, 0).is_none()
    })
    .await?;
    retried("consuming every message", || kcat::expect_exactly(&bootstrap, TOPIC, 0..MESSAGES)).await?;
    Ok(())
}

fn mounts(pod: &Pod, claim: &str) -> bool {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    volumes.into_iter().flatten().any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim))
}

fn volume_state(cluster: &KafkaCluster, id: i32) -> Option<CruiseControlVolumeState> {
    let broker = cluster.status.as_ref()?.brokers_state.get(&id.to_string())?;
    broker.graceful_action_state.volume_states.get(ADDED_VOLUME)?.cruise_control_volume_state
}

/// Log dir → number of partitions broker `id` keeps there (`kafka-log-dirs --describe`).
async fn partitions_per_log_dir(bootstrap: &str, id: i32) -> Result<BTreeMap<String, usize>> {
    let list = id.to_string();
    let args = ["kafka-log-dirs", "--bootstrap-server", bootstrap, "--describe", "--broker-list", &list];
    let output = host_command::run_ok(&args, None, Duration::from_secs(60)).await?;
    let json = output.lines().find(|l| l.trim_start().starts_with('{')).context("no JSON in kafka-log-dirs output")?;
    let described: Value = serde_json::from_str(json)?;
    let mut counts = BTreeMap::new();
    for broker in described["brokers"].as_array().into_iter().flatten() {
        for dir in broker["logDirs"].as_array().into_iter().flatten() {
            let partitions = dir["partitions"].as_array().map_or(0, Vec::len);
            counts.insert(dir["logDir"].as_str().unwrap_or_default().to_owned(), partitions);
        }
    }
    Ok(counts)
}

fn broker(id: i32) -> ListParams {
    ListParams::default().labels(&format!("app=kafka,kafka_cr=kafka,brokerId={id}"))
}

async fn single_pod(pods: &Api<Pod>, id: i32) -> Result<Pod> {
    let mut found = pods.list(&broker(id)).await?.items;
    ensure!(found.len() == 1, "broker {id} has {} pods", found.len());
    found.pop().context("a pod")
}

fn graceful_state(cluster: &KafkaCluster, id: i32) -> Option<CruiseControlState> {
    cluster.status.as_ref()?.brokers_state.get(&id.to_string())?.graceful_action_state.cruise_control_state
}

async fn of_kind(
    operations: &Api<CruiseControlOperation>,
    kind: CruiseControlTaskOperation,
) -> Result<Vec<CruiseControlOperation>> {
    let all = operations.list(&ListParams::default().labels("kafka_cr=kafka")).await?.items;
    Ok(all
        .into_iter()
        .filter(|o| o.status.as_ref().and_then(|s| s.current_task.as_ref()).is_some_and(|t| t.operation == kind))
        .collect())
}

fn task_state(operation: &CruiseControlOperation) -> Option<CruiseControlUserTaskState> {
    operation.status.as_ref()?.current_task.as_ref()?.state
}

fn task_parameter(operation: &CruiseControlOperation, key: &str) -> Option<String> {
    operation.status.as_ref()?.current_task.as_ref()?.parameters.get(key).cloned()
}

fn names(operations: &[CruiseControlOperation]) -> String {
    operations.iter().map(ResourceExt::name_any).collect::<Vec<_>>().join(", ")
}

fn states(operations: &[CruiseControlOperation]) -> String {
    operations.iter().map(|o| format!("{}: {:?}", o.name_any(), task_state(o))).collect::<Vec<_>>().join(", ")
}

fn names_of(claims: &[PersistentVolumeClaim]) -> BTreeSet<String> {
    claims.iter().map(ResourceExt::name_any).collect()
}

/// Partitions (of every topic, internal ones included) with a replica on broker `id`,
/// as Kafka itself reports them.
async fn replicas_on(bootstrap: &str, id: i32) -> Result<Vec<String>> {
    let args = ["kafka-topics", "--bootstrap-server", bootstrap, "--describe"];
    let output = host_command::run_ok(&args, None, Duration::from_secs(60)).await?;
    let mut hosted = Vec::new();
    for line in output.lines().filter(|l| l.contains("Replicas:")) {
        let field = |key: &str| {
            line.split('\t').map(str::trim).find_map(|part| part.strip_prefix(key)?.strip_prefix(':').map(str::trim))
        };
        let replicas = field("Replicas").unwrap_or_default();
        if replicas.split(',').any(|r| r.trim() == id.to_string()) {
            hosted.push(format!("{}-{}", field("Topic").unwrap_or("?"), field("Partition").unwrap_or("?")));
        }
    }
    Ok(hosted)
}
