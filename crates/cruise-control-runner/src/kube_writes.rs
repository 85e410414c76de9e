//! Every write the runner makes to the API server: finalizers, status, TTL deletions and
//! events. Each is counted in [`Metrics`].

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource};
use serde_json::json;

use crd_types::{CruiseControlOperation, CruiseControlOperationStatus};

use crate::merge_patch;
use crate::metrics::Metrics;
use crate::model::{FINALIZER, OperationView};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to add the finalizer to CruiseControlOperation {namespace}/{name}")]
    AddFinalizer {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to remove the finalizer from CruiseControlOperation {namespace}/{name}")]
    RemoveFinalizer {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to write the status of CruiseControlOperation {namespace}/{name}")]
    Status {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to delete the finished CruiseControlOperation {namespace}/{name}")]
    Delete {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to serialize the status of CruiseControlOperation {name}")]
    Serialize {
        name: String,
        #[source]
        source: serde_json::Error,
    },
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
    pub metrics: Metrics,
    pub recorder: Recorder,
}

impl OperationWriter {
    fn api(&self, namespace: &str) -> Api<CruiseControlOperation> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Added before the task request is sent, so that deleting the operation at any later
    /// moment stops the execution first. A JSON patch that fails if the list changed under us.
    pub async fn add_finalizer(&self, namespace: &str, operation: &OperationView) -> Result<(), Error> {
        let existing = &operation.finalizers;
        let patch = if existing.is_empty() {
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ])
        } else {
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": existing},
                {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
            ])
        };
        self.metrics.write("finalizer");
        let patch: json_patch::Patch = serde_json::from_value(patch).unwrap_or_default();
        self.api(namespace)
            .patch(&operation.name, &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
            .map(|_| ())
            .map_err(|source| Error::AddFinalizer {
                namespace: namespace.to_owned(),
                name: operation.name.clone(),
                source,
            })
    }

    pub async fn remove_finalizer(&self, namespace: &str, operation: &OperationView) -> Result<(), Error> {
        let Some(index) = operation.finalizers.iter().position(|f| f == FINALIZER) else { return Ok(()) };
        let path = format!("/metadata/finalizers/{index}");
        let patch = json!([{"op": "test", "path": path, "value": FINALIZER}, {"op": "remove", "path": path}]);
        self.metrics.write("finalizer");
        let patch: json_patch::Patch = serde_json::from_value(patch).unwrap_or_default();
        match self.api(namespace).patch(&operation.name, &PatchParams::default(), &Patch::Json::<()>(patch)).await {
            Ok(_) => Ok(()),
            // Already gone: the finalizer was the last thing holding it.
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => {
                Err(Error::RemoveFinalizer { namespace: namespace.to_owned(), name: operation.name.clone(), source })
            }
        }
    }

    /// Writes the difference between `from` (as read) and `to` as a merge patch; nothing when equal.
    pub async fn write_status(
        &self,
        namespace: &str,
        name: &str,
        from: &CruiseControlOperationStatus,
        to: &CruiseControlOperationStatus,
    ) -> Result<bool, Error> {
        let serialize =
            |status| serde_json::to_value(status).map_err(|source| Error::Serialize { name: name.to_owned(), source });
        let Some(patch) = merge_patch::diff(&json!({"status": serialize(from)?}), &json!({"status": serialize(to)?}))
        else {
            return Ok(false);
        };
        self.metrics.write("status");
        match self.api(namespace).patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(source) => Err(Error::Status { namespace: namespace.to_owned(), name: name.to_owned(), source }),
        }
    }

    /// Deletes a finished operation, only if it is still the same object.
    pub async fn delete(&self, namespace: &str, operation: &OperationView) -> Result<(), Error> {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(operation.uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        self.metrics.write("delete");
        match self.api(namespace).delete(&operation.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
            Err(source) => Err(Error::Delete { namespace: namespace.to_owned(), name: operation.name.clone(), source }),
        }
    }

    /// Events are best effort: failing to record one must not fail the pass.
    pub async fn publish(&self, namespace: &str, operation: &OperationView, notice: &Notice) {
        let reference = ObjectReference {
            api_version: Some(CruiseControlOperation::api_version(&()).into_owned()),
            kind: Some(CruiseControlOperation::kind(&()).into_owned()),
            name: Some(operation.name.clone()),
            namespace: Some(namespace.to_owned()),
            uid: Some(operation.uid.clone()),
            ..ObjectReference::default()
        };
        let event = Event {
            type_: if notice.warning { EventType::Warning } else { EventType::Normal },
            reason: notice.reason.to_owned(),
            note: Some(notice.note.clone()),
            action: notice.reason.to_owned(),
            secondary: None,
        };
        self.metrics.write("event");
        if let Err(error) = self.recorder.publish(&event, &reference).await {
            tracing::debug!(%error, operation = %operation.name, "failed to publish an event");
        }
    }
}
