//! The only writer (client required): carries out a [`Plan`]'s steps in the order the decision
//! listed them (see `decide` for why that order), publishes the event of every step that changed
//! something, and stops at the first failure — later steps may depend on earlier ones (a pod
//! mounts the claims created before it), and the next pass decides again from what exists.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};

use crd_types::kafka_cluster::PerBrokerConfigurationState;
use crd_types::{KafkaCluster, KafkaClusterStatus};

use super::certificates::AppliedCertManager;
use super::decide::drift;
use super::decide::dynamic_config::ConfigChange;
use super::decide::quorum::VoterChange;
use super::decide::{Action, Created, Desired, Notice, OwnedKind, Step};
use super::observe::kafka::KafkaAccess;
use super::writes::{self, Writer};
use crate::model::ValidatedCluster;
use crate::status::DynamicConfigStatus;

/// What a pass's writes need besides the plan.
pub struct Target<'a> {
    pub writer: &'a Writer,
    pub recorder: &'a Recorder,
    pub kafka: &'a KafkaAccess,
    pub cluster: &'a KafkaCluster,
    pub validated: &'a ValidatedCluster,
    /// Remembers the cert-manager objects applied.
    pub cert_manager: &'a AppliedCertManager,
}

/// Carries out `steps`; Kafka's answers to configuration changes go into `dynamic`.
pub async fn apply(
    target: &Target<'_>,
    steps: Vec<Step>,
    dynamic: &mut DynamicConfigStatus,
) -> Result<(), writes::Error> {
    for step in steps {
        let changed = match step.action {
            Action::AlterBrokerConfig { broker, change } => {
                let (state, notice) = alter_broker_config(target, broker, &change).await;
                if state == PerBrokerConfigurationState::PerBrokerConfigError {
                    dynamic.problems.push(notice.note.clone());
                }
                dynamic.per_broker.insert(broker, state);
                publish(target, notice).await;
                false
            }
            Action::ChangeVoters { change } => {
                let result = change_voters(target, &change).await;
                publish(target, super::decide::kraft::change_outcome(&change, result)).await;
                false
            }
            Action::UpgradeMetadataVersion { from, to, kafka_version } => {
                let result = match target.kafka.admin(target.validated) {
                    Ok(admin) => admin
                        .upgrade_feature(kafka_admin::METADATA_VERSION, to)
                        .await
                        .map_err(|error| operator_runtime::error_chain(&error)),
                    Err(error) => Err(operator_runtime::error_chain(&error)),
                };
                publish(target, super::decide::kraft::upgrade_outcome(from, to, &kafka_version, result)).await;
                false
            }
            action => write(target, action).await?,
        };
        if let Some(notice) = step.notice.filter(|_| changed) {
            publish(target, notice).await;
        }
    }
    Ok(())
}

/// One write; returns whether it changed something.
async fn write(target: &Target<'_>, action: Action) -> Result<bool, writes::Error> {
    let writer = target.writer;
    let namespace = target.validated.namespace.as_str();
    match action {
        Action::RecordClusterId { id, kraft } => {
            let mut status = target.cluster.status.clone().unwrap_or_default();
            status.cluster_id = Some(id);
            status.kraft = kraft;
            writer.apply_status(namespace, &target.validated.name, &status).await?;
            Ok(true)
        }
        Action::Apply(desired) => {
            match *desired {
                Desired::ConfigMap(object) => applied(writer, &object).await?,
                Desired::Service(object) => applied(writer, &object).await?,
                Desired::PodDisruptionBudget(object) => applied(writer, &object).await?,
                Desired::Deployment(object) => applied(writer, &object).await?,
                Desired::KafkaTopic(object) => applied(writer, &object).await?,
                Desired::EndpointSlice(object) => applied(writer, &object).await?,
                Desired::Secret(object) => applied(writer, &object).await?,
            }
            Ok(true)
        }
        Action::Replace(desired) => {
            match *desired {
                Desired::ConfigMap(object) => drop(writer.replace(&object).await?),
                Desired::Service(object) => drop(writer.replace(&object).await?),
                Desired::PodDisruptionBudget(object) => drop(writer.replace(&object).await?),
                Desired::Deployment(object) => drop(writer.replace(&object).await?),
                Desired::KafkaTopic(object) => drop(writer.replace(&object).await?),
                Desired::EndpointSlice(object) => drop(writer.replace(&object).await?),
                Desired::Secret(object) => drop(writer.replace(&object).await?),
            }
            Ok(true)
        }
        Action::Create(created) => {
            let outcome = match *created {
                Created::Pod(pod) => writer.create(&pod).await?,
                Created::Claim(claim) => writer.create(&claim).await?,
                Created::Secret(secret) => writer.create(&secret).await?,
            };
            Ok(outcome == writes::Created::Now)
        }
        Action::CreateOperation { mut operation, task } => {
            // Recorded at creation only, never rewritten, so idle passes still write nothing;
            // the runner's work on the operation joins this pass's trace.
            operator_runtime::trace_context::record_current_trace(operation.as_mut());
            Ok(writer.create_operation(&operation, &task).await? == writes::Created::Now)
        }
        Action::GrowClaim { claim, size } => {
            writer.grow_claim(namespace, &claim, &size).await?;
            Ok(true)
        }
        Action::Delete { kind, name } => match kind {
            OwnedKind::Pod => writer.delete::<Pod>(namespace, &name).await,
            OwnedKind::ConfigMap => writer.delete::<ConfigMap>(namespace, &name).await,
            OwnedKind::Service => writer.delete::<Service>(namespace, &name).await,
            OwnedKind::PodDisruptionBudget => writer.delete::<PodDisruptionBudget>(namespace, &name).await,
            OwnedKind::Deployment => writer.delete::<Deployment>(namespace, &name).await,
            OwnedKind::PersistentVolumeClaim => writer.delete::<PersistentVolumeClaim>(namespace, &name).await,
            OwnedKind::EndpointSlice => writer.delete::<EndpointSlice>(namespace, &name).await,
        },
        Action::RestartPod { pod } => writer.delete::<Pod>(namespace, &pod).await,
        Action::ApplyCertManager { objects, fingerprint } => {
            for object in &objects {
                writer.apply_cert_manager(object).await?;
            }
            target.cert_manager.record(target.validated, fingerprint);
            Ok(true)
        }
        Action::AlterBrokerConfig { .. } | Action::ChangeVoters { .. } | Action::UpgradeMetadataVersion { .. } => {
            unreachable!("handled by `apply`: Kafka's answer is an outcome")
        }
    }
}

/// Applies `desired` and checks the apiserver kept it as written: if it did not (a value it
/// normalizes in a way `drift` does not know), every pass would write again, so say so loudly.
async fn applied<K: writes::NamespacedObject>(writer: &Writer, desired: &K) -> Result<(), writes::Error> {
    let stored = writer.apply(desired).await?;
    let mut paths = Vec::new();
    let wanted = serde_json::to_value(desired).expect("objects serialize (string keys only)");
    let kept = serde_json::to_value(&stored).expect("objects serialize (string keys only)");
    drift::differences(&wanted, &kept, String::new(), &mut paths);
    if !paths.is_empty() {
        tracing::warn!(
            kind = %K::kind(&()),
            name = %desired.name_any(),
            ?paths,
            "the apiserver stored other values than applied; the drift check will apply this object on every pass"
        );
    }
    Ok(())
}

/// Validates the change with Kafka, then applies it; the outcome is the broker's state and an
/// event saying what happened.
async fn alter_broker_config(
    target: &Target<'_>,
    broker: i32,
    change: &ConfigChange,
) -> (PerBrokerConfigurationState, Notice) {
    let (what, field) = (format!("broker {broker}"), "clusterWideConfig / brokerConfig.config");
    let admin = match target.kafka.admin(target.validated) {
        Ok(admin) => admin,
        Err(error) => {
            let note = format!("{field} for {what} cannot be applied: {}", operator_runtime::error_chain(&error));
            return (
                PerBrokerConfigurationState::PerBrokerConfigError,
                Notice::warning("DynamicConfigRejected", "ApplyDynamicConfig", note),
            );
        }
    };
    for validate_only in [true, false] {
        let answer = admin.alter_broker_configs(broker, &change.set, &change.delete, validate_only).await;
        let error = match answer {
            Ok(Ok(())) => continue,
            Ok(Err(rejected)) => format!("Kafka rejects {field} for {what} ({}): {rejected}", change.describe()),
            Err(error) => format!("{field} for {what} cannot be applied: {}", operator_runtime::error_chain(&error)),
        };
        return (
            PerBrokerConfigurationState::PerBrokerConfigError,
            Notice::warning("DynamicConfigRejected", "ApplyDynamicConfig", error),
        );
    }
    let note = format!("dynamic configuration of {what} applied without a restart: {}", change.describe());
    (
        PerBrokerConfigurationState::PerBrokerConfigInSync,
        Notice::normal("DynamicConfigApplied", "ApplyDynamicConfig", note),
    )
}

/// One AddRaftVoter or RemoveRaftVoter; Kafka's refusal as text for the event (the next pass
/// decides again from what the quorum then is).
async fn change_voters(target: &Target<'_>, change: &VoterChange) -> Result<(), String> {
    let admin = target.kafka.admin(target.validated).map_err(|error| operator_runtime::error_chain(&error))?;
    let answer = match change {
        VoterChange::Add { id, directory, endpoint } => {
            admin.add_raft_voter(*id, *directory, std::slice::from_ref(endpoint), VOTER_CHANGE_WAIT).await
        }
        VoterChange::Remove { id, directory } => admin.remove_raft_voter(*id, *directory).await,
    };
    answer.map_err(|error| operator_runtime::error_chain(&error))
}

/// How long the quorum leader may take to commit a new voter set before it answers; within the
/// admin client's own request timeout (10 s), so the answer is Kafka's, not a client timeout.
const VOTER_CHANGE_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Events are best effort: failing to record one must not fail the reconcile, but it is logged
/// as a warning (a user or a test waiting for the event would otherwise never learn why).
pub async fn publish(target: &Target<'_>, notice: Notice) {
    publish_to(target.recorder, target.cluster, notice).await;
}

pub async fn publish_to(recorder: &Recorder, cluster: &KafkaCluster, notice: Notice) {
    let event = Event {
        type_: if notice.warning { EventType::Warning } else { EventType::Normal },
        reason: notice.reason.to_owned(),
        note: Some(notice.note),
        action: notice.action.to_owned(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &cluster.object_ref(&())).await {
        tracing::warn!(%error, reason = %event.reason, "failed to publish an event");
    }
}

/// Writes the status when it differs from the stored one; returns whether it wrote.
pub async fn write_status(
    writer: &Writer,
    cluster: &KafkaCluster,
    namespace: &str,
    status: KafkaClusterStatus,
) -> Result<bool, writes::Error> {
    if cluster.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    writer.apply_status(namespace, &cluster.name_any(), &status).await?;
    Ok(true)
}
