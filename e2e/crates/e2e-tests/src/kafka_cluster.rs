//! KafkaCluster scenarios: a sample from deploy/samples adapted to the test bed, applied in a
//! test's namespace with the cluster controller watching it.

use std::time::Duration;

use anyhow::{Context, Result};
use kube::Api;
use serde_json::{Value, json};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::ClusterState;

use crate::manifests;
use crate::namespace::TestNamespace;
use crate::wait;

/// From apply to every broker ready, on two shared cores with several JVMs starting at once.
pub const RUNNING_TIMEOUT: Duration = Duration::from_secs(360);

/// Kafka's heap on the test bed. 256 MiB ran out under the rolling upgrade's load once the
/// default JMX exporter rules became Koperator's (~9,000 series built per scrape); the heap
/// starts small so that idle brokers stay small.
pub const TEST_HEAP: &str = "-Xmx384M -Xms192M";

/// JVM options of the test bed's brokers: the C1 compiler alone and the serial collector.
/// Three test clusters starting at once on 2 cores spent most of their CPU in C2 and G1
/// threads; brokers then took minutes to answer, and Kafka 4 brokers gave up registering.
pub const TEST_JVM_PERFORMANCE_OPTS: &str = "-server -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true";

/// A sample KafkaCluster as JSON, with heaps small enough for the test bed.
pub fn sample(path: &str) -> Result<Value> {
    let mut documents = manifests::read_documents(path)?;
    let mut cluster = documents.pop().with_context(|| format!("{path} is empty"))?;
    for group in cluster["spec"]["brokerConfigGroups"].as_object_mut().into_iter().flat_map(|g| g.values_mut()) {
        group["kafkaHeapOpts"] = json!(TEST_HEAP);
        group["kafkaJvmPerfOpts"] = json!(TEST_JVM_PERFORMANCE_OPTS);
        // Requests sized for the test bed's nodes; limits are not enforced there anyway.
        group["resourceRequirements"] = json!({"requests": {"cpu": "100m", "memory": "512Mi"}});
    }
    Ok(cluster)
}

/// A Kafka image the test bed has, of the Koperator samples' Kafka line (they name 3.9.2 on
/// JDK 21).
pub const KOPERATOR_SAMPLE_KAFKA_IMAGE: &str = "ghcr.io/adobe/koperator/kafka:2.13-3.9.1";

/// One of Koperator's ZooKeeper-mode samples as a user applies it, with what the test bed needs:
/// its ZooKeeper, a Kafka image it has, small heaps, and no `cruiseControlConfig.config` (the
/// fixtures keep only one line of the samples' properties).
pub fn koperator_zookeeper_sample(path: &str, zookeeper: &str) -> Result<Value> {
    let mut cluster = manifests::read_documents(path)?.pop().with_context(|| format!("{path} is empty"))?;
    let spec = &mut cluster["spec"];
    spec["zkAddresses"] = json!([zookeeper]);
    spec["clusterImage"] = json!(KOPERATOR_SAMPLE_KAFKA_IMAGE);
    for broker in spec["brokers"].as_array_mut().context("brokers")? {
        broker["brokerConfig"]["kafkaHeapOpts"] = json!(TEST_HEAP);
    }
    spec["cruiseControlConfig"].as_object_mut().context("cruiseControlConfig")?.remove("config");
    Ok(cluster)
}

/// Applies `cluster` in the test's namespace, installing the CRDs first if needed.
pub async fn apply(ns: &TestNamespace, cluster: &Value) -> Result<()> {
    crate::crds::install(&ns.client).await?;
    manifests::apply_object(&ns.client, &ns.name, cluster).await.map(|_| ())
}

/// The dedicated-controllers sample cut to two broker-only nodes (0, 1) and one controller-only
/// node (2), plaintext: the smallest split-role cluster that keeps a partition of two replicas
/// in service while one broker restarts. The internal topics fit two brokers
/// (`min.insync.replicas` as given).
pub fn two_brokers_one_controller(min_insync_replicas: u8) -> Result<Value> {
    let mut cluster = sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
    let spec = &mut cluster["spec"];
    spec["brokers"] = json!([
        {"id": 0, "brokerConfigGroup": "broker"},
        {"id": 1, "brokerConfigGroup": "broker"},
        {"id": 2, "brokerConfigGroup": "controller"},
    ]);
    spec["readOnlyConfig"] = json!(format!(
        "auto.create.topics.enable=false\noffsets.topic.replication.factor=2\n\
         transaction.state.log.replication.factor=2\ntransaction.state.log.min.isr=1\n\
         min.insync.replicas={min_insync_replicas}\n"
    ));
    Ok(cluster)
}

/// `cluster` with every internal listener `ssl`, certificates from the operator's CA (Secret
/// `ca_secret`), and beside them a `sasl_ssl` listener `scram` on `scram_port` for SCRAM clients.
pub fn with_operator_ca_tls_and_scram(cluster: &mut Value, ca_secret: &str, scram_port: u16) -> Result<()> {
    let listeners = &mut cluster["spec"]["listenersConfig"];
    let internal = listeners["internalListeners"].as_array_mut().context("internalListeners")?;
    for listener in internal.iter_mut() {
        listener["type"] = json!("ssl");
    }
    internal.push(json!({"type": "sasl_ssl", "name": "scram", "containerPort": scram_port}));
    listeners["sslSecrets"] = json!({"tlsSecretName": ca_secret, "create": true, "pkiBackend": "operator-ca"});
    Ok(())
}

pub fn api(ns: &TestNamespace) -> Api<KafkaCluster> {
    Api::namespaced(ns.client.clone(), &ns.name)
}

/// Waits for `status.state: ClusterRunning` with every broker ready.
pub async fn wait_running(ns: &TestNamespace, name: &str) -> Result<KafkaCluster> {
    wait::until(&api(ns), name, "is ClusterRunning", RUNNING_TIMEOUT, |cluster: &KafkaCluster| {
        cluster.status.as_ref().and_then(|s| s.state) == Some(ClusterState::ClusterRunning)
    })
    .await
}

/// The condition `type_` of a cluster, if set.
pub fn condition<'a>(
    cluster: &'a KafkaCluster,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    cluster.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

/// The all-broker service of `cluster` on the internal listener port 29092 (the samples' port).
pub fn bootstrap(ns: &TestNamespace, cluster: &str) -> String {
    format!("{cluster}-all-broker.{}.svc.cluster.local:29092", ns.name)
}

/// Creates `topic` (3 partitions, 3 replicas) with Kafka's own tool, produces messages
/// `0..count` with acks=all and fails unless exactly those come back: the round trip every
/// cluster scenario proves.
pub async fn round_trip(bootstrap: &str, topic: &str, count: u32) -> Result<()> {
    crate::kafka_topic::create_with_kafka_tool(bootstrap, topic, 3, 3, &[]).await?;
    crate::kcat::produce_numbered(bootstrap, topic, 0..count).await?;
    crate::kcat::expect_exactly(bootstrap, topic, 0..count).await?;
    Ok(())
}

/// A round trip of messages `numbers` at `bootstrap` by a client outside the cluster (`via`),
/// through a new topic (3 partitions, 3 replicas) made with Kafka's tool at the internal
/// listener, once every broker knows it.
pub async fn round_trip_via(
    ns: &TestNamespace,
    via: crate::host_command::Via<'_>,
    topic: &str,
    bootstrap: &str,
    numbers: std::ops::Range<u32>,
) -> Result<()> {
    let internal = self::bootstrap(ns, "kafka");
    crate::kafka_topic::create_with_kafka_tool(&internal, topic, 3, 3, &[]).await?;
    crate::kcat::wait_known_to_every_broker(&internal, topic, 3, &[], Duration::from_secs(60)).await?;
    crate::kcat::produce_via(via, bootstrap, topic, numbers.clone(), &[]).await?;
    crate::kcat::expect_via(via, bootstrap, topic, numbers, &[]).await?;
    Ok(())
}
