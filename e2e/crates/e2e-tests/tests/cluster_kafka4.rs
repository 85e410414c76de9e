//! Kafka 4 (KRaft only) on the `apache/kafka` image: the combined sample with the image
//! swapped reaches ClusterRunning and passes the same round trip; the cluster controller's
//! ClusterAccess gRPC service hands out bootstrap addresses that a client (kcat) can use.

use anyhow::{Result, ensure};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::{kcat, namespace};
use grpc_contracts::cluster_v1::cluster_access_client::ClusterAccessClient;
use grpc_contracts::cluster_v1::{ClusterRef, GetClusterAccessRequest};

/// A fixed port: this is the only test binary that talks to the gRPC service.
const GRPC_ADDRESS: &str = "127.0.0.1:19590";

#[tokio::test]
async fn kafka_4_cluster_runs_on_the_apache_image() -> Result<()> {
    namespace::run_isolated("kafka4", async |ns| {
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", GRPC_ADDRESS]).await?;
        let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        cluster["spec"]["clusterImage"] = json!("apache/kafka:4.3.1");
        kafka_cluster::apply(ns, &cluster).await?;
        let running = kafka_cluster::wait_running(ns, "kafka").await?;
        let versions: Vec<String> =
            running.status.unwrap_or_default().brokers_state.values().filter_map(|b| b.version.clone()).collect();
        ensure!(versions.iter().all(|v| v == "4.3.1") && versions.len() == 3, "broker versions {versions:?}");

        let bootstrap = bootstrap(ns, "kafka");
        ensure!(kcat::metadata(&bootstrap, None).await?.broker_ids() == vec![0, 1, 2]);
        kafka_cluster::round_trip(&bootstrap, "accounting", 1000).await?;

        // Other deployables learn how to reach the cluster over gRPC; the answer must work.
        let mut client = ClusterAccessClient::connect(format!("http://{GRPC_ADDRESS}")).await?;
        let request =
            GetClusterAccessRequest { cluster: Some(ClusterRef { namespace: ns.name.clone(), name: "kafka".into() }) };
        let access = client.get_cluster_access(request).await?.into_inner().access.expect("access details");
        ensure!(access.kafka_version == "4.3.1" && access.broker_ids == vec![0, 1, 2], "{access:?}");
        let listener = access
            .listeners
            .iter()
            .find(|l| l.name == access.preferred_listener)
            .ok_or_else(|| anyhow::anyhow!("preferred listener missing: {access:?}"))?;
        let servers = listener.bootstrap_servers.join(",");
        ensure!(kcat::metadata(&servers, None).await?.broker_ids() == vec![0, 1, 2], "through {servers}");

        let missing =
            GetClusterAccessRequest { cluster: Some(ClusterRef { namespace: ns.name.clone(), name: "absent".into() }) };
        let status = client.get_cluster_access(missing).await.expect_err("no such cluster");
        ensure!(status.code() == tonic::Code::NotFound, "{status:?}");
        Ok(())
    })
    .await
}
