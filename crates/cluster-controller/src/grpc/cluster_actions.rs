//! `koperator.actions.v1.ClusterActions`: alert-driven changes of a KafkaCluster. The decisions
//! are the pure functions of `crate::actions`; this module reads, calls them and writes.
//!
//! Only the leader answers (UNAVAILABLE elsewhere, so the caller retries on another replica).
//! Every write of a KafkaCluster is a merge patch carrying the resourceVersion that was read, so
//! even two replicas that both believe they lead cannot both add a broker: the second write gets
//! 409 Conflict, re-reads, and finds the first one's idempotency key in the ledger.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::runtime::events::Reporter;
use kube::{Client, ResourceExt};
use serde_json::json;
use tonic::{Request, Response, Status};

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::StorageConfig;
use grpc_contracts::actions_v1::cluster_actions_server::ClusterActions;
use grpc_contracts::actions_v1::{
    ActionOrigin, ActionResult, AddBrokerRequest, AddBrokerResponse, AddDiskRequest, AddDiskResponse, ClusterRef,
    DiskSpec, GrowDiskRequest, GrowDiskResponse, Outcome, RemoveBrokerRequest, RemoveBrokerResponse,
    ReportRollingUpgradeAlertsRequest, ReportRollingUpgradeAlertsResponse, add_broker_request, remove_broker_request,
};

use crate::actions::brokers::{self, NewBrokerSettings};
use crate::actions::disks::{self, Growth, NewDisk};
use crate::actions::ledger::{self, Ledger};
use crate::actions::{Rejection, SpecChange, gates, rolling_upgrade_alerts};
use crate::model::{self, ValidatedCluster};
use crate::reconcile::observe::cruise_control::replicas_per_broker;

use super::actions_io::{ActionsIo, EventType, Patched};

/// Conflicting writes tolerated before giving up (the caller retries with the same key).
const WRITE_ATTEMPTS: usize = 5;
const MAX_KEY_LENGTH: usize = 253;

/// Whether this replica leads; set by `main` around the controllers' run.
pub type Leading = Arc<AtomicBool>;

pub struct ClusterActionsService {
    io: ActionsIo,
    leading: Leading,
}

/// An allowed action, and the claim to grow before the spec says so.
struct Plan {
    change: SpecChange,
    claim_resize: Option<(String, String)>,
}

impl From<SpecChange> for Plan {
    fn from(change: SpecChange) -> Self {
        Self { change, claim_resize: None }
    }
}

/// What the controller did, before it becomes a response.
struct Answer {
    outcome: Outcome,
    reason: String,
    broker_id: Option<i32>,
}

impl Answer {
    fn result(&self) -> Option<ActionResult> {
        Some(ActionResult { outcome: self.outcome as i32, reason: self.reason.clone() })
    }
}

impl ClusterActionsService {
    pub fn new(client: Client, leading: Leading, reporter: Reporter) -> Self {
        Self { io: ActionsIo { client, reporter }, leading }
    }

    /// The checks every action shares: leadership, the cluster reference and the key.
    fn admit(
        &self,
        cluster: Option<ClusterRef>,
        origin: Option<ActionOrigin>,
    ) -> Result<(ClusterRef, ActionOrigin), Status> {
        if !self.leading.load(Ordering::Relaxed) {
            return Err(Status::unavailable("this cluster-controller replica is not the leader; retry"));
        }
        let cluster = cluster.unwrap_or_default();
        if cluster.namespace.is_empty() || cluster.name.is_empty() {
            return Err(Status::invalid_argument("cluster.namespace and cluster.name are required"));
        }
        let origin = origin.unwrap_or_default();
        if origin.idempotency_key.is_empty() || origin.idempotency_key.len() > MAX_KEY_LENGTH {
            return Err(Status::invalid_argument("origin.idempotency_key is required, at most 253 characters"));
        }
        Ok((cluster, origin))
    }

    /// Reads, decides with `decide`, checks the gates, and writes the change together with its
    /// idempotency key; again on a conflicting write.
    #[tracing::instrument(
        name = "carry out alert action",
        skip_all,
        fields(namespace = %cluster_ref.namespace, cluster = %cluster_ref.name, key = %origin.idempotency_key),
    )]
    async fn carry_out<D>(
        &self,
        cluster_ref: &ClusterRef,
        origin: &ActionOrigin,
        mut decide: D,
    ) -> Result<Answer, Status>
    where
        D: FnMut(&ValidatedCluster, &KafkaCluster) -> Result<Plan, Rejection>,
    {
        for _ in 0..WRITE_ATTEMPTS {
            let cluster = self.io.read(cluster_ref).await?;
            let mut ledger = Ledger::of(&cluster);
            if let Some(entry) = ledger.find(&origin.idempotency_key) {
                let reason = format!("already done at {}: {}", entry.at, entry.action);
                return Ok(Answer { outcome: Outcome::AlreadyDone, reason, broker_id: entry.broker_id });
            }
            let validated = model::validate(&cluster).map_err(|problems| {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                Status::failed_precondition(format!("the KafkaCluster spec cannot work: {}", problems.join("; ")))
            })?;
            let operations = self.io.operations(cluster_ref).await?;
            let status = cluster.status.as_ref();
            // The limits come first (inside `decide`): they say what waiting will not change.
            let decided = decide(&validated, &cluster)
                .and_then(|plan| gates::running(status).map(|()| plan))
                .and_then(|plan| gates::cruise_control_idle(status, &operations).map(|()| plan));
            let plan = match decided {
                Ok(plan) => plan,
                Err(rejection) => return self.rejected(&cluster, origin, rejection).await,
            };
            if let Some((claim, size)) = &plan.claim_resize {
                // Before the spec: a retry after a crash in between computes the same size again.
                self.io.grow_claim(&cluster_ref.namespace, claim, size).await?;
            }
            ledger.record(&origin.idempotency_key, &plan.change.summary, Some(plan.change.broker_id));
            let patch = json!({
                "metadata": {
                    "resourceVersion": cluster.resource_version(),
                    "annotations": {ledger::ANNOTATION: ledger.to_annotation()},
                },
                "spec": {"brokers": plan.change.brokers},
            });
            match self.io.patch_cluster(cluster_ref, &patch).await? {
                Patched::Conflict => continue,
                Patched::Done => {
                    let note = format!("{} ({})", plan.change.summary, origin.reason);
                    self.io.publish(&cluster, EventType::Normal, "AlertActionTaken", note).await;
                    tracing::info!(cluster = %cluster_ref.name, key = %origin.idempotency_key, "{}", plan.change.summary);
                    return Ok(Answer {
                        outcome: Outcome::Accepted,
                        reason: plan.change.summary,
                        broker_id: Some(plan.change.broker_id),
                    });
                }
            }
        }
        Err(Status::aborted("the KafkaCluster kept changing while the action was written; retry with the same key"))
    }

    async fn rejected(
        &self,
        cluster: &KafkaCluster,
        origin: &ActionOrigin,
        rejection: Rejection,
    ) -> Result<Answer, Status> {
        match rejection {
            Rejection::Refused(reason) => {
                let note = format!("refused: {reason} ({})", origin.reason);
                self.io.publish(cluster, EventType::Warning, "AlertActionRefused", note).await;
                Ok(Answer { outcome: Outcome::Refused, reason, broker_id: None })
            }
            Rejection::AlreadyHolds(reason) => Ok(Answer { outcome: Outcome::AlreadyDone, reason, broker_id: None }),
            Rejection::NotFound(reason) => Err(Status::not_found(reason)),
            Rejection::InvalidArgument(reason) => Err(Status::invalid_argument(reason)),
        }
    }
}

fn claim_bytes(claim: &PersistentVolumeClaim) -> u128 {
    let request = claim.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref());
    request.and_then(|r| r.get("storage")).and_then(|q| disks::bytes(&q.0).ok()).unwrap_or(0)
}

fn storage_config(disk: &DiskSpec) -> Result<StorageConfig, Status> {
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

#[tonic::async_trait]
impl ClusterActions for ClusterActionsService {
    async fn add_broker(&self, request: Request<AddBrokerRequest>) -> Result<Response<AddBrokerResponse>, Status> {
        let request = request.into_inner();
        let (cluster, origin) = self.admit(request.cluster, request.origin)?;
        let settings = match request.broker_settings {
            None => NewBrokerSettings::DefaultGroup,
            Some(add_broker_request::BrokerSettings::BrokerConfigGroup(group)) => NewBrokerSettings::Group(group),
            Some(add_broker_request::BrokerSettings::ExplicitSettings(explicit)) => NewBrokerSettings::Explicit {
                image: Some(explicit.image).filter(|image| !image.is_empty()),
                storage: explicit.disks.iter().map(storage_config).collect::<Result<_, _>>()?,
            },
        };
        let answer = self
            .carry_out(&cluster, &origin, |validated, object| {
                brokers::add_broker(validated, object.status.as_ref(), &settings).map(Plan::from)
            })
            .await?;
        Ok(Response::new(AddBrokerResponse { result: answer.result(), broker_id: answer.broker_id }))
    }

    async fn remove_broker(
        &self,
        request: Request<RemoveBrokerRequest>,
    ) -> Result<Response<RemoveBrokerResponse>, Status> {
        let request = request.into_inner();
        let (cluster, origin) = self.admit(request.cluster, request.origin)?;
        let target = match request.target {
            Some(remove_broker_request::Target::BrokerId(id)) => id,
            Some(remove_broker_request::Target::FewestReplicas(_)) => {
                let object = self.io.read(&cluster).await?;
                if let Some(entry) = Ledger::of(&object).find(&origin.idempotency_key) {
                    let reason = format!("already done at {}: {}", entry.at, entry.action);
                    let result = Some(ActionResult { outcome: Outcome::AlreadyDone as i32, reason });
                    return Ok(Response::new(RemoveBrokerResponse { result, broker_id: entry.broker_id }));
                }
                let validated = model::validate(&object)
                    .map_err(|_| Status::failed_precondition("the KafkaCluster spec cannot work; see its status"))?;
                let chosen = match replicas_per_broker(&validated).await {
                    Ok(replicas) => brokers::fewest_replicas(&validated, &replicas),
                    Err(error) => Err(Rejection::Refused(format!(
                        "Cruise Control cannot tell replica counts: {}",
                        operator_runtime::error_chain(&error)
                    ))),
                };
                match chosen {
                    Ok(id) => id,
                    Err(rejection) => {
                        let answer = self.rejected(&object, &origin, rejection).await?;
                        return Ok(Response::new(RemoveBrokerResponse { result: answer.result(), broker_id: None }));
                    }
                }
            }
            None => return Err(Status::invalid_argument("target (broker_id or fewest_replicas) is required")),
        };
        let answer = self
            .carry_out(&cluster, &origin, |validated, object| {
                brokers::remove_broker(validated, object.status.as_ref(), target).map(Plan::from)
            })
            .await?;
        Ok(Response::new(RemoveBrokerResponse { result: answer.result(), broker_id: answer.broker_id }))
    }

    async fn add_disk(&self, request: Request<AddDiskRequest>) -> Result<Response<AddDiskResponse>, Status> {
        let request = request.into_inner();
        let (cluster, origin) = self.admit(request.cluster, request.origin)?;
        let disk = request.disk.unwrap_or_default();
        let new_disk = NewDisk {
            mount_path: disk.mount_path,
            mount_path_prefix: request.mount_path_prefix,
            size: disk.size,
            storage_class: disk.storage_class,
        };
        if new_disk.mount_path.is_empty() && new_disk.mount_path_prefix.is_empty() {
            return Err(Status::invalid_argument("disk.mount_path or mount_path_prefix is required"));
        }
        let broker_id = request.broker_id;
        let answer = self
            .carry_out(&cluster, &origin, |validated, _| {
                disks::add_disk(validated, broker_id, &new_disk).map(Plan::from)
            })
            .await?;
        Ok(Response::new(AddDiskResponse { result: answer.result() }))
    }

    async fn grow_disk(&self, request: Request<GrowDiskRequest>) -> Result<Response<GrowDiskResponse>, Status> {
        let request = request.into_inner();
        let (cluster, origin) = self.admit(request.cluster, request.origin)?;
        let growth = match (request.new_size.is_empty(), request.increment_by.is_empty()) {
            (false, _) => Growth::To(request.new_size),
            (true, false) => Growth::By(request.increment_by),
            (true, true) => return Err(Status::invalid_argument("new_size or increment_by is required")),
        };
        let broker_id = request.broker_id;
        let (claim, mount_path) = self.io.claim(&cluster, broker_id, request.volume.as_ref()).await?;
        let claim_name = claim.name_any();
        let claim_size = claim_bytes(&claim);
        let answer = self
            .carry_out(&cluster, &origin, |validated, _| {
                let grown = disks::grow_disk(validated, broker_id, &mount_path, &growth)?;
                // A claim grown by hand beyond the spec stays as it is: claims cannot shrink.
                let claim_resize =
                    (claim_size < grown.new_size_bytes).then(|| (claim_name.clone(), grown.new_size.clone()));
                Ok(Plan { change: grown.change, claim_resize })
            })
            .await?;
        Ok(Response::new(GrowDiskResponse { result: answer.result() }))
    }

    async fn report_rolling_upgrade_alerts(
        &self,
        request: Request<ReportRollingUpgradeAlertsRequest>,
    ) -> Result<Response<ReportRollingUpgradeAlertsResponse>, Status> {
        let request = request.into_inner();
        let placeholder = Some(ActionOrigin { idempotency_key: "report".to_owned(), ..Default::default() });
        let (cluster_ref, _) = self.admit(request.cluster, placeholder)?;
        for _ in 0..WRITE_ATTEMPTS {
            let cluster = self.io.read(&cluster_ref).await?;
            let before = rolling_upgrade_alerts::firing(&cluster);
            let after = rolling_upgrade_alerts::after_report(
                &before,
                &request.firing_fingerprints,
                &request.resolved_fingerprints,
            );
            let count = rolling_upgrade_alerts::alert_count(&after);
            if before != after {
                let patch = json!({"metadata": {
                    "resourceVersion": cluster.resource_version(),
                    "annotations": {rolling_upgrade_alerts::ANNOTATION: rolling_upgrade_alerts::to_annotation(&after)},
                }});
                if let Patched::Conflict = self.io.patch_cluster(&cluster_ref, &patch).await? {
                    continue;
                }
            }
            // status.alertCount is the reconciler's: it derives it from the annotation, whose
            // change wakes it. Writing it here too raced with its status writes.
            return Ok(Response::new(ReportRollingUpgradeAlertsResponse { alert_count: count }));
        }
        Err(Status::aborted("the KafkaCluster kept changing; retry"))
    }
}

#[cfg(test)]
#[path = "cluster_actions_tests.rs"]
mod tests;
