//! Pods that cannot run are reported the way the kubelet reports them: an image that cannot be pulled,
//! a missing ConfigMap key, a crashing command and a failing readiness probe.

use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::{Api, Client};

use e2e_tests::wait::{self, Check};
use e2e_tests::{manifests, namespace, pod_state};

const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits for an event of the pod with `reason` whose message contains `text`; returns the message.
async fn wait_for_event(client: &Client, namespace: &str, pod: &str, reason: &str, text: &str) -> Result<String> {
    let events = Api::<Event>::namespaced(client.clone(), namespace);
    let selector = ListParams::default().fields(&format!("involvedObject.name={pod}"));
    wait::eventually(&format!("pod {pod} has a {reason} event mentioning {text:?}"), REPORT_TIMEOUT, || async {
        let list = events.list(&selector).await?;
        let found = list
            .items
            .iter()
            .find(|e| e.reason.as_deref() == Some(reason) && e.message.as_deref().is_some_and(|m| m.contains(text)));
        Ok(match found {
            Some(event) => Check::Done(event.message.clone().unwrap_or_default()),
            None => Check::Pending(
                list.items
                    .iter()
                    .map(|e| format!("{}: {}", e.reason.as_deref().unwrap_or(""), e.message.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        })
    })
    .await
}

#[tokio::test]
async fn unmapped_image_waits_in_image_pull_back_off_with_an_event() -> Result<()> {
    namespace::run_isolated("bad-image", async |ns| {
        let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: unmapped}
spec:
  containers: [{name: main, image: "registry.invalid/no-such-image:1.0"}]
"#;
        manifests::apply(&ns.client, &ns.name, pod, &[]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        wait::until(&pods, "unmapped", "reports ErrImagePull", REPORT_TIMEOUT, |p| {
            pod_state::waiting_reason(p, "main") == Some("ErrImagePull")
        })
        .await?;
        wait::until(&pods, "unmapped", "backs off with ImagePullBackOff", REPORT_TIMEOUT, |p| {
            pod_state::waiting_reason(p, "main") == Some("ImagePullBackOff") && pod_state::phase(p) == "Pending"
        })
        .await?;
        wait_for_event(&ns.client, &ns.name, "unmapped", "Failed", "registry.invalid/no-such-image").await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn missing_config_map_key_is_a_create_container_config_error() -> Result<()> {
    namespace::run_isolated("bad-config-key", async |ns| {
        let manifest = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {present: "yes"}
---
apiVersion: v1
kind: Pod
metadata: {name: missing-key}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
    env: [{name: SETTING, valueFrom: {configMapKeyRef: {name: settings, key: absent}}}]
"#;
        manifests::apply(&ns.client, &ns.name, manifest, &[]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        let pod = wait::until(&pods, "missing-key", "reports CreateContainerConfigError", REPORT_TIMEOUT, |p| {
            pod_state::waiting_reason(p, "main") == Some("CreateContainerConfigError")
        })
        .await?;
        let message = pod_state::container(&pod, "main")
            .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.message.clone())
            .unwrap_or_default();
        anyhow::ensure!(message.contains("absent"), "the waiting message should name the missing key: {message:?}");
        anyhow::ensure!(!pod_state::is_running(&pod, "main"), "the container must not run");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn crashing_command_goes_into_crash_loop_back_off() -> Result<()> {
    namespace::run_isolated("bad-crash", async |ns| {
        let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers: [{name: main, image: busybox:1.36, command: [sh, -c, "echo failing; exit 3"]}]
"#;
        manifests::apply(&ns.client, &ns.name, pod, &[]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        let pod = wait::until(&pods, "crasher", "is in CrashLoopBackOff after a restart", REPORT_TIMEOUT, |p| {
            let restarts = pod_state::container(p, "main").map_or(0, |c| c.restart_count);
            pod_state::waiting_reason(p, "main") == Some("CrashLoopBackOff") && restarts > 0
        })
        .await?;
        let exit_code = pod_state::container(&pod, "main")
            .and_then(|c| c.last_state.as_ref()?.terminated.as_ref())
            .map(|t| t.exit_code);
        anyhow::ensure!(exit_code == Some(3), "lastState.terminated.exitCode should be 3, is {exit_code:?}");
        wait_for_event(&ns.client, &ns.name, "crasher", "BackOff", "Back-off restarting failed container").await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn failing_readiness_probe_keeps_the_pod_not_ready() -> Result<()> {
    namespace::run_isolated("bad-readiness", async |ns| {
        let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: never-ready}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 1}
"#;
        manifests::apply(&ns.client, &ns.name, pod, &[]).await?;
        let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
        wait::until(&pods, "never-ready", "runs", REPORT_TIMEOUT, |p| pod_state::is_running(p, "main")).await?;
        wait_for_event(&ns.client, &ns.name, "never-ready", "Unhealthy", "Readiness probe failed").await?;
        // After the probe has failed, the pod runs and still reports Ready False.
        let pod = pods.get("never-ready").await?;
        anyhow::ensure!(pod_state::phase(&pod) == "Running", "phase is {}", pod_state::phase(&pod));
        anyhow::ensure!(
            pod_state::condition(&pod, "Ready") == Some("False"),
            "Ready is {:?}",
            pod_state::condition(&pod, "Ready")
        );
        anyhow::ensure!(
            pod_state::condition(&pod, "ContainersReady") == Some("False"),
            "ContainersReady is {:?}",
            pod_state::condition(&pod, "ContainersReady")
        );
        anyhow::ensure!(!pod_state::container(&pod, "main").is_some_and(|c| c.ready), "the container reports ready");
        Ok(())
    })
    .await
}
