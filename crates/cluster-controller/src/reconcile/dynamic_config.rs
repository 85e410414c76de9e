//! Dynamic broker configuration, applied without restarts through IncrementalAlterConfigs,
//! after a validate-only run of the same change: `clusterWideConfig` with each broker's
//! `brokerConfig.config` over it, set on every broker. (Kafka also has a cluster-wide default
//! resource, but librdkafka cannot address it; per-broker values give every broker the same
//! effective configuration, and Kafka accepts per-broker values for cluster-wide settings.)
//!
//! The operator owns these resources' dynamic values: a key removed from the spec is removed
//! from Kafka. Cruise Control's replication throttles are the exception, since Cruise Control
//! sets and clears them itself while it moves data. A key Kafka reports as read-only cannot be
//! applied here; it is recorded (status.readOnlyConfigKeys) so that server.properties carries
//! it and the rolling restart applies it.

use std::collections::{BTreeMap, BTreeSet};

use kafka_admin::{BrokerConfigs, ClusterAdmin};
use kube::runtime::events::{Event, EventType};

use crd_types::kafka_cluster::PerBrokerConfigurationState;

use crate::model::{Properties, ValidatedCluster};
use crate::status::{BrokerProgress, DynamicConfigStatus};

use super::kafka_access::KafkaAccess;

/// Dynamic keys someone else manages on broker resources (Cruise Control, while it moves data).
const MANAGED_ELSEWHERE: [&str; 3] = [
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

/// What the dynamic configuration step found and did.
#[derive(Default)]
pub struct DynamicConfigOutcome {
    pub status: DynamicConfigStatus,
    pub events: Vec<Event>,
}

/// A change to one broker resource: what to set and what to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigChange {
    pub set: BTreeMap<String, String>,
    pub delete: Vec<String>,
}

impl ConfigChange {
    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            let set: Vec<String> = self.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("set {}", set.join(", ")));
        }
        if !self.delete.is_empty() {
            parts.push(format!("removed {}", self.delete.join(", ")));
        }
        parts.join("; ")
    }
}

/// The change that makes `current` (a resource's dynamic values) hold exactly `desired`.
/// A sensitive value Kafka hides (`None`) counts as in sync when its key is set: there is
/// nothing to compare it with.
pub fn plan(desired: &Properties, current: &BTreeMap<String, Option<String>>) -> ConfigChange {
    let set = desired
        .iter()
        .filter(|(key, value)| match current.get(*key) {
            Some(Some(current)) => current != *value,
            Some(None) => false,
            None => true,
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let delete = current
        .keys()
        .filter(|key| !desired.contains_key(*key) && !MANAGED_ELSEWHERE.contains(&key.as_str()))
        .cloned()
        .collect();
    ConfigChange { set, delete }
}

/// `previously_configured`: the last status had the DynamicConfig condition, so Kafka may
/// still hold values the spec no longer has.
pub async fn reconcile(
    access: &KafkaAccess,
    cluster: &ValidatedCluster,
    brokers: &[BrokerProgress],
    previous_read_only: &[String],
    previously_configured: bool,
) -> DynamicConfigOutcome {
    let cluster_wide = cluster.cluster_wide_config();
    let mut wanted_keys: BTreeSet<String> = cluster_wide.keys().cloned().collect();
    for broker in &cluster.brokers {
        wanted_keys.extend(broker.per_broker_config().into_keys());
    }
    let mut status = DynamicConfigStatus {
        configured: !wanted_keys.is_empty(),
        read_only_keys: previous_read_only.iter().filter(|k| wanted_keys.contains(*k)).cloned().collect(),
        ..Default::default()
    };
    let mut events = Vec::new();
    // A cluster that never had dynamic configuration costs no Kafka request.
    if status.configured || previously_configured {
        reconcile_into(access, cluster, brokers, &cluster_wide, &wanted_keys, &mut status, &mut events).await;
    }
    DynamicConfigOutcome { status, events }
}

async fn reconcile_into(
    access: &KafkaAccess,
    cluster: &ValidatedCluster,
    brokers: &[BrokerProgress],
    cluster_wide: &Properties,
    wanted_keys: &BTreeSet<String>,
    status: &mut DynamicConfigStatus,
    events: &mut Vec<Event>,
) {
    let ready: BTreeSet<i32> = brokers.iter().filter(|b| b.is_ready()).map(|b| b.id).collect();
    let nodes: Vec<_> = cluster.brokers.iter().filter(|b| b.is_broker() && ready.contains(&b.id)).collect();
    if nodes.is_empty() {
        return;
    }
    let admin = match access.admin(cluster) {
        Ok(admin) => admin,
        Err(error) => {
            status.problems.push(format!("dynamic configuration cannot be applied: {error}"));
            return;
        }
    };
    for broker in nodes {
        let state = match described(&admin, broker.id).await {
            Ok(configs) => {
                status.read_only_keys.extend(configs.read_only.intersection(wanted_keys).cloned());
                let mut desired = cluster_wide.clone();
                desired.extend(broker.per_broker_config());
                let desired = without(desired, &status.read_only_keys);
                apply(&admin, broker.id, &plan(&desired, &configs.dynamic), status, events).await
            }
            Err(error) => {
                status
                    .problems
                    .push(format!("broker {}: its dynamic configuration cannot be read: {error}", broker.id));
                PerBrokerConfigurationState::PerBrokerConfigOutOfSync
            }
        };
        status.per_broker.insert(broker.id, state);
    }
}

fn without(mut properties: Properties, keys: &BTreeSet<String>) -> Properties {
    properties.retain(|key, _| !keys.contains(key));
    properties
}

async fn described(admin: &ClusterAdmin, broker: i32) -> Result<BrokerConfigs, String> {
    match admin.broker_configs(broker).await {
        Ok(Ok(configs)) => Ok(configs),
        Ok(Err(error)) => Err(error.to_string()),
        Err(error) => Err(operator_runtime::error_chain(&error)),
    }
}

/// Validates the change with Kafka, then applies it.
async fn apply(
    admin: &ClusterAdmin,
    broker: i32,
    change: &ConfigChange,
    status: &mut DynamicConfigStatus,
    events: &mut Vec<Event>,
) -> PerBrokerConfigurationState {
    if change.is_empty() {
        return PerBrokerConfigurationState::PerBrokerConfigInSync;
    }
    let (what, field) = (format!("broker {broker}"), "clusterWideConfig / brokerConfig.config");
    for validate_only in [true, false] {
        let answer = admin.alter_broker_configs(broker, &change.set, &change.delete, validate_only).await;
        let error = match answer {
            Ok(Ok(())) => continue,
            Ok(Err(rejected)) => format!("Kafka rejects {field} for {what} ({}): {rejected}", change.describe()),
            Err(error) => format!("{field} for {what} cannot be applied: {}", operator_runtime::error_chain(&error)),
        };
        events.push(super::event(EventType::Warning, "DynamicConfigRejected", "ApplyDynamicConfig", error.clone()));
        status.problems.push(error);
        return PerBrokerConfigurationState::PerBrokerConfigError;
    }
    let note = format!("dynamic configuration of {what} applied without a restart: {}", change.describe());
    events.push(super::event(EventType::Normal, "DynamicConfigApplied", "ApplyDynamicConfig", note));
    PerBrokerConfigurationState::PerBrokerConfigInSync
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn sets_what_differs_and_removes_what_the_spec_dropped() {
        let desired = props(&[("log.cleaner.threads", "2"), ("max.connections", "500")]);
        let current = BTreeMap::from([
            ("log.cleaner.threads".to_owned(), Some("1".to_owned())),
            ("max.connections".to_owned(), Some("500".to_owned())),
            ("num.io.threads".to_owned(), Some("9".to_owned())),
            ("leader.replication.throttled.rate".to_owned(), Some("1000".to_owned())),
        ]);
        let change = plan(&desired, &current);
        assert_eq!(change.set, props(&[("log.cleaner.threads", "2")]));
        assert_eq!(change.delete, vec!["num.io.threads".to_owned()]);
        assert_eq!(change.describe(), "set log.cleaner.threads=2; removed num.io.threads");
    }

    #[test]
    fn in_sync_configuration_needs_no_change() {
        let desired = props(&[("sasl.jaas.config", "secret"), ("max.connections", "5")]);
        let current = BTreeMap::from([
            ("sasl.jaas.config".to_owned(), None),
            ("max.connections".to_owned(), Some("5".to_owned())),
        ]);
        assert!(plan(&desired, &current).is_empty());
    }
}
