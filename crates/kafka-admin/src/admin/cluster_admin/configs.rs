//! Reading and changing topic-level config overrides over librdkafka.

use std::collections::HashMap;

use super::ClusterAdmin;
use crate::admin::configs::{TopicOverrides, names_to_describe};
use crate::batch::{MAX_TOPICS_PER_REQUEST, missing_answer};
use crate::changes::{TopicConfigChange, TopicOutcome};
use crate::checks;
use crate::metrics::Operation;
use crate::native;
use crate::overrides::topic_overrides;
use crate::request_error::RequestError;

impl ClusterAdmin {
    /// DescribeConfigs, per topic only the topic-level overrides (what `kafka-configs --describe`
    /// lists; sensitive values skipped). Each topic is described once however often it is named.
    pub async fn topic_overrides(&self, topics: &[String]) -> Result<TopicOverrides, RequestError> {
        let (mut answers, to_send) = names_to_describe(topics);
        let operation = Operation::DescribeConfigs;
        let call = self.call(operation, false);
        for request in to_send.chunks(MAX_TOPICS_PER_REQUEST) {
            let pending =
                native::describe_topic_configs(&self.client, &call, request).map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            let described = pending.answer().await.map_err(|f| self.failed(operation, f))?;
            let mut by_topic: HashMap<String, _> = described.into_iter().collect();
            for &name in request {
                let entries = by_topic.remove(name).unwrap_or_else(|| Err(missing_answer()));
                answers.insert(name.to_owned(), entries.map(topic_overrides));
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
        let name: fn(&TopicConfigChange) -> &str = |change| &change.name;
        let operation = Operation::IncrementalAlterConfigs;
        self.write(operation, validate_only, changes, name, checks::check_config_change, native::alter_topic_configs)
            .await
    }
}
