//! Pure: the CruiseControlOperations of a cluster as the graceful states see them, and the one
//! a request needs — an unfinished operation already asking for it, adopted, or a new one.
//!
//! A new operation's name is derived from what it is for, so that a create repeated after a
//! crash answers 409 and the existing object is adopted (`apply` finishes setting its task);
//! no crash between two writes can make a second operation.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::ResourceExt;

use crd_types::CruiseControlOperation;
use crd_types::cruise_control_operation::{CruiseControlUserTaskState, ErrorPolicy};

use crate::build::cruise_control_operation::{self as builder, OperationRequest};
use crate::model::ValidatedCluster;
use crate::reconcile::decide::naming::deterministic_name;
use crate::reconcile::decide::plan::{Action, Notice, Step};

use super::broker_states::{OperationFacts, OperationView};

/// The operations of one cluster by name, from the cache.
pub type Operations = BTreeMap<String, Arc<CruiseControlOperation>>;

/// What the decision needs from an operation.
pub fn facts(operation: &CruiseControlOperation) -> OperationFacts {
    let status = operation.status.as_ref();
    OperationFacts {
        task: status.and_then(|s| s.current_task.as_ref()).and_then(|t| t.state),
        paused: operation.labels().get(crd_types::labels::PAUSE).map(String::as_str) == Some("true"),
        ignore_errors: operation.spec.error_policy == Some(ErrorPolicy::Ignore),
    }
}

pub fn view(operation: Option<&CruiseControlOperation>, named: bool) -> OperationView {
    match (named, operation) {
        (false, _) => OperationView::NotNamed,
        (true, None) => OperationView::Missing,
        (true, Some(operation)) => OperationView::Found(facts(operation)),
    }
}

/// The name of the operation that carries out `request`: an unfinished one already asking
/// for it, or a new one, whose creation is pushed onto `steps`.
pub fn adopt_or_create(
    cluster: &ValidatedCluster,
    cached: &Operations,
    request: &OperationRequest,
    steps: &mut Vec<Step>,
) -> String {
    if let Some(existing) = cached.values().find(|operation| asks_for(operation, request)) {
        return existing.name_any();
    }
    let prefix = builder::generate_name(cluster, request.operation());
    let seed = format!("{}/{}/{}", cluster.uid, cluster.generation.unwrap_or_default(), request.describe());
    let name = deterministic_name(&prefix, &seed);
    let operation = builder::cruise_control_operation(cluster, name.clone());
    let task = builder::current_task(request);
    let note = format!("created CruiseControlOperation {name}: {}", request.describe());
    steps.push(Step::noted(
        Action::CreateOperation { operation: Box::new(operation), task: Box::new(task) },
        Notice::normal("CruiseControlOperationCreated", "RequestGracefulAction", note),
    ));
    name
}

/// An operation already asking for `request` that has not finished yet.
fn asks_for(operation: &CruiseControlOperation, request: &OperationRequest) -> bool {
    let Some(task) = operation.status.as_ref().and_then(|s| s.current_task.as_ref()) else { return false };
    let unfinished = match task.state {
        None | Some(CruiseControlUserTaskState::Active | CruiseControlUserTaskState::InExecution) => true,
        Some(CruiseControlUserTaskState::Completed) => false,
        Some(CruiseControlUserTaskState::CompletedWithError) => {
            operation.spec.error_policy != Some(ErrorPolicy::Ignore)
        }
    };
    unfinished
        && operation.metadata.deletion_timestamp.is_none()
        && task.operation == request.operation()
        && task.parameters == request.parameters()
}
