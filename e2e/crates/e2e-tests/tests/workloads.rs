//! Plain workloads on the test bed: a Deployment's pods run as host processes, and deleting
//! the Deployment garbage-collects its ReplicaSet, its pods and their processes.

use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams};

use e2e_tests::wait::{self, Check};
use e2e_tests::{manifests, namespace, pod_state, processes};

/// The container's environment carries this variable set to the namespace name, so the test
/// finds exactly this test's processes on the host.
const MARKER: &str = "E2E_WORKLOAD_MARKER";

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleeper}
spec:
  replicas: 2
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: sleep
        image: busybox:1.36
        command: [sleep, "3600"]
        env: [{name: E2E_WORKLOAD_MARKER, value: "{{namespace}}"}]
"#;

/// Seconds on an idle machine; the bound is for a CI machine also running three Kafka
/// clusters' rolls (the scheduler, the garbage collector and the kubelets all share 2 cores).
const STARTUP_AND_COLLECTION: Duration = Duration::from_secs(150);

#[tokio::test]
async fn deployment_runs_its_replicas_and_deleting_it_collects_them() -> Result<()> {
    namespace::run_isolated("workloads", async |ns| {
        manifests::apply(&ns.client, &ns.name, DEPLOYMENT, &[("namespace", &ns.name)]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        let selector = ListParams::default().labels("app=sleeper");

        wait::eventually("2 sleeper pods are Running and Ready", STARTUP_AND_COLLECTION, || async {
            let list = pods.list(&selector).await?;
            let running =
                list.items.iter().filter(|p| pod_state::phase(p) == "Running" && pod_state::is_ready(p)).count();
            Ok(if running == 2 && list.items.len() == 2 {
                Check::Done(())
            } else {
                Check::Pending(summary(&list.items))
            })
        })
        .await?;
        // Ready is the kubelet's word; the processes are what the kernel runs.
        wait::eventually("2 container processes run", Duration::from_secs(30), || async {
            let running = processes::with_environment(MARKER, &ns.name);
            Ok(if running.len() == 2 { Check::Done(()) } else { Check::Pending(format!("pids {running:?}")) })
        })
        .await?;

        Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
            .delete("sleeper", &DeleteParams::background())
            .await?;

        let replica_sets = Api::<ReplicaSet>::namespaced(ns.client.clone(), &ns.name);
        wait::eventually("the ReplicaSet and the pods are garbage-collected", STARTUP_AND_COLLECTION, || async {
            let sets = replica_sets.list(&ListParams::default()).await?.items.len();
            let list = pods.list(&selector).await?;
            Ok(if sets == 0 && list.items.is_empty() {
                Check::Done(())
            } else {
                Check::Pending(format!("{sets} ReplicaSets; pods: {}", summary(&list.items)))
            })
        })
        .await?;
        wait::eventually("the container processes are gone", Duration::from_secs(45), || async {
            let left = processes::with_environment(MARKER, &ns.name);
            Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("pids {left:?} still run")) })
        })
        .await
    })
    .await
}

fn summary(pods: &[Pod]) -> String {
    let states: Vec<String> = pods
        .iter()
        .map(|p| {
            format!(
                "{} {} ready={}",
                p.metadata.name.as_deref().unwrap_or("?"),
                pod_state::phase(p),
                pod_state::is_ready(p)
            )
        })
        .collect();
    format!("{} pods [{}]", pods.len(), states.join(", "))
}
