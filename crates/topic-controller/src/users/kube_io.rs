//! Every API request of the KafkaUser reconciler: reading the users' Secrets and cert-manager
//! Certificates, and writing finalizers, the `kafka_cr` label, Secrets, Certificates, status
//! and events (client required; each write counted by the client like the topic controller's).

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client};
use serde_json::{Value, json};

use crd_types::kafka_user::KAFKA_USER_FINALIZER;
use crd_types::labels::KAFKA_CR;
use crd_types::{KafkaUser, KafkaUserStatus};
use operator_runtime::finalizers::{self, FinalizerError, FinalizerTarget};
use operator_runtime::status_apply::{self, StatusError};

use super::certificate::StoredSecret;
use super::request::UserRequest;

#[derive(Clone)]
pub struct UserWriter {
    pub client: Client,
    /// Owner of the statuses, Secrets and Certificates it applies.
    pub field_manager: String,
    pub recorder: Recorder,
}

fn certificate_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"), "certificates")
}

fn not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

impl UserWriter {
    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn certificates(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &certificate_resource())
    }

    pub async fn read_secret(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, kube::Error> {
        Ok(self.secrets(namespace).get_opt(name).await?.as_ref().map(StoredSecret::from_secret))
    }

    /// `None` also when cert-manager is not installed (its API answers 404).
    pub async fn read_certificate(&self, namespace: &str, name: &str) -> Result<Option<Value>, kube::Error> {
        match self.certificates(namespace).get_opt(name).await {
            Ok(found) => Ok(found.map(|object| serde_json::to_value(object).unwrap_or_default())),
            Err(error) if not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn apply_secret(&self, secret: &Secret) -> Result<(), kube::Error> {
        let (namespace, name) = (secret.metadata.namespace.clone().unwrap_or_default(), secret.metadata.name.clone());
        let params = PatchParams::apply(&self.field_manager).force();
        self.secrets(&namespace).patch(&name.unwrap_or_default(), &params, &Patch::Apply(secret)).await.map(|_| ())
    }

    /// The SCRAM fields of the user's Secret, under a field manager of their own, so that
    /// the certificate's fields (applied by [`Self::apply_secret`] or cert-manager) stay.
    pub async fn apply_scram_secret(&self, secret: &Secret) -> Result<(), kube::Error> {
        let (namespace, name) = (secret.metadata.namespace.clone().unwrap_or_default(), secret.metadata.name.clone());
        let params = PatchParams::apply(&format!("{}-scram", self.field_manager)).force();
        self.secrets(&namespace).patch(&name.unwrap_or_default(), &params, &Patch::Apply(secret)).await.map(|_| ())
    }

    pub async fn apply_certificate(&self, namespace: &str, name: &str, certificate: &Value) -> Result<(), kube::Error> {
        let params = PatchParams::apply(&self.field_manager).force();
        self.certificates(namespace).patch(name, &params, &Patch::Apply(certificate)).await.map(|_| ())
    }

    /// Deleting what is gone already is done.
    pub async fn delete_secret(&self, namespace: &str, name: &str) -> Result<(), kube::Error> {
        match self.secrets(namespace).delete(name, &DeleteParams::default()).await {
            Err(error) if !not_found(&error) => Err(error),
            _ => Ok(()),
        }
    }

    pub async fn delete_certificate(&self, namespace: &str, name: &str) -> Result<(), kube::Error> {
        match self.certificates(namespace).delete(name, &DeleteParams::default()).await {
            Err(error) if !not_found(&error) => Err(error),
            _ => Ok(()),
        }
    }

    fn target<'a>(user: &'a UserRequest) -> FinalizerTarget<'a> {
        FinalizerTarget { namespace: &user.resource.namespace, name: &user.resource.name, finalizers: &user.finalizers }
    }

    /// Before any ACL is created for the user, so a KafkaUser deleted at any later moment
    /// still has its ACLs removed.
    pub async fn add_finalizer(&self, user: &UserRequest) -> Result<(), FinalizerError> {
        finalizers::add::<KafkaUser>(&self.client, Self::target(user), KAFKA_USER_FINALIZER).await
    }

    pub async fn remove_finalizer(&self, user: &UserRequest) -> Result<(), FinalizerError> {
        finalizers::remove::<KafkaUser>(&self.client, Self::target(user), KAFKA_USER_FINALIZER).await
    }

    /// Koperator labels every KafkaUser `kafka_cr: <cluster>`; tools select users by it.
    pub async fn set_cluster_label(&self, user: &UserRequest) -> Result<(), kube::Error> {
        let api: Api<KafkaUser> = Api::namespaced(self.client.clone(), &user.resource.namespace);
        let patch = json!({ "metadata": { "labels": { KAFKA_CR: user.cluster.name } } });
        api.patch(&user.resource.name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(|_| ())
    }

    pub async fn write_status(&self, user: &UserRequest, status: &KafkaUserStatus) -> Result<(), StatusError> {
        let (namespace, name) = (&user.resource.namespace, &user.resource.name);
        status_apply::apply_status::<KafkaUser, _>(&self.client, &self.field_manager, namespace, name, status)
            .await
            .map(|_| ())
    }

    /// Events are best effort: failing to record one must not fail the pass.
    pub async fn publish(&self, user: &UserRequest, warning: bool, reason: &str, note: String) {
        let event = Event {
            type_: if warning { EventType::Warning } else { EventType::Normal },
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &user.object_ref()).await {
            tracing::warn!(%error, user = %user.resource, reason = %event.reason, "failed to publish an event");
        }
    }
}
