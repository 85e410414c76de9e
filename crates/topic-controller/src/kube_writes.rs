//! Every write the topic controller makes to the API server: finalizers, status and events,
//! through operator-runtime's shared writers (the client counts each one, so the idle-resync
//! benchmark can show that an in-sync topic costs none).

use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder};

use crd_types::{KafkaTopic, KafkaTopicStatus};
use operator_runtime::finalizers::{self, FinalizerError, FinalizerTarget};
use operator_runtime::status_apply::{self, StatusError};

use crate::cache::CachedTopic;
use crate::request::{FINALIZER, ResourceKey};

#[derive(Clone)]
pub struct TopicWriter {
    pub client: Client,
    /// Owner of the statuses it applies.
    pub field_manager: String,
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

fn target<'a>(resource: &'a ResourceKey, existing: &'a [String]) -> FinalizerTarget<'a> {
    FinalizerTarget { namespace: &resource.namespace, name: &resource.name, finalizers: existing }
}

impl TopicWriter {
    /// Adds the finalizer before the topic is created in Kafka, so a KafkaTopic deleted at
    /// any later moment still gets its topic removed.
    pub async fn add_finalizer(&self, resource: &ResourceKey, existing: &[String]) -> Result<(), FinalizerError> {
        finalizers::add::<KafkaTopic>(&self.client, target(resource, existing), FINALIZER).await
    }

    pub async fn remove_finalizer(&self, resource: &ResourceKey, existing: &[String]) -> Result<(), FinalizerError> {
        finalizers::remove::<KafkaTopic>(&self.client, target(resource, existing), FINALIZER).await
    }

    /// Applies the whole status; a KafkaTopic gone meanwhile needs none.
    pub async fn write_status(&self, resource: &ResourceKey, status: &KafkaTopicStatus) -> Result<(), StatusError> {
        status_apply::apply_status::<KafkaTopic, _>(
            &self.client,
            &self.field_manager,
            &resource.namespace,
            &resource.name,
            status,
        )
        .await
        .map(|_| ())
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
        if let Err(error) = self.recorder.publish(&event, &topic.object_ref()).await {
            tracing::warn!(%error, resource = %notice.resource, reason = %event.reason, "failed to publish an event");
        }
    }
}
