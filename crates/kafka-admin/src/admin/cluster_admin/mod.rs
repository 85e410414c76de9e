//! [`ClusterAdmin`]: the admin calls over librdkafka (the `librdkafka` feature), which no
//! deployable uses; a second client to check [`WireAdmin`]'s work with.

mod acls;
mod configs;
mod scram;
mod topics;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::bindings as rd;
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::producer::Producer;

use super::WireAdmin;
use crate::connection_settings::ConnectionSettings;
use crate::error_code::ErrorCode;
use crate::librdkafka_client::{self, ConnectError, KafkaClient};
use crate::metadata::ClusterMetadata;
use crate::metrics::{Operation, RequestCounter};
use crate::native::{self, AdminCall, RequestFailure};
use crate::request_error::RequestError;

/// One librdkafka client for one cluster, shared by every caller (it is `Send + Sync`; share it
/// in an `Arc`). Every method splits its input into requests of at most
/// [`MAX_TOPICS_PER_REQUEST`](crate::MAX_TOPICS_PER_REQUEST) topics, sends them one after
/// the other, counts each request sent, and answers in input order. Empty input sends nothing.
/// The requests librdkafka cannot make go over [`WireAdmin`] ([`ClusterAdmin::wire`]).
pub struct ClusterAdmin {
    client: Arc<KafkaClient>,
    wire: WireAdmin,
    /// Tells the event thread to let go of the client.
    stop_events: Arc<AtomicBool>,
}

impl ClusterAdmin {
    /// Creates the client (no network I/O yet; librdkafka connects lazily).
    pub fn connect(settings: &ConnectionSettings, requests: RequestCounter) -> Result<Self, ConnectError> {
        let wire = WireAdmin::connect(settings, requests)?;
        let client = librdkafka_client::create(settings, &wire.bootstrap)?;
        let stop_events = Arc::new(AtomicBool::new(false));
        librdkafka_client::serve_events(Arc::clone(&client), Arc::clone(&stop_events), &wire.bootstrap)?;
        Ok(Self { client, wire, stop_events })
    }

    /// The same cluster over Kafka's protocol: client quotas, the KRaft quorum, broker configs.
    pub fn wire(&self) -> &WireAdmin {
        &self.wire
    }

    /// One Metadata request for every topic; Kafka's internal topics
    /// ([`INTERNAL_TOPICS`](crate::INTERNAL_TOPICS)) are left out.
    pub async fn cluster_metadata(&self) -> Result<ClusterMetadata, RequestError> {
        self.metadata(ClusterMetadata::from_rdkafka).await
    }

    /// One Metadata request, its answer read by `read`.
    async fn metadata<T: Send + 'static>(&self, read: fn(&Metadata) -> T) -> Result<T, RequestError> {
        let client = Arc::clone(&self.client);
        let timeout = self.wire.request_timeout;
        self.wire.count(Operation::Metadata, false);
        // rd_kafka_metadata blocks until the answer or the timeout.
        let fetched =
            tokio::task::spawn_blocking(move || client.client().fetch_metadata(None, timeout).map(|m| read(&m))).await;
        match fetched {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(self.metadata_error(&error)),
            Err(error) => Err(self.failed(
                Operation::Metadata,
                RequestFailure { code: ErrorCode::FAIL, message: format!("the metadata task failed: {error}") },
            )),
        }
    }

    fn metadata_error(&self, error: &KafkaError) -> RequestError {
        let code = error.rdkafka_error_code().map_or(ErrorCode::FAIL, ErrorCode::from);
        let message = match error {
            KafkaError::MetadataFetch(_) => native::error_description(code),
            other => other.to_string(),
        };
        RequestError::new(Operation::Metadata, code, &message, &self.wire.bootstrap)
    }

    /// Options for one request of `operation`. Creates and deletes also give the controller the
    /// request timeout to apply the change before answering, so that a success means the
    /// change is in place; librdkafka then waits that long more for the answer itself, so that
    /// a slow controller shows as a per-topic `REQUEST_TIMED_OUT` rather than a lost request.
    fn call(&self, operation: Operation, validate_only: bool) -> AdminCall {
        use rd::rd_kafka_admin_op_t as Api;
        let (api, waits_for_controller) = match operation {
            // Never used: metadata is fetched with rd_kafka_metadata, not an admin request.
            Operation::Metadata => (Api::RD_KAFKA_ADMIN_OP_ANY, false),
            Operation::DescribeConfigs => (Api::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, false),
            Operation::IncrementalAlterConfigs => (Api::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, false),
            Operation::CreateTopics => (Api::RD_KAFKA_ADMIN_OP_CREATETOPICS, true),
            Operation::CreatePartitions => (Api::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, true),
            Operation::DeleteTopics => (Api::RD_KAFKA_ADMIN_OP_DELETETOPICS, true),
            Operation::CreateAcls => (Api::RD_KAFKA_ADMIN_OP_CREATEACLS, false),
            Operation::DescribeAcls => (Api::RD_KAFKA_ADMIN_OP_DESCRIBEACLS, false),
            Operation::DeleteAcls => (Api::RD_KAFKA_ADMIN_OP_DELETEACLS, false),
            Operation::DescribeUserScramCredentials => (Api::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS, false),
            Operation::AlterUserScramCredentials => (Api::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS, false),
            // Never used: client quotas, the quorum and features go over `wire`, not librdkafka.
            Operation::DescribeClientQuotas
            | Operation::AlterClientQuotas
            | Operation::DescribeQuorum
            | Operation::AddRaftVoter
            | Operation::RemoveRaftVoter
            | Operation::ApiVersions
            | Operation::UpdateFeatures => (Api::RD_KAFKA_ADMIN_OP_ANY, false),
        };
        let operation_timeout = waits_for_controller.then_some(self.wire.request_timeout);
        let request_timeout = self.wire.request_timeout + operation_timeout.unwrap_or_default();
        AdminCall { api, request_timeout, operation_timeout, validate_only }
    }

    fn count(&self, operation: Operation, validate_only: bool) {
        self.wire.count(operation, validate_only);
    }

    fn failed(&self, operation: Operation, failure: RequestFailure) -> RequestError {
        RequestError::new(operation, failure.code, &failure.message, &self.wire.bootstrap)
    }

    /// A request refused before sending, for the reason `error` gives.
    fn not_sent(&self, operation: Operation, error: crate::operation_error::OperationError) -> RequestError {
        RequestError::new(operation, error.code, &error.message, &self.wire.bootstrap)
    }
}

impl Drop for ClusterAdmin {
    /// The event thread (and any request still waiting) holds the client; the last of them
    /// destroys it, off the async runtime's worker threads.
    fn drop(&mut self) {
        self.stop_events.store(true, Ordering::Relaxed);
    }
}

impl fmt::Debug for ClusterAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterAdmin")
            .field("bootstrap", &self.wire.bootstrap)
            .field("request_timeout", &self.wire.request_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{NewTopicSpec, TopicConfigChange};

    fn assert_send<T: Send>(_: &T) {}

    fn settings() -> ConnectionSettings {
        // Nothing listens here: requests fail after the (short) request timeout.
        ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:1".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: std::time::Duration::from_secs(1),
            tls: None,
        }
    }

    /// Controllers share a ClusterAdmin between tasks and spawn its futures.
    #[tokio::test]
    async fn is_shareable_and_its_futures_can_be_spawned() -> Result<(), ConnectError> {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ClusterAdmin>();
        let admin = ClusterAdmin::connect(&settings(), RequestCounter::default())?;
        let names = vec!["orders".to_owned()];
        let topics: Vec<NewTopicSpec> = Vec::new();
        let changes: Vec<TopicConfigChange> = Vec::new();
        assert_send(&admin.cluster_metadata());
        assert_send(&admin.topic_overrides(&names));
        assert_send(&admin.create_topics(&topics, false));
        assert_send(&admin.create_partitions(&[], false));
        assert_send(&admin.alter_topic_configs(&changes, false));
        assert_send(&admin.delete_topics(&names));
        Ok(())
    }

    #[tokio::test]
    async fn empty_input_sends_nothing() -> Result<(), Box<dyn std::error::Error>> {
        let requests = RequestCounter::default();
        let admin = ClusterAdmin::connect(&settings(), requests.clone())?;
        assert!(admin.create_topics(&[], false).await?.is_empty());
        assert!(admin.create_partitions(&[], true).await?.is_empty());
        assert!(admin.alter_topic_configs(&[], false).await?.is_empty());
        assert!(admin.delete_topics(&[]).await?.is_empty());
        assert!(admin.topic_overrides(&[]).await?.is_empty());
        assert!(admin.create_acls(&[]).await?.is_empty());
        assert!(admin.delete_acls(&[]).await?.is_empty());
        // Malformed items are answered without a request.
        let nameless =
            NewTopicSpec { name: String::new(), partitions: 1, replication_factor: 1, config: BTreeMap::new() };
        let outcomes = admin.create_topics(&[nameless], false).await?;
        assert_eq!(outcomes[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_TOPIC_EXCEPTION));
        let binding = crate::AclBinding {
            resource_type: crate::AclResourceType::Topic,
            resource_name: "orders".into(),
            pattern_type: crate::AclPatternType::Literal,
            principal: "User:a\0b".into(),
            host: crate::ANY_HOST.into(),
            operation: crate::AclOperation::Read,
            permission: crate::AclPermission::Allow,
        };
        let created = admin.create_acls(std::slice::from_ref(&binding)).await?;
        assert_eq!(created[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        let deleted = admin.delete_acls(&[binding.to_filter()]).await?;
        assert_eq!(deleted[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("requests", "", requests);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        assert!(!text.contains("requests_total{"), "{text}");
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_cluster_fails_the_request_and_names_it() -> Result<(), ConnectError> {
        let requests = RequestCounter::default();
        let admin = ClusterAdmin::connect(&settings(), requests.clone())?;
        let names = vec!["orders".to_owned()];
        let error = admin.delete_topics(&names).await.expect_err("nothing listens on port 1");
        assert_eq!(error.operation, Operation::DeleteTopics);
        assert!(error.is_retriable(), "{error:?}");
        let message = error.to_string();
        assert!(message.starts_with("failed to delete topics: "), "{message}");
        assert!(message.ends_with("(bootstrap 127.0.0.1:1)"), "{message}");
        let error = admin.describe_acls(&crate::AclBindingFilter::any()).await.expect_err("nothing listens");
        assert!(error.to_string().starts_with("failed to describe acls: "), "{error}");
        let labels = crate::RequestLabels { operation: Operation::DeleteTopics, validate_only: false };
        assert_eq!(requests.get_or_create(&labels).get(), 1);
        Ok(())
    }
}
