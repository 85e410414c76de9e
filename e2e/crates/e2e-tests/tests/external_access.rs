//! External access as Koperator users configure it, reached from outside the cluster (the
//! host) through the test bed's real MetalLB and kube-proxy:
//! - a `LoadBalancer` listener with the default `envoy` ingress: one Envoy Deployment and one
//!   LoadBalancer Service for the listener, each broker advertised at `<LB address>:<externalStartingPort + id>`,
//!   the any-broker port 29092 a bootstrap address; kcat and Kafka's CLI round-trip through it;
//! - a `NodePort` listener: a Service per broker, each broker advertised at its node's
//!   InternalIP and node port (`nodePortNodeAddressType: InternalIP`).
//!
//! - Koperator's `kafkacluster_without_ssl.yaml` (ZooKeeper mode, the default Envoy ingress):
//!   1,000 acks=all messages round-trip from the host through the any-broker address, again
//!   after a broker joined (through Cruise Control) and after one left; Envoy routes to exactly
//!   the brokers of the moment, through one LoadBalancer Service.
//!
//! - an `ssl` listener through Envoy (TLS passed through to the brokers): the brokers' server
//!   certificate names the load balancer's IP address, so openssl and kcat on the host verify
//!   the brokers at the address they were given (client certificates required, as Koperator's
//!   default `sslClientAuth`: a KafkaUser's, from the Secret the topic controller wrote); 500
//!   messages round-trip that way. Beside it a `sasl_ssl` listener: a SCRAM-SHA-512 user set
//!   with Kafka's own tool reads and writes through its load balancer, verifying the brokers
//!   the same way; a wrong password is refused.
//!
//! Every client here is kcat on the host, outside the cluster's network and DNS (not through
//! `e2e/testbed exec`): it reaches Kafka only at the addresses advertised to the outside.
//! Status: `listenerStatuses.externalListeners` and the `ExternalAccess` condition name the
//! addresses; before the load balancer has one, the condition says what the operator waits for.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

use crd_types::kafka_cluster::{CruiseControlState, ListenerStatus};
use crd_types::{KafkaCluster, KafkaUser};
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::host_command::{self, Via};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::pki::{self, ClientFiles};
use e2e_tests::wait::{self, Check};
use e2e_tests::{kafka_cluster, kafka_topic, kcat, manifests, namespace, zookeeper};

const LB_LISTENER: &str = "external";
const NODE_PORT_LISTENER: &str = "nodeport";

fn cluster_with_external_listeners() -> Result<serde_json::Value> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    let listeners = &mut cluster["spec"]["listenersConfig"];
    listeners["externalListeners"] = json!([
        {"type": "plaintext", "name": LB_LISTENER, "externalStartingPort": 19090, "containerPort": 9094},
        {"type": "plaintext", "name": NODE_PORT_LISTENER, "externalStartingPort": 32090, "containerPort": 9095,
         "accessMethod": "NodePort"},
    ]);
    cluster["spec"]["brokerConfigGroups"]["default"]["nodePortNodeAddressType"] = json!("InternalIP");
    // One Envoy replica with small requests: the test bed's nodes are shared by every test.
    cluster["spec"]["envoyConfig"] =
        json!({"replicas": 1, "resourceRequirements": {"requests": {"cpu": "50m", "memory": "64Mi"}}});
    Ok(cluster)
}

/// `status.listenerStatuses.externalListeners`.
fn external_statuses(cluster: &KafkaCluster) -> BTreeMap<String, Vec<ListenerStatus>> {
    let statuses = cluster.status.as_ref().and_then(|s| s.listener_statuses.as_ref());
    statuses.map(|l| l.external_listeners.clone()).unwrap_or_default()
}

fn addresses(statuses: &BTreeMap<String, Vec<ListenerStatus>>, listener: &str) -> BTreeMap<String, String> {
    statuses.get(listener).into_iter().flatten().map(|s| (s.name.clone(), s.address.clone())).collect()
}

#[tokio::test]
async fn external_listeners_are_reachable_from_outside_the_cluster() -> Result<()> {
    namespace::run_isolated("external", async |ns| {
        let _controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        kafka_cluster::apply(ns, &cluster_with_external_listeners()?).await?;
        let running = kafka_cluster::wait_running(ns, "kafka").await?;
        let condition = kafka_cluster::condition(&running, "ExternalAccess").context("no ExternalAccess condition")?;
        ensure!(condition.status == "True", "ExternalAccess: {condition:?}");
        let statuses = external_statuses(&running);

        // Through Envoy and the load balancer.
        let balanced = addresses(&statuses, LB_LISTENER);
        let any_broker = balanced.get("any-broker").context("no any-broker address")?.clone();
        let (host, port) = any_broker.rsplit_once(':').context("host:port")?;
        ensure!(port == "29092", "any-broker {any_broker}");
        for id in 0..3 {
            let expected = format!("{host}:{}", 19090 + id);
            ensure!(balanced.get(&format!("broker-{id}")) == Some(&expected), "broker-{id}: {balanced:?}");
        }
        let metadata = kcat::from_host::metadata(&any_broker).await?;
        let advertised: Vec<String> = metadata.brokers.iter().map(|b| b.name.clone()).collect();
        ensure!(advertised.iter().all(|a| a.starts_with(&format!("{host}:190"))), "advertised {advertised:?}");
        round_trip_from_host(ns, "through-envoy", &any_broker, 0..500).await?;

        // Through node ports.
        let node_ports = addresses(&statuses, NODE_PORT_LISTENER);
        ensure!(node_ports.len() == 3, "node port addresses {node_ports:?}");
        let bootstrap = node_ports.values().cloned().collect::<Vec<_>>().join(",");
        ensure!(kcat::from_host::metadata(&bootstrap).await?.broker_ids() == vec![0, 1, 2], "through {bootstrap}");
        round_trip_from_host(ns, "through-node-ports", &bootstrap, 0..500).await?;
        Ok(())
    })
    .await
}

const TLS_LISTENER: &str = "secure";
const SCRAM_LISTENER: &str = "scram";
const SCRAM_USER: &str = "dave";
const SCRAM_PASSWORD: &str = "dave-secret-1";
const CA_SECRET: &str = "kafka-ca";
/// The KafkaUser (and its Secret) the client outside authenticates as.
const OUTSIDE_USER: &str = "outside";
/// The cluster controller's ClusterAccess address in the TLS test (KafkaUser certificates).
const TLS_GRPC: &str = "127.0.0.1:19602";

#[tokio::test]
async fn an_ssl_listener_is_verified_at_its_load_balancer_address() -> Result<()> {
    namespace::run_isolated("external-tls", async |ns| {
        let controller = ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", TLS_GRPC]).await?;
        // The KafkaUser whose certificate the client outside presents.
        let endpoint = format!("http://{TLS_GRPC}");
        let users =
            ControllerProcess::start("topic-controller", &ns.name, &["--cluster-access-endpoint", &endpoint]).await?;
        let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        let listeners = &mut cluster["spec"]["listenersConfig"];
        // The internal listeners stay plaintext; the operator's CA makes the certificates.
        listeners["sslSecrets"] = json!({"tlsSecretName": CA_SECRET, "create": true, "pkiBackend": "operator-ca"});
        listeners["externalListeners"] = json!([
            {"type": "ssl", "name": TLS_LISTENER, "externalStartingPort": 19390, "containerPort": 9096},
            {"type": "sasl_ssl", "name": SCRAM_LISTENER, "externalStartingPort": 19490, "containerPort": 9097},
        ]);
        cluster["spec"]["envoyConfig"] =
            json!({"replicas": 1, "resourceRequirements": {"requests": {"cpu": "50m", "memory": "64Mi"}}});
        kafka_cluster::apply(ns, &cluster).await?;
        manifests::apply_object(
            &ns.client,
            &ns.name,
            &json!({
                "apiVersion": "kafka.banzaicloud.io/v1alpha1", "kind": "KafkaUser", "metadata": {"name": OUTSIDE_USER},
                "spec": {"clusterRef": {"name": "kafka"}, "secretName": OUTSIDE_USER},
            }),
        )
        .await?;
        let outcome = verified_from_outside(ns).await;
        // Also after a failure, while the topic controller runs: its finalizer must go.
        let users_api: Api<KafkaUser> = Api::namespaced(ns.client.clone(), &ns.name);
        let removed = users_api.delete(OUTSIDE_USER, &Default::default()).await.map(|_| ());
        let outcome = match (outcome, wait::until_deleted(&users_api, OUTSIDE_USER, Duration::from_secs(60)).await) {
            (Ok(()), deleted) => removed.map_err(Into::into).and(deleted),
            (failed, _) => failed,
        };
        // Cruise Control's metrics topic is a KafkaTopic with the topic controller's finalizer.
        let outcome = outcome.and(kafka_topic::remove_all(ns, "kafka").await);
        report_logs_on_failure(outcome, || {
            format!("cluster controller:\n{}\ntopic controller:\n{}", controller.log_tail(40), users.log_tail(20))
        })
    })
    .await
}

async fn verified_from_outside(ns: &TestNamespace) -> Result<()> {
    let running = kafka_cluster::wait_running(ns, "kafka").await?;
    let statuses = external_statuses(&running);
    let any_broker = addresses(&statuses, TLS_LISTENER).get("any-broker").context("no any-broker address")?.clone();
    let (ip, _) = any_broker.rsplit_once(':').context("host:port")?;
    ensure!(ip.parse::<std::net::IpAddr>().is_ok(), "MetalLB gives an IP address: {any_broker}");

    // The KafkaUser's certificate, from the Secret the topic controller wrote.
    let dir = pki::work_dir(&ns.name)?;
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::eventually("the KafkaUser's Secret", Duration::from_secs(120), || async {
        Ok(match secrets.get_opt(OUTSIDE_USER).await? {
            Some(_) => Check::Done(()),
            None => Check::Pending("no Secret yet".to_owned()),
        })
    })
    .await?;
    let client =
        ClientFiles::from_secret(&ns.client, &ns.name, &dir, OUTSIDE_USER, &["ca.crt", "tls.crt", "tls.key"]).await?;
    // openssl on the host: the chain and the IP address verify, through Envoy.
    let (ca_file, certificate, key) =
        (client.ca.to_string_lossy(), client.certificate.to_string_lossy(), client.key.to_string_lossy());
    let handshake = host_command::run_via(
        Via::Host,
        &[
            "openssl",
            "s_client",
            "-connect",
            &any_broker,
            "-CAfile",
            &ca_file,
            "-verify_ip",
            ip,
            "-verify_return_error",
            "-cert",
            &certificate,
            "-key",
            &key,
        ],
        Some(b""),
        Duration::from_secs(30),
    )
    .await?;
    ensure!(
        handshake.success && handshake.stdout.contains("Verify return code: 0 (ok)"),
        "openssl s_client to {any_broker} verifying {ip}: {}\n{}",
        handshake.stdout,
        handshake.stderr
    );
    println!("openssl verified the brokers' certificate for {ip} through Envoy");

    // kcat on the host, verifying host names (librdkafka checks the IP SAN for an IP broker).
    let settings = client.kcat_settings();
    let metadata = kcat::from_host::metadata_with(&any_broker, &settings).await?;
    ensure!(metadata.broker_ids() == vec![0, 1, 2], "brokers through {any_broker}: {:?}", metadata.broker_ids());
    let internal = kafka_cluster::bootstrap(ns, "kafka");
    kafka_topic::create_with_kafka_tool(&internal, "over-tls", 3, 3, &[]).await?;
    kcat::wait_known_to_every_broker(&internal, "over-tls", 3, &[], Duration::from_secs(60)).await?;
    kcat::from_host::produce_numbered_with(&any_broker, "over-tls", 0..500, &settings).await?;
    kcat::from_host::expect_exactly_with(&any_broker, "over-tls", 0..500, &settings).await?;

    // SCRAM over TLS through the other listener's load balancer: a credential set with Kafka's
    // own tool, a wrong password refused.
    let scram_any_broker =
        addresses(&statuses, SCRAM_LISTENER).get("any-broker").context("no any-broker address")?.clone();
    let credential = format!("SCRAM-SHA-512=[iterations=4096,password={SCRAM_PASSWORD}]");
    host_command::run_ok(
        &[
            "kafka-configs",
            "--bootstrap-server",
            &internal,
            "--alter",
            "--add-config",
            &credential,
            "--entity-type",
            "users",
            "--entity-name",
            SCRAM_USER,
        ],
        None,
        Duration::from_secs(60),
    )
    .await?;
    let scram = |password: &str| {
        vec![
            "security.protocol=sasl_ssl".to_owned(),
            "sasl.mechanisms=SCRAM-SHA-512".to_owned(),
            format!("sasl.username={SCRAM_USER}"),
            format!("sasl.password={password}"),
            format!("ssl.ca.location={ca_file}"),
            "ssl.endpoint.identification.algorithm=https".to_owned(),
        ]
    };
    let dave = scram(SCRAM_PASSWORD);
    wait::eventually("dave authenticates through the sasl_ssl listener", Duration::from_secs(60), || async {
        let brokers = kcat::from_host::metadata_with(&scram_any_broker, &dave).await?.broker_ids();
        Ok(if brokers == vec![0, 1, 2] { Check::Done(()) } else { Check::Pending(format!("{brokers:?}")) })
    })
    .await?;
    kcat::from_host::produce_numbered_with(&scram_any_broker, "over-tls", 500..700, &dave).await?;
    kcat::from_host::expect_exactly_with(&scram_any_broker, "over-tls", 0..700, &dave).await?;
    let refused = kcat::from_host::metadata_with(&scram_any_broker, &scram("wrong")).await;
    ensure!(refused.is_err(), "a wrong password was accepted: {refused:?}");
    pki::remove_work_dir(&ns.name);
    Ok(())
}

/// Creates `topic` (3 partitions, 3 replicas) inside the cluster, then produces `numbers` with
/// acks=all from the host through `bootstrap` and reads exactly those back the same way.
async fn round_trip_from_host(ns: &TestNamespace, topic: &str, bootstrap: &str, numbers: Range<u32>) -> Result<()> {
    kafka_cluster::round_trip_via(ns, Via::Host, topic, bootstrap, numbers).await
}

const WITHOUT_SSL: &str = "crates/crd-types/tests/fixtures/koperator/samples/kafkacluster_without_ssl.yaml";
/// A new broker's JVM, Cruise Control noticing it, the reassignment, Envoy's new config.
const SCALING_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test]
async fn koperators_without_ssl_sample_is_reachable_through_envoy_as_brokers_come_and_go() -> Result<()> {
    namespace::run_isolated("external-koperator", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let runner = ControllerProcess::start("cruise-control-runner", &ns.name, &[]).await?;
        let outcome = brokers_come_and_go(ns, &zookeeper).await;
        report_logs_on_failure(outcome, || {
            format!("cluster controller:\n{}\nrunner:\n{}", controller.log_tail(40), runner.log_tail(20))
        })
    })
    .await
}

async fn brokers_come_and_go(ns: &TestNamespace, zookeeper: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let phase = |what: &str| eprintln!("e2e: {what} after {:.0?}", started.elapsed());
    let mut cluster = kafka_cluster::koperator_zookeeper_sample(WITHOUT_SSL, zookeeper)?;
    kafka_cluster::apply(ns, &cluster).await?;
    let running = kafka_cluster::wait_running(ns, "kafka").await?;
    phase("ClusterRunning");
    let any_broker = external_address(&running, "any-broker")?;
    let (host, _) = any_broker.rsplit_once(':').context("host:port")?;
    let host = host.to_owned();
    through_envoy(&any_broker, &host, &[0, 1, 2]).await?;
    round_trip_from_host(ns, "before", &any_broker, 0..1000).await?;
    phase("1,000 messages round-tripped from the host through Envoy");

    // A fourth broker joins: Envoy routes to it once it is in the cluster.
    let mut added = cluster["spec"]["brokers"][0].clone();
    added["id"] = json!(3);
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.push(added);
    kafka_cluster::apply(ns, &cluster).await?;
    let clusters = kafka_cluster::api(ns);
    wait::until(&clusters, "kafka", "has added broker 3 through Cruise Control", SCALING_TIMEOUT, |c| {
        graceful_state(c, 3) == Some(CruiseControlState::GracefulUpscaleSucceeded)
    })
    .await?;
    through_envoy(&any_broker, &host, &[0, 1, 2, 3]).await?;
    round_trip_from_host(ns, "after-adding", &any_broker, 0..1000).await?;
    phase("broker 3 joined; 1,000 more messages round-tripped");

    // Broker 1 leaves: drained first, then no longer routed.
    cluster["spec"]["brokers"].as_array_mut().context("brokers")?.retain(|b| b["id"] != json!(1));
    kafka_cluster::apply(ns, &cluster).await?;
    wait::until(&clusters, "kafka", "has removed broker 1 and settled", SCALING_TIMEOUT, |c| {
        let status = c.status.as_ref();
        status.is_some_and(|s| !s.brokers_state.contains_key("1") && s.brokers_ready.as_deref() == Some("3/3"))
    })
    .await?;
    through_envoy(&any_broker, &host, &[0, 2, 3]).await?;
    kcat::from_host::expect_exactly(&any_broker, "before", 0..1000).await?;
    round_trip_from_host(ns, "after-removing", &any_broker, 0..1000).await?;
    phase("broker 1 left; every message still read, 1,000 more round-tripped");

    let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
    let balancers: Vec<String> = services
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|s| s.spec.as_ref().and_then(|spec| spec.type_.as_deref()) == Some("LoadBalancer"))
        .filter_map(|s| s.metadata.name)
        .collect();
    ensure!(balancers == ["envoy-loadbalancer-external-kafka"], "LoadBalancer Services: {balancers:?}");
    Ok(())
}

/// The address status gives `name` (`any-broker`, `broker-<id>`) on the sample's listener.
fn external_address(cluster: &KafkaCluster, name: &str) -> Result<String> {
    let statuses =
        cluster.status.as_ref().and_then(|s| s.listener_statuses.as_ref()).context("no listener statuses")?;
    let external = statuses.external_listeners.get("external").context("no status of listener external")?;
    Ok(external.iter().find(|s| s.name == name).with_context(|| format!("no {name} in {external:?}"))?.address.clone())
}

/// Waits until a client bootstrapping through `any_broker` from the host sees exactly `ids`,
/// each advertised at `host:19090 + id` (the sample's externalStartingPort).
async fn through_envoy(any_broker: &str, host: &str, ids: &[i32]) -> Result<()> {
    let expected: Vec<(i32, String)> = ids.iter().map(|id| (*id, format!("{host}:{}", 19090 + id))).collect();
    wait::eventually(&format!("brokers {ids:?} are advertised through Envoy"), SCALING_TIMEOUT, || async {
        let metadata = kcat::from_host::metadata(any_broker).await?;
        let mut seen: Vec<(i32, String)> = metadata.brokers.iter().map(|b| (b.id, b.name.clone())).collect();
        seen.sort();
        Ok(if seen == expected { Check::Done(()) } else { Check::Pending(format!("{seen:?}")) })
    })
    .await
}

fn graceful_state(cluster: &KafkaCluster, id: i32) -> Option<CruiseControlState> {
    cluster.status.as_ref()?.brokers_state.get(&id.to_string())?.graceful_action_state.cruise_control_state
}
