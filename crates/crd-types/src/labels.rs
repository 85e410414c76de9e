//! Label and annotation keys shared with Koperator: tools, dashboards and alert rules written
//! for Koperator select objects by these exact keys.

/// `app=kafka` on every broker Pod, ConfigMap, Service and PVC.
pub const APP: &str = "app";
/// Value of [`APP`] on broker objects.
pub const APP_KAFKA: &str = "kafka";
/// Names the KafkaCluster an object belongs to (also how alerts and CruiseControlOperations find it).
pub const KAFKA_CR: &str = "kafka_cr";
/// The broker id of a per-broker object.
pub const BROKER_ID: &str = "brokerId";
/// Comma-separated KRaft process roles of a broker Pod.
pub const PROCESS_ROLES: &str = "processRoles";
/// `"true"` on Pods of nodes that act as brokers (KRaft).
pub const IS_BROKER_NODE: &str = "isBrokerNode";
/// `"true"` on Pods of nodes that act as controllers (KRaft).
pub const IS_CONTROLLER_NODE: &str = "isControllerNode";
/// `pause: "true"` on a CruiseControlOperation stops its retries.
pub const PAUSE: &str = "pause";
/// Annotation on a PVC recording the mount path it serves, so storage is matched to
/// `storageConfigs` by path rather than by generated name.
pub const MOUNT_PATH_ANNOTATION: &str = "mountPath";
/// Annotation on a KafkaTopic: `managedBy: koperator` lets the operator adopt an existing topic.
pub const MANAGED_BY_ANNOTATION: &str = "managedBy";
/// Value of [`MANAGED_BY_ANNOTATION`] that hands a topic to this operator.
pub const MANAGED_BY_KOPERATOR: &str = "koperator";
