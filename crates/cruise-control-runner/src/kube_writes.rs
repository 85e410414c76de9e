//! Every write the runner makes to the API server: finalizers, status, TTL deletions and
//! events, through operator-runtime's shared writers (the client counts each one).

use kube::api::{DeleteParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client};

use crd_types::{CruiseControlOperation, CruiseControlOperationStatus};
use operator_runtime::error_class::{Classify, ErrorClass, kube_error_class};
use operator_runtime::finalizers::{self, FinalizerError, FinalizerTarget};
use operator_runtime::reconcile_report::regarding;
use operator_runtime::status_apply::{self, StatusError, StatusWrite};

use crate::model::{FINALIZER, OperationView};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Finalizer(#[from] FinalizerError),
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("failed to delete the finished CruiseControlOperation {namespace}/{name}")]
    Delete {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl Classify for WriteError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Finalizer(error) => error.class(),
            Self::Status(error) => error.class(),
            Self::Delete { source, .. } => kube_error_class(source),
        }
    }
}

/// A note for an operation's event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    pub reason: &'static str,
    pub note: String,
}

#[derive(Clone)]
pub struct OperationWriter {
    pub client: Client,
    /// Owner of the statuses it applies.
    pub field_manager: String,
    pub recorder: Recorder,
}

fn target<'a>(namespace: &'a str, operation: &'a OperationView) -> FinalizerTarget<'a> {
    FinalizerTarget { namespace, name: &operation.name, finalizers: &operation.finalizers }
}

impl OperationWriter {
    /// Added before the task request is sent, so that deleting the operation at any later
    /// moment stops the execution first.
    pub async fn add_finalizer(&self, namespace: &str, operation: &OperationView) -> Result<(), WriteError> {
        Ok(finalizers::add::<CruiseControlOperation>(&self.client, target(namespace, operation), FINALIZER).await?)
    }

    pub async fn remove_finalizer(&self, namespace: &str, operation: &OperationView) -> Result<(), WriteError> {
        Ok(finalizers::remove::<CruiseControlOperation>(&self.client, target(namespace, operation), FINALIZER).await?)
    }

    /// Applies `desired` unless it is the status as read; answers whether it wrote.
    pub async fn write_status(
        &self,
        namespace: &str,
        name: &str,
        as_read: &CruiseControlOperationStatus,
        desired: &CruiseControlOperationStatus,
    ) -> Result<bool, WriteError> {
        if as_read == desired {
            return Ok(false);
        }
        let write = status_apply::apply_status::<CruiseControlOperation, _>(
            &self.client,
            &self.field_manager,
            namespace,
            name,
            desired,
        )
        .await?;
        Ok(write == StatusWrite::Applied)
    }

    /// Deletes a finished operation, only if it is still the same object.
    pub async fn delete(&self, namespace: &str, operation: &OperationView) -> Result<(), WriteError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(operation.uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        let api: Api<CruiseControlOperation> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(&operation.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
            Err(source) => {
                Err(WriteError::Delete { namespace: namespace.to_owned(), name: operation.name.clone(), source })
            }
        }
    }

    /// Events are best effort: failing to record one must not fail the pass.
    pub async fn publish(&self, namespace: &str, operation: &OperationView, notice: &Notice) {
        let reference = regarding::<CruiseControlOperation>(namespace, &operation.name, Some(operation.uid.clone()));
        let event = Event {
            type_: if notice.warning { EventType::Warning } else { EventType::Normal },
            reason: notice.reason.to_owned(),
            note: Some(notice.note.clone()),
            action: notice.reason.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, operation = %operation.name, reason = %event.reason, "failed to publish an event");
        }
    }
}
