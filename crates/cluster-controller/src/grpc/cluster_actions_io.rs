//! The requests ClusterActions makes besides reading and patching the KafkaCluster: events,
//! the claim a disk action names, and Cruise Control's load for downScale.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource as _, ResourceExt};
use serde_json::json;
use tonic::Status;

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::StorageConfig;
use crd_types::labels::{BROKER_ID, KAFKA_CR, MOUNT_PATH_ANNOTATION};
use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint};
use grpc_contracts::actions_v1::{ClusterRef, DiskSpec, grow_disk_request};

use super::cluster_actions::{ClusterActionsService, FIELD_MANAGER};
use crate::actions::disks::{self, NewDisk};
use crate::model::ValidatedCluster;

/// Event types, as the events API spells them.
#[derive(Clone, Copy)]
pub(super) enum EventType {
    Normal,
    Warning,
}

impl ClusterActionsService {
    /// One event per action taken or refused. Written directly rather than through kube's
    /// `Recorder`, which folds events of the same reason into one series and keeps the first
    /// note: each refusal must say its own reason. Best effort: failing to record one must not
    /// fail the action.
    pub(super) async fn publish(&self, cluster: &KafkaCluster, type_: EventType, reason: &str, note: String) {
        let namespace = cluster.namespace().unwrap_or_default();
        let instance = self.reporter.instance.clone().unwrap_or_else(|| self.reporter.controller.clone());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-alert-", cluster.name_any())),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            event_time: Some(MicroTime(Timestamp::now())),
            type_: Some(match type_ {
                EventType::Normal => "Normal".to_owned(),
                EventType::Warning => "Warning".to_owned(),
            }),
            reason: Some(reason.to_owned()),
            action: Some("AlertAction".to_owned()),
            // The events API caps notes at 1 kB.
            note: Some(note.chars().take(1000).collect()),
            regarding: Some(cluster.object_ref(&())),
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(instance),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(error) = api.create(&PostParams::default(), &event).await {
            tracing::warn!(%error, "failed to publish an event");
        }
    }

    pub(super) async fn grow_claim(&self, namespace: &str, claim: &str, size: &str) -> Result<(), Status> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({"spec": {"resources": {"requests": {"storage": size}}}});
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        api.patch(claim, &params, &Patch::Merge(&patch)).await.map(|_| ()).map_err(|error| {
            Status::failed_precondition(format!("failed to grow PersistentVolumeClaim {claim}: {error}"))
        })
    }

    /// The claim of broker `broker_id` for the volume the request names, and its mount path.
    pub(super) async fn claim(
        &self,
        cluster: &ClusterRef,
        broker_id: i32,
        volume: Option<&grow_disk_request::Volume>,
    ) -> Result<(PersistentVolumeClaim, String), Status> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &cluster.namespace);
        let selector = ListParams::default().labels(&format!("{KAFKA_CR}={},{BROKER_ID}={broker_id}", cluster.name));
        let claims = api
            .list(&selector)
            .await
            .map_err(|error| Status::unavailable(format!("failed to list PersistentVolumeClaims: {error}")))?
            .items;
        let mount_path = |claim: &PersistentVolumeClaim| claim.annotations().get(MOUNT_PATH_ANNOTATION).cloned();
        let found = match volume {
            Some(grow_disk_request::Volume::PvcName(name)) => claims.into_iter().find(|c| &c.name_any() == name),
            Some(grow_disk_request::Volume::MountPath(path)) => {
                claims.into_iter().find(|c| mount_path(c).as_deref() == Some(path.as_str()))
            }
            None => return Err(Status::invalid_argument("volume (pvc_name or mount_path) is required")),
        };
        let claim = found.ok_or_else(|| {
            Status::not_found(format!(
                "broker {broker_id} of {} has no such PersistentVolumeClaim: {volume:?}",
                cluster.name
            ))
        })?;
        let path = mount_path(&claim).ok_or_else(|| {
            Status::failed_precondition(format!("claim {} has no mountPath annotation", claim.name_any()))
        })?;
        Ok((claim, path))
    }
}

/// Broker id → partition replicas it holds, as Cruise Control's `load` reports them.
pub(super) async fn replicas_per_broker(cluster: &ValidatedCluster) -> Result<BTreeMap<i32, i64>, String> {
    let endpoint = CruiseControlEndpoint::for_cluster(
        &cluster.name,
        &cluster.namespace,
        cluster.spec.cruise_control_config.cruise_control_endpoint.as_deref(),
        Some(&cluster.cluster_domain),
    )
    .map_err(|error| error.to_string())?;
    let client =
        CruiseControlClient::new(endpoint, ClientSettings::default()).map_err(|e| operator_runtime::error_chain(&e))?;
    let load = client.load().await.map_err(|error| operator_runtime::error_chain(&error))?;
    Ok(load.brokers.into_iter().filter_map(|b| Some((i32::try_from(b.broker).ok()?, b.replicas))).collect())
}

pub(super) fn claim_bytes(claim: &PersistentVolumeClaim) -> u128 {
    let request = claim.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref());
    request.and_then(|r| r.get("storage")).and_then(|q| disks::bytes(&q.0).ok()).unwrap_or(0)
}

pub(super) fn storage_config(disk: &DiskSpec) -> Result<StorageConfig, Status> {
    let new_disk = NewDisk {
        mount_path: disk.mount_path.clone(),
        size: disk.size.clone(),
        storage_class: disk.storage_class.clone(),
        ..Default::default()
    };
    if !new_disk.mount_path.starts_with('/') {
        return Err(Status::invalid_argument(format!("disk mount path {:?} is not absolute", new_disk.mount_path)));
    }
    disks::storage_config(&new_disk, &new_disk.mount_path)
        .map_err(|rejection| Status::invalid_argument(rejection.to_string()))
}
