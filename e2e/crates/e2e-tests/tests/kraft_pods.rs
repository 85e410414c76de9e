//! Three hand-written KRaft pods (combined broker + controller, no operator) form a cluster
//! on the test bed: kcat sees three brokers, 1,000 messages written with acks=all to a topic
//! with three replicas all come back, and a broker deleted and re-created on its PVC rejoins
//! (all replicas in sync again) without losing a message.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::DeleteParams;

use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kcat, manifests, namespace, pod_state};

const BROKERS: [u32; 3] = [0, 1, 2];
const TOPIC: &str = "accounting";
const FIRST_BATCH: u32 = 1_000;
const SECOND_BATCH: u32 = 500;

const POD_READY_TIMEOUT: Duration = Duration::from_secs(180);
const REJOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// The headless Service gives every broker a stable name (`kafka-N.kafka-headless`) before it
/// is ready, which the controller quorum needs to form; the ClusterIP Service is the bootstrap.
const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: kafka-headless}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: kafka}
  ports: [{name: plaintext, port: 9092}, {name: controller, port: 9093}]
---
apiVersion: v1
kind: Service
metadata: {name: kafka-bootstrap}
spec:
  selector: {app: kafka}
  ports: [{name: plaintext, port: 9092}]
"#;

/// One broker: its configuration, its data volume and its pod. The init container formats the
/// storage once (`--ignore-formatted` keeps the data of a re-created pod).
const BROKER: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-{{id}}-config}
data:
  server.properties: |
    process.roles=broker,controller
    node.id={{id}}
    controller.quorum.voters=0@kafka-0.kafka-headless.{{namespace}}.svc.cluster.local:9093,1@kafka-1.kafka-headless.{{namespace}}.svc.cluster.local:9093,2@kafka-2.kafka-headless.{{namespace}}.svc.cluster.local:9093
    listeners=PLAINTEXT://:9092,CONTROLLER://:9093
    advertised.listeners=PLAINTEXT://kafka-{{id}}.kafka-headless.{{namespace}}.svc.cluster.local:9092
    controller.listener.names=CONTROLLER
    inter.broker.listener.name=PLAINTEXT
    listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
    log.dirs=/kafka-logs/data
    num.partitions=3
    default.replication.factor=3
    min.insync.replicas=2
    offsets.topic.replication.factor=3
    transaction.state.log.replication.factor=3
    transaction.state.log.min.isr=2
    auto.create.topics.enable=false
    group.initial.rebalance.delay.ms=0
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kafka-{{id}}-data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: kafka-{{id}}, labels: {app: kafka}}
spec:
  hostname: kafka-{{id}}
  subdomain: kafka-headless
  terminationGracePeriodSeconds: 30
  initContainers:
  - name: format-storage
    image: ghcr.io/adobe/koperator/kafka:2.13-3.9.1
    command: [kafka-storage.sh, format, --ignore-formatted, -t, "{{cluster_id}}", -c, /config/server.properties]
    env: &env
    - {name: KAFKA_HEAP_OPTS, value: "-Xmx256m -Xms256m"}
    # C1 only and the serial collector: much faster JVM start-up on a small machine.
    - {name: KAFKA_JVM_PERFORMANCE_OPTS, value: "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"}
    # Kafka's own logs go to the volume, not to the shared /opt/kafka of the image mount.
    - {name: LOG_DIR, value: /kafka-logs/logs}
    volumeMounts: &mounts
    - {name: config, mountPath: /config}
    - {name: data, mountPath: /kafka-logs}
  containers:
  - name: kafka
    image: ghcr.io/adobe/koperator/kafka:2.13-3.9.1
    command: [kafka-server-start.sh, /config/server.properties]
    env: *env
    ports: [{name: plaintext, containerPort: 9092}, {name: controller, containerPort: 9093}]
    readinessProbe: {tcpSocket: {port: 9092}, periodSeconds: 2}
    volumeMounts: *mounts
  volumes:
  - {name: config, configMap: {name: kafka-{{id}}-config}}
  - {name: data, persistentVolumeClaim: {claimName: kafka-{{id}}-data}}
"#;

/// A KRaft cluster id (base64 of 16 bytes); every node of the cluster formats with it.
const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qk";

#[tokio::test]
async fn kraft_pods_keep_every_message_across_a_broker_restart() -> Result<()> {
    namespace::run_isolated("kraft-pods", async |ns| {
        let bootstrap = format!("kafka-bootstrap.{}.svc.cluster.local:9092", ns.name);
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        manifests::apply(&ns.client, &ns.name, SERVICES, &[]).await?;
        for id in BROKERS {
            apply_broker(ns, id).await?;
        }
        for id in BROKERS {
            wait::until(&pods, &format!("kafka-{id}"), "is Ready", POD_READY_TIMEOUT, pod_state::is_ready).await?;
        }
        wait_for_brokers(&bootstrap).await?;

        create_topic(&bootstrap).await?;
        wait_for_full_isr(&bootstrap).await?;
        kcat::produce_numbered(&bootstrap, TOPIC, 0..FIRST_BATCH).await?;
        kcat::expect_exactly(&bootstrap, TOPIC, 0..FIRST_BATCH).await?;

        // Delete one broker and bring it back with the same PVC, as a StatefulSet would.
        pods.delete("kafka-1", &DeleteParams::default()).await?;
        wait::until_deleted(&pods, "kafka-1", Duration::from_secs(60)).await?;
        let claims = Api::<PersistentVolumeClaim>::namespaced(ns.client.clone(), &ns.name);
        ensure!(claims.get_opt("kafka-1-data").await?.is_some(), "the PVC went with the pod");
        apply_broker(ns, 1).await?;
        wait::until(&pods, "kafka-1", "is Ready again", POD_READY_TIMEOUT, pod_state::is_ready).await?;
        wait_for_brokers(&bootstrap).await?;
        wait_for_full_isr(&bootstrap).await?;

        kcat::expect_exactly(&bootstrap, TOPIC, 0..FIRST_BATCH).await?;
        kcat::produce_numbered(&bootstrap, TOPIC, FIRST_BATCH..FIRST_BATCH + SECOND_BATCH).await?;
        kcat::expect_exactly(&bootstrap, TOPIC, 0..FIRST_BATCH + SECOND_BATCH).await?;
        Ok(())
    })
    .await
}

async fn apply_broker(ns: &namespace::TestNamespace, id: u32) -> Result<()> {
    let id = id.to_string();
    let values = [("id", id.as_str()), ("namespace", ns.name.as_str()), ("cluster_id", CLUSTER_ID)];
    manifests::apply(&ns.client, &ns.name, BROKER, &values).await?;
    Ok(())
}

async fn wait_for_brokers(bootstrap: &str) -> Result<()> {
    wait::eventually("kcat sees brokers 0, 1 and 2", REJOIN_TIMEOUT, || async {
        let ids = kcat::metadata(bootstrap, None).await?.broker_ids();
        Ok(if ids == [0, 1, 2] { Check::Done(()) } else { Check::Pending(format!("brokers {ids:?}")) })
    })
    .await
}

async fn create_topic(bootstrap: &str) -> Result<()> {
    let args = [
        "kafka-topics",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        TOPIC,
        "--partitions",
        "3",
        "--replication-factor",
        "3",
    ];
    host_command::run_ok(&args, None, Duration::from_secs(120)).await.context("failed to create the topic")?;
    Ok(())
}

/// Every partition has a leader and all three replicas in sync: a restarted broker caught up.
async fn wait_for_full_isr(bootstrap: &str) -> Result<()> {
    wait::eventually(&format!("every partition of {TOPIC} has 3 in-sync replicas"), REJOIN_TIMEOUT, || async {
        let metadata = kcat::metadata(bootstrap, Some(TOPIC)).await?;
        let topic = metadata.topic(TOPIC).context("topic missing from metadata")?;
        let partitions: Vec<String> = topic
            .partitions
            .iter()
            .map(|p| {
                format!(
                    "p{} leader {} isr {:?}",
                    p.partition,
                    p.leader,
                    p.isrs.iter().map(|r| r.id).collect::<Vec<_>>()
                )
            })
            .collect();
        let complete = topic.error.is_none()
            && topic.partitions.len() == 3
            && topic.partitions.iter().all(|p| p.leader >= 0 && p.isrs.len() == 3);
        Ok(if complete { Check::Done(()) } else { Check::Pending(partitions.join("; ")) })
    })
    .await
}
