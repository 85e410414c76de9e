//! Pure: the voters of a dynamic KRaft quorum (KIP-853) follow the spec's controllers, one
//! change at a time, a majority kept at every step.
//!
//! - A node with the controller role that is not a voter joins (AddRaftVoter) once the leader
//!   sees it replicate the metadata log as an observer and it has caught up.
//! - A voter that is no controller in the spec any more (the node left the spec or lost the
//!   role) leaves (RemoveRaftVoter) once nobody joins and every other voter has caught up; its
//!   pod stays, and keeps the controller role, until it left.
//! - A voter whose node came back with a new log directory (its disk was replaced, so it
//!   formatted anew and observes under a new directory id) is replaced the same way: the old
//!   directory leaves, then the new one joins — the directory id is how Kafka tells a voter
//!   that lost its log from one that did not.
//!
//! Static quorums (`controller.quorum.voters`) cannot change; `static_quorum_change` refuses.

use std::collections::{BTreeMap, BTreeSet};

use kafka_admin::{DirectoryId, QuorumDescription, QuorumReplica, VoterEndpoint};

/// Records of the committed metadata log a replica may miss and still count as caught up:
/// the leader writes a no-op record every 500 ms, so a healthy follower is rarely at zero.
pub const CAUGHT_UP_RECORDS: i64 = 10;

/// One change of the voter set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoterChange {
    Add { id: i32, directory: DirectoryId, endpoint: VoterEndpoint },
    Remove { id: i32, directory: DirectoryId },
}

impl VoterChange {
    pub fn describe(&self) -> String {
        match self {
            Self::Add { id, directory, .. } => format!("controller {id} (log directory {directory}) joins the voters"),
            Self::Remove { id, directory } => format!("controller {id} (log directory {directory}) leaves the voters"),
        }
    }
}

/// What the quorum needs now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumDecision {
    /// The one change to make in this pass, if any may be made.
    pub change: Option<VoterChange>,
    /// Why the voters do not match the spec yet and what the operator waits for.
    pub wait: Option<String>,
    /// Nodes that are still voters but should not be: their pods stay, with the controller role.
    pub leaving: BTreeSet<i32>,
    /// The voters now, by node id.
    pub voters: Vec<i32>,
}

/// The next change that brings `quorum`'s voters to `desired` (controller id → its endpoint).
pub fn next_change(desired: &BTreeMap<i32, VoterEndpoint>, quorum: &QuorumDescription) -> QuorumDecision {
    let voters = quorum.voter_ids();
    let mut decision = QuorumDecision { voters: voters.clone(), ..QuorumDecision::default() };
    decision.leaving = voters.iter().copied().filter(|id| !desired.contains_key(id)).collect();

    // A desired voter observing under a new directory: its old directory must go first.
    let replaced: Vec<&QuorumReplica> = quorum
        .voters
        .iter()
        .filter(|voter| desired.contains_key(&voter.id))
        .filter(|voter| quorum.observer(voter.id).is_some_and(|o| o.directory_id != voter.directory_id))
        .collect();
    if let Some(voter) = replaced.first() {
        let why = format!("controller {} runs with a new log directory (its disk was replaced)", voter.id);
        decision_to_remove(&mut decision, quorum, voter, &why);
        return decision;
    }

    let joining: Vec<i32> = desired.keys().copied().filter(|id| !voters.contains(id)).collect();
    if let Some(&id) = joining.first() {
        let endpoint = desired[&id].clone();
        match (quorum.observer(id), quorum.lag_of(id)) {
            (Some(observer), Some(lag)) if lag <= CAUGHT_UP_RECORDS => match lagging(quorum, &voters) {
                Some(behind) => {
                    decision.wait = Some(format!("controller {id} joins the voters once {behind}"));
                }
                None => decision.change = Some(VoterChange::Add { id, directory: observer.directory_id, endpoint }),
            },
            (Some(_), lag) => {
                let lag = lag.map_or_else(|| "an unknown number of".to_owned(), |lag| lag.to_string());
                decision.wait =
                    Some(format!("controller {id} joins the voters once it caught up: {lag} records behind"));
            }
            (None, _) => {
                decision.wait = Some(format!(
                    "controller {id} joins the voters once the quorum leader sees it replicate the metadata log \
                     (not an observer yet: its pod is starting, or cannot reach the controllers)"
                ));
            }
        }
        return decision;
    }

    // Followers leave before the leader: a leaving leader costs an election.
    let mut leaving: Vec<&QuorumReplica> = quorum.voters.iter().filter(|v| decision.leaving.contains(&v.id)).collect();
    leaving.sort_by_key(|voter| (Some(voter.id) == quorum.leader_id, voter.id));
    if let Some(voter) = leaving.first() {
        decision_to_remove(&mut decision, quorum, voter, "it is no controller in the spec any more");
    }
    decision
}

/// Removes `voter` if the voters that stay have all caught up (so they keep a majority).
fn decision_to_remove(decision: &mut QuorumDecision, quorum: &QuorumDescription, voter: &QuorumReplica, why: &str) {
    let id = voter.id;
    let staying: Vec<i32> = decision.voters.iter().copied().filter(|&other| other != id).collect();
    if staying.is_empty() {
        decision.wait = Some(format!(
            "controller {id} would leave the voters ({why}), but it is the only voter; add a controller first"
        ));
        return;
    }
    match lagging(quorum, &staying) {
        Some(behind) => decision.wait = Some(format!("controller {id} leaves the voters ({why}) once {behind}")),
        None => decision.change = Some(VoterChange::Remove { id, directory: voter.directory_id }),
    }
}

/// The voters among `ids` that have not caught up, as a sentence; None when all have.
fn lagging(quorum: &QuorumDescription, ids: &[i32]) -> Option<String> {
    let behind: Vec<String> = ids
        .iter()
        .filter_map(|&id| match quorum.lag_of(id) {
            Some(lag) if lag <= CAUGHT_UP_RECORDS => None,
            Some(lag) => Some(format!("{id} ({lag} records behind)")),
            None => Some(format!("{id} (offset unknown to the leader)")),
        })
        .collect();
    (!behind.is_empty()).then(|| format!("voters {} caught up", behind.join(", ")))
}

#[cfg(test)]
#[path = "quorum_tests.rs"]
mod tests;
