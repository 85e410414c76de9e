//! Specs that pass admission but cannot work: the cluster controller reports a Degraded
//! condition naming the cause and the fix, creates nothing for them, and keeps running. Among
//! them, node ports another Service holds: the apiserver's refusal is the condition's message.

use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, condition};
use e2e_tests::{namespace, wait};

const DEGRADED_TIMEOUT: Duration = Duration::from_secs(60);
/// A node port no other test asks for.
const TAKEN_NODE_PORT: i32 = 32291;

async fn expect_degraded(ns: &namespace::TestNamespace, name: &str, needle: &str) -> Result<()> {
    wait::until(&kafka_cluster::api(ns), name, &format!("is Degraded mentioning {needle:?}"), DEGRADED_TIMEOUT, |c| {
        condition(c, "Degraded").is_some_and(|d| d.status == "True" && d.message.contains(needle))
    })
    .await
    .map(|_| ())
}

#[tokio::test]
async fn unknown_kafka_version_missing_storage_class_and_authorizers_the_nodes_would_fail_degrade_without_crashing()
-> Result<()> {
    namespace::run_isolated("invalid-spec", async |ns| {
        let mut controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;

        let mut unknown_version = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        unknown_version["metadata"]["name"] = json!("unknown-version");
        unknown_version["spec"]["clusterImage"] = json!("registry.example.com/custom/kafka:latest");
        kafka_cluster::apply(ns, &unknown_version).await?;
        expect_degraded(ns, "unknown-version", "registry.example.com/custom/kafka:latest").await?;

        let mut missing_class = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        missing_class["metadata"]["name"] = json!("missing-class");
        missing_class["spec"]["brokerConfigGroups"]["default"]["storageConfigs"][0]["pvcSpec"]["storageClassName"] =
            json!("no-such-class");
        kafka_cluster::apply(ns, &missing_class).await?;
        expect_degraded(ns, "missing-class", "no-such-class").await?;

        // An authorizer the nodes would fail: they talk as User:ANONYMOUS on plaintext listeners.
        let mut anonymous_nodes = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        anonymous_nodes["metadata"]["name"] = json!("anonymous-nodes");
        let read_only = anonymous_nodes["spec"]["readOnlyConfig"].as_str().unwrap_or_default().to_owned();
        anonymous_nodes["spec"]["readOnlyConfig"] = json!(format!(
            "{read_only}authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
        ));
        kafka_cluster::apply(ns, &anonymous_nodes).await?;
        expect_degraded(ns, "anonymous-nodes", "internalListeners[name=controller].type: plaintext, but").await?;

        // The ZooKeeper-era authorizer on KRaft nodes: they would exit at start.
        let mut zookeeper_authorizer = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        zookeeper_authorizer["metadata"]["name"] = json!("zookeeper-authorizer");
        zookeeper_authorizer["spec"]["readOnlyConfig"] = json!(format!(
            "{read_only}authorizer.class.name=kafka.security.authorizer.AclAuthorizer\nallow.everyone.if.no.acl.found=true\n"
        ));
        kafka_cluster::apply(ns, &zookeeper_authorizer).await?;
        expect_degraded(ns, "zookeeper-authorizer", "set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer").await?;

        // Node ports another Service holds: the apiserver refuses the listener's Services, and
        // the condition gives its answer and the field to change.
        let holder: Service = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "holds-32291"},
            "spec": {"type": "NodePort", "selector": {"app": "none"},
                     "ports": [{"port": 9094, "nodePort": TAKEN_NODE_PORT}]},
        }))?;
        let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
        services.create(&PostParams::default(), &holder).await?;
        let mut taken = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
        taken["metadata"]["name"] = json!("node-port-taken");
        taken["spec"]["listenersConfig"]["externalListeners"] = json!([{"type": "plaintext", "name": "np",
            "externalStartingPort": TAKEN_NODE_PORT - 1, "containerPort": 9094, "accessMethod": "NodePort"}]);
        kafka_cluster::apply(ns, &taken).await?;
        expect_degraded(ns, "node-port-taken", "provided port is already allocated").await?;
        expect_degraded(ns, "node-port-taken", "externalStartingPort").await?;

        let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
        ensure!(pods.list(&ListParams::default()).await?.items.is_empty(), "invalid clusters got pods");
        ensure!(controller.is_running(), "the controller exited:\n{}", controller.log_tail(40));
        Ok(())
    })
    .await
}
