//! A single ZooKeeper server in a test's namespace, for ZooKeeper-mode clusters.

use anyhow::Result;

use crate::manifests;
use crate::namespace::TestNamespace;

/// A single ZooKeeper server (`zookeeper:3.8.4` maps to the bootstrap's ZooKeeper).
const MANIFEST: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: zookeeper}
data:
  zoo.cfg: |
    dataDir=/data
    clientPort=2181
    tickTime=2000
    admin.enableServer=false
    4lw.commands.whitelist=ruok,srvr
---
apiVersion: v1
kind: Service
metadata: {name: zookeeper-client}
spec:
  selector: {app: zookeeper}
  ports: [{name: client, port: 2181}]
---
apiVersion: v1
kind: Pod
metadata: {name: zookeeper, labels: {app: zookeeper}}
spec:
  containers:
    - name: zookeeper
      image: zookeeper:3.8.4
      env: [{name: ZK_HEAP_OPTS, value: "-Xmx128m"}, {name: JVMFLAGS, value: "-Xmx128m"}]
      readinessProbe: {tcpSocket: {port: 2181}, periodSeconds: 2}
      volumeMounts:
        - {name: config, mountPath: /conf}
        - {name: data, mountPath: /data}
  volumes:
    - {name: config, configMap: {name: zookeeper}}
    - {name: data, emptyDir: {}}
"#;

/// Applies the ZooKeeper server in the test's namespace; returns its client address
/// (`zkAddresses` of a KafkaCluster). Kafka brokers retry until it is ready.
pub async fn deploy(ns: &TestNamespace) -> Result<String> {
    manifests::apply(&ns.client, &ns.name, MANIFEST, &[]).await?;
    Ok(format!("zookeeper-client.{}.svc.cluster.local:2181", ns.name))
}
