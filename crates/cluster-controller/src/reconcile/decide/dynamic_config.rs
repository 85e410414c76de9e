//! Pure: dynamic broker configuration, applied without restarts through IncrementalAlterConfigs,
//! after a validate-only run of the same change: `clusterWideConfig` with each broker's
//! `brokerConfig.config` over it, set on every broker. (Kafka also has a cluster-wide default
//! resource; per-broker values give every broker the same effective configuration, Kafka accepts
//! per-broker values for cluster-wide settings, and one kind of resource then serves both.)
//!
//! The operator owns these resources' dynamic values: a key removed from the spec is removed
//! from Kafka. Cruise Control's replication throttles are the exception, since Cruise Control
//! sets and clears them itself while it moves data. A key Kafka reports as read-only cannot be
//! applied here; it is recorded (status.readOnlyConfigKeys) so that server.properties carries
//! it and the rolling restart applies it.

use std::collections::{BTreeMap, BTreeSet};

use crd_types::kafka_cluster::PerBrokerConfigurationState;

use super::brokers::BrokerProgress;
use crate::model::{Properties, ValidatedCluster};

use super::facts::{Facts, Needs};
pub use super::plan::ConfigChange;
use super::plan::{Action, Step};

/// Condition, present when the spec has dynamic configuration: whether Kafka holds it.
pub const DYNAMIC_CONFIG: &str = "DynamicConfig";

/// The dynamic configuration step's part of the status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicConfigStatus {
    /// Whether the spec has any dynamic configuration (`clusterWideConfig`, `brokerConfig.config`).
    pub configured: bool,
    /// `perBrokerConfigurationState` of each broker looked at in this pass.
    pub per_broker: BTreeMap<i32, PerBrokerConfigurationState>,
    /// Why Kafka does not hold the spec's dynamic configuration, one sentence each.
    pub problems: Vec<String>,
    /// status.readOnlyConfigKeys.
    pub read_only_keys: BTreeSet<String>,
}

/// Dynamic keys someone else manages on broker resources (Cruise Control, while it moves data).
const MANAGED_ELSEWHERE: [&str; 3] = [
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

/// The change that makes `current` (a resource's dynamic values) hold exactly `desired`.
/// A sensitive value Kafka hides (`None`) counts as in sync when its key is set: there is
/// nothing to compare it with.
pub fn plan_change(desired: &Properties, current: &BTreeMap<String, Option<String>>) -> ConfigChange {
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

/// The changes that make Kafka hold the spec's dynamic configuration (onto `steps`, one per
/// broker whose values differ), and the status as far as it is known before Kafka answers them.
/// `previously_configured`: the last status had the DynamicConfig condition, so Kafka may still
/// hold values the spec no longer has.
pub fn plan(
    cluster: &ValidatedCluster,
    brokers: &[BrokerProgress],
    previous_read_only: &[String],
    previously_configured: bool,
    known: &Facts,
    needs: &mut Needs,
    steps: &mut Vec<Step>,
) -> DynamicConfigStatus {
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
    // A cluster that never had dynamic configuration costs no Kafka request.
    if !status.configured && !previously_configured {
        return status;
    }
    let ready: BTreeSet<i32> = brokers.iter().filter(|b| b.is_ready()).map(|b| b.id).collect();
    let nodes: Vec<_> = cluster.brokers.iter().filter(|b| b.is_broker() && ready.contains(&b.id)).collect();
    let ids: Vec<i32> = nodes.iter().map(|b| b.id).collect();
    let Some(described) = known.broker_configs(&ids, needs) else { return status };
    for broker in nodes {
        let state = match described.get(&broker.id) {
            Some(Ok(configs)) => {
                status.read_only_keys.extend(configs.read_only.intersection(&wanted_keys).cloned());
                let mut desired = cluster_wide.clone();
                desired.extend(broker.per_broker_config());
                let desired = without(desired, &status.read_only_keys);
                let change = plan_change(&desired, &configs.dynamic);
                if change.is_empty() {
                    PerBrokerConfigurationState::PerBrokerConfigInSync
                } else {
                    steps.push(Step::new(Action::AlterBrokerConfig { broker: broker.id, change }));
                    // Until Kafka accepted it.
                    PerBrokerConfigurationState::PerBrokerConfigOutOfSync
                }
            }
            Some(Err(error)) => {
                status
                    .problems
                    .push(format!("broker {}: its dynamic configuration cannot be read: {error}", broker.id));
                PerBrokerConfigurationState::PerBrokerConfigOutOfSync
            }
            None => PerBrokerConfigurationState::PerBrokerConfigOutOfSync,
        };
        status.per_broker.insert(broker.id, state);
    }
    status
}

fn without(mut properties: Properties, keys: &BTreeSet<String>) -> Properties {
    properties.retain(|key, _| !keys.contains(key));
    properties
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
        let change = plan_change(&desired, &current);
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
        assert!(plan_change(&desired, &current).is_empty());
    }
}
