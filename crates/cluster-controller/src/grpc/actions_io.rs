//! Every request the ClusterActions service makes to the apiserver: reading and patching the
//! KafkaCluster, listing its operations and claims, growing a claim, and events.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::Reporter;
use kube::{Api, Client, Resource as _, ResourceExt};
use serde_json::json;
use tonic::Status;

use crd_types::labels::{BROKER_ID, KAFKA_CR, MOUNT_PATH_ANNOTATION};
use crd_types::{CruiseControlOperation, KafkaCluster};
use grpc_contracts::actions_v1::{ClusterRef, grow_disk_request};

/// Field manager of the KafkaCluster and claim patches alert actions make.
pub const FIELD_MANAGER: &str = "cluster-controller-alert-actions";

/// The client, and who the events come from.
pub struct ActionsIo {
    pub client: Client,
    pub reporter: Reporter,
}

/// How a guarded patch of the KafkaCluster went.
pub enum Patched {
    Done,
    /// Someone wrote the KafkaCluster since it was read: read again and decide again.
    Conflict,
}

/// Event types, as the events API spells them.
#[derive(Clone, Copy)]
pub enum EventType {
    Normal,
    Warning,
}

impl ActionsIo {
    fn clusters(&self, namespace: &str) -> Api<KafkaCluster> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub async fn read(&self, cluster: &ClusterRef) -> Result<KafkaCluster, Status> {
        self.clusters(&cluster.namespace)
            .get_opt(&cluster.name)
            .await
            .map_err(|error| Status::unavailable(format!("failed to read the KafkaCluster: {error}")))?
            .ok_or_else(|| {
                Status::not_found(format!("KafkaCluster {}/{} does not exist", cluster.namespace, cluster.name))
            })
    }

    pub async fn operations(&self, cluster: &ClusterRef) -> Result<Vec<CruiseControlOperation>, Status> {
        let api: Api<CruiseControlOperation> = Api::namespaced(self.client.clone(), &cluster.namespace);
        let selector = ListParams::default().labels(&format!("{KAFKA_CR}={}", cluster.name));
        api.list(&selector)
            .await
            .map(|list| list.items)
            .map_err(|error| Status::unavailable(format!("failed to list CruiseControlOperations: {error}")))
    }

    /// A merge patch of the KafkaCluster, guarded by the resourceVersion `patch` carries.
    pub async fn patch_cluster(&self, cluster: &ClusterRef, patch: &serde_json::Value) -> Result<Patched, Status> {
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        match self.clusters(&cluster.namespace).patch(&cluster.name, &params, &Patch::Merge(patch)).await {
            Ok(_) => Ok(Patched::Done),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Patched::Conflict),
            Err(error) => Err(Status::unavailable(format!("failed to write the KafkaCluster: {error}"))),
        }
    }

    /// One event per action taken or refused. Written directly rather than through kube's
    /// `Recorder`, which folds events of the same reason into one series and keeps the first
    /// note: each refusal must say its own reason. Best effort: failing to record one must not
    /// fail the action.
    pub async fn publish(&self, cluster: &KafkaCluster, type_: EventType, reason: &str, note: String) {
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

    pub async fn grow_claim(&self, namespace: &str, claim: &str, size: &str) -> Result<(), Status> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({"spec": {"resources": {"requests": {"storage": size}}}});
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        api.patch(claim, &params, &Patch::Merge(&patch)).await.map(|_| ()).map_err(|error| {
            Status::failed_precondition(format!("failed to grow PersistentVolumeClaim {claim}: {error}"))
        })
    }

    /// The claim of broker `broker_id` for the volume the request names, and its mount path.
    pub async fn claim(
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
