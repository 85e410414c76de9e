//! Pure: every broker's graceful state (Koperator's `GracefulUpscale*`/`GracefulDownscale*`),
//! and the operations those states ask for: one add_broker for the joining brokers, requested
//! once their pods are ready and Cruise Control sees them, one remove_broker for the leaving ones.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::LocalObjectReference;

use crd_types::CruiseControlOperation;
use crd_types::kafka_cluster::{
    ClusterState, CruiseControlState as State, CruiseControlTopicStatus, GracefulActionState, KafkaClusterStatus,
};

use crate::build::cruise_control_operation::OperationRequest;
use crate::model::ValidatedCluster;
use crate::reconcile::decide::facts::{Facts, Needs};
use crate::reconcile::decide::plan::Step;

use super::broker_states::{self, BrokerView, OperationView};
use super::describe;
use super::operations::{self, Operations};

/// What the reconcile observed of one broker (in the spec, or still around after leaving it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerFacts {
    pub in_spec: bool,
    pub holds_data: bool,
    /// A pod or claim exists.
    pub has_objects: bool,
    pub pod_ready: bool,
}

#[derive(Clone, Debug)]
pub struct BrokerGraceful {
    pub state: Option<State>,
    /// The CruiseControlOperation the state follows.
    pub reference: Option<String>,
    pub operation: Option<Arc<CruiseControlOperation>>,
    pub facts: BrokerFacts,
}

/// The graceful state of every broker, and what the step did.
#[derive(Debug, Default)]
pub struct Graceful {
    pub brokers: BTreeMap<i32, BrokerGraceful>,
    /// Why the add_broker batch is not requested yet, when it is not.
    pub upscale_gate: Option<String>,
}

impl Graceful {
    /// Brokers that left the spec and whose objects may go.
    pub fn removable(&self) -> BTreeSet<i32> {
        self.leaving()
            .filter(|(_, b)| broker_states::may_remove(b.state, b.facts.holds_data))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Brokers that left the spec but must stay (rebuilt if need be) until drained.
    pub fn kept(&self) -> BTreeSet<i32> {
        self.leaving()
            .filter(|(_, b)| !broker_states::may_remove(b.state, b.facts.holds_data))
            .map(|(id, _)| *id)
            .collect()
    }

    fn leaving(&self) -> impl Iterator<Item = (&i32, &BrokerGraceful)> {
        self.brokers.iter().filter(|(_, b)| !b.facts.in_spec)
    }

    /// `gracefulActionState` of each broker with a state (volume states are the caller's).
    pub fn action_states(&self) -> BTreeMap<i32, GracefulActionState> {
        self.brokers
            .iter()
            .filter_map(|(id, broker)| {
                let state = GracefulActionState {
                    cruise_control_state: Some(broker.state?),
                    cruise_control_operation_reference: broker
                        .reference
                        .clone()
                        .map(|name| LocalObjectReference { name }),
                    volume_states: BTreeMap::new(),
                };
                Some((*id, state))
            })
            .collect()
    }

    /// One sentence per broker the operator waits for.
    pub fn waits(&self) -> Vec<String> {
        let mut waits: Vec<String> = self
            .brokers
            .iter()
            .filter_map(|(id, b)| {
                let state = b.state?;
                if state == State::GracefulUpscaleRequired && self.upscale_gate.is_some() {
                    return None;
                }
                describe::broker_wait(*id, state, b.facts.in_spec, b.reference.as_deref(), b.operation.as_deref())
            })
            .collect();
        waits.extend(self.upscale_gate.clone());
        waits
    }

    pub fn in_progress(&self) -> bool {
        self.brokers.values().any(|b| b.state.is_some_and(broker_states::is_in_progress) || !b.facts.in_spec)
    }
}

/// A cluster counts as established — new brokers join through Cruise Control rather than
/// start as they are — once its Cruise Control metrics topic is ready (Koperator's signal), once
/// it ran, or once it already went through graceful actions. The first pass over a new cluster
/// has no previous status, so its brokers start as they are.
fn is_established(previous: Option<&KafkaClusterStatus>, spec: &BTreeSet<i32>) -> bool {
    let Some(status) = previous else { return false };
    status.cruise_control_topic_status == Some(CruiseControlTopicStatus::CruiseControlTopicReady)
        || matches!(status.state, Some(ClusterState::ClusterRunning | ClusterState::ClusterRollingUpgrading))
        || status.brokers_state.iter().any(|(id, broker)| {
            let departed = id.parse::<i32>().is_ok_and(|id| !spec.contains(&id));
            let state = broker.graceful_action_state.cruise_control_state;
            departed || state.is_some_and(|s| s != State::GracefulUpscaleSucceeded)
        })
}

/// Every broker's graceful state, and the operations the states ask for (their creation goes
/// onto `steps`).
pub fn decide(
    cluster: &ValidatedCluster,
    previous: Option<&KafkaClusterStatus>,
    brokers: BTreeMap<i32, BrokerFacts>,
    cached: &Operations,
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
) -> Graceful {
    let spec: BTreeSet<i32> = brokers.iter().filter(|(_, f)| f.in_spec).map(|(id, _)| *id).collect();
    let established = is_established(previous, &spec);
    let mut graceful = Graceful::default();
    for (id, facts) in brokers {
        let before = previous.and_then(|s| s.brokers_state.get(&id.to_string())).map(|b| &b.graceful_action_state);
        let previous_state = before.and_then(|g| g.cruise_control_state);
        let reference = before.and_then(|g| g.cruise_control_operation_reference.as_ref()).map(|r| r.name.clone());
        // Not known yet: asked for, and this pass's plan is not used.
        let operation = reference.as_deref().and_then(|name| known.operation(cached, name, needs)).flatten();
        let view = BrokerView {
            previous: previous_state,
            in_spec: facts.in_spec,
            holds_data: facts.holds_data,
            has_objects: facts.has_objects,
            operation: operations::view(operation.as_deref(), reference.is_some()),
        };
        let state = broker_states::next_state(&view, established);
        // A state that asks for a new operation follows none yet; nor does one whose operation
        // is gone (its TTL passed): the status then stops naming it, and stops looking it up.
        let follows_operation =
            !matches!(state, None | Some(State::GracefulUpscaleRequired | State::GracefulDownscaleRequired))
                && matches!(view.operation, OperationView::Found(_));
        let (reference, operation) = if follows_operation { (reference, operation) } else { (None, None) };
        graceful.brokers.insert(id, BrokerGraceful { state, reference, operation, facts });
    }
    request_drains(cluster, cached, &mut graceful, steps);
    request_upscale(cluster, cached, known, needs, &mut graceful, steps);
    graceful
}

fn with_state(graceful: &Graceful, state: State) -> Vec<i32> {
    graceful.brokers.iter().filter(|(_, b)| b.state == Some(state)).map(|(id, _)| *id).collect()
}

/// One remove_broker operation for every broker waiting for its drain.
fn request_drains(cluster: &ValidatedCluster, cached: &Operations, graceful: &mut Graceful, steps: &mut Vec<Step>) {
    let ids = with_state(graceful, State::GracefulDownscaleRequired);
    if !ids.is_empty() {
        let request = OperationRequest::RemoveBrokers(ids);
        schedule(cluster, cached, graceful, &request, State::GracefulDownscaleScheduled, steps);
    }
}

/// One add_broker operation for the joining brokers, once all of them are ready and Cruise
/// Control sees them: before that, Cruise Control could not place replicas on them.
fn request_upscale(
    cluster: &ValidatedCluster,
    cached: &Operations,
    known: &Facts,
    needs: &mut Needs,
    graceful: &mut Graceful,
    steps: &mut Vec<Step>,
) {
    let ids = with_state(graceful, State::GracefulUpscaleRequired);
    if ids.is_empty() {
        return;
    }
    let list = ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let not_ready: Vec<String> =
        ids.iter().filter(|id| !graceful.brokers[*id].facts.pod_ready).map(ToString::to_string).collect();
    if !not_ready.is_empty() {
        graceful.upscale_gate = Some(format!(
            "brokers {list}: join through Cruise Control (add_broker) once ready; waiting for the pods of brokers {}",
            not_ready.join(", ")
        ));
        return;
    }
    let seen = match known.cruise_control_brokers(needs) {
        None => return,
        Some(Err(problem)) => {
            graceful.upscale_gate = Some(format!("brokers {list}: add_broker waits for Cruise Control: {problem}"));
            return;
        }
        Some(Ok(seen)) => seen,
    };
    let unseen: Vec<String> = ids
        .iter()
        .filter(|id| !seen.get(id).is_some_and(|state| can_receive_replicas(state)))
        .map(|id| format!("{id} ({})", seen.get(id).map_or("not listed", String::as_str)))
        .collect();
    if !unseen.is_empty() {
        graceful.upscale_gate = Some(format!(
            "brokers {list}: add_broker waits until Cruise Control reports them ALIVE or NEW; it reports {}",
            unseen.join(", ")
        ));
        return;
    }
    let request = OperationRequest::AddBrokers(ids);
    schedule(cluster, cached, graceful, &request, State::GracefulUpscaleScheduled, steps);
}

/// Cruise Control can move replicas onto a broker it reports as ALIVE or NEW (Koperator's test).
fn can_receive_replicas(state: &str) -> bool {
    matches!(state, "ALIVE" | "NEW")
}

fn schedule(
    cluster: &ValidatedCluster,
    cached: &Operations,
    graceful: &mut Graceful,
    request: &OperationRequest,
    scheduled: State,
    steps: &mut Vec<Step>,
) {
    let name = operations::adopt_or_create(cluster, cached, request, steps);
    let ids = match request {
        OperationRequest::AddBrokers(ids) | OperationRequest::RemoveBrokers(ids) => ids.clone(),
        _ => Vec::new(),
    };
    for id in ids {
        if let Some(broker) = graceful.brokers.get_mut(&id) {
            broker.state = Some(scheduled);
            broker.reference = Some(name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::kafka_cluster::BrokerState;

    fn status(state: Option<ClusterState>, brokers: &[(i32, Option<State>)]) -> KafkaClusterStatus {
        KafkaClusterStatus {
            state,
            brokers_state: brokers
                .iter()
                .map(|(id, s)| {
                    let mut broker = BrokerState::default();
                    broker.graceful_action_state.cruise_control_state = *s;
                    (id.to_string(), broker)
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn established_clusters() {
        let spec = BTreeSet::from([0, 1, 2]);
        let ok = Some(State::GracefulUpscaleSucceeded);
        assert!(!is_established(None, &spec));
        let starting = status(Some(ClusterState::ClusterReconciling), &[(0, ok), (1, ok)]);
        assert!(!is_established(Some(&starting), &spec));
        assert!(is_established(Some(&status(Some(ClusterState::ClusterRunning), &[(0, ok)])), &spec));
        let upscaling = status(Some(ClusterState::ClusterReconciling), &[(0, Some(State::GracefulUpscaleRunning))]);
        assert!(is_established(Some(&upscaling), &spec));
        let draining = status(Some(ClusterState::ClusterReconciling), &[(0, ok), (5, ok)]);
        assert!(is_established(Some(&draining), &spec));
        let mut rolling = starting.clone();
        rolling.cruise_control_topic_status = Some(CruiseControlTopicStatus::CruiseControlTopicReady);
        assert!(is_established(Some(&rolling), &spec));
    }
}
