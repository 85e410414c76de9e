//! The `standard` StorageClass: a hostPath provisioner (one directory per PVC
//! under `<state>/volumes`), PV deletion on Delete reclaim, and volume expansion. And
//! `local-path` (named as on the real-kubelet test bed): the same volumes, bound the way a
//! node-local class binds (`WaitForFirstConsumer`): a claim is provisioned only once the
//! scheduler picked a node for the pod that uses it (`volume.kubernetes.io/selected-node`),
//! and its volume is pinned to that node.

use std::{path::PathBuf, sync::Arc, time::Duration};

use k8s_openapi::api::{
    core::v1::{PersistentVolume, PersistentVolumeClaim},
    storage::v1::StorageClass,
};
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

use crate::{cluster::ClusterCache, env::parse_quantity};

pub const PROVISIONER: &str = "koperator-rs.io/node-agent-hostpath";
const CLASS: &str = "standard";
const NODE_LOCAL_CLASS: &str = "local-path";
/// Set by the scheduler on a claim of a `WaitForFirstConsumer` class once it placed the pod.
const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

pub async fn ensure_storage_class(client: &Client) -> anyhow::Result<()> {
    let api: Api<StorageClass> = Api::all(client.clone());
    let standard: StorageClass = serde_json::from_value(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate", "allowVolumeExpansion": true,
    }))?;
    let node_local: StorageClass = serde_json::from_value(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": NODE_LOCAL_CLASS},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
    }))?;
    for class in [standard, node_local] {
        if api.get_opt(class.metadata.name.as_deref().unwrap_or_default()).await?.is_none() {
            api.create(&PostParams::default(), &class).await?;
        }
    }
    Ok(())
}

pub async fn run(client: Client, cache: ClusterCache, volumes_dir: PathBuf) {
    let state = Arc::new((client, cache, volumes_dir));
    loop {
        for claim in state.1.claims.state() {
            if let Err(error) = reconcile_claim(&state.0, &state.1, &state.2, &claim).await {
                tracing::warn!(claim = ?claim.metadata.name, %error, "pvc reconcile failed");
            }
        }
        for volume in state.1.volumes.state() {
            if let Err(error) = reclaim(&state.0, &volume).await {
                tracing::warn!(volume = ?volume.metadata.name, %error, "pv reclaim failed");
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn requested(claim: &PersistentVolumeClaim) -> Option<String> {
    claim.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage").map(|q| q.0.clone())
}

async fn reconcile_claim(
    client: &Client,
    cache: &ClusterCache,
    dir: &std::path::Path,
    claim: &PersistentVolumeClaim,
) -> anyhow::Result<()> {
    let spec = claim.spec.as_ref();
    let Some(class @ (CLASS | NODE_LOCAL_CLASS)) = spec.and_then(|s| s.storage_class_name.as_deref()) else {
        return Ok(());
    };
    if claim.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    // A node-local claim waits for its first consumer: the node the scheduler picked for it.
    let selected_node = claim.metadata.annotations.as_ref().and_then(|a| a.get(SELECTED_NODE)).cloned();
    if class == NODE_LOCAL_CLASS && selected_node.is_none() {
        return Ok(());
    }
    let node_affinity = selected_node.map(|node| {
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
        ]}]}})
    });
    let namespace = claim.metadata.namespace.clone().unwrap_or_default();
    let name = claim.metadata.name.clone().unwrap_or_default();
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let size = requested(claim).unwrap_or_else(|| "1Gi".into());
    let pv_name = format!("pvc-{uid}");
    let bound_to = spec.and_then(|s| s.volume_name.clone()).filter(|v| !v.is_empty());
    match bound_to {
        None => {
            if cache.volume(&pv_name).is_some() {
                return Ok(());
            }
            let path = dir.join(&pv_name);
            std::fs::create_dir_all(&path)?;
            let access_modes =
                spec.and_then(|s| s.access_modes.clone()).unwrap_or_else(|| vec!["ReadWriteOnce".into()]);
            let pv: PersistentVolume = serde_json::from_value(json!({
                "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
                "spec": {
                    "capacity": {"storage": size}, "accessModes": access_modes,
                    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": class,
                    "nodeAffinity": node_affinity,
                    "volumeMode": spec.and_then(|s| s.volume_mode.clone()).unwrap_or_else(|| "Filesystem".into()),
                    "hostPath": {"path": path.display().to_string(), "type": "DirectoryOrCreate"},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace, "name": name, "uid": uid},
                },
            }))?;
            Api::<PersistentVolume>::all(client.clone()).create(&PostParams::default(), &pv).await?;
            tracing::info!(%namespace, %name, pv = %pv_name, "provisioned volume");
        }
        Some(volume_name) => {
            let Some(pv) = cache.volume(&volume_name) else { return Ok(()) };
            let provisioned_by_us = pv
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("pv.kubernetes.io/provisioned-by"))
                .map(String::as_str)
                == Some(PROVISIONER);
            let current = claim
                .status
                .as_ref()
                .and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.clone());
            let bigger = match (parse_quantity(&size), current.as_deref().and_then(parse_quantity)) {
                (Some(want), Some(have)) => want > have,
                _ => false,
            };
            if provisioned_by_us && bigger {
                let patch = json!({"spec": {"capacity": {"storage": size}}});
                Api::<PersistentVolume>::all(client.clone())
                    .patch(&volume_name, &PatchParams::default(), &Patch::Merge(patch))
                    .await?;
                let status = json!({"status": {"capacity": {"storage": size}, "allocatedResources": {"storage": size}, "conditions": null}});
                Api::<PersistentVolumeClaim>::namespaced(client.clone(), &namespace)
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await?;
                tracing::info!(%namespace, %name, %size, "expanded volume");
            }
        }
    }
    Ok(())
}

async fn reclaim(client: &Client, pv: &PersistentVolume) -> anyhow::Result<()> {
    let ours =
        pv.metadata.annotations.as_ref().and_then(|a| a.get("pv.kubernetes.io/provisioned-by")).map(String::as_str)
            == Some(PROVISIONER);
    let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let delete = pv.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()) == Some("Delete");
    if !(ours && released && delete) || pv.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    if let Some(path) = pv.spec.as_ref().and_then(|s| s.host_path.as_ref()).map(|h| h.path.clone()) {
        let _ = std::fs::remove_dir_all(&path);
    }
    let name = pv.metadata.name.clone().unwrap_or_default();
    Api::<PersistentVolume>::all(client.clone()).delete(&name, &DeleteParams::default()).await?;
    tracing::info!(pv = %name, "deleted released volume");
    Ok(())
}
