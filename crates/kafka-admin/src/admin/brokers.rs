//! Broker configuration: what is set dynamically, what only a restart can change, and
//! changing the dynamic part without a restart.
//!
//! Only per-broker resources: librdkafka refuses the cluster-wide default resource (a BROKER
//! resource named ""; it wants an int32 broker id to route the request to), so cluster-wide
//! values have to be set on every broker.

use std::collections::{BTreeMap, BTreeSet};

use rdkafka::admin::{ConfigEntry, ConfigSource};

use super::ClusterAdmin;
use crate::batch::missing_answer;
use crate::changes::TopicConfigChange;
use crate::metrics::Operation;
use crate::native;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;

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
            if entry.is_read_only {
                configs.read_only.insert(entry.name.clone());
            }
            if entry.source == ConfigSource::DynamicBroker {
                let value = if entry.is_sensitive { None } else { entry.value };
                configs.dynamic.insert(entry.name, value);
            }
        }
        configs
    }
}

impl ClusterAdmin {
    /// DescribeConfigs of one broker; the inner error is Kafka's answer for it (a broker that
    /// is down fails the request as a whole instead).
    pub async fn broker_configs(&self, broker: i32) -> Result<Result<BrokerConfigs, OperationError>, RequestError> {
        let operation = Operation::DescribeConfigs;
        let call = self.call(operation, false);
        let name = broker.to_string();
        let pending =
            native::describe_broker_configs(&self.client, &call, &[&name]).map_err(|f| self.failed(operation, f))?;
        self.count(operation, false);
        let described = pending.answer().await.map_err(|f| self.failed(operation, f))?;
        let entries = described.into_iter().find(|(answered, _)| *answered == name).map(|(_, entries)| entries);
        Ok(entries.unwrap_or_else(|| Err(missing_answer())).map(BrokerConfigs::from_entries))
    }

    /// IncrementalAlterConfigs of one broker: sets and deletes exactly the named keys. With
    /// `validate_only` Kafka checks the change (a read-only key, a bad value) and applies nothing.
    pub async fn alter_broker_configs(
        &self,
        broker: i32,
        set: &BTreeMap<String, String>,
        delete: &[String],
        validate_only: bool,
    ) -> Result<Result<(), OperationError>, RequestError> {
        let operation = Operation::IncrementalAlterConfigs;
        let change = TopicConfigChange { name: broker.to_string(), set: set.clone(), delete: delete.to_vec() };
        let call = self.call(operation, validate_only);
        let pending =
            native::alter_broker_configs(&self.client, &call, &[&change]).map_err(|f| self.failed(operation, f))?;
        self.count(operation, validate_only);
        let outcomes = pending.answer().await.map_err(|f| self.failed(operation, f))?;
        let outcome = outcomes.into_iter().find(|outcome| outcome.topic == change.name);
        Ok(outcome.map_or_else(|| Err(missing_answer()), |outcome| outcome.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: ConfigSource, read_only: bool, sensitive: bool) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            is_read_only: read_only,
            is_default: false,
            is_sensitive: sensitive,
        }
    }

    #[test]
    fn keeps_the_brokers_own_dynamic_values_and_every_read_only_name() {
        let entries = || {
            vec![
                entry("log.cleaner.threads", "2", ConfigSource::DynamicBroker, false, false),
                entry("log.retention.ms", "1000", ConfigSource::DynamicDefaultBroker, false, false),
                entry("broker.id", "1", ConfigSource::StaticBroker, true, false),
                entry("ssl.keystore.password", "secret", ConfigSource::DynamicBroker, false, true),
            ]
        };
        let configs = BrokerConfigs::from_entries(entries());
        assert_eq!(
            configs.dynamic,
            BTreeMap::from([("log.cleaner.threads".into(), Some("2".into())), ("ssl.keystore.password".into(), None)])
        );
        assert_eq!(configs.read_only, BTreeSet::from(["broker.id".to_owned()]));
    }
}
