//! Pure: what the decision found, in the shape the status is computed from (`crate::status`).

use std::collections::BTreeMap;

use crate::build::ListenerAddresses;

pub use super::brokers::BrokerProgress;
use super::claims::ClaimResize;
use super::cruise_control::CruiseControlReport;
pub use super::dynamic_config::{DYNAMIC_CONFIG, DynamicConfigStatus};
pub use super::graceful::GracefulStatus;
pub use super::rolling::{RollReport, RollStatus};
pub use super::takeover::TakeoverReport;

/// Everything the status is computed from, as the decision left it (and the writes completed:
/// Kafka's answers to dynamic configuration changes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusDraft {
    pub brokers: Vec<BrokerProgress>,
    /// Claim names of brokers that left the spec, by broker id.
    pub retained_claims: BTreeMap<i32, Vec<String>>,
    pub graceful: GracefulStatus,
    pub roll: RollStatus,
    /// Firing alerts labelled `rollingupgrade`: status.alertCount and rollingUpgradeStatus.errorCount.
    pub rolling_upgrade_alerts: i32,
    pub dynamic_config: DynamicConfigStatus,
    pub cluster_id: Option<String>,
    /// Internal listener name → where it is reached.
    pub listener_addresses: BTreeMap<String, ListenerAddresses>,
    /// `status.listenerStatuses.externalListeners`.
    pub external_listener_statuses: BTreeMap<String, Vec<crd_types::kafka_cluster::ListenerStatus>>,
    /// Why an external listener is not reachable yet (a load balancer without an address, a
    /// node port not assigned yet): the `ExternalAccess` condition.
    pub external_waiting: Vec<String>,
    pub cruise_control: CruiseControlReport,
    /// Claims whose size differs from the spec's.
    pub resizes: Vec<ClaimResize>,
    /// What another operator left of the cluster.
    pub takeover: TakeoverReport,
    /// Where the cluster's certificates stand.
    pub certificates: super::certificates::CertificatesReport,
    /// `status.kraft` and what the quorum and `metadata.version` wait for.
    pub kraft: super::kraft::KraftReport,
    /// Each broker's rack as `rackAwarenessState` records it (`rackAwareness` only).
    pub rack_states: BTreeMap<i32, String>,
}
