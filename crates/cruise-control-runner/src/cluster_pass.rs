//! A KafkaCluster's passes as the keyed worker runs them, with the cluster's state (its
//! Cruise Control client, statuses not written yet) kept here between passes.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::ObjectReference;

use crd_types::KafkaCluster;
use operator_runtime::keyed_worker::{KeyedPass, PassOutcome};
use operator_runtime::reconcile_report::regarding;

use crate::model::ClusterKey;
use crate::pass::{self, ClusterState, PassError, Shared};

pub struct ClusterPass {
    cluster: ClusterKey,
    shared: Arc<Shared>,
    state: ClusterState,
}

impl ClusterPass {
    pub fn new(cluster: ClusterKey, shared: Arc<Shared>) -> Self {
        Self { cluster, shared, state: ClusterState::default() }
    }

    async fn run_pass(&mut self) -> PassOutcome<PassError> {
        let started = Instant::now();
        let outcome = pass::run_pass(&self.shared, &mut self.state, &self.cluster).await;
        let failed = outcome.failure.is_some();
        tracing::debug!(cluster = %self.cluster, elapsed = ?started.elapsed(), next = ?outcome.next, failed, "pass done");
        outcome
    }
}

impl KeyedPass for ClusterPass {
    type Error = PassError;

    fn run(&mut self) -> impl Future<Output = PassOutcome<PassError>> + Send {
        self.run_pass()
    }

    /// The KafkaCluster: a pass covers all of its operations.
    fn regarding(&self) -> ObjectReference {
        regarding::<KafkaCluster>(&self.cluster.namespace, &self.cluster.name, self.state.cluster_uid.clone())
    }
}
