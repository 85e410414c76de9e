//! Node registration, status heartbeats and node Leases (kube-node-lease).

use std::time::Duration;

use anyhow::Result;
use k8s_openapi::{
    api::{coordination::v1::Lease, core::v1::Node},
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use crate::network::NodeInfo;

const HEARTBEAT: Duration = Duration::from_secs(10);
const LEASE_SECONDS: i32 = 40;

fn node_object(node: &NodeInfo) -> Result<Node> {
    Ok(serde_json::from_value(json!({
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
                "topology.kubernetes.io/zone": node.zone,
                "node.kubernetes.io/instance-type": "testbed",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": node.pod_cidr(), "podCIDRs": [node.pod_cidr()]},
    }))?)
}

fn node_status(node: &NodeInfo) -> serde_json::Value {
    let now = Timestamp::now().to_string();
    let resources = json!({"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({"status": {
        "capacity": resources,
        "allocatable": resources,
        "addresses": [
            {"type": "InternalIP", "address": node.internal_ip().to_string()},
            {"type": "Hostname", "address": node.name},
        ],
        "conditions": [
            condition("Ready", "True", "KubeletReady", "node-agent is posting ready status (no cgroups: capacity is nominal)"),
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "no cgroups"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no cgroups"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "no cgroups"),
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            "machineID": "testbed", "systemUUID": node.name, "bootID": "testbed",
            "kernelVersion": "", "osImage": "koperator-rs test bed", "containerRuntimeVersion": "node-agent://0.1.0",
            "kubeletVersion": "v1.34.0", "kubeProxyVersion": "v1.34.0", "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH,
        },
    }})
}

pub async fn register(client: &Client, node: &NodeInfo) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let object = node_object(node)?;
    if nodes.get_opt(&node.name).await?.is_none() {
        nodes.create(&PostParams::default(), &object).await?;
    } else {
        let labels = json!({"metadata": {"labels": object.metadata.labels}});
        nodes.patch(&node.name, &PatchParams::default(), &Patch::Merge(labels)).await?;
    }
    nodes.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(node_status(node))).await?;
    Ok(())
}

async fn renew_lease(client: &Client, node: &NodeInfo) -> Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    // MicroTime: exactly six fractional digits or the apiserver rejects it.
    let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let body = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": node.name},
        "spec": {"holderIdentity": node.name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now},
    });
    leases.patch(&node.name, &PatchParams::apply("node-agent").force(), &Patch::Apply(body)).await?;
    Ok(())
}

/// Keeps node status and leases fresh until the process ends.
pub async fn heartbeat(client: Client, nodes: Vec<NodeInfo>) {
    loop {
        for node in &nodes {
            let nodes_api: Api<Node> = Api::all(client.clone());
            if let Err(error) = renew_lease(&client, node).await {
                tracing::warn!(node = %node.name, %error, "lease renewal failed");
            }
            let result =
                nodes_api.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(node_status(node))).await;
            if let Err(error) = result {
                tracing::warn!(node = %node.name, %error, "node status update failed; re-registering");
                let _ = register(&client, node).await;
            }
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}
