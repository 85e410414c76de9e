//! ZooKeeper mode (Kafka 3.9.0 on Banzai Cloud's image name) with a ZooKeeper the test runs:
//! the cluster controller's ZooKeeper sample reaches ClusterRunning and passes the round trip.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::{host_command, kcat, namespace, zookeeper};

#[tokio::test]
async fn zookeeper_mode_cluster_runs() -> Result<()> {
    namespace::run_isolated("zookeeper", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-zookeeper.yaml")?;
        cluster["spec"]["zkAddresses"] = json!([zookeeper]);
        kafka_cluster::apply(ns, &cluster).await?;
        let running = kafka_cluster::wait_running(ns, "kafka").await?;
        ensure!(running.status.and_then(|s| s.cluster_id).is_none(), "a ZooKeeper-mode cluster has no KRaft id");

        let bootstrap = bootstrap(ns, "kafka");
        ensure!(kcat::metadata(&bootstrap, None).await?.broker_ids() == vec![0, 1, 2]);
        kafka_cluster::round_trip(&bootstrap, "accounting", 1000).await?;
        // The brokers registered under the chroot of the sample (zkPath /kafka), as ZooKeeper's
        // own client (from Kafka 3.9's libs) sees it.
        let ids = host_command::run_ok(
            &[
                "/bin/sh",
                "-c",
                &format!(
                    "java -Xmx128m -cp \"${{KOPERATOR_CACHE:-$HOME/.cache/koperator}}/kafka/3.9.0/libs/*\" \
                 org.apache.zookeeper.ZooKeeperMain -server {zookeeper} ls /kafka/brokers/ids"
                ),
            ],
            None,
            Duration::from_secs(60),
        )
        .await?;
        ensure!(ids.contains("[0, 1, 2]"), "brokers under /kafka/brokers/ids: {ids}");
        Ok(())
    })
    .await
}
