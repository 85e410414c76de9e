//! Turns firing alerts into ClusterActions calls on the cluster controller, which decides and
//! writes; this process only reads (the claim a disk alert names).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::{Api, ResourceExt};
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use grpc_contracts::actions_v1::cluster_actions_client::ClusterActionsClient;
use grpc_contracts::actions_v1::{
    self as v1, ActionOrigin, ActionResult, AddBrokerRequest, AddDiskRequest, ClusterRef, DiskSpec,
    ExplicitBrokerSettings, FewestReplicas, GrowDiskRequest, RemoveBrokerRequest, ReportRollingUpgradeAlertsRequest,
    add_broker_request, grow_disk_request, remove_broker_request,
};
use operator_runtime::trace_context::Traced;

use crate::commands::{self, BROKER_ID_LABEL, Command, Growth, KAFKA_CR_LABEL, NewBroker, Target};
use crate::dedupe::DedupeCache;
use crate::metrics::Metrics;
use crate::payload::Alert;

/// How long one gRPC call may take before the webhook answers 503 (Alertmanager retries).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A refusal may not hold for long (the cluster settles), but an alert storm must not turn
/// into a storm of calls and refusal events either: refusals are reused this long.
const REFUSAL_LIFETIME: Duration = Duration::from_secs(10);

/// What became of one alert, as the webhook answer lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// accepted, already_done, refused or invalid.
    pub outcome: &'static str,
    pub reason: String,
}

/// A failure worth retrying (the cluster controller unreachable, not leading, or busy).
#[derive(Debug, thiserror::Error)]
#[error("the cluster controller could not be asked: {0}")]
pub struct Unavailable(String);

pub struct Executor {
    client: ClusterActionsClient<Traced<Channel>>,
    kube: kube::Client,
    cache: DedupeCache<Outcome>,
    dedupe_ttl: Duration,
    pub metrics: Metrics,
}

/// What an alert names that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum UnknownTarget {
    #[error("PersistentVolumeClaim {namespace}/{name} does not exist")]
    NoSuchClaim { namespace: String, name: String },
    #[error("PersistentVolumeClaim {name} is not a Kafka broker's (no kafka_cr/brokerId labels)")]
    NotABrokerClaim { name: String },
}

impl Executor {
    pub fn new(
        endpoint: &str,
        kube: kube::Client,
        dedupe_ttl: Duration,
        metrics: Metrics,
    ) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(endpoint.to_owned())?.timeout(CALL_TIMEOUT).connect_lazy();
        Ok(Self {
            client: ClusterActionsClient::new(Traced::new(channel)),
            kube,
            cache: DedupeCache::default(),
            dedupe_ttl,
            metrics,
        })
    }

    /// Carries out the command of one firing alert (at most once per idempotency key).
    pub async fn command(
        &self,
        alert: &Alert,
        command: Result<Command, commands::CommandError>,
    ) -> Result<Outcome, Unavailable> {
        let command = match command {
            Ok(command) => command,
            Err(error) => {
                self.metrics.action("unknown", "invalid");
                return Ok(Outcome { outcome: "invalid", reason: error.to_string() });
            }
        };
        let key = commands::idempotency_key(alert, &command);
        let lifetime = |outcome: &Outcome| {
            if outcome.outcome == "refused" { REFUSAL_LIFETIME.min(self.dedupe_ttl) } else { self.dedupe_ttl }
        };
        let result = self.cache.get_or_try(&key, lifetime, || self.call(alert, &command, key.clone())).await;
        match result {
            Ok((outcome, shared)) => {
                if !shared {
                    tracing::info!(alert = alert.name(), %key, outcome = outcome.outcome, reason = %outcome.reason, "{}", command.name());
                }
                self.metrics.action(command.name(), if shared { "deduplicated" } else { outcome.outcome });
                Ok(outcome)
            }
            Err(error) => {
                tracing::warn!(alert = alert.name(), %key, %error, "{}", command.name());
                self.metrics.action(command.name(), "failed");
                Err(error)
            }
        }
    }

    async fn call(&self, alert: &Alert, command: &Command, key: String) -> Result<Outcome, Unavailable> {
        let invalid = |reason: String| Ok(Outcome { outcome: "invalid", reason });
        let Some(target) = commands::target(alert, command.needs_claim()) else {
            return invalid("the alert needs the labels namespace and kafka_cr (or persistentvolumeclaim)".to_owned());
        };
        let (cluster, claim) = match self.resolve(&target).await? {
            Ok(resolved) => resolved,
            Err(unknown) => return invalid(unknown.to_string()),
        };
        if command.needs_claim() && claim.is_none() {
            return invalid(format!("{} needs the persistentvolumeclaim label", command.name()));
        }
        let origin = Some(ActionOrigin {
            idempotency_key: key,
            reason: format!("alert {} firing ({})", alert.name(), command.name()),
            alert_fingerprint: alert.identity(),
        });
        let cluster = Some(cluster);
        let mut client = self.client.clone();
        let answer = match command {
            Command::UpScale(new_broker) => {
                let broker_settings = match new_broker {
                    NewBroker::DefaultGroup => None,
                    NewBroker::Group(group) => {
                        Some(add_broker_request::BrokerSettings::BrokerConfigGroup(group.clone()))
                    }
                    NewBroker::Explicit { image, mount_path, disk_size, storage_class } => {
                        let disks = (!mount_path.is_empty() && !disk_size.is_empty())
                            .then(|| DiskSpec {
                                mount_path: mount_path.clone(),
                                size: disk_size.clone(),
                                storage_class: storage_class.clone(),
                            })
                            .into_iter()
                            .collect();
                        Some(add_broker_request::BrokerSettings::ExplicitSettings(ExplicitBrokerSettings {
                            image: image.clone(),
                            disks,
                        }))
                    }
                };
                client
                    .add_broker(AddBrokerRequest { cluster, origin, broker_settings })
                    .await
                    .map(|r| r.into_inner().result)
            }
            Command::DownScale(broker_id) => {
                let target = Some(match broker_id {
                    Some(id) => remove_broker_request::Target::BrokerId(*id),
                    None => remove_broker_request::Target::FewestReplicas(FewestReplicas {}),
                });
                client
                    .remove_broker(RemoveBrokerRequest { cluster, origin, target })
                    .await
                    .map(|r| r.into_inner().result)
            }
            Command::AddPvc { size, mount_path_prefix, storage_class } => {
                let (broker_id, _) = claim.unwrap_or_default();
                let disk = Some(DiskSpec {
                    mount_path: String::new(),
                    size: size.clone(),
                    storage_class: storage_class.clone(),
                });
                let request =
                    AddDiskRequest { cluster, origin, broker_id, disk, mount_path_prefix: mount_path_prefix.clone() };
                client.add_disk(request).await.map(|r| r.into_inner().result)
            }
            Command::ResizePvc(growth) => {
                let (broker_id, claim_name) = claim.unwrap_or_default();
                let (new_size, increment_by) = match growth {
                    Growth::To(size) => (size.clone(), String::new()),
                    Growth::By(increment) => (String::new(), increment.clone()),
                };
                let volume = Some(grow_disk_request::Volume::PvcName(claim_name));
                let request = GrowDiskRequest { cluster, origin, broker_id, volume, new_size, increment_by };
                client.grow_disk(request).await.map(|r| r.into_inner().result)
            }
        };
        outcome(answer)
    }

    /// The cluster, and for a claim target the broker id and claim name; the inner error when
    /// the alert names something that does not exist.
    async fn resolve(
        &self,
        target: &Target,
    ) -> Result<Result<(ClusterRef, Option<(i32, String)>), UnknownTarget>, Unavailable> {
        match target {
            Target::Cluster { namespace, name } => {
                Ok(Ok((ClusterRef { namespace: namespace.clone(), name: name.clone() }, None)))
            }
            Target::Claim { namespace, name } => {
                let claims: Api<PersistentVolumeClaim> = Api::namespaced(self.kube.clone(), namespace);
                let claim = claims
                    .get_opt(name)
                    .await
                    .map_err(|error| Unavailable(format!("reading claim {name}: {error}")))?;
                let Some(claim) = claim else {
                    return Ok(Err(UnknownTarget::NoSuchClaim { namespace: namespace.clone(), name: name.clone() }));
                };
                let labels = claim.labels();
                let (Some(cluster), Some(broker_id)) =
                    (labels.get(KAFKA_CR_LABEL), labels.get(BROKER_ID_LABEL).and_then(|id| id.parse().ok()))
                else {
                    return Ok(Err(UnknownTarget::NotABrokerClaim { name: name.clone() }));
                };
                let cluster = ClusterRef { namespace: namespace.clone(), name: cluster.clone() };
                Ok(Ok((cluster, Some((broker_id, name.clone())))))
            }
        }
    }

    /// Reports the firing and resolved `rollingupgrade` alerts, one call per cluster.
    pub async fn rolling_upgrade_alerts(&self, alerts: &[Alert]) -> Result<(), Unavailable> {
        let mut per_cluster: BTreeMap<(String, String), ReportRollingUpgradeAlertsRequest> = BTreeMap::new();
        for alert in alerts.iter().filter(|a| a.labels.contains_key(commands::ROLLING_UPGRADE_LABEL)) {
            let Some(Target::Cluster { namespace, name }) = commands::target(alert, false) else { continue };
            let request = per_cluster.entry((namespace.clone(), name.clone())).or_insert_with(|| {
                ReportRollingUpgradeAlertsRequest {
                    cluster: Some(ClusterRef { namespace, name }),
                    ..Default::default()
                }
            });
            let list =
                if alert.is_firing() { &mut request.firing_fingerprints } else { &mut request.resolved_fingerprints };
            list.push(alert.identity());
        }
        for request in per_cluster.into_values() {
            let mut client = self.client.clone();
            match client.report_rolling_upgrade_alerts(request).await {
                Ok(_) => self.metrics.action("rollingUpgradeAlerts", "accepted"),
                Err(status) if status.code() == Code::NotFound => {
                    self.metrics.action("rollingUpgradeAlerts", "invalid")
                }
                Err(status) => {
                    self.metrics.action("rollingUpgradeAlerts", "failed");
                    return Err(Unavailable(status.message().to_owned()));
                }
            }
        }
        Ok(())
    }
}

/// The answer as the webhook reports it: refusals and bad requests are answers (retrying would
/// not change them); everything else is worth a retry.
fn outcome(answer: Result<Option<ActionResult>, Status>) -> Result<Outcome, Unavailable> {
    match answer {
        Ok(result) => {
            let result = result.unwrap_or_default();
            let outcome = match v1::Outcome::try_from(result.outcome) {
                Ok(v1::Outcome::Accepted) => "accepted",
                Ok(v1::Outcome::AlreadyDone) => "already_done",
                Ok(v1::Outcome::Refused) => "refused",
                _ => return Err(Unavailable(format!("unexpected outcome {}", result.outcome))),
            };
            Ok(Outcome { outcome, reason: result.reason })
        }
        Err(status) if matches!(status.code(), Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition) => {
            Ok(Outcome { outcome: "invalid", reason: status.message().to_owned() })
        }
        Err(status) => Err(Unavailable(format!("{:?}: {}", status.code(), status.message()))),
    }
}
