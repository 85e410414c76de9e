//! Every write the cluster controller makes goes through here, so that an unchanged cluster
//! costs no write at all and each write is counted (the idle-resync benchmark reads the counter).

use std::fmt::Debug;

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Field manager of every server-side apply this controller makes.
pub const FIELD_MANAGER: &str = "koperator-rs-cluster-controller";
/// Hash of the desired object last applied; equal hashes mean nothing to write.
pub const DESIRED_HASH_ANNOTATION: &str = "koperator-rs.io/desired-hash";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to apply {kind} {name}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to create {kind} for {purpose}")]
    Create {
        kind: &'static str,
        purpose: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to delete {kind} {name}")]
    Delete {
        kind: &'static str,
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
    pub verb: String,
}

/// What the controller writes: namespaced Kubernetes objects it can serialize and read back.
pub trait NamespacedObject:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + k8s_openapi::Resource
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
{
}

impl<K> NamespacedObject for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + k8s_openapi::Resource
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
{
}

/// The client plus the write counter.
#[derive(Clone)]
pub struct Writer {
    pub client: Client,
    pub writes: Family<WriteLabels, Counter>,
}

/// A stable hash of an object's serialized form (object maps serialize in sorted order).
pub fn content_hash(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl Writer {
    fn count(&self, kind: &str, verb: &str) {
        self.writes.get_or_create(&WriteLabels { kind: kind.to_owned(), verb: verb.to_owned() }).inc();
    }

    /// Server-side applies `desired` unless `observed` already carries its hash.
    /// Returns whether a write was made.
    pub async fn apply_if_changed<K>(&self, mut desired: K, observed: Option<&K>) -> Result<bool, Error>
    where
        K: NamespacedObject,
    {
        let hash = content_hash(&desired);
        let unchanged = observed.and_then(|o| o.annotations().get(DESIRED_HASH_ANNOTATION)) == Some(&hash);
        if unchanged {
            return Ok(false);
        }
        desired.annotations_mut().insert(DESIRED_HASH_ANNOTATION.to_owned(), hash);
        let name = desired.name_any();
        let api: Api<K> = Api::namespaced(self.client.clone(), desired.namespace().as_deref().unwrap_or_default());
        self.count(<K as k8s_openapi::Resource>::KIND, "apply");
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&desired))
            .await
            .map_err(|source| Error::Apply { kind: <K as k8s_openapi::Resource>::KIND, name: name.clone(), source })?;
        Ok(true)
    }

    /// Creates an object named by `generateName` (pods and claims: Koperator's naming).
    pub async fn create<K>(&self, object: &K, purpose: &str) -> Result<K, Error>
    where
        K: NamespacedObject,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), object.namespace().as_deref().unwrap_or_default());
        self.count(<K as k8s_openapi::Resource>::KIND, "create");
        api.create(&PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() }, object)
            .await
            .map_err(|source| Error::Create {
                kind: <K as k8s_openapi::Resource>::KIND,
                purpose: purpose.to_owned(),
                source,
            })
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn delete<K>(&self, namespace: &str, name: &str) -> Result<(), Error>
    where
        K: NamespacedObject,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        self.count(<K as k8s_openapi::Resource>::KIND, "delete");
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => {
                Err(Error::Delete { kind: <K as k8s_openapi::Resource>::KIND, name: name.to_owned(), source })
            }
        }
    }

    /// Server-side applies the whole status of a KafkaCluster, so entries this controller
    /// stops reporting (a removed broker's state) disappear rather than linger as a merge
    /// patch would leave them.
    pub async fn apply_status(
        &self,
        namespace: &str,
        name: &str,
        status: &crd_types::KafkaClusterStatus,
    ) -> Result<(), Error> {
        let api: Api<crd_types::KafkaCluster> = Api::namespaced(self.client.clone(), namespace);
        self.count("KafkaCluster", "status");
        let patch = serde_json::json!({
            "apiVersion": "kafka.banzaicloud.io/v1beta1",
            "kind": "KafkaCluster",
            "status": status,
        });
        api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
            .await
            .map_err(|source| Error::Status { name: name.to_owned(), source })?;
        Ok(())
    }
}
