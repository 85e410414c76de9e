//! ConfigMaps: each broker's `server.properties` and the cluster's JMX exporter rules.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::labels::{broker_config_map_name, broker_labels, cluster_labels, jmx_exporter_config_map_name, object_meta};
use crate::model::{BrokerModel, ValidatedCluster};

/// Key of `server.properties` in the broker ConfigMap (Koperator's).
pub const BROKER_CONFIG_KEY: &str = "broker-config";
/// Key of the optional log4j configuration in the broker ConfigMap.
pub const LOG4J_KEY: &str = "log4j.properties";
/// Key of `kafka-storage format`'s quorum flags in the broker ConfigMap of a dynamic quorum (see
/// [`super::broker_config::storage_format_flags`]); read from the mounted file when the pod
/// starts, so its change after the quorum formed restarts nothing.
pub const STORAGE_FORMAT_KEY: &str = "storage-format-flags";
/// Key of the controllers' host names in the broker ConfigMap of a dynamic quorum (see
/// [`super::broker_config::quorum_hosts`]): the pod waits until they resolve before Kafka starts.
pub const QUORUM_HOSTS_KEY: &str = "quorum-hosts";
/// Key of the exporter rules in the JMX exporter ConfigMap.
pub const JMX_EXPORTER_CONFIG_KEY: &str = "config.yaml";

/// `<cluster>-config-<id>` with `broker-config` (and `log4j.properties` when configured, and
/// `storage-format-flags` and `quorum-hosts` in a dynamic quorum).
pub fn broker_config_map(cluster: &ValidatedCluster, broker: &BrokerModel, server_properties: String) -> ConfigMap {
    let mut data = BTreeMap::from([(BROKER_CONFIG_KEY.to_string(), server_properties)]);
    if let Some(log4j) = &broker.config.log4j_config {
        data.insert(LOG4J_KEY.to_string(), log4j.clone());
    }
    if let Some(flags) = super::broker_config::storage_format_flags(cluster, broker) {
        data.insert(STORAGE_FORMAT_KEY.to_string(), flags);
    }
    if let Some(hosts) = super::broker_config::quorum_hosts(cluster) {
        data.insert(QUORUM_HOSTS_KEY.to_string(), hosts);
    }
    ConfigMap {
        metadata: object_meta(cluster, broker_config_map_name(cluster, broker.id), broker_labels(cluster, broker.id)),
        data: Some(data),
        ..Default::default()
    }
}

/// `<cluster>-kafka-jmx-exporter`: `monitoringConfig.kafkaJMXExporterConfig` or our default rules.
pub fn jmx_exporter_config_map(cluster: &ValidatedCluster) -> ConfigMap {
    let rules = cluster
        .spec
        .monitoring_config
        .as_ref()
        .and_then(|monitoring| monitoring.kafka_jmx_exporter_config.clone())
        .filter(|rules| !rules.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_KAFKA_JMX_EXPORTER_CONFIG.to_string());
    ConfigMap {
        metadata: object_meta(cluster, jmx_exporter_config_map_name(cluster), cluster_labels(cluster)),
        data: Some(BTreeMap::from([(JMX_EXPORTER_CONFIG_KEY.to_string(), rules)])),
        ..Default::default()
    }
}

/// Exporter rules that export the metric names Koperator's default rules export (the KRaft
/// state as `kafka_server_raft_metrics_current_state_<state>`, rates as `_total` counters,
/// gauges, timers as `_count` + quantiles, the JVM's beans); see the asset for each rule.
pub const DEFAULT_KAFKA_JMX_EXPORTER_CONFIG: &str = include_str!("kafka_jmx_exporter_rules.yaml");
