//! Pure: KRaft's own decisions.
//!
//! - How a cluster's controller quorum is formed, once, when the cluster is made: dynamic
//!   (KIP-853) when every node runs Kafka 3.9 or later, so its controller set can change later;
//!   static otherwise, and for every cluster that exists already (its nodes were formatted
//!   with `controller.quorum.voters`, which Kafka cannot change). The status keeps the choice.
//! - A dynamic quorum's voters follow the spec's controllers ([`super::quorum`]). Until a voter
//!   that should go has left, its node keeps the controller role and its pod.
//! - After an upgrade, once every node runs the same Kafka, `metadata.version` is raised to the
//!   newest that Kafka supports (unless `spec.metadataVersionUpgrade: Manual`): until then the
//!   new version's metadata features stay off.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::{KafkaClusterStatus, KraftStatus, MetadataVersionUpgrade, ProcessRole, QuorumKind};
use crd_types::labels::{IS_BROKER_NODE, IS_CONTROLLER_NODE};
use kafka_admin::{DirectoryId, METADATA_VERSION, VoterEndpoint};

use crate::build;
use crate::model::{KafkaVersion, QuorumConfig, ValidatedCluster};
use crate::reconcile::observe::ObservedCluster;

use super::brokers::BrokerProgress;
use super::facts::{Facts, Needs};
use super::plan::{Action, Notice, Step};
use super::quorum::{self, VoterChange};

/// The first Kafka whose quorum can be formed dynamic (KIP-853).
const DYNAMIC_QUORUM_SINCE: KafkaVersion = KafkaVersion { major: 3, minor: 9, patch: 0 };

/// How the quorum was formed and which voters should leave it, decided before the nodes' objects
/// are built (they depend on it).
#[derive(Clone, Debug, PartialEq)]
pub struct Formation {
    /// What the status keeps (new this pass for a new cluster).
    pub status: KraftStatus,
    /// The spec's controllers, with the endpoint AddRaftVoter names.
    pub desired: BTreeMap<i32, VoterEndpoint>,
    /// Voters (as last seen) that are no controllers in the spec: until they left the quorum
    /// their nodes keep the controller role and their pods.
    pub leaving: BTreeSet<i32>,
}

impl Formation {
    pub fn is_dynamic(&self) -> bool {
        self.status.quorum == Some(QuorumKind::Dynamic)
    }
}

/// The formation of a KRaft cluster; None in ZooKeeper mode. `new_cluster_id` is Some when
/// this pass records the cluster id, i.e. the cluster is new.
pub fn formation(
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    observed: &ObservedCluster,
    new_cluster_id: Option<&str>,
) -> Option<Formation> {
    if !cluster.is_kraft() {
        return None;
    }
    let recorded = previous.and_then(|status| status.kraft.clone()).unwrap_or_default();
    let desired: BTreeMap<i32, VoterEndpoint> =
        cluster.brokers.iter().filter(|b| b.is_controller()).map(|b| (b.id, endpoint(cluster, b.id))).collect();
    let status = match recorded.quorum {
        Some(_) => recorded,
        None if new_cluster_id.is_some() && observed.pods.is_empty() && supports_dynamic_quorum(cluster) => {
            KraftStatus {
                quorum: Some(QuorumKind::Dynamic),
                initial_controllers: desired.keys().copied().collect(),
                ..KraftStatus::default()
            }
        }
        None => KraftStatus { quorum: Some(QuorumKind::Static), ..recorded },
    };
    let leaving = match status.quorum {
        Some(QuorumKind::Dynamic) => status.voters.iter().copied().filter(|id| !desired.contains_key(id)).collect(),
        _ => BTreeSet::new(),
    };
    Some(Formation { status, desired, leaving })
}

fn supports_dynamic_quorum(cluster: &ValidatedCluster) -> bool {
    cluster.brokers.iter().all(|broker| broker.kafka_version >= DYNAMIC_QUORUM_SINCE)
}

/// Where AddRaftVoter tells the quorum to reach controller `id`: its controller listener.
fn endpoint(cluster: &ValidatedCluster, id: i32) -> VoterEndpoint {
    let listener = build::controller_listener(cluster);
    VoterEndpoint {
        listener: listener.map(build::kafka_listener_name).unwrap_or_default(),
        host: build::broker_host(cluster, id),
        port: listener.and_then(|l| u16::try_from(l.common.container_port).ok()).unwrap_or_default(),
    }
}

/// The cluster as its nodes are built: a dynamic quorum's configuration, and leaving voters with
/// the roles their pods run with (the controller role among them) until they left.
pub fn configure<'a>(
    spec: &KafkaCluster,
    cluster: &'a ValidatedCluster,
    formation: Option<&Formation>,
    cluster_id: Option<&str>,
    observed: &ObservedCluster,
) -> Cow<'a, ValidatedCluster> {
    let Some(formation) = formation.filter(|f| f.is_dynamic()) else { return Cow::Borrowed(cluster) };
    let mut configured = with_running_roles(spec, cluster, &formation.leaving, observed);
    let initial = (!formation.status.quorum_formed).then(|| {
        let cluster_id = cluster_id.unwrap_or_default();
        formation
            .status
            .initial_controllers
            .iter()
            .map(|&id| (id, DirectoryId::derived_from(&format!("{cluster_id}/{id}"))))
            .collect()
    });
    configured.quorum = QuorumConfig::Dynamic { initial };
    Cow::Owned(configured)
}

/// The cluster validated with each leaving voter in the spec given the roles its pod runs with
/// (everything the model derives from roles follows: listeners, reporter, pod name); the
/// validated cluster as it is when none changed its roles, or the changed spec does not validate.
fn with_running_roles(
    spec: &KafkaCluster,
    cluster: &ValidatedCluster,
    leaving: &BTreeSet<i32>,
    observed: &ObservedCluster,
) -> ValidatedCluster {
    let mut changed = spec.clone();
    let mut any = false;
    for broker in changed.spec.brokers.iter_mut().filter(|b| leaving.contains(&b.id)) {
        let modelled = cluster.brokers.iter().find(|m| m.id == broker.id).map(|m| &m.roles);
        let running = running_roles(observed, broker.id).unwrap_or_else(|| {
            let mut roles = modelled.cloned().unwrap_or_default();
            roles.insert(ProcessRole::Controller);
            roles
        });
        if modelled != Some(&running) {
            broker.broker_config.get_or_insert_default().process_roles = running.into_iter().collect();
            any = true;
        }
    }
    if !any {
        return cluster.clone();
    }
    crate::model::validate(&changed).unwrap_or_else(|_| cluster.clone())
}

/// The roles the node's live pod runs with, from its labels.
fn running_roles(observed: &ObservedCluster, id: i32) -> Option<BTreeSet<ProcessRole>> {
    let pod = observed.pods.get(&id)?.iter().find(|pod| pod.metadata.deletion_timestamp.is_none())?;
    let labels = pod.labels();
    let has = |label: &str| labels.get(label).is_some_and(|value| value == "true");
    let mut roles = BTreeSet::new();
    if has(IS_BROKER_NODE) {
        roles.insert(ProcessRole::Broker);
    }
    if has(IS_CONTROLLER_NODE) {
        roles.insert(ProcessRole::Controller);
    }
    (!roles.is_empty()).then_some(roles)
}

/// What this pass decided about KRaft, for the status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KraftReport {
    /// `status.kraft`; None in ZooKeeper mode.
    pub status: Option<KraftStatus>,
    /// Why the voters do not match the spec yet, for a dynamic quorum.
    pub quorum_wait: Option<String>,
    /// Why `metadata.version` is not raised yet, while the operator raises it.
    pub metadata_wait: Option<String>,
    pub in_progress: bool,
}

/// The voter change and the `metadata.version` raise this pass makes, onto `steps`.
pub fn plan(
    formation: Option<&Formation>,
    progress: &[BrokerProgress],
    policy: Option<MetadataVersionUpgrade>,
    roll_in_progress: bool,
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
) -> KraftReport {
    let Some(formation) = formation else { return KraftReport::default() };
    let mut report = KraftReport { status: Some(formation.status.clone()), ..KraftReport::default() };
    if formation.is_dynamic() {
        plan_voters(formation, progress, known, needs, steps, &mut report);
    }
    if policy != Some(MetadataVersionUpgrade::Manual) && !roll_in_progress {
        plan_metadata_version(progress, known, needs, steps, &mut report);
    }
    report
}

fn plan_voters(
    formation: &Formation,
    progress: &[BrokerProgress],
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
    report: &mut KraftReport,
) {
    let status = report.status.get_or_insert_with(KraftStatus::default);
    let ready = |id: &i32| progress.iter().any(|p| p.id == *id && p.is_ready());
    let recorded: BTreeSet<i32> = status.voters.iter().copied().collect();
    let desired: BTreeSet<i32> = formation.desired.keys().copied().collect();
    let forming = !status.quorum_formed;
    if forming && !status.initial_controllers.iter().all(ready) {
        return;
    }
    if !forming && recorded == desired {
        return;
    }
    let quorum = match known.quorum(needs) {
        None => return,
        Some(Err(problem)) => {
            report.quorum_wait = Some(format!("the controller quorum cannot be described: {problem}"));
            report.in_progress = true;
            return;
        }
        Some(Ok(quorum)) => quorum,
    };
    if forming {
        if quorum.leader_id.is_none() {
            report.quorum_wait = Some("the controller quorum has not elected a leader yet".to_owned());
            report.in_progress = true;
            return;
        }
        status.quorum_formed = true;
        // The initial controllers' ConfigMaps change with it (`--no-initial-controllers`), in
        // the next pass: until then the cluster is not settled, so it is not reported running
        // while the operator still has its own change of them to make.
        report.in_progress = true;
    }
    let decision = quorum::next_change(&formation.desired, quorum);
    status.voters = decision.voters.clone();
    report.quorum_wait = decision.wait.clone();
    if let Some(change) = decision.change {
        report.quorum_wait = Some(format!("{} now", change.describe()));
        // Kafka's answer is the event (see `change_outcome`).
        steps.push(Step::new(Action::ChangeVoters { change }));
    }
    report.in_progress |= report.quorum_wait.is_some();
}

/// Once every node is ready, runs the desired configuration and the same Kafka, and that Kafka
/// is not the one the status says `metadata.version` was finalized for: ask a broker, and raise
/// the finalized level to the newest it supports (or record that it is there).
fn plan_metadata_version(
    progress: &[BrokerProgress],
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
    report: &mut KraftReport,
) {
    let status = report.status.get_or_insert_with(KraftStatus::default);
    let versions: BTreeSet<&str> = progress.iter().map(|p| p.kafka_version.as_str()).collect();
    let settled = !progress.is_empty() && progress.iter().all(|p| p.is_ready() && p.in_sync());
    let [version] = versions.into_iter().collect::<Vec<_>>()[..] else { return };
    if !settled || status.metadata_version_finalized_for.as_deref() == Some(version) {
        return;
    }
    let levels = match known.feature_levels(needs) {
        None => return,
        // Said in the status, but not held against the cluster running: asked again at the
        // next resync.
        Some(Err(problem)) => {
            report.metadata_wait =
                Some(format!("metadata.version: cannot read the feature levels of Kafka {version}: {problem}"));
            return;
        }
        Some(Ok(levels)) => levels,
    };
    let supported = levels.supported.get(METADATA_VERSION).map(|range| range.max);
    let finalized = levels.finalized.get(METADATA_VERSION).copied();
    match (finalized, supported) {
        (Some(from), Some(to)) if from < to => {
            report.metadata_wait = Some(format!(
                "metadata.version: raising level {from} to {to}, the newest Kafka {version} supports, now that \
                 every node runs it"
            ));
            report.in_progress = true;
            steps.push(Step::new(Action::UpgradeMetadataVersion { from, to, kafka_version: version.to_owned() }));
        }
        _ => status.metadata_version_finalized_for = Some(version.to_owned()),
    }
}

/// The voters a roll treats as the quorum: a dynamic quorum's voters as last seen (a node
/// that is to become a controller is not one until it joined); None for all spec controllers.
pub fn roll_voters(formation: Option<&Formation>) -> Option<BTreeSet<i32>> {
    let formation = formation.filter(|f| f.is_dynamic() && f.status.quorum_formed)?;
    Some(formation.status.voters.iter().copied().collect())
}

/// The event of a voter change: Kafka's answer, naming the node.
pub fn change_outcome(change: &VoterChange, result: Result<(), String>) -> Notice {
    match result {
        Ok(()) => Notice::normal("QuorumChanged", "ChangeVoters", format!("{}: done", change.describe())),
        Err(error) => Notice::warning(
            "QuorumChangeFailed",
            "ChangeVoters",
            format!("{}: not done, tried again soon: {error}", change.describe()),
        ),
    }
}

/// The event of raising `metadata.version`: Kafka's answer.
pub fn upgrade_outcome(from: i16, to: i16, kafka_version: &str, result: Result<(), String>) -> Notice {
    match result {
        Ok(()) => Notice::normal(
            "MetadataVersionRaised",
            "UpgradeFeature",
            format!("metadata.version raised from level {from} to {to}, the newest Kafka {kafka_version} supports"),
        ),
        Err(error) => Notice::warning(
            "MetadataVersionNotRaised",
            "UpgradeFeature",
            format!("metadata.version: raising level {from} to {to} failed, tried again soon: {error}"),
        ),
    }
}

#[cfg(test)]
#[path = "kraft_tests.rs"]
mod tests;
