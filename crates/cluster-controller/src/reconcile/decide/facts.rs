//! Pure: the facts that only Kafka, Cruise Control or the apiserver (beyond the caches) know.
//! The decision asks for them when, and only when, it needs them, so an idle cluster costs no
//! Kafka or Cruise Control request it does not need: `observe::facts` answers the requests, and
//! the decision runs again with the answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crd_types::CruiseControlOperation;
use kafka_admin::{BrokerConfigs, FeatureLevels, QuorumDescription, ReplicaHealth};

/// A fact the decision needs and the caches do not hold.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FactRequest {
    /// Registered brokers, offline partitions, out-of-sync replicas (Kafka's Metadata).
    ReplicaHealth,
    /// The Raft state of these KRaft controllers (their metrics): which is active, which are
    /// voters, how far behind each is.
    ControllerStates { controllers: Vec<i32> },
    /// The dynamic configuration of these brokers (Kafka's DescribeConfigs).
    BrokerConfigs { brokers: Vec<i32> },
    /// Which brokers Cruise Control sees, and their state (`GET load`).
    CruiseControlBrokers,
    /// Which log dirs Cruise Control reports online (`GET kafka_cluster_state`).
    CruiseControlLogDirs,
    /// The KRaft quorum as its leader describes it (voters, observers, their offsets).
    Quorum,
    /// The feature levels a broker supports and the cluster finalized (`metadata.version`).
    FeatureLevels,
    /// A CruiseControlOperation a status names but the cache does not hold (yet): a cache that
    /// lags behind a fresh create must not make a drain look vanished.
    Operation { name: String },
}

/// Why a fact could not be had; the decision puts the sentence into the status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// One KRaft controller as its metrics describe it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RaftView {
    /// `kafka.controller:type=KafkaController,name=ActiveControllerCount` is 1.
    pub active: bool,
    /// The Raft state (leader, follower, candidate, unattached, observer, ...); None when the
    /// node exports no Raft metrics (the user replaced the JMX exporter rules).
    pub state: Option<String>,
    pub high_watermark: Option<f64>,
    pub log_end_offset: Option<f64>,
}

impl RaftView {
    /// A voter that takes part: leader or follower.
    pub fn in_quorum(&self) -> Option<bool> {
        self.state.as_deref().map(|state| matches!(state, "leader" | "follower"))
    }

    /// Records the leader committed that this node does not hold yet; None when not exported.
    pub fn behind(&self) -> Option<f64> {
        Some((self.high_watermark? - self.log_end_offset?).max(0.0))
    }
}

/// The answers gathered so far. `None` means "not asked yet".
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub replica_health: Option<Result<ReplicaHealth, Unavailable>>,
    /// By controller id; a controller whose metrics do not answer is an error.
    pub controllers: Option<BTreeMap<i32, Result<RaftView, Unavailable>>>,
    pub broker_configs: BTreeMap<i32, Result<BrokerConfigs, Unavailable>>,
    pub cruise_control_brokers: Option<Result<BTreeMap<i32, String>, Unavailable>>,
    pub cruise_control_log_dirs: Option<Result<BTreeMap<i32, Vec<String>>, Unavailable>>,
    pub quorum: Option<Result<QuorumDescription, Unavailable>>,
    pub feature_levels: Option<Result<FeatureLevels, Unavailable>>,
    /// Operations looked up by name beyond the cache; `None` when the apiserver has none.
    pub operations: BTreeMap<String, Option<Arc<CruiseControlOperation>>>,
}

/// What the decision found missing while it ran; empty means the plan is complete.
#[derive(Debug, Default)]
pub struct Needs(BTreeSet<FactRequest>);

impl Needs {
    pub fn ask(&mut self, request: FactRequest) {
        self.0.insert(request);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_requests(self) -> Vec<FactRequest> {
        self.0.into_iter().collect()
    }
}

impl Facts {
    /// Whether `request` has an answer already; the decision never asks twice, so the
    /// observe–decide loop ends.
    pub fn answers(&self, request: &FactRequest) -> bool {
        match request {
            FactRequest::ReplicaHealth => self.replica_health.is_some(),
            FactRequest::ControllerStates { .. } => self.controllers.is_some(),
            FactRequest::BrokerConfigs { brokers } => brokers.iter().all(|id| self.broker_configs.contains_key(id)),
            FactRequest::CruiseControlBrokers => self.cruise_control_brokers.is_some(),
            FactRequest::CruiseControlLogDirs => self.cruise_control_log_dirs.is_some(),
            FactRequest::Quorum => self.quorum.is_some(),
            FactRequest::FeatureLevels => self.feature_levels.is_some(),
            FactRequest::Operation { name } => self.operations.contains_key(name),
        }
    }

    pub fn quorum(&self, needs: &mut Needs) -> Option<&Result<QuorumDescription, Unavailable>> {
        self.quorum.as_ref().or_else(|| {
            needs.ask(FactRequest::Quorum);
            None
        })
    }

    pub fn feature_levels(&self, needs: &mut Needs) -> Option<&Result<FeatureLevels, Unavailable>> {
        self.feature_levels.as_ref().or_else(|| {
            needs.ask(FactRequest::FeatureLevels);
            None
        })
    }

    /// Kafka's replica health, or a request for it.
    pub fn replica_health(&self, needs: &mut Needs) -> Option<&Result<ReplicaHealth, Unavailable>> {
        self.replica_health.as_ref().or_else(|| {
            needs.ask(FactRequest::ReplicaHealth);
            None
        })
    }

    /// The Raft state of `controllers`, or a request for it.
    pub fn controllers(
        &self,
        controllers: Vec<i32>,
        needs: &mut Needs,
    ) -> Option<&BTreeMap<i32, Result<RaftView, Unavailable>>> {
        self.controllers.as_ref().or_else(|| {
            needs.ask(FactRequest::ControllerStates { controllers });
            None
        })
    }

    /// The dynamic configuration of `brokers`, or a request for those not known yet.
    pub fn broker_configs(
        &self,
        brokers: &[i32],
        needs: &mut Needs,
    ) -> Option<BTreeMap<i32, &Result<BrokerConfigs, Unavailable>>> {
        let missing: Vec<i32> = brokers.iter().copied().filter(|id| !self.broker_configs.contains_key(id)).collect();
        if !missing.is_empty() {
            needs.ask(FactRequest::BrokerConfigs { brokers: missing });
            return None;
        }
        Some(brokers.iter().filter_map(|id| Some((*id, self.broker_configs.get(id)?))).collect())
    }

    pub fn cruise_control_brokers(&self, needs: &mut Needs) -> Option<&Result<BTreeMap<i32, String>, Unavailable>> {
        self.cruise_control_brokers.as_ref().or_else(|| {
            needs.ask(FactRequest::CruiseControlBrokers);
            None
        })
    }

    pub fn cruise_control_log_dirs(
        &self,
        needs: &mut Needs,
    ) -> Option<&Result<BTreeMap<i32, Vec<String>>, Unavailable>> {
        self.cruise_control_log_dirs.as_ref().or_else(|| {
            needs.ask(FactRequest::CruiseControlLogDirs);
            None
        })
    }

    /// The operation named `name`: from the cache, else as looked up, else a request.
    /// `Some(None)`: it does not exist.
    pub fn operation(
        &self,
        cached: &BTreeMap<String, Arc<CruiseControlOperation>>,
        name: &str,
        needs: &mut Needs,
    ) -> Option<Option<Arc<CruiseControlOperation>>> {
        if let Some(operation) = cached.get(name) {
            return Some(Some(Arc::clone(operation)));
        }
        match self.operations.get(name) {
            Some(found) => Some(found.clone()),
            None => {
                needs.ask(FactRequest::Operation { name: name.to_owned() });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_fact_is_asked_once_and_then_answered() {
        let mut facts = Facts::default();
        let mut needs = Needs::default();
        assert!(facts.replica_health(&mut needs).is_none());
        assert!(facts.broker_configs(&[0, 1], &mut needs).is_none());
        let requests = needs.into_requests();
        assert_eq!(requests, vec![FactRequest::ReplicaHealth, FactRequest::BrokerConfigs { brokers: vec![0, 1] }]);

        facts.replica_health = Some(Err(Unavailable("down".into())));
        facts.broker_configs.insert(0, Ok(BrokerConfigs::default()));
        facts.broker_configs.insert(1, Err(Unavailable("broker 1 down".into())));
        assert!(requests.iter().all(|request| facts.answers(request)));
        let mut needs = Needs::default();
        assert!(facts.replica_health(&mut needs).is_some());
        assert_eq!(facts.broker_configs(&[0, 1], &mut needs).map(|c| c.len()), Some(2));
        assert!(needs.is_empty());
    }

    #[test]
    fn an_operation_in_the_cache_needs_no_lookup() {
        let operation = Arc::new(CruiseControlOperation::new("op", Default::default()));
        let cached = BTreeMap::from([("op".to_owned(), operation)]);
        let mut needs = Needs::default();
        assert!(matches!(Facts::default().operation(&cached, "op", &mut needs), Some(Some(_))));
        assert!(Facts::default().operation(&cached, "gone", &mut needs).is_none());
        assert_eq!(needs.into_requests(), vec![FactRequest::Operation { name: "gone".into() }]);
    }
}
