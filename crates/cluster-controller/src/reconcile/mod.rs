//! The KafkaCluster reconciler, a pipeline:
//! observe (caches only) → validate (pure) → cluster id → cluster-wide objects → Cruise Control
//! (its Deployment and metrics topic) → each broker
//! (ConfigMap, claims, pod) → departed brokers → rolling restart → dynamic configuration → status. Every write goes through `writes`,
//! which skips objects that already match, so an unchanged cluster costs no write.

mod broker;
mod cluster_id;
mod cruise_control;
mod departed;
mod dynamic_config;
mod graceful;
pub mod kafka_access;
mod naming;
pub mod observe;
mod rolling;
pub mod writes;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};

use crd_types::{KafkaCluster, KafkaClusterStatus};

use crate::build;
use crate::model::{self, ValidatedCluster};
use crate::status::{self, BrokerProgress, StatusInputs};

use broker::BrokerAction;
use observe::{ObservedCluster, OwnedStores};
use writes::Writer;

/// How often a settled cluster is looked at again even when nothing changed.
const RESYNC: Duration = Duration::from_secs(300);
/// Retry delay after a failed reconcile.
const RETRY: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("KafkaCluster has no namespace")]
    MissingNamespace,
    #[error(transparent)]
    Write(#[from] writes::Error),
    #[error("failed to scale gracefully")]
    Graceful(#[from] graceful::Error),
}

pub struct Context {
    pub writer: Writer,
    pub stores: OwnedStores,
    pub recorder: Recorder,
    pub kafka: kafka_access::KafkaAccess,
}

pub async fn reconcile(cluster: Arc<KafkaCluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = cluster.namespace().ok_or(Error::MissingNamespace)?;
    let name = cluster.name_any();
    observe::wait_until_ready(&ctx.stores).await;
    let observed = observe::read(&ctx.stores, &namespace, &name);

    let validated = match model::validate(&cluster) {
        Ok(validated) => validated,
        Err(problems) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return report_invalid(&ctx, &cluster, &problems).await;
        }
    };
    let storage_problems = missing_storage_classes(&validated, &observed);
    if !storage_problems.is_empty() {
        return report_invalid(&ctx, &cluster, &storage_problems).await;
    }

    let cluster_id = ensure_cluster_id(&ctx, &cluster, &validated).await?;
    apply_cluster_objects(&ctx.writer, &validated, &observed).await?;
    let cruise_control = cruise_control::reconcile(&ctx.writer, &validated, cluster.status.as_ref(), &observed).await?;

    // Volumes leaving a broker stay in its pod until Cruise Control moved their data off.
    let built = graceful::with_volumes_being_removed(&validated, &observed, cluster.status.as_ref());
    let read_only_keys = read_only_config_keys(cluster.status.as_ref());
    let mut brokers = Vec::with_capacity(built.brokers.len());
    for broker_model in &built.brokers {
        let build_facts =
            broker::BuildFacts { cluster_id: cluster_id.as_deref(), read_only_config_keys: &read_only_keys };
        let (progress, actions) =
            broker::reconcile_broker(&ctx.writer, &built, broker_model, &observed, &build_facts).await?;
        for action in actions {
            publish(&ctx, &cluster, broker_event(broker_model.id, action)).await;
        }
        brokers.push(progress);
    }

    let build_facts = broker::BuildFacts { cluster_id: cluster_id.as_deref(), read_only_config_keys: &read_only_keys };
    let mut graceful =
        graceful::reconcile(&ctx.writer, &cluster, &validated, &observed, &brokers, &build_facts).await?;
    for event in std::mem::take(&mut graceful.events) {
        publish(&ctx, &cluster, event).await;
    }

    let previous = cluster.status.as_ref();
    let busy = cruise_control_moving_data(&graceful.status);
    // Kept by ClusterActions in an annotation (a set of fingerprints, so repeats count once).
    let alerts =
        crate::actions::rolling_upgrade_alerts::alert_count(&crate::actions::rolling_upgrade_alerts::firing(&cluster));
    let gates = rolling::ExternalGates { cruise_control_busy: busy.as_deref(), rolling_upgrade_alerts: alerts };
    let (roll, roll_events) =
        rolling::reconcile(&ctx.writer, &ctx.kafka, &validated, previous, &brokers, &gates).await?;
    let previously_configured =
        previous.is_some_and(|p| p.conditions.iter().any(|c| c.type_ == status::DYNAMIC_CONFIG));
    let previous_read_only = previous.map(|p| p.read_only_config_keys.as_slice()).unwrap_or_default();
    let dynamic =
        dynamic_config::reconcile(&ctx.kafka, &validated, &brokers, previous_read_only, previously_configured).await;
    for event in roll_events.into_iter().chain(dynamic.events) {
        publish(&ctx, &cluster, event).await;
    }

    let mut status = status::running_status(StatusInputs {
        previous: cluster.status.as_ref(),
        cluster: &validated,
        brokers: &brokers,
        retained_claims: &graceful.retained_claims,
        graceful: &graceful.status,
        roll: &roll,
        rolling_upgrade_alerts: alerts,
        dynamic_config: &dynamic.status,
        cluster_id,
        listener_addresses: build::listener_addresses(&validated),
        now: now(),
    });
    cruise_control::record(&mut status, &cruise_control, validated.generation, now());
    write_status_if_changed(&ctx, &cluster, status).await?;
    let settled = brokers.iter().all(is_settled) && !graceful.in_progress && !roll.in_progress;
    Ok(Action::requeue(if settled { RESYNC } else { RETRY }))
}

pub fn error_policy(cluster: Arc<KafkaCluster>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(cluster = %cluster.name_any(), error = %operator_runtime::error_chain(error), "reconcile failed");
    Action::requeue(RETRY)
}

fn is_settled(broker: &BrokerProgress) -> bool {
    matches!(broker.phase, status::BrokerPhase::Ready { .. })
}

/// Which brokers Cruise Control is moving data for right now; a roll waits for that. (A
/// graceful action that waits for a restart, such as a rebalance onto a new disk, does not.)
fn cruise_control_moving_data(graceful: &status::GracefulStatus) -> Option<String> {
    use crd_types::kafka_cluster::{CruiseControlState as State, CruiseControlVolumeState as Volume};
    let moving: Vec<String> = graceful
        .states
        .iter()
        .filter(|(_, state)| {
            matches!(state.cruise_control_state, Some(State::GracefulUpscaleRunning | State::GracefulDownscaleRunning))
                || state.volume_states.values().any(|v| {
                    matches!(
                        v.cruise_control_volume_state,
                        Some(Volume::GracefulDiskRebalanceRunning | Volume::GracefulDiskRemovalRunning)
                    )
                })
        })
        .map(|(id, state)| {
            let operation = state.cruise_control_operation_reference.as_ref().map(|r| r.name.as_str());
            format!("broker {id} ({})", operation.unwrap_or("operation running"))
        })
        .collect();
    (!moving.is_empty()).then(|| moving.join(", "))
}

fn read_only_config_keys(status: Option<&KafkaClusterStatus>) -> BTreeSet<String> {
    status.map(|s| s.read_only_config_keys.iter().cloned().collect()).unwrap_or_default()
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// KRaft brokers format their storage with the cluster id, so it must be recorded before the
/// first pod exists: a pod formatted with an id the status then lost could never rejoin.
async fn ensure_cluster_id(
    ctx: &Context,
    cluster: &KafkaCluster,
    validated: &ValidatedCluster,
) -> Result<Option<String>, Error> {
    if validated.mode != model::MetadataMode::Kraft {
        return Ok(None);
    }
    if let Some(id) = cluster.status.as_ref().and_then(|s| s.cluster_id.clone()) {
        return Ok(Some(id));
    }
    let id = cluster_id::generate();
    let mut status = cluster.status.clone().unwrap_or_default();
    status.cluster_id = Some(id.clone());
    ctx.writer.apply_status(&validated.namespace, &validated.name, &status).await?;
    Ok(Some(id))
}

/// Services, the PodDisruptionBudget and shared ConfigMaps; those no longer wanted are deleted.
async fn apply_cluster_objects(
    writer: &Writer,
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
) -> Result<(), writes::Error> {
    let objects = build::cluster_objects(cluster);
    let wanted_services: BTreeSet<String> = objects.services.iter().map(|s| s.name_any()).collect();
    for service in objects.services {
        let current = observed.services.get(&service.name_any()).map(AsRef::as_ref);
        writer.apply_if_changed(service, current).await?;
    }
    for config_map in objects.config_maps {
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        writer.apply_if_changed(config_map, current).await?;
    }
    let wanted_pdb = objects.pod_disruption_budget.as_ref().map(|p| p.name_any());
    if let Some(pdb) = objects.pod_disruption_budget {
        let current = observed.pod_disruption_budgets.get(&pdb.name_any()).map(AsRef::as_ref);
        writer.apply_if_changed(pdb, current).await?;
    }
    // Per-broker services of departed brokers are the departed step's; here only the
    // cluster-wide ones (e.g. the headless service after headlessServiceEnabled turned off).
    for (name, service) in &observed.services {
        let per_broker = service.labels().contains_key(crd_types::labels::BROKER_ID);
        if !per_broker && !wanted_services.contains(name) {
            writer.delete::<Service>(&cluster.namespace, name).await?;
        }
    }
    for name in observed.pod_disruption_budgets.keys() {
        if Some(name) != wanted_pdb.as_ref() {
            writer.delete::<PodDisruptionBudget>(&cluster.namespace, name).await?;
        }
    }
    Ok(())
}

/// Claims that name a StorageClass which does not exist would stay Pending forever.
fn missing_storage_classes(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Vec<String> {
    let mut problems = Vec::new();
    for broker in &cluster.brokers {
        for storage in &broker.config.storage_configs {
            let Some(pvc) = &storage.pvc_spec else { continue };
            let class = pvc.storage_class_name.as_deref();
            match class {
                Some("") => {}
                Some(class) if !observed.storage_classes.contains_key(class) => problems.push(format!(
                    "broker {} storage {}: StorageClass {class:?} does not exist; create it or change pvcSpec.storageClassName",
                    broker.id, storage.mount_path
                )),
                None if observed.default_storage_class.is_none() => problems.push(format!(
                    "broker {} storage {}: pvcSpec names no storageClassName and the cluster has no default StorageClass; set one",
                    broker.id, storage.mount_path
                )),
                _ => {}
            }
        }
    }
    problems
}

async fn report_invalid(ctx: &Context, cluster: &KafkaCluster, problems: &[String]) -> Result<Action, Error> {
    let status = status::degraded_status(cluster.status.as_ref(), cluster.meta().generation, problems, now());
    let newly_degraded = write_status_if_changed(ctx, cluster, status).await?;
    if newly_degraded {
        publish(ctx, cluster, event(EventType::Warning, "InvalidSpec", "Validate", problems.join("; "))).await;
    }
    // A fixed spec arrives as a watch event; the periodic look is only a safety net.
    Ok(Action::requeue(RESYNC))
}

/// Writes the status when it differs from the stored one; returns whether it wrote.
async fn write_status_if_changed(
    ctx: &Context,
    cluster: &KafkaCluster,
    status: KafkaClusterStatus,
) -> Result<bool, Error> {
    if cluster.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    let namespace = cluster.namespace().ok_or(Error::MissingNamespace)?;
    ctx.writer.apply_status(&namespace, &cluster.name_any(), &status).await?;
    Ok(true)
}

fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event { type_, reason: reason.to_owned(), note: Some(note), action: action.to_owned(), secondary: None }
}

fn broker_event(id: i32, action: BrokerAction) -> Event {
    match action {
        BrokerAction::CreatedClaims(claims) => event(
            EventType::Normal,
            "ClaimsCreated",
            "CreateStorage",
            format!("created PersistentVolumeClaims {} for broker {id}", claims.join(", ")),
        ),
        BrokerAction::CreatedPod(pod) => {
            event(EventType::Normal, "BrokerPodCreated", "CreatePod", format!("created pod {pod} for broker {id}"))
        }
    }
}

/// Events are best effort: a failure to record one must not fail the reconcile.
async fn publish(ctx: &Context, cluster: &KafkaCluster, event: Event) {
    if let Err(error) = ctx.recorder.publish(&event, &cluster.object_ref(&())).await {
        tracing::debug!(%error, "failed to publish an event");
    }
}
