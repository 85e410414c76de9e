//! Pure: what one reconcile decided to do, in the order `apply` carries it out.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::DynamicObject;

use crd_types::cruise_control_operation::CruiseControlTask;
use crd_types::{CruiseControlOperation, KafkaTopic};

use super::outcome::StatusDraft;

/// Everything one reconcile does: the writes in order, the events, and the status it leads to.
#[derive(Debug, Default)]
pub struct Plan {
    /// Carried out one after the other; the first failure ends the pass (see `apply`).
    pub steps: Vec<Step>,
    /// Events to publish whatever the writes did.
    pub notices: Vec<Notice>,
    /// The status, but for what only the writes can tell (Kafka's answer to a config change).
    pub status: StatusDraft,
    /// Nothing is in flight: the next look is the periodic resync.
    pub settled: bool,
}

/// One write, and the event it is worth once it changed something.
#[derive(Debug)]
pub struct Step {
    pub action: Action,
    pub notice: Option<Notice>,
}

impl Step {
    pub fn new(action: Action) -> Self {
        Self { action, notice: None }
    }

    pub fn noted(action: Action, notice: Notice) -> Self {
        Self { action, notice: Some(notice) }
    }
}

#[derive(Debug)]
pub enum Action {
    /// `status.clusterID`, and how the KRaft quorum is formed (`status.kraft`), written before
    /// any pod exists: pods format their storage with both.
    RecordClusterId {
        id: String,
        kraft: Option<crd_types::kafka_cluster::KraftStatus>,
    },
    /// Server-side apply of an object the operator owns (its desired-hash stamped on).
    Apply(Box<Desired>),
    /// Replace (PUT, guarded by the resourceVersion it carries) an object another operator
    /// made: nothing of what it set survives, so no field of its can clash with ours (e.g. a
    /// Deployment's `strategy.rollingUpdate`, which a server-side apply of `Recreate` would
    /// leave to its owner and the apiserver then refuses).
    Replace(Box<Desired>),
    /// Create an object whose name was derived from what it is for: a 409 means an earlier pass
    /// created it already.
    Create(Box<Created>),
    /// Create a CruiseControlOperation and set its task (a status subresource: two writes).
    CreateOperation {
        operation: Box<CruiseControlOperation>,
        task: Box<CruiseControlTask>,
    },
    /// Raise a claim's storage request.
    GrowClaim {
        claim: String,
        size: Quantity,
    },
    Delete {
        kind: OwnedKind,
        name: String,
    },
    /// Delete a broker pod so that its replacement starts with the desired configuration.
    RestartPod {
        pod: String,
    },
    /// Server-side apply of cert-manager's issuers and certificates for the cluster, in order;
    /// `fingerprint` is remembered once they are applied, so an unchanged set is not applied
    /// again by this process.
    ApplyCertManager {
        objects: Vec<DynamicObject>,
        fingerprint: u64,
    },
    /// Set a broker's dynamic configuration through Kafka (validated first).
    AlterBrokerConfig {
        broker: i32,
        change: ConfigChange,
    },
    /// Add or remove one voter of a dynamic KRaft quorum through Kafka.
    ChangeVoters {
        change: super::quorum::VoterChange,
    },
    /// Raise the finalized `metadata.version` through Kafka.
    UpgradeMetadataVersion {
        from: i16,
        to: i16,
        kafka_version: String,
    },
}

// Held boxed in `Action`, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Desired {
    ConfigMap(ConfigMap),
    Service(Service),
    PodDisruptionBudget(PodDisruptionBudget),
    Deployment(Deployment),
    KafkaTopic(KafkaTopic),
    EndpointSlice(EndpointSlice),
    /// A certificate the operator's CA issued.
    Secret(Secret),
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Created {
    Pod(Pod),
    Claim(PersistentVolumeClaim),
    /// The operator's CA: created, never overwritten (its Secret may hold a CA the user made).
    Secret(Secret),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnedKind {
    Pod,
    ConfigMap,
    Service,
    PodDisruptionBudget,
    Deployment,
    PersistentVolumeClaim,
    EndpointSlice,
}

/// An event for the KafkaCluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    /// CamelCase, e.g. `BrokerPodCreated`.
    pub reason: &'static str,
    /// What the operator did, e.g. `CreatePod`.
    pub action: &'static str,
    pub note: String,
}

impl Notice {
    pub fn normal(reason: &'static str, action: &'static str, note: String) -> Self {
        Self { warning: false, reason, action, note }
    }

    pub fn warning(reason: &'static str, action: &'static str, note: String) -> Self {
        Self { warning: true, reason, action, note }
    }
}

/// A change to one broker resource: what to set and what to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigChange {
    pub set: BTreeMap<String, String>,
    pub delete: Vec<String>,
}

impl ConfigChange {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            let set: Vec<String> = self.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("set {}", set.join(", ")));
        }
        if !self.delete.is_empty() {
            parts.push(format!("removed {}", self.delete.join(", ")));
        }
        parts.join("; ")
    }
}
