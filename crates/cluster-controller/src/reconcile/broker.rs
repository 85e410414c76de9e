//! One broker: its ConfigMap, its claims, then its pod — in that order, because the pod mounts
//! both. Claims are only ever created here; removing storage is the Cruise Control issue's job.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::build::{self, CONFIG_HASH_ANNOTATION, ObservedFacts};
use crate::model::{BrokerModel, ValidatedCluster};
use crate::status::{BrokerPhase, BrokerProgress};

use super::naming::deterministic_name;
use super::observe::ObservedCluster;
use super::writes::{self, Writer};

/// What the broker step did, for events.
pub enum BrokerAction {
    CreatedClaims(Vec<String>),
    CreatedPod(String),
}

/// What every broker of the cluster is built with, beyond its model.
pub struct BuildFacts<'a> {
    /// KRaft cluster id (status.clusterID).
    pub cluster_id: Option<&'a str>,
    /// status.readOnlyConfigKeys.
    pub read_only_config_keys: &'a BTreeSet<String>,
}

pub async fn reconcile_broker(
    writer: &Writer,
    cluster: &ValidatedCluster,
    broker: &BrokerModel,
    observed: &ObservedCluster,
    broker_facts: &BuildFacts<'_>,
) -> Result<(BrokerProgress, Vec<BrokerAction>), writes::Error> {
    let id = broker.id;
    let claims = observed.claim_names(id);
    let facts = ObservedFacts {
        cluster_id: broker_facts.cluster_id.map(str::to_owned),
        claims: BTreeMap::from([(id, claims.clone())]),
        read_only_config_keys: broker_facts.read_only_config_keys.clone(),
    };
    let objects = build::broker_objects(cluster, broker, &facts);
    let mut actions = Vec::new();

    let config_map_name = objects.config_map.name_any();
    writer.apply_if_changed(objects.config_map, observed.config_maps.get(&config_map_name).map(AsRef::as_ref)).await?;

    let mut created_claims = Vec::new();
    for (mount_path, mut claim) in objects.claims {
        if claims.contains_key(&mount_path) {
            continue;
        }
        let prefix = claim.metadata.generate_name.take().unwrap_or_else(|| format!("{}-{id}-storage-", cluster.name));
        let name = deterministic_name(&prefix, &format!("{}/{id}/{mount_path}", cluster.uid));
        claim.metadata.name = Some(name.clone());
        create_tolerating_conflict(writer, &claim, &format!("broker {id} storage {mount_path}")).await?;
        created_claims.push(name);
    }
    if !created_claims.is_empty() {
        actions.push(BrokerAction::CreatedClaims(created_claims.clone()));
    }
    let mut progress = BrokerProgress {
        id,
        image: broker.image.clone(),
        kafka_version: broker.kafka_version.to_string(),
        desired_config_hash: objects.config_hash.clone(),
        running_config_hash: None,
        phase: BrokerPhase::WaitingForStorage { claims: Vec::new() },
        storage_pending: Vec::new(),
    };
    // Just created (not in the cache yet) or not bound yet.
    let mut pending = observed.pending_claims(id);
    pending.extend(created_claims.iter().cloned());
    progress.storage_pending = pending;

    if let Some(pod) = observed.live_pod(id) {
        progress.running_config_hash = pod.annotations().get(CONFIG_HASH_ANNOTATION).cloned();
        progress.phase = pod_phase(pod);
        return Ok((progress, actions));
    }
    if let Some(terminating) = observed.pods.get(&id).and_then(|pods| pods.first()) {
        progress.phase = BrokerPhase::WaitingForOldPod { pod: terminating.name_any() };
        return Ok((progress, actions));
    }
    // A pod created before its claims bind is unschedulable, and the scheduler may take
    // minutes to try again; with claims bound first it schedules at once. (Claims of classes
    // that bind for a consuming pod are not waited for: that would never end.)
    if !progress.storage_pending.is_empty() {
        progress.phase = BrokerPhase::WaitingForStorage { claims: progress.storage_pending.clone() };
        return Ok((progress, actions));
    }
    let Some(mut pod) = objects.pod else { return Ok((progress, actions)) };
    let prefix = pod.metadata.generate_name.take().unwrap_or_else(|| format!("{}-{id}-", cluster.name));
    let name = deterministic_name(&prefix, &format!("{}/{id}/{}", cluster.uid, objects.config_hash));
    pod.metadata.name = Some(name.clone());
    create_tolerating_conflict(writer, &pod, &format!("broker {id}")).await?;
    progress.running_config_hash = Some(objects.config_hash);
    progress.phase = BrokerPhase::Starting { pod: name.clone(), reason: "created".to_owned() };
    actions.push(BrokerAction::CreatedPod(name));
    Ok((progress, actions))
}

/// A 409 means an earlier pass already created the object and the cache has not caught up.
async fn create_tolerating_conflict<K>(writer: &Writer, object: &K, purpose: &str) -> Result<(), writes::Error>
where
    K: writes::NamespacedObject,
{
    match writer.create(object, purpose).await {
        Ok(_) => Ok(()),
        Err(writes::Error::Create { source: kube::Error::Api(status), .. }) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
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
