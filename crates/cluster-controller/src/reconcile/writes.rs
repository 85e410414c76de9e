//! The cluster controller's requests that change objects in the apiserver (the client counts
//! every write: `operator_runtime::api_writes`). Only `apply` calls these.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crd_types::cruise_control_operation::CruiseControlTask;
use crd_types::{CruiseControlOperation, KafkaCluster, KafkaClusterStatus};

const CERT_MANAGER_GROUP: &str = "cert-manager.io";
const CERT_MANAGER_VERSION: &str = "v1";

/// Field manager of every server-side apply this controller makes.
pub const FIELD_MANAGER: &str = "koperator-rs-cluster-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to apply {kind} {name}")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to replace {kind} {name}")]
    Replace {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to create {kind} {name}")]
    Create {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to delete {kind} {name}")]
    Delete {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to grow PersistentVolumeClaim {name}")]
    GrowClaim {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read CruiseControlOperation {name}")]
    ReadOperation {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to set the task of CruiseControlOperation {name}")]
    SetTask {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to apply cert-manager {kind} {name}")]
    ApplyCertManager {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to write the status of KafkaCluster {name}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// The apiserver does not know cert-manager's kinds (or its namespace): cert-manager is
    /// not installed.
    pub fn is_missing_cert_manager(&self) -> bool {
        matches!(self, Self::ApplyCertManager { source: kube::Error::Api(status), .. } if status.code == 404)
    }

    /// Why the apiserver refused an object this controller wrote as invalid (422), in words for
    /// the status: such a write fails the same way until the spec or the cluster changes, so it
    /// is reported like an invalid spec, not retried as if it were transient. A node port is
    /// the usual case: another Service may hold `externalStartingPort + id`.
    pub fn refusal(&self) -> Option<String> {
        let (kind, name) = match self {
            Self::Apply { kind, name, .. } | Self::Replace { kind, name, .. } | Self::Create { kind, name, .. } => {
                (kind, name)
            }
            _ => return None,
        };
        let status = self.api_status().filter(|status| status.code == 422)?;
        let node_port = status.message.contains("nodePort");
        let hint = if node_port {
            " (a NodePort external listener asks for node port externalStartingPort + broker id: choose \
             spec.listenersConfig.externalListeners[].externalStartingPort so that those ports are free and \
             within the cluster's node port range, or 0 to let Kubernetes assign them)"
        } else {
            ""
        };
        Some(format!("{kind} {name}: the apiserver refused it: {}{hint}", status.message))
    }

    /// The apiserver's own answer, when there is one.
    pub fn api_status(&self) -> Option<&kube::core::Status> {
        let source = match self {
            Self::Apply { source, .. }
            | Self::Replace { source, .. }
            | Self::Create { source, .. }
            | Self::Delete { source, .. }
            | Self::GrowClaim { source, .. }
            | Self::ReadOperation { source, .. }
            | Self::SetTask { source, .. }
            | Self::ApplyCertManager { source, .. }
            | Self::Status { source, .. } => source,
        };
        match source {
            kube::Error::Api(status) => Some(status),
            _ => None,
        }
    }
}

/// What the controller writes: namespaced objects it can serialize and read back.
pub trait NamespacedObject:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope> + Clone + Debug + Serialize + DeserializeOwned
{
}

impl<K> NamespacedObject for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
{
}

/// Whether a create made the object or found it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    Now,
    Already,
}

#[derive(Clone)]
pub struct Writer {
    pub client: Client,
}

fn kind<K: Resource<DynamicType = ()>>() -> String {
    K::kind(&()).into_owned()
}

impl Writer {
    fn api<K: NamespacedObject>(&self, namespace: &str) -> Api<K> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Server-side applies `desired`, taking over fields other managers hold; returns what the
    /// apiserver stored.
    pub async fn apply<K: NamespacedObject>(&self, desired: &K) -> Result<K, Error> {
        let name = desired.name_any();
        let namespace = desired.namespace().expect("builders set the namespace of every object");
        self.api::<K>(&namespace)
            .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(desired))
            .await
            .map_err(|source| Error::Apply { kind: kind::<K>(), name, source })
    }

    /// Server-side applies one of cert-manager's objects (cluster scoped without a namespace).
    pub async fn apply_cert_manager(&self, desired: &DynamicObject) -> Result<(), Error> {
        let kind = desired.types.as_ref().map(|types| types.kind.clone()).unwrap_or_default();
        let name = desired.name_any();
        let gvk = GroupVersionKind::gvk(CERT_MANAGER_GROUP, CERT_MANAGER_VERSION, &kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()));
        let api: Api<DynamicObject> = match desired.namespace() {
            Some(namespace) => Api::namespaced_with(self.client.clone(), &namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(desired))
            .await
            .map(drop)
            .map_err(|source| Error::ApplyCertManager { kind, name, source })
    }

    /// Replaces `desired` whole (its resourceVersion guards against a change since it was
    /// observed); returns what the apiserver stored.
    pub async fn replace<K: NamespacedObject>(&self, desired: &K) -> Result<K, Error> {
        let name = desired.name_any();
        let namespace = desired.namespace().expect("builders set the namespace of every object");
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        self.api::<K>(&namespace).replace(&name, &params, desired).await.map_err(|source| Error::Replace {
            kind: kind::<K>(),
            name,
            source,
        })
    }

    /// Creates an object whose name says what it is for; 409 means an earlier pass did.
    pub async fn create<K: NamespacedObject>(&self, object: &K) -> Result<Created, Error> {
        let name = object.name_any();
        let namespace = object.namespace().expect("builders set the namespace of every object");
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        match self.api::<K>(&namespace).create(&params, object).await {
            Ok(_) => Ok(Created::Now),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Created::Already),
            Err(source) => Err(Error::Create { kind: kind::<K>(), name, source }),
        }
    }

    /// Deletes an object; one that is already gone is not an error. Returns whether it existed.
    pub async fn delete<K: NamespacedObject>(&self, namespace: &str, name: &str) -> Result<bool, Error> {
        match self.api::<K>(namespace).delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(source) => Err(Error::Delete { kind: kind::<K>(), name: name.to_owned(), source }),
        }
    }

    /// Raises a claim's storage request (a merge patch of that one field: the rest of the
    /// claim's spec is immutable anyway).
    pub async fn grow_claim(&self, namespace: &str, name: &str, size: &Quantity) -> Result<(), Error> {
        let patch = json!({"spec": {"resources": {"requests": {"storage": size}}}});
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        self.api::<PersistentVolumeClaim>(namespace)
            .patch(name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|source| Error::GrowClaim { name: name.to_owned(), source })
    }

    /// Creates a CruiseControlOperation and sets its task, finishing what a crash between the
    /// two writes left: an existing operation without a task gets it. Returns whether it made one.
    pub async fn create_operation(
        &self,
        operation: &CruiseControlOperation,
        task: &CruiseControlTask,
    ) -> Result<Created, Error> {
        let name = operation.name_any();
        let namespace = operation.namespace().expect("builders set the namespace of every object");
        let api = self.api::<CruiseControlOperation>(&namespace);
        let created = self.create(operation).await?;
        let has_task = match created {
            Created::Now => false,
            Created::Already => {
                let existing =
                    api.get(&name).await.map_err(|source| Error::ReadOperation { name: name.clone(), source })?;
                existing.status.and_then(|s| s.current_task).is_some()
            }
        };
        if !has_task {
            let patch = json!({ "status": { "currentTask": task } });
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|source| Error::SetTask { name: name.clone(), source })?;
        }
        Ok(created)
    }

    /// Server-side applies the whole status of a KafkaCluster, so entries this controller
    /// stops reporting (a removed broker's state) disappear rather than linger as a merge
    /// patch would leave them.
    pub async fn apply_status(&self, namespace: &str, name: &str, status: &KafkaClusterStatus) -> Result<(), Error> {
        let api: Api<KafkaCluster> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({
            "apiVersion": KafkaCluster::api_version(&()),
            "kind": KafkaCluster::kind(&()),
            "status": status,
        });
        api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
            .await
            .map_err(|source| Error::Status { name: name.to_owned(), source })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status { code, ..Default::default() }))
    }

    #[test]
    fn only_a_cert_manager_object_the_apiserver_does_not_know_means_cert_manager_is_missing() {
        let unknown =
            |code| Error::ApplyCertManager { kind: "Certificate".into(), name: "c".into(), source: refused(code) };
        assert!(unknown(404).is_missing_cert_manager());
        assert!(!unknown(403).is_missing_cert_manager(), "forbidden is RBAC, not a missing cert-manager");
        let other = Error::Apply { kind: "ConfigMap".into(), name: "c".into(), source: refused(404) };
        assert!(!other.is_missing_cert_manager());
    }

    #[test]
    fn an_object_the_apiserver_refuses_as_invalid_is_reported_with_its_answer() {
        let taken = "Service \"kafka-2-nodeport\" is invalid: spec.ports[0].nodePort: Invalid value: 32092: \
                     provided port is already allocated";
        let refused_as = |code| {
            let status = kube::core::Status::failure(taken, "Invalid").with_code(code);
            Error::Apply {
                kind: "Service".into(),
                name: "kafka-2-nodeport".into(),
                source: kube::Error::Api(Box::new(status)),
            }
        };
        let problem = refused_as(422).refusal().expect("a refusal");
        assert!(problem.starts_with("Service kafka-2-nodeport: the apiserver refused it: Service"), "{problem}");
        assert!(problem.contains("provided port is already allocated"), "{problem}");
        assert!(problem.contains("externalStartingPort"), "the field to change: {problem}");
        assert_eq!(refused_as(409).refusal(), None, "a conflict is retried");
        assert_eq!(refused_as(500).refusal(), None, "an apiserver failure is retried");
        let deletion = Error::Delete { kind: "Pod".into(), name: "p".into(), source: refused(422) };
        assert_eq!(deletion.refusal(), None);
    }
}
