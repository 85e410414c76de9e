//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas only one
//! runs controllers. Writes are guarded by the Lease's resourceVersion: when two candidates
//! race, the apiserver accepts one write and answers 409 Conflict to the other.
//!
//! Leadership is published on a watch channel ([`Leadership`]); controllers start when it
//! turns true and must stop when it turns false.

mod election_state;
mod leadership;

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    jiff::Timestamp,
};
use kube::{Api, Client, api::PostParams};
use prometheus_client::metrics::gauge::Gauge;
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

pub use election_state::{ElectionState, LeaseTiming, Now, Plan};
pub use leadership::Leadership;

use crate::{cli::LeaderElectionArgs, http_server::MetricsRegistry};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum LeaderElectionError {
    /// The timing flags contradict each other.
    #[error(
        "invalid leader election timing: need retry period ({retry_period:?}) < renew deadline \
         ({renew_deadline:?}) < lease duration ({lease_duration:?})"
    )]
    InvalidTiming {
        /// --lease-duration
        lease_duration: Duration,
        /// --renew-deadline
        renew_deadline: Duration,
        /// --retry-period
        retry_period: Duration,
    },
    /// Reading the Lease failed.
    #[error("failed to read lease {namespace}/{name}")]
    ReadLease {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The apiserver's answer.
        #[source]
        source: kube::Error,
    },
    /// The apiserver did not answer in time.
    #[error("no answer from the apiserver about the lease within {0:?}")]
    Timeout(Duration),
    /// Creating or replacing the Lease failed (a 409 Conflict means another candidate won).
    #[error("failed to write lease {namespace}/{name}")]
    WriteLease {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The apiserver's answer.
        #[source]
        source: kube::Error,
    },
}

/// Where the Lease lives and who we are.
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease; all replicas of one deployable must use the same.
    pub lease_name: String,
    /// Our holder identity; unique per replica.
    pub identity: String,
    /// Lease timing.
    pub timing: LeaseTiming,
}

impl LeaderElectionConfig {
    /// Builds the configuration from the flags. The Lease name defaults to `default_lease_name`
    /// (the binary name), the namespace to the client's default namespace (the pod's own
    /// namespace in a cluster), the identity to the pod name or `hostname-pid`.
    pub fn from_args(
        args: &LeaderElectionArgs,
        default_lease_name: &str,
        client: &Client,
    ) -> Result<Self, LeaderElectionError> {
        let timing = LeaseTiming {
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
        };
        if !(timing.retry_period < timing.renew_deadline && timing.renew_deadline < timing.lease_duration) {
            return Err(LeaderElectionError::InvalidTiming {
                lease_duration: timing.lease_duration,
                renew_deadline: timing.renew_deadline,
                retry_period: timing.retry_period,
            });
        }
        Ok(Self {
            namespace: args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_owned()),
            lease_name: args.lease_name.clone().unwrap_or_else(|| default_lease_name.to_owned()),
            identity: args.identity.clone().unwrap_or_else(default_identity),
            timing,
        })
    }
}

/// `hostname-pid`: unique enough outside a cluster, where several local runs share a host.
fn default_identity() -> String {
    let host =
        hostname::get().ok().and_then(|name| name.into_string().ok()).unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}-{}", std::process::id())
}

/// How long shutdown waits to give the lease up; after that the lease simply expires.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// This replica's part in the election; see [`start`].
pub struct LeaderElection {
    leadership: Leadership,
    /// `None` when leader election is disabled.
    campaign: Option<RunningCampaign>,
}

struct RunningCampaign {
    task: JoinHandle<ElectionState>,
    lease_api: Api<Lease>,
    config: LeaderElectionConfig,
}

/// Starts campaigning for the Lease until `shutdown` is cancelled, or, with
/// `--leader-election=false`, returns an election this replica always wins. Call
/// [`LeaderElection::release`] after the controllers have drained.
pub fn start(
    args: &LeaderElectionArgs,
    default_lease_name: &str,
    client: &Client,
    metrics: &MetricsRegistry,
    shutdown: CancellationToken,
) -> Result<LeaderElection, LeaderElectionError> {
    if !args.enabled {
        tracing::info!("leader election disabled; this replica runs controllers unconditionally");
        return Ok(LeaderElection { leadership: Leadership::always_leader(), campaign: None });
    }
    let config = LeaderElectionConfig::from_args(args, default_lease_name, client)?;
    Ok(start_campaign(client.clone(), config, metrics, shutdown))
}

/// Starts campaigning with an explicit configuration.
pub fn start_campaign(
    client: Client,
    config: LeaderElectionConfig,
    metrics: &MetricsRegistry,
    shutdown: CancellationToken,
) -> LeaderElection {
    let is_leader_gauge = Gauge::<i64>::default();
    metrics.register(
        "leader_election_is_leader",
        "1 while this replica holds the leader election lease",
        is_leader_gauge.clone(),
    );
    let (sender, receiver) = watch::channel(false);
    let lease_api = Api::<Lease>::namespaced(client, &config.namespace);
    let campaign = Campaign {
        lease_api: lease_api.clone(),
        config: config.clone(),
        state: ElectionState::new(config.identity.clone(), config.timing),
        sender,
        is_leader_gauge,
    };
    tracing::info!(
        lease = %format!("{}/{}", config.namespace, config.lease_name),
        identity = %config.identity,
        "starting leader election"
    );
    LeaderElection {
        leadership: Leadership::from_receiver(receiver),
        campaign: Some(RunningCampaign { task: tokio::spawn(campaign.run(shutdown)), lease_api, config }),
    }
}

impl LeaderElection {
    /// Leadership changes of this replica.
    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    /// Waits for the campaign to end (it ends when shutdown is requested) and gives the lease
    /// up if we still hold it, so the next replica takes over at once instead of after the
    /// lease duration. Failures are logged: the lease then simply expires.
    pub async fn release(self) {
        let Some(RunningCampaign { task, lease_api, config }) = self.campaign else {
            return;
        };
        let state = match task.await {
            Ok(state) => state,
            Err(error) => {
                tracing::error!(%error, "leader election task failed; the lease will expire");
                return;
            }
        };
        let now = Now { monotonic: Instant::now(), wall: Timestamp::now() };
        let Some(released) = state.release_spec(now) else {
            return;
        };
        let release = tokio::time::timeout(RELEASE_TIMEOUT, write_released(&lease_api, &config, released));
        match release.await.unwrap_or(Err(LeaderElectionError::Timeout(RELEASE_TIMEOUT))) {
            Ok(()) => tracing::info!(lease = %config.lease_name, "released leader election lease"),
            Err(error) => tracing::warn!(
                error = %crate::error_chain(&error),
                "failed to release the lease; the next leader takes over when it expires"
            ),
        }
    }
}

async fn write_released(
    lease_api: &Api<Lease>,
    config: &LeaderElectionConfig,
    released: LeaseSpec,
) -> Result<(), LeaderElectionError> {
    let read_error = |source| LeaderElectionError::ReadLease {
        namespace: config.namespace.clone(),
        name: config.lease_name.clone(),
        source,
    };
    let Some(mut lease) = lease_api.get_opt(&config.lease_name).await.map_err(read_error)? else {
        return Ok(());
    };
    if lease.spec.as_ref().and_then(|spec| spec.holder_identity.as_deref()) != Some(config.identity.as_str()) {
        return Ok(());
    }
    lease.spec = Some(released);
    lease_api.replace(&config.lease_name, &PostParams::default(), &lease).await.map_err(|source| {
        LeaderElectionError::WriteLease { namespace: config.namespace.clone(), name: config.lease_name.clone(), source }
    })?;
    Ok(())
}

struct Campaign {
    lease_api: Api<Lease>,
    config: LeaderElectionConfig,
    state: ElectionState,
    sender: watch::Sender<bool>,
    is_leader_gauge: Gauge<i64>,
}

impl Campaign {
    async fn run(mut self, shutdown: CancellationToken) -> ElectionState {
        let mut followed_holder: Option<String> = None;
        loop {
            let attempt_timeout = self.state.attempt_timeout(Instant::now());
            let attempt = tokio::select! {
                () = shutdown.cancelled() => break,
                attempt = tokio::time::timeout(attempt_timeout, self.try_acquire_or_renew()) => attempt,
            };
            match attempt.unwrap_or(Err(LeaderElectionError::Timeout(attempt_timeout))) {
                Ok(Plan::Follow { holder }) => {
                    if followed_holder.as_ref() != Some(&holder) {
                        tracing::info!(%holder, "another replica leads; waiting for its lease");
                        followed_holder = Some(holder);
                    }
                }
                Ok(_) => followed_holder = None,
                Err(error) => {
                    let error = crate::error_chain(&error);
                    tracing::warn!(%error, "leader election attempt failed");
                }
            }
            self.publish(self.state.is_leader(Instant::now()));
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.timing.retry_period) => {}
            }
        }
        // Controllers must stop before the lease is given up (see LeaderElection::release).
        self.publish(false);
        self.state
    }

    async fn try_acquire_or_renew(&mut self) -> Result<Plan, LeaderElectionError> {
        let name = self.config.lease_name.as_str();
        let current = self.lease_api.get_opt(name).await.map_err(|source| LeaderElectionError::ReadLease {
            namespace: self.config.namespace.clone(),
            name: name.to_owned(),
            source,
        })?;
        let now = Now { monotonic: Instant::now(), wall: Timestamp::now() };
        let plan = self.state.plan(current.as_ref().and_then(|lease| lease.spec.as_ref()), now);
        let write_error = |source| LeaderElectionError::WriteLease {
            namespace: self.config.namespace.clone(),
            name: name.to_owned(),
            source,
        };
        let written = match &plan {
            Plan::Follow { .. } => return Ok(plan),
            Plan::Create(spec) => {
                let mut lease = Lease::default();
                lease.metadata.name = Some(name.to_owned());
                lease.metadata.namespace = Some(self.config.namespace.clone());
                lease.spec = Some(spec.clone());
                self.lease_api.create(&PostParams::default(), &lease).await.map_err(write_error)?
            }
            Plan::Update(spec) => {
                // `current` keeps its resourceVersion, which makes this a compare-and-swap.
                let mut lease = current.unwrap_or_default();
                lease.spec = Some(spec.clone());
                self.lease_api.replace(name, &PostParams::default(), &lease).await.map_err(write_error)?
            }
        };
        self.state.on_written(written.spec.unwrap_or_default(), now.monotonic);
        Ok(plan)
    }

    fn publish(&self, is_leader: bool) {
        let changed = self.sender.send_if_modified(|current| {
            let changed = *current != is_leader;
            *current = is_leader;
            changed
        });
        if changed {
            self.is_leader_gauge.set(i64::from(is_leader));
            if is_leader {
                tracing::info!(identity = %self.config.identity, "became leader");
            } else {
                tracing::warn!(identity = %self.config.identity, "stopped leading");
            }
        }
    }
}
