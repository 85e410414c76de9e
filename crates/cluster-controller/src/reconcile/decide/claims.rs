//! Pure: volume growth from the spec. A storage config asking for more than its claim holds
//! grows the claim (Kafka's most common incident is a full disk); a smaller size is refused —
//! Kubernetes cannot shrink a volume — and so is growth on a StorageClass that does not allow
//! expansion. No pod is replaced: the volume plugin grows the filesystem under the running
//! broker, or at the pod's next restart where it cannot do that online.

use std::fmt;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt;

use crd_types::labels::MOUNT_PATH_ANNOTATION;

use crate::actions::disks::bytes;
use crate::build::fill_placeholders;
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

use super::plan::{Action, Notice, Step};

/// A claim whose size differs from what the spec asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimResize {
    /// The claim asks for `to`; the volume holds `from` so far.
    Growing { claim: String, from: String, to: String, progress: ResizeProgress },
    /// The spec asks for less than the claim holds.
    ShrinkRefused { claim: String, broker: i32, mount_path: String, current: String, requested: String },
    /// The claim's StorageClass does not allow expansion (or does not exist any more).
    NotExpandable { claim: String, class: String, requested: String },
}

/// Where a growing volume is, from the claim's conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeProgress {
    /// The volume plugin's resizer has not started (or there is none for this class).
    Requested,
    /// The resizer is growing the volume.
    Resizing,
    /// The volume grew; the kubelet grows the filesystem, online or when the pod restarts.
    FileSystemResizePending,
}

impl ClaimResize {
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Growing { .. })
    }
}

impl fmt::Display for ClaimResize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Growing { claim, from, to, progress } => {
                let stage = match progress {
                    ResizeProgress::Requested => "waiting for the volume plugin's resizer",
                    ResizeProgress::Resizing => "the volume is being resized",
                    ResizeProgress::FileSystemResizePending => {
                        "the volume grew; the filesystem grows online or at the pod's next restart"
                    }
                };
                write!(f, "PersistentVolumeClaim {claim} grows from {from} to {to}: {stage}")
            }
            Self::ShrinkRefused { claim, broker, mount_path, current, requested } => write!(
                f,
                "PersistentVolumeClaim {claim} (broker {broker}, {mount_path}) holds {current} and cannot shrink to \
                 {requested}; set pvcSpec.resources.requests.storage to at least {current}"
            ),
            Self::NotExpandable { claim, class, requested } => write!(
                f,
                "PersistentVolumeClaim {claim} cannot grow to {requested}: its StorageClass {class:?} does not set \
                 allowVolumeExpansion: true; allow expansion on the class, or keep the size"
            ),
        }
    }
}

/// Grows the claims of the brokers in `cluster` that the spec asks to grow; returns every
/// claim whose size differs from the spec's, for the status.
pub fn plan(cluster: &ValidatedCluster, observed: &ObservedCluster, steps: &mut Vec<Step>) -> Vec<ClaimResize> {
    let mut resizes = Vec::new();
    for broker in &cluster.brokers {
        let claims = observed.claims.get(&broker.id).map(Vec::as_slice).unwrap_or_default();
        for storage in &broker.config.storage_configs {
            let Some(spec) = &storage.pvc_spec else { continue };
            let spec = fill_placeholders(spec, broker.id, &storage.mount_path);
            let Some(wanted) = storage_request(spec.resources.as_ref().and_then(|r| r.requests.as_ref())) else {
                continue;
            };
            let Some(claim) = claims.iter().find(|c| {
                c.annotations().get(MOUNT_PATH_ANNOTATION) == Some(&storage.mount_path)
                    && c.metadata.deletion_timestamp.is_none()
            }) else {
                continue;
            };
            let name = claim.name_any();
            let requested = claim_request(claim);
            let Some((wanted_bytes, requested_bytes)) =
                bytes(&wanted.0).ok().zip(requested.as_ref().and_then(|r| bytes(&r.0).ok()))
            else {
                continue;
            };
            let current = requested.as_ref().map_or_else(String::new, |q| q.0.clone());
            if wanted_bytes < requested_bytes {
                resizes.push(ClaimResize::ShrinkRefused {
                    claim: name,
                    broker: broker.id,
                    mount_path: storage.mount_path.clone(),
                    current,
                    requested: wanted.0.clone(),
                });
                continue;
            }
            if wanted_bytes > requested_bytes {
                let class = claim
                    .spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.clone())
                    .or_else(|| observed.default_storage_class.clone())
                    .unwrap_or_default();
                if !observed.storage_classes.get(&class).is_some_and(|c| c.allows_expansion) {
                    resizes.push(ClaimResize::NotExpandable { claim: name, class, requested: wanted.0.clone() });
                    continue;
                }
                let note = format!(
                    "growing PersistentVolumeClaim {name} of broker {} ({}) from {current} to {}",
                    broker.id, storage.mount_path, wanted.0
                );
                steps.push(Step::noted(
                    Action::GrowClaim { claim: name.clone(), size: wanted.clone() },
                    Notice::normal("VolumeGrowing", "GrowVolume", note),
                ));
                resizes.push(ClaimResize::Growing {
                    claim: name,
                    from: capacity(claim).unwrap_or(current),
                    to: wanted.0.clone(),
                    progress: ResizeProgress::Requested,
                });
                continue;
            }
            if let Some(growing) = growing(claim, &wanted) {
                resizes.push(growing);
            }
        }
    }
    resizes
}

fn storage_request(requests: Option<&std::collections::BTreeMap<String, Quantity>>) -> Option<Quantity> {
    requests?.get("storage").cloned()
}

fn claim_request(claim: &PersistentVolumeClaim) -> Option<Quantity> {
    storage_request(claim.spec.as_ref()?.resources.as_ref()?.requests.as_ref())
}

fn capacity(claim: &PersistentVolumeClaim) -> Option<String> {
    claim.status.as_ref()?.capacity.as_ref()?.get("storage").map(|q| q.0.clone())
}

/// A claim already asking for `wanted` whose volume is still smaller.
fn growing(claim: &PersistentVolumeClaim, wanted: &Quantity) -> Option<ClaimResize> {
    let held = capacity(claim)?;
    if bytes(&held).ok()? >= bytes(&wanted.0).ok()? {
        return None;
    }
    let conditions = claim.status.as_ref().and_then(|s| s.conditions.as_ref());
    let has = |type_: &str| conditions.is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == "True"));
    let progress = if has("FileSystemResizePending") {
        ResizeProgress::FileSystemResizePending
    } else if has("Resizing") {
        ResizeProgress::Resizing
    } else {
        ResizeProgress::Requested
    };
    Some(ClaimResize::Growing { claim: claim.name_any(), from: held, to: wanted.0.clone(), progress })
}
