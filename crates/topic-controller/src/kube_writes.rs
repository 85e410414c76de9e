//! Every write the topic controller makes to the API server: finalizers, status and events.
//! Each is counted, so the idle-resync benchmark can show that an in-sync topic costs none.

use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde_json::json;

use crd_types::{KafkaTopic, KafkaTopicStatus};

use crate::cache::CachedTopic;
use crate::request::{FINALIZER, ResourceKey};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to add the finalizer to KafkaTopic {resource}")]
    AddFinalizer {
        resource: ResourceKey,
        #[source]
        source: kube::Error,
    },
    #[error("failed to remove the finalizer from KafkaTopic {resource}")]
    RemoveFinalizer {
        resource: ResourceKey,
        #[source]
        source: kube::Error,
    },
    #[error("failed to write the status of KafkaTopic {resource}")]
    Status {
        resource: ResourceKey,
        #[source]
        source: kube::Error,
    },
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
    pub verb: String,
}

pub type WriteCounter = Family<WriteLabels, Counter>;

#[derive(Clone)]
pub struct TopicWriter {
    pub client: Client,
    pub writes: WriteCounter,
    pub recorder: Recorder,
}

/// A note for a KafkaTopic's event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub resource: ResourceKey,
    pub warning: bool,
    pub reason: &'static str,
    pub note: String,
}

impl TopicWriter {
    fn api(&self, namespace: &str) -> Api<KafkaTopic> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn count(&self, verb: &str) {
        self.writes.get_or_create(&WriteLabels { kind: "KafkaTopic".to_owned(), verb: verb.to_owned() }).inc();
    }

    /// Adds the finalizer before the topic is created in Kafka, so a KafkaTopic deleted at
    /// any later moment still gets its topic removed.
    pub async fn add_finalizer(&self, resource: &ResourceKey, existing: &[String]) -> Result<(), Error> {
        // A JSON patch that fails if the list changed under us, instead of overwriting it.
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
        self.count("finalizer");
        let patch: json_patch::Patch = serde_json::from_value(patch).unwrap_or_default();
        self.api(&resource.namespace)
            .patch(&resource.name, &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
            .map(|_| ())
            .map_err(|source| Error::AddFinalizer { resource: resource.clone(), source })
    }

    pub async fn remove_finalizer(&self, resource: &ResourceKey, existing: &[String]) -> Result<(), Error> {
        let Some(index) = existing.iter().position(|f| f == FINALIZER) else { return Ok(()) };
        let path = format!("/metadata/finalizers/{index}");
        let patch = json!([
            {"op": "test", "path": path, "value": FINALIZER},
            {"op": "remove", "path": path},
        ]);
        self.count("finalizer");
        let patch: json_patch::Patch = serde_json::from_value(patch).unwrap_or_default();
        match self
            .api(&resource.namespace)
            .patch(&resource.name, &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
        {
            Ok(_) => Ok(()),
            // Already gone: the finalizer was the last thing holding it.
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => Err(Error::RemoveFinalizer { resource: resource.clone(), source }),
        }
    }

    /// Replaces the status (a merge patch replaces the conditions list as a whole).
    pub async fn write_status(&self, resource: &ResourceKey, status: &KafkaTopicStatus) -> Result<(), Error> {
        self.count("status");
        let patch = json!({"status": status});
        match self
            .api(&resource.namespace)
            .patch_status(&resource.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => Err(Error::Status { resource: resource.clone(), source }),
        }
    }

    /// Events are best effort: failing to record one must not fail the pass.
    pub async fn publish(&self, topic: &CachedTopic, notice: &Notice) {
        let event = Event {
            type_: if notice.warning { EventType::Warning } else { EventType::Normal },
            reason: notice.reason.to_owned(),
            note: Some(notice.note.clone()),
            action: notice.reason.to_owned(),
            secondary: None,
        };
        self.count("event");
        if let Err(error) = self.recorder.publish(&event, &topic.object_ref()).await {
            tracing::debug!(%error, resource = %notice.resource, "failed to publish an event");
        }
    }
}
