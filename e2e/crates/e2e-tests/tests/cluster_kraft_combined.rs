//! The cluster controller turns Koperator's KRaft sample (three combined broker+controller
//! nodes, Kafka 3.9.1 on Koperator's image name) into a running cluster: real brokers serve
//! 1,000 messages through the all-broker Service, the quorum has the expected voters. Then a
//! broker added to the spec comes up alone, and a readOnlyConfig change starts a rolling
//! restart. (Removing a broker drains it through Cruise Control first: `graceful_scaling.rs`;
//! rolling restarts are `rolling_upgrade.rs`.)

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use crd_types::kafka_cluster::ClusterState;
use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kcat, namespace};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";

async fn broker_pods(pods: &Api<Pod>) -> Result<BTreeMap<String, Pod>> {
    let list = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.labels().get("brokerId").cloned().unwrap_or_default(), p))
        .collect())
}

#[tokio::test]
async fn kraft_combined_cluster_runs_scales_and_tracks_config() -> Result<()> {
    namespace::run_isolated("kraft-combined", async |ns| {
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let mut cluster = kafka_cluster::sample(SAMPLE)?;
        // Per-broker Services, so removing a broker has a Service to remove too.
        cluster["spec"]["headlessServiceEnabled"] = json!(false);
        kafka_cluster::apply(ns, &cluster).await?;
        let running = kafka_cluster::wait_running(ns, "kafka").await?;
        let status = running.status.clone().unwrap_or_default();
        ensure!(status.brokers_ready.as_deref() == Some("3/3"), "brokersReady: {:?}", status.brokers_ready);
        ensure!(status.cluster_id.is_some(), "a KRaft cluster records its cluster id");

        // Real brokers, through the all-broker Service.
        let bootstrap = bootstrap(ns, "kafka");
        // A pod is ready when its listener accepts connections; Kafka lists the broker once the
        // controller unfenced it, a moment later (seen once: 2 of 3 right after ClusterRunning).
        wait::eventually("kcat sees brokers 0, 1, 2", Duration::from_secs(30), || async {
            let seen = kcat::metadata(&bootstrap, None).await?.broker_ids();
            Ok(if seen == vec![0, 1, 2] { Check::Done(()) } else { Check::Pending(format!("{seen:?}")) })
        })
        .await?;
        kafka_cluster::round_trip(&bootstrap, "accounting", 1000).await?;

        let quorum = host_command::run_ok(
            &["kafka-metadata-quorum", "--bootstrap-server", &bootstrap, "describe", "--status"],
            None,
            Duration::from_secs(60),
        )
        .await?;
        let voters = quorum.lines().find(|l| l.starts_with("CurrentVoters")).unwrap_or_default().to_owned();
        for id in ["0", "1", "2"] {
            ensure!(
                voters.contains(&format!("\"id\": {id}"))
                    || voters.contains(&format!("{id},"))
                    || voters.contains(&format!("[{id}")),
                "voter {id} missing from {voters:?}\n{quorum}"
            );
        }

        // Add broker 3: only its objects appear, the others' pods stay as they were.
        let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
        let before = broker_pods(&pods).await?;
        let brokers = cluster["spec"]["brokers"].as_array_mut().expect("brokers");
        brokers.push(json!({"id": 3, "brokerConfigGroup": "default",
            "brokerConfig": {"processRoles": ["broker"]}}));
        kafka_cluster::apply(ns, &cluster).await?;
        wait::eventually("broker 3 joins the cluster", kafka_cluster::RUNNING_TIMEOUT, || async {
            let ids = kcat::metadata(&bootstrap, None).await?.broker_ids();
            Ok(if ids.contains(&3) { Check::Done(()) } else { Check::Pending(format!("brokers {ids:?}")) })
        })
        .await?;
        let after = broker_pods(&pods).await?;
        for id in ["0", "1", "2"] {
            ensure!(before[id].uid() == after[id].uid(), "adding broker 3 replaced the pod of broker {id}");
        }

        // A read-only config change: the brokers run an older configuration now, and the roll starts.
        cluster["spec"]["readOnlyConfig"] = json!("auto.create.topics.enable=false\nlog.retention.hours=12\n");
        kafka_cluster::apply(ns, &cluster).await?;
        wait::until(&kafka_cluster::api(ns), "kafka", "starts a rolling restart", Duration::from_secs(60), |c| {
            c.status.as_ref().and_then(|s| s.state) == Some(ClusterState::ClusterRollingUpgrading)
                && kafka_cluster::condition(c, "RollingUpgrade").is_some()
        })
        .await?;
        Ok(())
    })
    .await
}
