//! What a failed test prints before its namespace goes: pods, container states, events and
//! where the container logs are.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::{Api, Client};

use crate::testbed::repo_root;

/// Events shown at most (the newest).
const EVENTS_SHOWN: usize = 40;

pub async fn print_namespace(client: &Client, namespace: &str) {
    let mut report = format!("e2e: state of namespace {namespace} after the failure\n");
    match Api::<Pod>::namespaced(client.clone(), namespace).list(&ListParams::default()).await {
        Ok(pods) => {
            for pod in &pods.items {
                report += &describe_pod(pod);
            }
        }
        Err(error) => report += &format!("  (failed to list pods: {error})\n"),
    }
    match Api::<Event>::namespaced(client.clone(), namespace).list(&ListParams::default()).await {
        Ok(events) => {
            let mut events = events.items;
            events.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
            report += "events:\n";
            for event in events.iter().rev().take(EVENTS_SHOWN).rev() {
                report += &format!(
                    "  {} {} {}/{}: {}\n",
                    event.type_.as_deref().unwrap_or(""),
                    event.reason.as_deref().unwrap_or(""),
                    event.involved_object.kind.as_deref().unwrap_or(""),
                    event.involved_object.name.as_deref().unwrap_or(""),
                    event.message.as_deref().unwrap_or("").trim(),
                );
            }
        }
        Err(error) => report += &format!("  (failed to list events: {error})\n"),
    }
    report += &format!(
        "container logs: kubectl logs, or {}/target/testbed/nodes/<node>/var-log/pods/{namespace}_<pod>_<uid>/\n",
        repo_root().display()
    );
    eprintln!("{report}");
}

fn describe_pod(pod: &Pod) -> String {
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let status = pod.status.clone().unwrap_or_default();
    let mut text = format!(
        "pod {name}: phase {} on {} ip {}\n",
        status.phase.as_deref().unwrap_or("?"),
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("(unscheduled)"),
        status.pod_ip.as_deref().unwrap_or("-"),
    );
    for condition in status.conditions.unwrap_or_default() {
        text += &format!(
            "  condition {}={} {}\n",
            condition.type_,
            condition.status,
            condition.message.unwrap_or_default()
        );
    }
    let containers = status
        .init_container_statuses
        .unwrap_or_default()
        .into_iter()
        .chain(status.container_statuses.unwrap_or_default());
    for container in containers {
        let state = serde_json::to_string(&container.state).unwrap_or_default();
        text += &format!(
            "  container {}: ready={} restarts={} state={state}\n",
            container.name, container.ready, container.restart_count
        );
    }
    text
}
