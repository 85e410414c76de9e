//! Broker configuration: what is set dynamically, what only a restart can change, and
//! changing the dynamic part without a restart. Only per-broker resources, each asked of its
//! broker; cluster-wide values are set on every broker.

use std::collections::{BTreeMap, BTreeSet};

use super::WireAdmin;
use super::direct::Api;
use crate::metadata::{PartitionReplicas, ReplicaHealth};
use crate::metrics::Operation;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;
use crate::wire::broker_configs::{self, ConfigEntry, DYNAMIC_BROKER_CONFIG};

/// A broker resource's configuration as DescribeConfigs reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerConfigs {
    /// Values set dynamically on this broker itself (`DYNAMIC_BROKER_CONFIG`); `None` for
    /// sensitive values, which Kafka never returns.
    pub dynamic: BTreeMap<String, Option<String>>,
    /// Names Kafka reports as read-only: they change only through server.properties and a restart.
    pub read_only: BTreeSet<String>,
}

impl BrokerConfigs {
    fn from_entries(entries: Vec<ConfigEntry>) -> Self {
        let mut configs = BrokerConfigs::default();
        for entry in entries {
            if entry.read_only {
                configs.read_only.insert(entry.name.clone());
            }
            if entry.source == DYNAMIC_BROKER_CONFIG {
                let value = if entry.sensitive { None } else { entry.value };
                configs.dynamic.insert(entry.name, value);
            }
        }
        configs
    }
}

impl WireAdmin {
    /// One Metadata request for every topic, Kafka's internal ones included: which partitions
    /// have no leader and which brokers lag behind a leader. This is what a rolling restart
    /// must check before it takes another broker down.
    pub async fn replica_health(&self) -> Result<ReplicaHealth, RequestError> {
        let answer = self.metadata(true).await?;
        let broker_ids = answer.brokers.iter().map(|broker| broker.id).collect();
        let partitions = answer.topics.iter().flat_map(|topic| {
            topic.partitions.iter().map(|p| PartitionReplicas {
                topic: &topic.name,
                partition: p.index,
                leader: p.leader,
                replicas: &p.replicas,
                isr: &p.isr,
            })
        });
        Ok(ReplicaHealth::from_partitions(broker_ids, partitions))
    }

    /// DescribeConfigs of one broker, sent to it; the inner error is Kafka's answer for it (a
    /// broker that is down fails the request as a whole instead).
    pub async fn broker_configs(&self, broker: i32) -> Result<Result<BrokerConfigs, OperationError>, RequestError> {
        let operation = Operation::DescribeConfigs;
        let api = Api::flexible(broker_configs::DESCRIBE_CONFIGS, broker_configs::DESCRIBE_CONFIGS_VERSION);
        let body = broker_configs::describe_request(broker);
        let response = self.exchange_with_broker(broker, operation, false, api, &body).await?;
        let entries = broker_configs::describe_response(&response, broker)
            .map_err(|error| self.wire_failed(operation, &error))?;
        Ok(entries.map(BrokerConfigs::from_entries))
    }

    /// IncrementalAlterConfigs of one broker, sent to it: sets and deletes exactly the named
    /// keys. With `validate_only` Kafka checks the change (a read-only key, a bad value) and
    /// applies nothing.
    pub async fn alter_broker_configs(
        &self,
        broker: i32,
        set: &BTreeMap<String, String>,
        delete: &[String],
        validate_only: bool,
    ) -> Result<Result<(), OperationError>, RequestError> {
        let operation = Operation::IncrementalAlterConfigs;
        let api =
            Api::flexible(broker_configs::INCREMENTAL_ALTER_CONFIGS, broker_configs::INCREMENTAL_ALTER_CONFIGS_VERSION);
        let set: Vec<(&str, &str)> = set.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let delete: Vec<&str> = delete.iter().map(String::as_str).collect();
        let body = broker_configs::alter_request(broker, &set, &delete, validate_only);
        let response = self.exchange_with_broker(broker, operation, validate_only, api, &body).await?;
        broker_configs::alter_response(&response, broker).map_err(|error| self.wire_failed(operation, &error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: i8, read_only: bool, sensitive: bool) -> ConfigEntry {
        ConfigEntry { name: name.into(), value: Some(value.into()), read_only, source, sensitive }
    }

    #[test]
    fn keeps_the_brokers_own_dynamic_values_and_every_read_only_name() {
        // Sources: 2 DYNAMIC_BROKER_CONFIG, 3 DYNAMIC_DEFAULT_BROKER_CONFIG, 4 STATIC_BROKER_CONFIG.
        let entries = vec![
            entry("log.cleaner.threads", "2", 2, false, false),
            entry("log.retention.ms", "1000", 3, false, false),
            entry("broker.id", "1", 4, true, false),
            entry("ssl.keystore.password", "secret", 2, false, true),
        ];
        let configs = BrokerConfigs::from_entries(entries);
        assert_eq!(
            configs.dynamic,
            BTreeMap::from([("log.cleaner.threads".into(), Some("2".into())), ("ssl.keystore.password".into(), None)])
        );
        assert_eq!(configs.read_only, BTreeSet::from(["broker.id".to_owned()]));
    }
}
