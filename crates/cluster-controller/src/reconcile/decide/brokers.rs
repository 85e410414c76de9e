//! Pure: one broker's objects — its ConfigMap, its claims, then its pod, in that order,
//! because the pod mounts both — and where the broker stands. Claims are only ever created
//! here; growing them is `claims`', removing them graceful scaling's.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::build::{self, CONFIG_HASH_ANNOTATION, ObservedFacts};
use crate::model::{BrokerModel, ValidatedCluster, tainted};
use crate::reconcile::observe::ObservedCluster;

use super::apply_step;
use super::naming::deterministic_name;
use super::plan::{Action, Created, Desired, Notice, Step};

/// Where a broker stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerPhase {
    /// The pod follows once these claims are bound (or exist, for the pod to mount them).
    WaitingForStorage {
        claims: Vec<String>,
    },
    /// The pod follows once the brokers' certificate exists (it mounts its Secret).
    WaitingForCertificate {
        reason: String,
    },
    /// The pod follows once every external listener's address is known (it advertises it).
    WaitingForExternalAccess {
        reason: String,
    },
    /// The pod follows once the broker has a rack (`rackAwareness`: a node offering one).
    WaitingForRack {
        reason: String,
    },
    /// A pod of the broker is still terminating; the new one waits for its name.
    WaitingForOldPod {
        pod: String,
    },
    Starting {
        pod: String,
        reason: String,
    },
    Ready {
        pod: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerProgress {
    pub id: i32,
    pub image: String,
    pub kafka_version: String,
    pub desired_config_hash: String,
    /// The configuration hash the running pod was created with.
    pub running_config_hash: Option<String>,
    pub phase: BrokerPhase,
    /// Claims of the desired pod that are not yet seen or not yet bound; replacing a running
    /// pod before they are would leave the broker down, and would hide a new volume from
    /// graceful scaling (it notices a new disk by the running pod lacking it).
    pub storage_pending: Vec<String>,
    /// The running pod carries no configuration hash of ours: another operator made it
    /// (Koperator, before a takeover).
    pub made_elsewhere: bool,
    /// The live pod runs without the broker role (label `isBrokerNode: "false"`): a KRaft
    /// controller that becomes a broker only once its new pod runs, so Kafka cannot know it as a
    /// broker before.
    pub runs_without_broker_role: bool,
    /// The running pod's labels match `spec.taintedBrokersSelector` (and the desired pod's do
    /// not): it is replaced once, through the roll.
    pub tainted: bool,
    /// The running pod's name does not start as the desired one's (`<cluster>-controller-<id>-`
    /// for nodes with the controller role): made before the operator named pods as Koperator.
    pub renamed: bool,
}

/// Why a node's running pod is not the one the operator wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outdated {
    /// Another operator made it.
    MadeElsewhere,
    /// Its configuration or pod spec is older than the desired one.
    Changed,
    /// It is named as before the operator named pods as Koperator does.
    Renamed,
    /// Its labels match `spec.taintedBrokersSelector`.
    Tainted,
}

impl std::fmt::Display for Outdated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MadeElsewhere => "its pod was made by another operator and is replaced by the operator's own",
            Self::Changed => "its pod spec or configuration changed",
            Self::Renamed => "its pod is renamed as Koperator names it",
            Self::Tainted => "its pod's labels match spec.taintedBrokersSelector",
        })
    }
}

impl BrokerProgress {
    pub fn in_sync(&self) -> bool {
        self.running_config_hash.as_deref() == Some(self.desired_config_hash.as_str())
    }

    /// Why the running pod must be replaced, if it must (whether it has a pod is the caller's).
    pub fn outdated(&self) -> Option<Outdated> {
        if self.made_elsewhere {
            Some(Outdated::MadeElsewhere)
        } else if !self.in_sync() {
            Some(Outdated::Changed)
        } else if self.tainted {
            Some(Outdated::Tainted)
        } else if self.renamed {
            Some(Outdated::Renamed)
        } else {
            None
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, BrokerPhase::Ready { .. })
    }

    /// Why the operator waits for this broker, or None when it does not.
    pub(crate) fn waiting_for(&self) -> Option<String> {
        let id = self.id;
        match &self.phase {
            BrokerPhase::WaitingForStorage { claims } if claims.is_empty() => {
                Some(format!("broker {id}: waiting for its PersistentVolumeClaims"))
            }
            BrokerPhase::WaitingForStorage { claims } => {
                Some(format!("broker {id}: waiting for PersistentVolumeClaims {} to be bound", claims.join(", ")))
            }
            BrokerPhase::WaitingForCertificate { reason }
            | BrokerPhase::WaitingForExternalAccess { reason }
            | BrokerPhase::WaitingForRack { reason } => Some(format!("broker {id}: {reason}")),
            BrokerPhase::WaitingForOldPod { pod } => {
                Some(format!("broker {id}: waiting for pod {pod} to terminate before starting a new one"))
            }
            BrokerPhase::Starting { pod, reason } => Some(format!("broker {id}: pod {pod} not ready ({reason})")),
            BrokerPhase::Ready { .. } => match self.outdated()? {
                Outdated::MadeElsewhere => {
                    Some(format!("broker {id}: runs a pod another operator made; the rolling restart replaces it"))
                }
                Outdated::Changed => {
                    Some(format!("broker {id}: runs an older configuration; the rolling restart replaces its pod"))
                }
                Outdated::Renamed => {
                    Some(format!("broker {id}: its pod is renamed as Koperator names it by the rolling restart"))
                }
                Outdated::Tainted => Some(format!(
                    "broker {id}: its pod matches spec.taintedBrokersSelector; the rolling restart replaces it"
                )),
            },
        }
    }
}

/// What every broker of the cluster is built with, beyond its model.
pub struct BuildFacts<'a> {
    /// KRaft cluster id (status.clusterID).
    pub cluster_id: Option<&'a str>,
    /// status.readOnlyConfigKeys.
    pub read_only_config_keys: &'a BTreeSet<String>,
    /// Why new pods wait for the brokers' certificate, if they do.
    pub certificate_wait: Option<&'a str>,
    /// The serial number of the brokers' certificate (a renewal restarts them).
    pub server_certificate_serial: Option<&'a str>,
    /// The serials of the CAs the brokers trust (a new CA restarts them).
    pub trusted_ca_serials: Option<&'a str>,
    /// What brokers advertise on the external listeners, where known.
    pub external_addresses: &'a build::ExternalAddresses,
    /// Why new pods wait for an external listener's address, if they do.
    pub external_wait: Option<&'a str>,
    /// Each broker's rack (`rackAwareness`), and why brokers without one wait.
    pub racks: &'a super::racks::Racks,
}

/// The steps that bring broker `broker` to its desired objects, and where it stands after them.
pub fn plan(
    cluster: &ValidatedCluster,
    broker: &BrokerModel,
    observed: &ObservedCluster,
    broker_facts: &BuildFacts<'_>,
    steps: &mut Vec<Step>,
) -> BrokerProgress {
    let id = broker.id;
    let claims = observed.claim_names(id);
    let facts = ObservedFacts {
        cluster_id: broker_facts.cluster_id.map(str::to_owned),
        claims: BTreeMap::from([(id, claims.clone())]),
        read_only_config_keys: broker_facts.read_only_config_keys.clone(),
        server_certificate_serial: broker_facts.server_certificate_serial.map(str::to_owned),
        trusted_ca_serials: broker_facts.trusted_ca_serials.map(str::to_owned),
        external_addresses: broker_facts.external_addresses.clone(),
        racks: broker_facts.racks.by_broker.get(&id).map(|rack| (id, rack.clone())).into_iter().collect(),
    };
    let objects = build::broker_objects(cluster, broker, &facts);

    let config_map_name = objects.config_map.name_any();
    let current = observed.config_maps.get(&config_map_name).map(AsRef::as_ref);
    steps.extend(apply_step(objects.config_map, current, Desired::ConfigMap));

    let mut created_claims = Vec::new();
    for (mount_path, mut claim) in objects.claims {
        if claims.contains_key(&mount_path) {
            continue;
        }
        let prefix = claim.metadata.generate_name.take().unwrap_or_else(|| format!("{}-{id}-storage-", cluster.name));
        let name = deterministic_name(&prefix, &format!("{}/{id}/{mount_path}", cluster.uid));
        claim.metadata.name = Some(name.clone());
        let note = format!("created PersistentVolumeClaim {name} for broker {id} ({mount_path})");
        steps.push(Step::noted(
            Action::Create(Box::new(Created::Claim(claim))),
            Notice::normal("ClaimsCreated", "CreateStorage", note),
        ));
        created_claims.push(name);
    }
    let mut progress = BrokerProgress {
        id,
        image: broker.image.clone(),
        kafka_version: broker.kafka_version.to_string(),
        desired_config_hash: objects.config_hash.clone(),
        running_config_hash: None,
        phase: BrokerPhase::WaitingForStorage { claims: Vec::new() },
        storage_pending: Vec::new(),
        made_elsewhere: false,
        runs_without_broker_role: false,
        tainted: false,
        renamed: false,
    };
    // Just created (not in the cache yet) or not bound yet.
    let mut pending = observed.pending_claims(id);
    pending.extend(created_claims);
    progress.storage_pending = pending;

    let name_prefix = build::pod_name_prefix(cluster, broker);
    if let Some(pod) = observed.live_pod(id) {
        progress.running_config_hash = pod.annotations().get(CONFIG_HASH_ANNOTATION).cloned();
        progress.made_elsewhere = progress.running_config_hash.is_none();
        progress.renamed = !pod.name_any().starts_with(&name_prefix);
        progress.tainted = cluster.spec.tainted_brokers_selector.as_ref().is_some_and(|selector| {
            let desired = objects.pod.as_ref().map(|p| p.labels().clone()).unwrap_or_default();
            tainted::matches(selector, pod.labels()) && !tainted::matches(selector, &desired)
        });
        progress.runs_without_broker_role =
            pod.labels().get(crd_types::labels::IS_BROKER_NODE).is_some_and(|value| value == "false");
        progress.phase = pod_phase(pod);
        return progress;
    }
    if let Some(terminating) = observed.pods.get(&id).and_then(|pods| pods.first()) {
        progress.phase = BrokerPhase::WaitingForOldPod { pod: terminating.name_any() };
        return progress;
    }
    // A pod created before its claims bind is unschedulable, and the scheduler may take
    // minutes to try again; with claims bound first it schedules at once. (Claims of classes
    // that bind for a consuming pod are not waited for: that would never end.)
    if !progress.storage_pending.is_empty() {
        progress.phase = BrokerPhase::WaitingForStorage { claims: progress.storage_pending.clone() };
        return progress;
    }
    if let Some(reason) = broker_facts.certificate_wait {
        progress.phase = BrokerPhase::WaitingForCertificate { reason: reason.to_owned() };
        return progress;
    }
    if let Some(reason) = broker_facts.external_wait {
        progress.phase = BrokerPhase::WaitingForExternalAccess { reason: reason.to_owned() };
        return progress;
    }
    if let Some(reason) = broker_facts.racks.waiting.get(&id) {
        progress.phase = BrokerPhase::WaitingForRack { reason: reason.clone() };
        return progress;
    }
    let Some(mut pod) = objects.pod else { return progress };
    pod.metadata.generate_name = None;
    let name = deterministic_name(&name_prefix, &format!("{}/{id}/{}", cluster.uid, objects.config_hash));
    pod.metadata.name = Some(name.clone());
    steps.push(Step::noted(
        Action::Create(Box::new(Created::Pod(pod))),
        Notice::normal("BrokerPodCreated", "CreatePod", format!("created pod {name} for broker {id}")),
    ));
    progress.running_config_hash = Some(objects.config_hash);
    progress.phase = BrokerPhase::Starting { pod: name, reason: "created".to_owned() };
    progress
}

/// Ready, or why not, as the kubelet reports it.
fn pod_phase(pod: &Pod) -> BrokerPhase {
    let name = pod.name_any();
    let status = pod.status.as_ref();
    let condition = |type_: &str| status?.conditions.as_ref()?.iter().find(|c| c.type_ == type_).cloned();
    if condition("Ready").is_some_and(|c| c.status == "True") {
        return BrokerPhase::Ready { pod: name };
    }
    if let Some(scheduled) = condition("PodScheduled").filter(|c| c.status != "True") {
        let reason = scheduled.message.or(scheduled.reason).unwrap_or_else(|| "not scheduled".to_owned());
        return BrokerPhase::Starting { pod: name, reason: format!("not scheduled: {reason}") };
    }
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            let reason = waiting.reason.clone().unwrap_or_default();
            Some(match &waiting.message {
                Some(message) => format!("container {}: {reason}: {message}", c.name),
                None => format!("container {}: {reason}", c.name),
            })
        })
        .next();
    let reason = waiting
        .or_else(|| condition("Ready").and_then(|c| c.reason))
        .unwrap_or_else(|| status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".to_owned()));
    BrokerPhase::Starting { pod: name, reason }
}
