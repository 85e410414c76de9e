//! One pass over every KafkaTopic of one cluster: read → ask the cluster controller where the
//! brokers are → observe Kafka (one metadata request, batched config reads) → plan (pure) →
//! finalizers → apply to Kafka in batches → release finalizers → status and events, each
//! written only when it changed.
//!
//! A failure that keeps the pass from doing its work (the cluster controller or Kafka
//! unreachable, a write refused) does not end the pass early: every KafkaTopic still gets its
//! status, and the pass then returns the first failure, for the worker's retry pacing, the
//! reconcile metrics and a Warning event.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use kafka_admin::{ClusterMetadata, ConnectionSettings, RequestCounter, RequestError, TlsSettings, WireAdmin};
use operator_runtime::error_class::{Classify, ErrorClass, kube_error_class};
use operator_runtime::finalizers::FinalizerError;

use crate::access::{self, ClusterAccess, ClusterTarget};
use crate::apply;
use crate::cache::CachedTopic;
use crate::kube_writes::{Notice, TopicWriter};
use crate::outcome::{Outcome, ProblemKind};
use crate::plan::{self, AppliedConfig, ConfiguredHere, CreatedHere, KafkaView, Plan, Release};
use crate::request::{ClusterKey, ResourceKey, TopicRequest};
use crate::status;
use crate::status_writer::{StatusQueue, StatusUpdate};
use crate::tls_material::{CachedMaterial, SecretName, TlsSource};
use crate::tls_secrets;

/// API writes in flight at once: enough to keep a 10,000-topic flood moving without
/// starving the API server.
const WRITE_CONCURRENCY: usize = 32;

/// Passes (retried within seconds) that a configuration this process set may stay invisible
/// in DescribeConfigs before a difference counts as drift again.
const PASSES_UNTIL_CONFIG_SHOWS: u32 = 3;

/// What every cluster worker shares.
pub struct Shared {
    pub writer: TopicWriter,
    pub access: ClusterAccess,
    /// Reads the Secrets that TLS listeners' material is in.
    pub secrets: kube::Client,
    pub kafka_requests: RequestCounter,
    pub client_id: String,
    pub request_timeout: std::time::Duration,
}

/// What one cluster's worker keeps between passes.
pub struct ClusterState {
    /// The Kafka admin client of the last pass that reached the cluster controller: made anew
    /// each pass (it holds no connection), so a moved listener or renewed certificate counts
    /// from the next request on.
    admin: Option<Arc<WireAdmin>>,
    /// The TLS material last read, for a cluster whose listener uses TLS.
    tls_material: Option<CachedMaterial>,
    created_here: CreatedHere,
    configured_here: ConfiguredHere,
    pub statuses: StatusQueue,
}

impl ClusterState {
    pub fn new(statuses: StatusQueue) -> Self {
        Self {
            admin: None,
            tls_material: None,
            created_here: CreatedHere::new(),
            configured_here: ConfiguredHere::new(),
            statuses,
        }
    }
}

/// Why a pass could not do all of its work.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("failed to ask the cluster controller where the brokers of KafkaCluster {cluster} are")]
    ClusterAccess {
        cluster: ClusterKey,
        #[source]
        source: access::Error,
    },
    #[error("failed to read Secret {secret}, the TLS material of KafkaCluster {cluster}")]
    ReadSecret {
        cluster: ClusterKey,
        secret: SecretName,
        #[source]
        source: kube::Error,
    },
    #[error("failed to create a Kafka admin client for KafkaCluster {cluster}")]
    AdminClient {
        cluster: ClusterKey,
        #[source]
        source: kafka_admin::NoBootstrapServers,
    },
    #[error("failed to read the topics of KafkaCluster {cluster} from Kafka")]
    ObserveKafka {
        cluster: ClusterKey,
        #[source]
        source: RequestError,
    },
    #[error("failed to apply the KafkaTopics of KafkaCluster {cluster} to Kafka")]
    ApplyKafka {
        cluster: ClusterKey,
        #[source]
        source: RequestError,
    },
    #[error("failed to add the finalizer to {failed} KafkaTopics; the first")]
    AddFinalizers {
        failed: usize,
        #[source]
        source: FinalizerError,
    },
    #[error("failed to remove the finalizer from {failed} KafkaTopics; the first")]
    RemoveFinalizers {
        failed: usize,
        #[source]
        source: FinalizerError,
    },
}

impl Classify for PassError {
    fn class(&self) -> ErrorClass {
        let kafka = |source: &RequestError| {
            if source.is_retriable() {
                ErrorClass::transient("kafka_unreachable")
            } else {
                ErrorClass::permanent("kafka_request")
            }
        };
        match self {
            Self::ClusterAccess { .. } => ErrorClass::transient("cluster_access_unreachable"),
            Self::ReadSecret { source, .. } => kube_error_class(source),
            Self::AdminClient { .. } => ErrorClass::permanent("kafka_client"),
            Self::ObserveKafka { source, .. } | Self::ApplyKafka { source, .. } => kafka(source),
            Self::AddFinalizers { source, .. } | Self::RemoveFinalizers { source, .. } => source.class(),
        }
    }
}

/// What the worker needs to schedule the next pass.
#[derive(Debug)]
pub struct PassReport {
    /// Something waits on a condition that may pass soon (cluster starting, deletion).
    pub retry_soon: bool,
    pub topics: usize,
    /// The first failure of the pass, if any.
    pub failure: Option<PassError>,
}

pub async fn run_pass(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    resources: Vec<Arc<CachedTopic>>,
) -> PassReport {
    // Borrowed from the cache's entries, not copied: at 10,000 topics a copy of every
    // request was the largest part of a pass's memory.
    let requests: Vec<&TopicRequest> = resources.iter().map(|r| &r.request).collect();
    let by_key: HashMap<&ResourceKey, &CachedTopic> = resources.iter().map(|r| (&r.request.resource, &**r)).collect();
    let unmanaged: HashSet<&str> = requests.iter().filter(|r| !r.managed).map(|r| r.uid.as_str()).collect();
    state.created_here.retain(|(_, uid), _| unmanaged.contains(uid.as_str()));

    let mut failures = Vec::new();
    let mut plan = match observe_and_plan(shared, state, cluster, &requests).await {
        Ok(plan) => plan,
        Err(unavailable) => {
            tracing::info!(%cluster, reason = %unavailable.message, "waiting for the cluster");
            let plan = unavailable_plan(&requests, &unavailable);
            failures.extend(unavailable.failure.map(|failure| *failure));
            plan
        }
    };
    let mut deleted = Vec::new();
    if let Some(admin) = state.admin.clone().filter(|_| has_kafka_work(&plan)) {
        failures.extend(add_finalizers(shared, &by_key, &mut plan).await);
        let uid_of = |key: &ResourceKey| by_key.get(key).map(|r| r.request.uid.clone()).unwrap_or_default();
        tracing::info!(
            %cluster,
            create = plan.creates.len(),
            grow = plan.growths.len(),
            configure = plan.config_changes.len(),
            delete = plan.deletes.len(),
            finalize = plan.finalizers_to_add.len(),
            "applying changes to Kafka"
        );
        match apply::apply(&admin, &mut plan, &mut state.created_here, uid_of).await {
            Ok(applied) => {
                deleted = applied.deleted;
                for key in &applied.configured {
                    if let (Some(topic), Some(before)) = (by_key.get(key), plan.config_before.get(key)) {
                        let applied = AppliedConfig {
                            config: topic.request.config.clone(),
                            before: before.clone(),
                            passes_unseen: 0,
                        };
                        state.configured_here.insert((topic.request.topic.clone(), topic.request.uid.clone()), applied);
                    }
                }
                publish(shared, &by_key, &applied.notices).await;
            }
            Err(error) => {
                let message = operator_runtime::error_chain(&error);
                // Earlier chunks of the failed request may have created topics: remember the
                // attempts, so those topics are not taken for someone else's next pass.
                for (key, spec) in &plan.creates {
                    state.created_here.entry((spec.name.clone(), uid_of(key))).or_insert(false);
                }
                for outcome in plan.outcomes.values_mut() {
                    outcome.push(ProblemKind::KafkaError, message.clone());
                }
                failures.push(PassError::ApplyKafka { cluster: cluster.clone(), source: error });
            }
        }
    }
    failures.extend(release_finalizers(shared, &by_key, &plan, &deleted).await);
    publish(shared, &by_key, &adoption_notices(&plan, &requests)).await;
    queue_statuses(&state.statuses, &requests, &plan, &deleted);
    PassReport {
        retry_soon: plan.outcomes.values().any(Outcome::retry_soon),
        topics: requests.len(),
        failure: failures.into_iter().next(),
    }
}

/// Why Kafka could not be observed in this pass.
struct Unavailable {
    message: String,
    cluster_gone: bool,
    /// Set when this is a failure rather than a state to wait out (a cluster not ready yet,
    /// a listener protocol not supported yet). Boxed: it is large, and rare.
    failure: Option<Box<PassError>>,
}

async fn observe_and_plan(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    requests: &[&TopicRequest],
) -> Result<Plan, Unavailable> {
    let target = shared.access.target(cluster).await.map_err(|error| Unavailable {
        cluster_gone: matches!(error, access::Error::ClusterNotFound(_)),
        message: error.to_string(),
        failure: matches!(error, access::Error::Unreachable { .. })
            .then(|| Box::new(PassError::ClusterAccess { cluster: cluster.clone(), source: error })),
    })?;
    let tls = match &target.tls {
        Some(source) => Some(tls_settings(shared, state, cluster, source).await?),
        None => {
            state.tls_material = None;
            None
        }
    };
    let admin = admin_for(shared, state, cluster, &target, tls)?;
    let unreachable = |error: RequestError| Unavailable {
        message: format!(
            "cannot reach Kafka at {}: {}",
            target.bootstrap_servers.join(","),
            operator_runtime::error_chain(&error)
        ),
        cluster_gone: false,
        failure: Some(Box::new(PassError::ObserveKafka { cluster: cluster.clone(), source: error })),
    };
    let metadata = admin.cluster_metadata().await.map_err(unreachable)?;
    let to_describe = topics_to_describe(requests, &metadata, &state.created_here);
    let overrides = admin.topic_overrides(&to_describe).await.map_err(unreachable)?;
    state.configured_here.retain(|(topic, _), applied| {
        let shown = matches!(overrides.get(topic), Some(Ok(actual)) if *actual == applied.config);
        applied.passes_unseen += 1;
        !shown && applied.passes_unseen <= PASSES_UNTIL_CONFIG_SHOWS
    });
    let view = KafkaView {
        metadata: &metadata,
        overrides: &overrides,
        spec_broker_count: target.spec_broker_count,
        created_here: &state.created_here,
        configured_here: &state.configured_here,
    };
    Ok(plan::plan(requests, &view))
}

/// A missing Secret or key is waited for (the certificate backend writes it soon after the
/// cluster asks for it); an API failure is a failure of the pass.
async fn tls_settings(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    source: &TlsSource,
) -> Result<TlsSettings, Unavailable> {
    tls_secrets::tls_settings(&shared.secrets, source, &mut state.tls_material)
        .await
        .map_err(|error| waiting_for_tls(cluster, error))
}

fn waiting_for_tls(cluster: &ClusterKey, error: tls_secrets::Error) -> Unavailable {
    match error {
        tls_secrets::Error::Missing(missing) => {
            Unavailable { message: missing.to_string(), cluster_gone: false, failure: None }
        }
        tls_secrets::Error::Read { secret, source } => {
            let failure = PassError::ReadSecret { cluster: cluster.clone(), secret, source };
            Unavailable {
                message: operator_runtime::error_chain(&failure),
                cluster_gone: false,
                failure: Some(Box::new(failure)),
            }
        }
    }
}

fn admin_for(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    target: &ClusterTarget,
    tls: Option<TlsSettings>,
) -> Result<Arc<WireAdmin>, Unavailable> {
    let settings = ConnectionSettings {
        bootstrap_servers: target.bootstrap_servers.clone(),
        client_id: shared.client_id.clone(),
        request_timeout: shared.request_timeout,
        tls,
    };
    let admin = WireAdmin::connect(&settings, shared.kafka_requests.clone()).map_err(|error| Unavailable {
        message: format!("failed to create a Kafka admin client: {}", operator_runtime::error_chain(&error)),
        cluster_gone: false,
        failure: Some(Box::new(PassError::AdminClient { cluster: cluster.clone(), source: error })),
    })?;
    let admin = Arc::new(admin);
    state.admin = Some(Arc::clone(&admin));
    Ok(admin)
}

/// Topics whose configuration the plan compares: those that exist and that this operator
/// manages or may adopt. Everything else in the cluster is never described.
fn topics_to_describe(
    requests: &[&TopicRequest],
    metadata: &ClusterMetadata,
    created_here: &CreatedHere,
) -> Vec<String> {
    let mut names: Vec<String> = requests
        .iter()
        .filter(|r| !r.deleting && metadata.topics.contains_key(&r.topic))
        .filter(|r| r.managed || r.adopt || created_here.contains_key(&(r.topic.clone(), r.uid.clone())))
        .map(|r| r.topic.clone())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Without Kafka: every topic waits, and a deleted KafkaTopic of a cluster that no longer
/// exists lets go (there is nothing left to delete it from).
fn unavailable_plan(requests: &[&TopicRequest], unavailable: &Unavailable) -> Plan {
    let mut plan = Plan::default();
    for request in requests {
        if request.deleting && unavailable.cluster_gone {
            if request.has_finalizer {
                plan.releases.push((request.resource.clone(), Release::ClusterGone));
            }
            continue;
        }
        let kind = if request.deleting { ProblemKind::Deleting } else { ProblemKind::WaitingForCluster };
        let outcome = Outcome { managed: request.managed, exists: request.managed, ..Outcome::default() }
            .with_problem(kind, unavailable.message.clone());
        plan.outcomes.insert(request.resource.clone(), outcome);
    }
    plan
}

fn has_kafka_work(plan: &Plan) -> bool {
    let idle = plan.creates.is_empty()
        && plan.growths.is_empty()
        && plan.config_changes.is_empty()
        && plan.deletes.is_empty()
        && plan.finalizers_to_add.is_empty();
    !idle
}

/// The finalizer goes on before anything is created in Kafka; where that fails, the topic's
/// Kafka actions wait for the next pass.
async fn add_finalizers(
    shared: &Shared,
    by_key: &HashMap<&ResourceKey, &CachedTopic>,
    plan: &mut Plan,
) -> Option<PassError> {
    let failures: Vec<(ResourceKey, FinalizerError)> = stream::iter(plan.finalizers_to_add.clone())
        .map(|key| async move {
            let existing = by_key.get(&key).map(|r| r.finalizers.as_slice()).unwrap_or_default();
            shared.writer.add_finalizer(&key, existing).await.err().map(|error| (key, error))
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let failed: HashSet<&ResourceKey> = failures.iter().map(|(key, _)| key).collect();
    plan.creates.retain(|(key, _)| !failed.contains(key));
    plan.growths.retain(|(key, _)| !failed.contains(key));
    plan.config_changes.retain(|(key, _, _)| !failed.contains(key));
    // The planned outcome stays, with the failure added: a finalizer read from a stale cache
    // fails its patch's test (422) for a topic created in the previous pass, and an outcome
    // reset to "not managed" would be written to its status over `managedBy`, after which the
    // topic would look like someone else's (TopicExists).
    for (key, error) in &failures {
        plan.outcomes.entry(key.clone()).or_default().push(ProblemKind::ApiError, operator_runtime::error_chain(error));
    }
    let count = failures.len();
    failures.into_iter().next().map(|(_, source)| PassError::AddFinalizers { failed: count, source })
}

async fn release_finalizers(
    shared: &Shared,
    by_key: &HashMap<&ResourceKey, &CachedTopic>,
    plan: &Plan,
    deleted: &[ResourceKey],
) -> Option<PassError> {
    let mut releases = plan.releases.clone();
    releases.extend(deleted.iter().cloned().zip(std::iter::repeat(Release::NothingToDelete)));
    let answers: Vec<Result<Option<Notice>, FinalizerError>> = stream::iter(releases)
        .map(|(key, release)| async move {
            let existing = by_key.get(&key).map(|r| r.finalizers.as_slice()).unwrap_or_default();
            shared.writer.remove_finalizer(&key, existing).await?;
            let topic = by_key.get(&key).map(|r| r.request.topic.as_str()).unwrap_or_default();
            Ok(match release {
                Release::KeptInKafka => Some(Notice {
                    resource: key,
                    warning: false,
                    reason: "TopicKept",
                    note: format!("topic {topic} stays in Kafka as the keep-topic-on-delete annotation asks"),
                }),
                Release::ClusterGone | Release::NothingToDelete => None,
            })
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .collect()
        .await;
    let mut notices = Vec::new();
    let mut failures = Vec::new();
    for answer in answers {
        match answer {
            Ok(notice) => notices.extend(notice),
            Err(error) => failures.push(error),
        }
    }
    publish(shared, by_key, &notices).await;
    let count = failures.len();
    failures.into_iter().next().map(|source| PassError::RemoveFinalizers { failed: count, source })
}

fn adoption_notices(plan: &Plan, requests: &[&TopicRequest]) -> Vec<Notice> {
    let topics: BTreeMap<&ResourceKey, &str> = requests.iter().map(|r| (&r.resource, r.topic.as_str())).collect();
    plan.adoptions
        .iter()
        .filter(|key| plan.outcomes.get(*key).is_some_and(|o| o.managed))
        .map(|key| Notice {
            resource: key.clone(),
            warning: false,
            reason: "TopicAdopted",
            note: format!("existing topic {} is now managed by this KafkaTopic", topics.get(key).unwrap_or(&"")),
        })
        .collect()
}

async fn publish(shared: &Shared, by_key: &HashMap<&ResourceKey, &CachedTopic>, notices: &[Notice]) {
    stream::iter(notices)
        .filter_map(|notice| async move { by_key.get(&notice.resource).map(|resource| (resource, notice)) })
        .for_each_concurrent(WRITE_CONCURRENCY, |(resource, notice)| shared.writer.publish(resource, notice))
        .await;
}

/// Hands changed statuses to the cluster's status queue (written behind the pass).
fn queue_statuses(statuses: &StatusQueue, requests: &[&TopicRequest], plan: &Plan, deleted: &[ResourceKey]) {
    let now = Time(Timestamp::now());
    let gone: HashSet<&ResourceKey> = deleted.iter().collect();
    let mut changed = Vec::new();
    let mut settled = Vec::new();
    for request in requests.iter().filter(|request| !gone.contains(&request.resource)) {
        let Some(outcome) = plan.outcomes.get(&request.resource).filter(|outcome| !outcome.recheck) else { continue };
        let desired = status::desired_status(request, outcome, &now);
        if request.status.is(&desired) {
            settled.push(request.resource.clone());
        } else {
            changed.push(StatusUpdate::new(request.resource.clone(), &request.uid, desired));
        }
    }
    statuses.submit(changed, settled.into_iter());
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
