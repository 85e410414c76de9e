//! What only a real kubelet and container runtime do, on a Kafka broker built like Koperator's:
//! the pod runs as user 1001 with fsGroup 1001 and a read-only root file system, an init
//! container writes its configuration, another copies the JMX exporter agent out of its image,
//! and the broker serves Prometheus metrics through it; `kubectl logs`, `kubectl exec` and
//! `kubectl port-forward` reach it; a container over its memory limit is OOM-killed.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::io::{AsyncBufReadExt, BufReader};

use e2e_tests::wait::{self, Check};
use e2e_tests::{helm, host_command, manifests, namespace, pod_state};

const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The broker's configuration is written by an init container (busybox, read-only root too),
/// so the pod works from emptyDirs and a PVC only.
const BROKER: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: jmx-exporter}
data:
  config.yaml: |
    lowercaseOutputName: true
    rules: [{pattern: ".*"}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: broker-data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: broker}
spec:
  securityContext: {runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001, runAsNonRoot: true}
  initContainers:
  - name: config
    image: busybox:1.36
    command:
    - sh
    - -c
    - |
      cat > /config/server.properties <<EOF
      process.roles=broker,controller
      node.id=0
      controller.quorum.voters=0@localhost:9093
      listeners=PLAINTEXT://:9092,CONTROLLER://:9093
      advertised.listeners=PLAINTEXT://localhost:9092
      controller.listener.names=CONTROLLER
      listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
      log.dirs=/kafka-data/data
      offsets.topic.replication.factor=1
      EOF
    securityContext: &restricted
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: config, mountPath: /config}]
  - name: jmx-exporter
    image: ghcr.io/adobe/koperator/jmx-javaagent:1.5.0
    command: [cp, /jmx_prometheus_javaagent.jar, /opt/jmx-exporter/jmx_prometheus.jar]
    securityContext: *restricted
    volumeMounts: [{name: jmx-agent, mountPath: /opt/jmx-exporter}]
  - name: format
    image: ghcr.io/adobe/koperator/kafka:2.13-3.9.1
    command: [kafka-storage.sh, format, --ignore-formatted, -t, MkU3OEVBNTcwNTJENDM2Qk, -c, /config/server.properties]
    env: &env
    - {name: KAFKA_HEAP_OPTS, value: "-Xmx256m -Xms256m"}
    - {name: KAFKA_JVM_PERFORMANCE_OPTS, value: "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"}
    - {name: LOG_DIR, value: /kafka-data/logs}
    securityContext: *restricted
    volumeMounts: &mounts
    - {name: config, mountPath: /config}
    - {name: data, mountPath: /kafka-data}
    - {name: tmp, mountPath: /tmp}
  containers:
  - name: kafka
    image: ghcr.io/adobe/koperator/kafka:2.13-3.9.1
    command: [kafka-server-start.sh, /config/server.properties]
    env:
    - {name: KAFKA_HEAP_OPTS, value: "-Xmx256m -Xms256m"}
    - {name: KAFKA_JVM_PERFORMANCE_OPTS, value: "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"}
    - {name: LOG_DIR, value: /kafka-data/logs}
    - {name: KAFKA_OPTS, value: "-javaagent:/opt/jmx-exporter/jmx_prometheus.jar=9020:/etc/jmx-exporter/config.yaml"}
    securityContext: *restricted
    resources:
      requests: {cpu: 100m, memory: 512Mi}
      limits: {memory: 768Mi}
    ports: [{name: plaintext, containerPort: 9092}, {name: metrics, containerPort: 9020}]
    readinessProbe: {tcpSocket: {port: 9092}, periodSeconds: 2}
    volumeMounts:
    - {name: config, mountPath: /config}
    - {name: data, mountPath: /kafka-data}
    - {name: tmp, mountPath: /tmp}
    - {name: jmx-agent, mountPath: /opt/jmx-exporter}
    - {name: jmx-config, mountPath: /etc/jmx-exporter}
  volumes:
  - {name: config, emptyDir: {}}
  - {name: tmp, emptyDir: {}}
  - {name: jmx-agent, emptyDir: {}}
  - {name: jmx-config, configMap: {name: jmx-exporter}}
  - {name: data, persistentVolumeClaim: {claimName: broker-data}}
"#;

/// `tail` keeps the last "line" of /dev/zero, which never ends: memory grows until the limit.
/// It starts a second late: on cgroup v1 containerd watches a container's OOM events only once
/// the task has started, and a kill before that is reported as `Error` (exit 137), not
/// `OOMKilled` (seen once in CI).
const MEMORY_HOG: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: memory-hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.36
    command: [sh, -c, "sleep 1 && tail /dev/zero"]
    resources:
      requests: {memory: 32Mi}
      limits: {memory: 32Mi}
"#;

#[tokio::test]
async fn a_restricted_broker_runs_and_the_kubelet_api_reaches_it() -> Result<()> {
    namespace::run_isolated("kubelet-semantics", async |ns| {
        manifests::apply(&ns.client, &ns.name, BROKER, &[]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        wait::until(&pods, "broker", "is Ready", READY_TIMEOUT, pod_state::is_ready).await?;

        let exec = |command: &'static [&'static str]| {
            let namespace = ns.name.clone();
            async move {
                let mut args = vec!["exec", "-n", namespace.as_str(), "broker", "-c", "kafka", "--"];
                args.extend_from_slice(command);
                helm::kubectl_output(&args).await
            }
        };
        let identity = exec(&["id"]).await?;
        ensure!(
            identity.success && identity.stdout.contains("uid=1001") && identity.stdout.contains("gid=1001"),
            "kubectl exec id: {}{}",
            identity.stdout,
            identity.stderr
        );
        let write = exec(&["touch", "/opt/kafka/written"]).await?;
        ensure!(
            !write.success && write.stderr.contains("Read-only file system"),
            "the root file system took a write: {}{}",
            write.stdout,
            write.stderr
        );
        // fsGroup: kubelet gave the emptyDir to group 1001 with the setgid bit.
        let config_group = exec(&["stat", "-c", "%g %A", "/config"]).await?;
        ensure!(config_group.stdout.starts_with("1001 drwxrwsrwx"), "/config is {}", config_group.stdout.trim());

        let logs = helm::kubectl(&["logs", "-n", &ns.name, "broker", "-c", "kafka"], None).await?;
        ensure!(logs.contains("Kafka Server started"), "kubectl logs shows no started broker:\n{logs}");

        let metrics = exec(&["curl", "-sS", "--max-time", "10", "http://localhost:9020/metrics"]).await?;
        let partition_counts: Vec<&str> =
            metrics.stdout.lines().filter(|line| line.starts_with("kafka_server_replicamanager")).collect();
        ensure!(
            !partition_counts.is_empty(),
            "the JMX exporter agent serves no ReplicaManager metric: {}{}",
            metrics.stderr,
            metrics
                .stdout
                .lines()
                .filter(|line| line.starts_with("kafka_server"))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );

        let port = port_forward_and_ask_kafka(&ns.name).await?;
        eprintln!("kubelet_semantics: kcat reached the broker through kubectl port-forward on port {port}");

        manifests::apply(&ns.client, &ns.name, MEMORY_HOG, &[]).await?;
        wait::until(&pods, "memory-hog", "is OOM-killed", Duration::from_secs(120), |pod| {
            let state = pod_state::container(pod, "hog").and_then(|c| c.state.as_ref());
            state.and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"))
        })
        .await?;
        Ok(())
    })
    .await
}

/// `kubectl port-forward pod/broker :9092`, then kcat's metadata request to the local port (its
/// answer comes from the broker, whatever it advertises). Returns the local port.
async fn port_forward_and_ask_kafka(namespace: &str) -> Result<u16> {
    let mut forward = helm::kubectl_command()?
        .args(["port-forward", "-n", namespace, "pod/broker", ":9092"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("failed to start kubectl port-forward")?;
    let stdout = forward.stdout.take().context("port-forward's stdout is piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            // "Forwarding from 127.0.0.1:41235 -> 9092"
            if let Some(port) = line.strip_prefix("Forwarding from 127.0.0.1:").and_then(|rest| rest.split(' ').next())
            {
                return Ok(port.parse::<u16>()?);
            }
        }
        bail!("kubectl port-forward ended without forwarding")
    })
    .await
    .context("kubectl port-forward did not forward within 30 s")??;
    let address = format!("127.0.0.1:{port}");
    wait::eventually("kcat reaches the broker through the forwarded port", Duration::from_secs(30), || async {
        let output =
            host_command::run(&["kcat", "-L", "-b", &address, "-m", "10"], None, Duration::from_secs(20)).await?;
        Ok(if output.success && output.stdout.contains("1 brokers:") {
            Check::Done(())
        } else {
            Check::Pending(format!("{}{}", output.stdout, output.stderr))
        })
    })
    .await?;
    forward.kill().await.ok();
    Ok(port)
}
