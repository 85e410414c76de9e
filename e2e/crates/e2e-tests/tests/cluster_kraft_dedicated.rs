//! Three broker-only nodes and three controller-only nodes (Koperator's image, Kafka 3.9.1):
//! the cluster runs, clients see only the brokers, the quorum is the three controllers.

use std::time::Duration;

use anyhow::{Result, ensure};

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::{host_command, kcat, namespace};

#[tokio::test]
async fn dedicated_controllers_serve_no_clients_and_form_the_quorum() -> Result<()> {
    namespace::run_isolated("kraft-dedicated", async |ns| {
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
        kafka_cluster::apply(ns, &cluster).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;

        let bootstrap = bootstrap(ns, "kafka");
        let brokers = kcat::metadata(&bootstrap, None).await?.broker_ids();
        ensure!(brokers == vec![0, 1, 2], "clients must see brokers 0-2 only, saw {brokers:?}");

        kafka_cluster::round_trip(&bootstrap, "accounting", 1000).await?;

        let replication = host_command::run_ok(
            &["kafka-metadata-quorum", "--bootstrap-server", &bootstrap, "describe", "--replication"],
            None,
            Duration::from_secs(60),
        )
        .await?;
        let voters: Vec<&str> =
            replication.lines().filter(|l| l.contains("Leader") || l.contains("Follower")).collect();
        for id in ["3", "4", "5"] {
            ensure!(
                voters.iter().any(|l| l.split_whitespace().next() == Some(id)),
                "controller {id} is not a voter:\n{replication}"
            );
        }
        for id in ["0", "1", "2"] {
            ensure!(
                !voters.iter().any(|l| l.split_whitespace().next() == Some(id)),
                "broker {id} must not be a voter:\n{replication}"
            );
        }
        Ok(())
    })
    .await
}
