//! Creating, growing and deleting topics over librdkafka: write requests answered per topic.

use std::sync::Arc;

use super::ClusterAdmin;
use crate::batch::{MAX_TOPICS_PER_REQUEST, TopicBatch};
use crate::changes::{NewTopicSpec, PartitionGrowth, TopicOutcome};
use crate::checks;
use crate::librdkafka_client::KafkaClient;
use crate::metrics::Operation;
use crate::native::{self, AdminCall, Pending, RequestFailure};
use crate::operation_error::OperationError;
use crate::request_error::RequestError;

/// Builds one request's native objects and hands them to librdkafka.
pub(super) type Submit<T> =
    fn(&Arc<KafkaClient>, &AdminCall, &[&T]) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure>;

impl ClusterAdmin {
    /// Creates topics with their config overrides. A topic that exists already is answered with
    /// `TOPIC_ALREADY_EXISTS`; with `validate_only` Kafka checks everything and creates nothing.
    pub async fn create_topics(
        &self,
        topics: &[NewTopicSpec],
        validate_only: bool,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let name: fn(&NewTopicSpec) -> &str = |topic| &topic.name;
        self.write(Operation::CreateTopics, validate_only, topics, name, checks::check_new_topic, native::create_topics)
            .await
    }

    /// Grows topics to the given partition counts (`INVALID_PARTITIONS` if a count is not larger).
    pub async fn create_partitions(
        &self,
        growth: &[PartitionGrowth],
        validate_only: bool,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let name: fn(&PartitionGrowth) -> &str = |growth| &growth.name;
        self.write(
            Operation::CreatePartitions,
            validate_only,
            growth,
            name,
            checks::check_growth,
            native::create_partitions,
        )
        .await
    }

    /// Deletes topics (`UNKNOWN_TOPIC_OR_PARTITION` for one that does not exist).
    pub async fn delete_topics(&self, names: &[String]) -> Result<Vec<TopicOutcome>, RequestError> {
        let check = |name: &String| checks::check_name(name);
        self.write(Operation::DeleteTopics, false, names, String::as_str, check, native::delete_topics).await
    }

    /// The shape every write call shares: answer malformed items locally, send the rest in
    /// requests of at most [`MAX_TOPICS_PER_REQUEST`] one after the other, count each request
    /// handed to librdkafka, and answer in input order.
    pub(super) async fn write<T: Sync>(
        &self,
        operation: Operation,
        validate_only: bool,
        items: &[T],
        name: fn(&T) -> &str,
        check: fn(&T) -> Result<(), OperationError>,
        submit: Submit<T>,
    ) -> Result<Vec<TopicOutcome>, RequestError> {
        let mut batch = TopicBatch::new(items, name, check);
        let to_send = batch.take_requests();
        let call = self.call(operation, validate_only);
        for request in to_send.chunks(MAX_TOPICS_PER_REQUEST) {
            let request_items: Vec<&T> = request.iter().map(|&index| &items[index]).collect();
            let pending = submit(&self.client, &call, &request_items).map_err(|f| self.failed(operation, f))?;
            self.count(operation, validate_only);
            let answers = pending.answer().await.map_err(|f| self.failed(operation, f))?;
            batch.record(request, answers);
        }
        Ok(batch.finish())
    }
}
