//! The CruiseControlOperations of a cluster: finding the one a broker's state names, and
//! creating new ones so that a crash between two writes never makes a second one.
//!
//! Creation is two writes (the object, then its status subresource with the task) followed by
//! the KafkaCluster status naming it. The name is derived from what the operation is for, so a
//! create repeated after a crash answers 409 and the existing object is adopted; and before
//! creating, an unfinished operation with the same request is looked for and adopted.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use crd_types::CruiseControlOperation;
use crd_types::cruise_control_operation::{CruiseControlUserTaskState, ErrorPolicy};

use crate::build::cruise_control_operation::{self as builder, OperationRequest};
use crate::model::ValidatedCluster;
use crate::reconcile::naming::deterministic_name;
use crate::reconcile::writes::{FIELD_MANAGER, WriteLabels, Writer};

use super::decide::{OperationFacts, OperationView};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to read CruiseControlOperation {name}")]
    Read {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to create a CruiseControlOperation for {request}")]
    Create {
        request: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to set the task of CruiseControlOperation {name}")]
    SetTask {
        name: String,
        #[source]
        source: kube::Error,
    },
}

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

/// The operation named `name`: from the cache, else from the apiserver, since a cache that
/// lags behind a fresh create must not make a drain look vanished.
pub async fn find(
    writer: &Writer,
    namespace: &str,
    cached: &Operations,
    name: &str,
) -> Result<Option<Arc<CruiseControlOperation>>, Error> {
    if let Some(operation) = cached.get(name) {
        return Ok(Some(operation.clone()));
    }
    let api: Api<CruiseControlOperation> = Api::namespaced(writer.client.clone(), namespace);
    let found = api.get_opt(name).await.map_err(|source| Error::Read { name: name.to_owned(), source })?;
    Ok(found.map(Arc::new))
}

pub fn view(operation: Option<&CruiseControlOperation>, named: bool) -> OperationView {
    match (named, operation) {
        (false, _) => OperationView::NotNamed,
        (true, None) => OperationView::Missing,
        (true, Some(operation)) => OperationView::Found(facts(operation)),
    }
}

/// Creates the operation `request` asks for, or adopts one that already asks for it.
/// Returns its name.
pub async fn ensure(
    writer: &Writer,
    cluster: &ValidatedCluster,
    cached: &Operations,
    request: &OperationRequest,
) -> Result<(String, bool), Error> {
    if let Some(existing) = cached.values().find(|operation| asks_for(operation, request)) {
        return Ok((existing.name_any(), false));
    }
    let task = builder::current_task(request);
    let prefix = builder::generate_name(cluster, request.operation());
    let seed = format!("{}/{}/{}", cluster.uid, cluster.generation.unwrap_or_default(), request.describe());
    let name = deterministic_name(&prefix, &seed);
    let operation = builder::cruise_control_operation(cluster, name.clone());
    let api: Api<CruiseControlOperation> = Api::namespaced(writer.client.clone(), &cluster.namespace);
    count(writer, "create");
    let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
    let created = match api.create(&params, &operation).await {
        Ok(_) => true,
        Err(kube::Error::Api(status)) if status.code == 409 => false,
        Err(source) => return Err(Error::Create { request: request.describe(), source }),
    };
    // After a crash between the two writes, the object exists without its task.
    let has_task = if created {
        false
    } else {
        let existing = api.get(&name).await.map_err(|source| Error::Read { name: name.clone(), source })?;
        existing.status.and_then(|s| s.current_task).is_some()
    };
    if !has_task {
        count(writer, "status");
        let patch = serde_json::json!({ "status": { "currentTask": task } });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|source| Error::SetTask { name: name.clone(), source })?;
    }
    Ok((name, created))
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

fn count(writer: &Writer, verb: &str) {
    writer
        .writes
        .get_or_create(&WriteLabels { kind: "CruiseControlOperation".to_owned(), verb: verb.to_owned() })
        .inc();
}
