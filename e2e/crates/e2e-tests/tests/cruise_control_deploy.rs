//! The cluster controller runs Cruise Control next to Koperator's KRaft sample: the
//! `<cluster>-cruisecontrol` Deployment becomes available and answers its REST API through
//! `<cluster>-cruisecontrol-svc`, the brokers load the metrics reporter, the metrics topic's
//! KafkaTopic is created (by the topic controller) and reported Ready, and an idle resync then
//! writes nothing. Naming an external Cruise Control removes the operator's own.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::cruise_control;
use e2e_tests::kafka_cluster::{self, condition};
use e2e_tests::kafka_topic::{self as topics, Metrics};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{crds, host_command};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
/// A fixed port: this is the only test binary that uses it.
const GRPC_ADDRESS: &str = "127.0.0.1:19594";
const WRITES: &str = "koperator_cluster_controller_writes_total";
const REPORTER: &str = "com.linkedin.kafka.cruisecontrol.metricsreporter.CruiseControlMetricsReporter";
const EXTERNAL_ENDPOINT: &str = "cruise-control.elsewhere:8090";

#[tokio::test]
async fn cruise_control_is_deployed_and_answers() -> Result<()> {
    namespace::run_isolated("cc-deploy", async |ns| {
        crds::install(&ns.client).await?;
        let cluster_controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", GRPC_ADDRESS]).await?;
        let endpoint = format!("http://{GRPC_ADDRESS}");
        let topic_controller =
            ControllerProcess::start("topic-controller", &ns.name, &["--cluster-access-endpoint", &endpoint]).await?;
        let metrics = topics::metrics_address(&cluster_controller.log, Duration::from_secs(60)).await?;

        let outcome = scenario(ns, &metrics).await;
        let logs = format!(
            "cluster controller log tail:\n{}\ntopic controller log tail:\n{}",
            cluster_controller.log_tail(30),
            topic_controller.log_tail(15)
        );
        // The metrics topic's KafkaTopic carries the topic controller's finalizer: it must go
        // while both controllers still run (the topic controller reaches Kafka through the
        // cluster controller), or the namespace could not be deleted.
        let removed = remove_metrics_topic(ns).await;
        report_logs_on_failure(outcome, || logs)?;
        removed
    })
    .await
}

async fn scenario(ns: &TestNamespace, metrics: &str) -> Result<()> {
    let mut cluster = kafka_cluster::sample(SAMPLE)?;
    kafka_cluster::apply(ns, &cluster).await?;
    kafka_cluster::wait_running(ns, "kafka").await?;

    cruise_control::wait_operator_deployment(ns, "kafka").await?;
    let state = rest_state(ns).await?;
    for key in ["MonitorState", "ExecutorState", "AnalyzerState"] {
        ensure!(state.get(key).is_some(), "no {key} in GET state: {state}");
    }

    // Every broker loads the reporter and points it at the all-broker Service.
    let config_maps: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    for id in 0..3 {
        let config = config_maps.get(&format!("kafka-config-{id}")).await?;
        let properties = config.data.unwrap_or_default().remove("broker-config").unwrap_or_default();
        ensure!(properties.contains(&format!("metric.reporters={REPORTER}")), "broker {id}:\n{properties}");
        let bootstrap =
            format!("cruise.control.metrics.reporter.bootstrap.servers={}", kafka_cluster::bootstrap(ns, "kafka"));
        ensure!(properties.contains(&bootstrap), "broker {id}:\n{properties}");
    }
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    for pod in pods.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items {
        let init: Vec<String> =
            pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).map(|c| c.name.clone()).collect();
        ensure!(init.iter().any(|n| n == "cruise-control-reporter"), "init containers {init:?}");
    }

    let settled = cruise_control::wait_available_with_topic(ns, "kafka").await?;
    ensure!(settled.status.is_some_and(|s| s.brokers_ready.as_deref() == Some("3/3")));

    idle_resync(ns, metrics).await?;

    // An external Cruise Control: the operator's own goes, the status says whose is used.
    cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] = json!(EXTERNAL_ENDPOINT);
    kafka_cluster::apply(ns, &cluster).await?;
    let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
    let deployments: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::until_deleted(&deployments, "kafka-cruisecontrol", Duration::from_secs(60)).await?;
    wait::until_deleted(&services, "kafka-cruisecontrol-svc", Duration::from_secs(30)).await?;
    wait::until_deleted(&config_maps, "kafka-cruisecontrol-config", Duration::from_secs(30)).await?;
    wait::until(&kafka_cluster::api(ns), "kafka", "names the external Cruise Control", Duration::from_secs(30), |c| {
        condition(c, "CruiseControlAvailable").is_some_and(|c| c.reason == "External")
    })
    .await?;
    Ok(())
}

/// GET /kafkacruisecontrol/state through the Service, from inside the cluster's network.
async fn rest_state(ns: &TestNamespace) -> Result<Value> {
    let url =
        format!("http://kafka-cruisecontrol-svc.{}.svc.cluster.local:8090/kafkacruisecontrol/state?json=true", ns.name);
    wait::eventually("Cruise Control answers GET state through its Service", Duration::from_secs(120), || async {
        let output =
            host_command::run(&["curl", "-sS", "--fail", "--max-time", "10", &url], None, Duration::from_secs(20))
                .await?;
        if !output.success {
            return Ok(Check::Pending(format!("curl: {}{}", output.stderr, output.stdout)));
        }
        let state: Value = serde_json::from_str(&output.stdout).with_context(|| output.stdout.clone())?;
        Ok(Check::Done(state))
    })
    .await
}

/// Three reconciles of the settled cluster (each annotation wakes one) cost no write.
async fn idle_resync(ns: &TestNamespace, metrics: &str) -> Result<()> {
    let before: Metrics = topics::scrape(metrics).await?;
    ensure!(before.sum(WRITES, &[]) > 0.0, "no write counted yet: is {WRITES} the counter's name?");
    let api = kafka_cluster::api(ns);
    for round in 0..3 {
        let patch = json!({"metadata": {"annotations": {"e2e/resync": round.to_string()}}});
        api.patch("kafka", &PatchParams::default(), &Patch::Merge(&patch)).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let after = topics::scrape(metrics).await?;
    let changes = before.changes(&after, WRITES);
    ensure!(changes.is_empty(), "writes during idle reconciles:\n{}", changes.join("\n"));
    Ok(())
}

/// Names an external Cruise Control first, so that the cluster controller stops making the
/// topic again (the scenario may have failed before it did so itself).
async fn remove_metrics_topic(ns: &TestNamespace) -> Result<()> {
    let external = json!({"spec": {"cruiseControlConfig": {"cruiseControlEndpoint": EXTERNAL_ENDPOINT}}});
    kafka_cluster::api(ns).patch("kafka", &PatchParams::default(), &Patch::Merge(&external)).await?;
    let api = topics::api(ns);
    match api.delete("kafka-cruise-control-topic", &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(error) => return Err(error.into()),
    }
    wait::until_deleted(&api, "kafka-cruise-control-topic", Duration::from_secs(60)).await
}
