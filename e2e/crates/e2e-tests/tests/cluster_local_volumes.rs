//! Brokers on node-local volumes: the combined KRaft sample with its claims on the test bed's
//! `local-path` class (`volumeBindingMode: WaitForFirstConsumer`, Rancher's
//! local-path-provisioner with a directory per node). Such
//! a claim binds only once a pod uses it, so the cluster controller must create the broker pods
//! while their claims are still Pending (it waits for Bound claims on every other class). The
//! cluster reaches ClusterRunning; each claim is then Bound to a volume pinned to the node its
//! broker runs on; messages round trip.

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster;
use e2e_tests::namespace::{self, TestNamespace};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const LOCAL_CLASS: &str = "local-path";
const MESSAGES: u32 = 300;
const NODE_HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

#[tokio::test]
async fn a_cluster_on_a_wait_for_first_consumer_class_runs() -> Result<()> {
    namespace::run_isolated("local-volumes", async |ns| {
        let class = Api::<StorageClass>::all(ns.client.clone()).get(LOCAL_CLASS).await?;
        ensure!(
            class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"),
            "the test bed's {LOCAL_CLASS} class binds {:?}",
            class.volume_binding_mode
        );
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let mut cluster = kafka_cluster::sample(SAMPLE)?;
        cluster["spec"]["brokerConfigGroups"]["default"]["storageConfigs"][0]["pvcSpec"]["storageClassName"] =
            json!(LOCAL_CLASS);
        kafka_cluster::apply(ns, &cluster).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;
        every_claim_is_on_its_brokers_node(ns).await?;
        let bootstrap = kafka_cluster::bootstrap(ns, "kafka");
        kafka_cluster::round_trip(&bootstrap, "local-volumes", MESSAGES).await?;
        println!(
            "[pass] ClusterRunning on {LOCAL_CLASS}; claims bound on their brokers' nodes; {MESSAGES} messages back"
        );
        Ok(())
    })
    .await
}

/// Each broker's claims are Bound to a volume whose node affinity names the broker pod's node.
async fn every_claim_is_on_its_brokers_node(ns: &TestNamespace) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);
    let volumes: Api<PersistentVolume> = Api::all(ns.client.clone());
    let broker_pods = pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items;
    ensure!(broker_pods.len() == 3, "{} broker pods", broker_pods.len());
    for pod in broker_pods {
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.clone()).context("an unscheduled broker pod")?;
        let claim_names = pod
            .spec
            .iter()
            .flat_map(|spec| spec.volumes.iter().flatten())
            .filter_map(|volume| Some(volume.persistent_volume_claim.as_ref()?.claim_name.clone()));
        let mut checked = 0;
        for claim_name in claim_names {
            let claim = claims.get(&claim_name).await?;
            let phase = claim.status.as_ref().and_then(|status| status.phase.clone());
            ensure!(phase.as_deref() == Some("Bound"), "claim {claim_name} of {} is {phase:?}", pod.name_any());
            let volume_name = claim.spec.as_ref().and_then(|spec| spec.volume_name.clone()).context("no volume")?;
            let volume = volumes.get(&volume_name).await?;
            let pinned_to = node_affinity_hostnames(&volume);
            ensure!(
                pinned_to == [node.clone()],
                "volume {volume_name} of {} (on {node}) is pinned to {pinned_to:?}",
                pod.name_any()
            );
            checked += 1;
        }
        ensure!(checked > 0, "broker pod {} mounts no claim", pod.name_any());
    }
    Ok(())
}

fn node_affinity_hostnames(volume: &PersistentVolume) -> Vec<String> {
    let terms = volume.spec.as_ref().and_then(|spec| spec.node_affinity.as_ref()?.required.as_ref());
    terms
        .iter()
        .flat_map(|required| required.node_selector_terms.iter())
        .flat_map(|term| term.match_expressions.iter().flatten())
        .filter(|expression| expression.key == NODE_HOSTNAME_LABEL)
        .flat_map(|expression| expression.values.iter().flatten().cloned())
        .collect()
}
