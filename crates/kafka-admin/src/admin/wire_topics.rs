//! Topics over Kafka's protocol ([`crate::wire::topics`], [`crate::wire::topic_configs`]): the
//! calls of `ClusterAdmin` with the same signatures and answers, so that a caller drops
//! librdkafka by changing the type. Same batching ([`TopicBatch`]), same checks
//! before sending, one count per request sent.

use std::collections::HashMap;

use super::configs::names_to_describe;
use super::direct::Api;
use super::{TopicOverrides, WireAdmin};
use crate::batch::{MAX_TOPICS_PER_REQUEST, TopicBatch, missing_answer};
use crate::changes::{NewTopicSpec, PartitionGrowth, TopicConfigChange, TopicOutcome};
use crate::checks;
use crate::metadata::ClusterMetadata;
use crate::metrics::Operation;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;
use crate::wire::{DecodeError, topic_configs, topics};

/// One kind of per-topic write: which request, where it goes, how its items are checked,
/// written and answered.
struct TopicWrite<T> {
    operation: Operation,
    api: Api,
    /// Kafka applies it on its controller (topics and partitions): sent to the broker Metadata
    /// names as controller, carrying the time it may take. Otherwise any broker takes it.
    on_controller: bool,
    name: fn(&T) -> &str,
    check: fn(&T) -> Result<(), OperationError>,
    /// The request of the items, with the controller's timeout in ms and validate-only.
    request: fn(&[&T], i32, bool) -> Vec<u8>,
    response: fn(&[u8]) -> Result<Vec<TopicOutcome>, DecodeError>,
}

impl WireAdmin {
    /// One Metadata request for every topic; Kafka's internal topics
    /// ([`INTERNAL_TOPICS`](crate::INTERNAL_TOPICS)) are left out.
    pub async fn cluster_metadata(&self) -> Result<ClusterMetadata, RequestError> {
        let answer = self.metadata(true).await?;
        Ok(ClusterMetadata::from_wire(&answer))
    }

    /// DescribeConfigs, per topic only the topic-level overrides (what `kafka-configs --describe`
    /// lists; sensitive values skipped). Each topic is described once however often it is named.
    pub async fn topic_overrides(&self, topics: &[String]) -> Result<TopicOverrides, RequestError> {
        let (mut answers, to_send) = names_to_describe(topics);
        let operation = Operation::DescribeConfigs;
        let api = Api::flexible(topic_configs::DESCRIBE_CONFIGS, topic_configs::DESCRIBE_CONFIGS_VERSION);
        for request in to_send.chunks(MAX_TOPICS_PER_REQUEST) {
            let response = self.exchange(operation, api, &topic_configs::describe_request(request)).await?;
            let described =
                topic_configs::describe_response(&response).map_err(|error| self.wire_failed(operation, &error))?;
            let mut by_topic: HashMap<String, _> = described.into_iter().collect();
            for &name in request {
                let overrides = by_topic.remove(name).unwrap_or_else(|| Err(missing_answer()));
                answers.insert(name.to_owned(), overrides);
            }
        }
        Ok(answers)
    }

    /// IncrementalAlterConfigs for topic resources: sets and deletes exactly the named overrides
    /// and leaves the others alone. With `validate_only` Kafka checks and changes nothing.
    pub async fn alter_topic_configs(
        &self,
        changes: &[TopicConfigChange],
        validate_only: bool,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let write = TopicWrite::<TopicConfigChange> {
            operation: Operation::IncrementalAlterConfigs,
            api: Api::flexible(
                topic_configs::INCREMENTAL_ALTER_CONFIGS,
                topic_configs::INCREMENTAL_ALTER_CONFIGS_VERSION,
            ),
            on_controller: false,
            name: |change| &change.name,
            check: checks::check_config_change,
            request: |changes, _timeout_ms, validate_only| topic_configs::alter_request(changes, validate_only),
            response: topic_configs::alter_response,
        };
        self.write_topics(&write, validate_only, changes).await
    }

    /// Creates topics with their config overrides. A topic that exists already is answered with
    /// `TOPIC_ALREADY_EXISTS`; with `validate_only` Kafka checks everything and creates nothing.
    pub async fn create_topics(
        &self,
        topics: &[NewTopicSpec],
        validate_only: bool,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let write = TopicWrite::<NewTopicSpec> {
            operation: Operation::CreateTopics,
            api: Api::flexible(topics::CREATE_TOPICS, topics::CREATE_TOPICS_VERSION),
            on_controller: true,
            name: |topic| &topic.name,
            check: checks::check_new_topic,
            request: topics::create_request,
            response: topics::create_response,
        };
        self.write_topics(&write, validate_only, topics).await
    }

    /// Grows topics to the given partition counts (`INVALID_PARTITIONS` if a count is not larger).
    pub async fn create_partitions(
        &self,
        growth: &[PartitionGrowth],
        validate_only: bool,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let write = TopicWrite::<PartitionGrowth> {
            operation: Operation::CreatePartitions,
            api: Api::flexible(topics::CREATE_PARTITIONS, topics::CREATE_PARTITIONS_VERSION),
            on_controller: true,
            name: |growth| &growth.name,
            check: checks::check_growth,
            request: topics::create_partitions_request,
            response: topics::create_partitions_response,
        };
        self.write_topics(&write, validate_only, growth).await
    }

    /// Deletes topics (`UNKNOWN_TOPIC_OR_PARTITION` for one that does not exist).
    pub async fn delete_topics(&self, names: &[String]) -> Result<Vec<TopicOutcome>, RequestError> {
        let write = TopicWrite {
            operation: Operation::DeleteTopics,
            api: Api::flexible(topics::DELETE_TOPICS, topics::DELETE_TOPICS_VERSION),
            on_controller: true,
            name: String::as_str,
            check: |name| checks::check_name(name),
            request: |names, timeout_ms, _validate_only| {
                let names: Vec<&str> = names.iter().map(|name| name.as_str()).collect();
                topics::delete_request(&names, timeout_ms)
            },
            response: topics::delete_response,
        };
        self.write_topics(&write, false, names).await
    }

    /// The shape every write shares, as `ClusterAdmin`'s: answer malformed items and repeats
    /// locally, send the rest in requests of at most [`MAX_TOPICS_PER_REQUEST`] one after the
    /// other, and answer in input order (a topic Kafka did not answer for gets an error, not a
    /// silent success).
    async fn write_topics<T: Sync>(
        &self,
        write: &TopicWrite<T>,
        validate_only: bool,
        items: &[T],
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let operation = write.operation;
        let mut batch = TopicBatch::new(items, write.name, write.check);
        let to_send = batch.take_requests();
        for request in to_send.chunks(MAX_TOPICS_PER_REQUEST) {
            let request_items: Vec<&T> = request.iter().map(|&index| &items[index]).collect();
            let body = (write.request)(&request_items, self.operation_timeout_ms(), validate_only);
            let response = if write.on_controller {
                self.exchange_with_controller(operation, validate_only, write.api, &body).await?
            } else {
                self.exchange_any(operation, validate_only, write.api, &body).await?
            };
            let answers = (write.response)(&response).map_err(|error| self.wire_failed(operation, &error))?;
            batch.record(request, answers);
        }
        Ok(batch.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::ErrorCode;
    use crate::connection_settings::ConnectionSettings;
    use crate::metrics::{RequestCounter, RequestLabels};

    fn assert_send<T: Send>(_: &T) {}

    /// Nothing listens here: a request fails at once.
    fn admin(requests: RequestCounter) -> WireAdmin {
        let settings = ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:1".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: Duration::from_secs(1),
            tls: None,
        };
        WireAdmin::connect(&settings, requests).expect("one bootstrap server")
    }

    /// Controllers spawn these futures, as they do ClusterAdmin's.
    #[test]
    fn its_futures_can_be_spawned() {
        let admin = admin(RequestCounter::default());
        let names = vec!["orders".to_owned()];
        assert_send(&admin.cluster_metadata());
        assert_send(&admin.topic_overrides(&names));
        assert_send(&admin.create_topics(&[], false));
        assert_send(&admin.create_partitions(&[], false));
        assert_send(&admin.alter_topic_configs(&[], false));
        assert_send(&admin.delete_topics(&names));
    }

    #[tokio::test]
    async fn empty_and_malformed_input_sends_nothing() -> Result<(), RequestError> {
        let requests = RequestCounter::default();
        let admin = admin(requests.clone());
        assert!(admin.create_topics(&[], false).await?.is_empty());
        assert!(admin.create_partitions(&[], true).await?.is_empty());
        assert!(admin.alter_topic_configs(&[], false).await?.is_empty());
        assert!(admin.delete_topics(&[]).await?.is_empty());
        assert!(admin.topic_overrides(&[]).await?.is_empty());

        let nameless =
            NewTopicSpec { name: String::new(), partitions: 1, replication_factor: 1, config: BTreeMap::new() };
        let outcomes = admin.create_topics(&[nameless], false).await?;
        assert_eq!(outcomes[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_TOPIC_EXCEPTION));
        let shrink = PartitionGrowth { name: "orders".into(), total_partitions: 0 };
        let outcomes = admin.create_partitions(&[shrink], false).await?;
        assert_eq!(outcomes[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_PARTITIONS));
        let overrides = admin.topic_overrides(&["a\0b".to_owned()]).await?;
        assert_eq!(overrides["a\0b"].as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_TOPIC_EXCEPTION));
        for &operation in Operation::ALL {
            for validate_only in [false, true] {
                assert_eq!(requests.get_or_create(&RequestLabels { operation, validate_only }).get(), 0);
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_cluster_fails_the_request_and_names_it() {
        let requests = RequestCounter::default();
        let admin = admin(requests.clone());
        let names = vec!["orders".to_owned()];
        let error = admin.topic_overrides(&names).await.expect_err("nothing listens on port 1");
        assert_eq!(error.operation, Operation::DescribeConfigs);
        assert!(error.is_retriable(), "{error:?}");
        assert!(error.to_string().ends_with("(bootstrap 127.0.0.1:1)"), "{error}");
        // A controller write asks Metadata where the controller is first; that fails, and so
        // does the call.
        let error = admin.delete_topics(&names).await.expect_err("nothing listens on port 1");
        assert_eq!(error.operation, Operation::DeleteTopics);
        assert!(error.to_string().starts_with("failed to delete topics: "), "{error}");
        let count = |operation| requests.get_or_create(&RequestLabels { operation, validate_only: false }).get();
        assert_eq!((count(Operation::DescribeConfigs), count(Operation::Metadata)), (1, 1));
    }
}
