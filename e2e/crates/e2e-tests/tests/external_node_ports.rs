//! Koperator's `simplekafkacluster-with-nodeport-external.yaml` as a user applies it (ZooKeeper
//! mode, a `NodePort` external listener from `externalStartingPort: 32000`, `hostnameOverride:
//! .my.internal.domain`, `externalTrafficPolicy: Local`, a Service annotation), reached from the
//! host through the test bed's real kube-proxy:
//! - with `hostnameOverride`, each broker is advertised as Koperator names it,
//!   `<cluster>-<id>-<listener>.<namespace><hostnameOverride>:<32000 + id>`; a client whose own
//!   DNS maps those names to the nodes (a hosts file, as the sample's internal domain would)
//!   round-trips 1,000 acks=all messages;
//! - without it, and `nodePortNodeAddressType: InternalIP`, the brokers roll and are advertised
//!   at their node's address and node port; a plain client on the host round-trips 1,000 more
//!   and still reads the first 1,000.
//!
//! The sample's `nodePortExternalIP` entries are placeholders (`<public ip>`) a user replaces
//! with their own addresses; the test bed has none to give, so they are left out.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::ClusterState;
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::host_command::Via;
use e2e_tests::namespace::TestNamespace;
use e2e_tests::wait::{self, Check};
use e2e_tests::{kafka_cluster, kcat, namespace, zookeeper};

const SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster-with-nodeport-external.yaml";
const LISTENER: &str = "external";
const STARTING_PORT: i32 = 32000;
/// A roll of three ZooKeeper-mode brokers, one at a time, each gated on the ISR.
const ROLL_TIMEOUT: Duration = Duration::from_secs(420);

fn sample(zookeeper: &str) -> Result<Value> {
    let mut cluster = kafka_cluster::koperator_zookeeper_sample(SAMPLE, zookeeper)?;
    for broker in cluster["spec"]["brokers"].as_array_mut().context("brokers")? {
        broker["brokerConfig"].as_object_mut().context("brokerConfig")?.remove("nodePortExternalIP");
    }
    Ok(cluster)
}

#[tokio::test]
async fn koperators_node_port_sample_is_reachable_by_name_and_by_node_address() -> Result<()> {
    namespace::run_isolated("external-nodeport", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        let outcome = by_name_then_by_node_address(ns, &zookeeper).await;
        report_logs_on_failure(outcome, || format!("cluster controller:\n{}", controller.log_tail(40)))
    })
    .await
}

async fn by_name_then_by_node_address(ns: &TestNamespace, zookeeper: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let phase = |what: &str| eprintln!("e2e: {what} after {:.0?}", started.elapsed());
    let mut cluster = sample(zookeeper)?;
    kafka_cluster::apply(ns, &cluster).await?;
    let running = kafka_cluster::wait_running(ns, "kafka").await?;
    phase("ClusterRunning");
    node_port_services_as_koperator_makes_them(ns).await?;

    // Advertised under Koperator's name for `hostnameOverride`.
    let name = |id: i32| format!("kafka-{id}-{LISTENER}.{}.my.internal.domain", ns.name);
    let expected: BTreeMap<String, String> =
        (0..3).map(|id| (format!("broker-{id}"), format!("{}:{}", name(id), STARTING_PORT + id))).collect();
    ensure!(statuses(&running) == expected, "listener statuses {:?}, expected {expected:?}", statuses(&running));
    let node_of = broker_nodes(ns).await?;
    let hosts_file = ns_hosts_file(ns, &node_of, name)?;
    let resolving = Via::HostResolving(&hosts_file);
    let by_name = expected.values().cloned().collect::<Vec<_>>().join(",");
    let metadata = kcat::metadata_via(resolving, &by_name, None, &[]).await?;
    let mut advertised: Vec<String> = metadata.brokers.iter().map(|b| b.name.clone()).collect();
    advertised.sort();
    ensure!(advertised == expected.values().cloned().collect::<Vec<_>>(), "advertised {advertised:?}");
    let outcome = kafka_cluster::round_trip_via(ns, resolving, "by-name", &by_name, 0..1000).await;
    let _ = std::fs::remove_file(&hosts_file);
    outcome?;
    phase("1,000 messages round-tripped by name (hostnameOverride)");

    // Without the override, at the node's address: every broker rolls to advertise it.
    cluster["spec"]["listenersConfig"]["externalListeners"][0]
        .as_object_mut()
        .context("listener")?
        .remove("hostnameOverride");
    cluster["spec"]["brokerConfigGroups"]["default"]["nodePortNodeAddressType"] = json!("InternalIP");
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&kafka_cluster::api(ns), "kafka", "advertises node addresses", ROLL_TIMEOUT, |c| {
        let now = statuses(c);
        now.len() == 3 && now.values().all(|address| !address.contains("my.internal.domain"))
    })
    .await?;
    // A rolled broker's pod may land on another node, so its address in status changes with
    // the roll (and that broker restarts again to advertise it): each look compares Kafka's
    // metadata with the status of that moment, once the roll has ended.
    let by_address = wait::eventually("every broker advertises its node address", ROLL_TIMEOUT, || async {
        let cluster = kafka_cluster::api(ns).get("kafka").await?;
        let state = cluster.status.as_ref().and_then(|s| s.state);
        if state != Some(ClusterState::ClusterRunning) {
            return Ok(Check::Pending(format!("cluster state {state:?}")));
        }
        let wanted = statuses(&cluster);
        let bootstrap = wanted.values().cloned().collect::<Vec<_>>().join(",");
        let metadata = kcat::from_host::metadata(&bootstrap).await?;
        let mut advertised: Vec<String> = metadata.brokers.iter().map(|b| b.name.clone()).collect();
        advertised.sort();
        let mut in_status: Vec<String> = wanted.values().cloned().collect();
        in_status.sort();
        Ok(if advertised == in_status {
            Check::Done(wanted)
        } else {
            Check::Pending(format!("advertised {advertised:?}, in status {in_status:?}"))
        })
    })
    .await?;
    let bootstrap = by_address.values().cloned().collect::<Vec<_>>().join(",");
    phase("every broker advertises its node address");
    for (broker, address) in by_address {
        let id: i32 = broker.trim_start_matches("broker-").parse()?;
        let node = broker_nodes(ns).await?.remove(&id).context("broker pod's node")?;
        ensure!(address == format!("{node}:{}", STARTING_PORT + id), "{broker} at {address}, its node {node}");
    }
    kcat::from_host::expect_exactly(&bootstrap, "by-name", 0..1000).await?;
    kafka_cluster::round_trip_via(ns, Via::Host, "by-node-address", &bootstrap, 0..1000).await?;
    phase("1,000 more round-tripped through node addresses, the first 1,000 still read");
    Ok(())
}

/// `status.listenerStatuses.externalListeners.external`, by name.
fn statuses(cluster: &KafkaCluster) -> BTreeMap<String, String> {
    let listeners = cluster.status.as_ref().and_then(|s| s.listener_statuses.as_ref());
    let external = listeners.and_then(|l| l.external_listeners.get(LISTENER));
    external.into_iter().flatten().map(|s| (s.name.clone(), s.address.clone())).collect()
}

/// One NodePort Service per broker, `<cluster>-<id>-<listener>`, node port `32000 + id`, with
/// the listener's annotation and traffic policy.
async fn node_port_services_as_koperator_makes_them(ns: &TestNamespace) -> Result<()> {
    let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
    for id in 0..3 {
        let name = format!("kafka-{id}-{LISTENER}");
        let service = services.get(&name).await.with_context(|| format!("Service {name}"))?;
        let spec = service.spec.context("spec")?;
        let port = spec.ports.as_ref().and_then(|p| p.first()).context("a port")?;
        ensure!(spec.type_.as_deref() == Some("NodePort"), "{name}: type {:?}", spec.type_);
        ensure!(port.node_port == Some(STARTING_PORT + id) && port.port == 9094, "{name}: port {port:?}");
        ensure!(spec.external_traffic_policy.as_deref() == Some("Local"), "{name}: {:?}", spec.external_traffic_policy);
        let annotations = service.metadata.annotations.unwrap_or_default();
        ensure!(annotations.get("my.annotation").map(String::as_str) == Some("my.value"), "{name}: {annotations:?}");
    }
    Ok(())
}

/// Each broker's node address (its pod's `hostIP`).
async fn broker_nodes(ns: &TestNamespace) -> Result<BTreeMap<i32, String>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let mut nodes = BTreeMap::new();
    for pod in pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let (Some(id), Some(ip)) = (labels.get("brokerId"), pod.status.and_then(|s| s.host_ip)) else { continue };
        nodes.insert(id.parse()?, ip);
    }
    ensure!(nodes.len() == 3, "broker pods on nodes {nodes:?}");
    Ok(nodes)
}

/// A hosts file mapping each broker's name to its node, as the domain's DNS would (traffic
/// policy `Local`: a node port answers only on the node of its broker).
fn ns_hosts_file(ns: &TestNamespace, nodes: &BTreeMap<i32, String>, name: impl Fn(i32) -> String) -> Result<PathBuf> {
    let mut text = String::from("127.0.0.1 localhost\n");
    for (id, ip) in nodes {
        text.push_str(&format!("{ip} {}\n", name(*id)));
    }
    let path = std::env::temp_dir().join(format!("{}-hosts", ns.name));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
