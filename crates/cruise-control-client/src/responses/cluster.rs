//! `GET kafka_cluster_state` and `GET load`: brokers and partitions as Cruise Control sees them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::lenient;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct KafkaClusterState {
    #[serde(rename = "KafkaBrokerState", default, deserialize_with = "lenient::or_default")]
    pub brokers: KafkaBrokerState,
    #[serde(rename = "KafkaPartitionState", default, deserialize_with = "lenient::or_default")]
    pub partitions: KafkaPartitionState,
}

/// Per-broker facts, keyed by broker id as Cruise Control writes it (a string).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct KafkaBrokerState {
    #[serde(rename = "ReplicaCountByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub replica_count: BTreeMap<String, i64>,
    #[serde(rename = "LeaderCountByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub leader_count: BTreeMap<String, i64>,
    #[serde(rename = "OutOfSyncCountByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub out_of_sync_count: BTreeMap<String, i64>,
    #[serde(rename = "OfflineReplicaCountByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub offline_replica_count: BTreeMap<String, i64>,
    #[serde(rename = "OnlineLogDirsByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub online_log_dirs: BTreeMap<String, Vec<String>>,
    #[serde(rename = "OfflineLogDirsByBrokerId", default, deserialize_with = "lenient::or_default")]
    pub offline_log_dirs: BTreeMap<String, Vec<String>>,
    #[serde(rename = "IsController", default, deserialize_with = "lenient::or_default")]
    pub is_controller: BTreeMap<String, bool>,
}

impl KafkaBrokerState {
    /// Broker ids Cruise Control knows, in numeric order.
    pub fn broker_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> =
            self.replica_count.keys().chain(self.online_log_dirs.keys()).filter_map(|id| id.parse().ok()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Partitions in trouble; each list holds one entry per partition.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct KafkaPartitionState {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub offline: Vec<PartitionState>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub urp: Vec<PartitionState>,
    #[serde(rename = "with-offline-replicas", default, deserialize_with = "lenient::or_default")]
    pub with_offline_replicas: Vec<PartitionState>,
    #[serde(rename = "under-min-isr", default, deserialize_with = "lenient::or_default")]
    pub under_min_isr: Vec<PartitionState>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PartitionState {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub topic: String,
    #[serde(default, deserialize_with = "lenient::int")]
    pub partition: i64,
    #[serde(default, deserialize_with = "lenient::optional_int")]
    pub leader: Option<i64>,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub replicas: Vec<i32>,
    #[serde(rename = "in-sync", default, deserialize_with = "lenient::ids")]
    pub in_sync: Vec<i32>,
    #[serde(rename = "out-of-sync", default, deserialize_with = "lenient::ids")]
    pub out_of_sync: Vec<i32>,
}

/// `GET load`: the load of every broker.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ClusterLoad {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub brokers: Vec<BrokerLoad>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct BrokerLoad {
    #[serde(rename = "Broker", default, deserialize_with = "lenient::int")]
    pub broker: i64,
    /// ALIVE, DEAD, NEW, DEMOTED or BAD_DISKS.
    #[serde(rename = "BrokerState", default, deserialize_with = "lenient::or_default")]
    pub state: String,
    #[serde(rename = "Host", default, deserialize_with = "lenient::or_default")]
    pub host: String,
    #[serde(rename = "Rack", default, deserialize_with = "lenient::or_default")]
    pub rack: String,
    #[serde(rename = "Replicas", default, deserialize_with = "lenient::int")]
    pub replicas: i64,
    #[serde(rename = "Leaders", default, deserialize_with = "lenient::int")]
    pub leaders: i64,
    #[serde(rename = "DiskMB", default, deserialize_with = "lenient::float")]
    pub disk_mb: f64,
    #[serde(rename = "DiskPct", default, deserialize_with = "lenient::float")]
    pub disk_pct: f64,
    #[serde(rename = "CpuPct", default, deserialize_with = "lenient::float")]
    pub cpu_pct: f64,
    #[serde(rename = "NwInRate", default, deserialize_with = "lenient::float")]
    pub network_in_rate: f64,
    #[serde(rename = "NwOutRate", default, deserialize_with = "lenient::float")]
    pub network_out_rate: f64,
}
