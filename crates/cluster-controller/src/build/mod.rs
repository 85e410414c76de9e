//! Pure builders: every object the operator wants for a cluster, from the validated model and
//! the facts observed in the cluster. No client, no I/O; snapshot-tested.
//!
//! INTERFACE (owned by the lead; the builders' author fills in the bodies).

mod addresses;
mod broker_config;
mod broker_sasl;
pub mod broker_tls;
mod capacity;
mod config_map;
mod cruise_control;
mod cruise_control_deployment;
pub mod cruise_control_operation;
mod cruise_control_reporter;
#[cfg(test)]
mod cruise_control_tests;
mod cruise_control_tls;
pub mod envoy;
mod labels;
mod name_bridge;
pub mod node_port;
pub mod pdb;
pub mod pki;
mod pod;
mod pvc;
mod rack;
mod services;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use sha2::{Digest, Sha256};

pub use addresses::{ListenerAddresses, listener_addresses};
#[cfg(test)]
pub use broker_config::server_properties;
pub use broker_config::{
    ExternalAddresses, NODE_IP_VARIABLE, controller_listener, kafka_listener_name, server_properties_with,
};
pub use config_map::BROKER_CONFIG_KEY;
pub use cruise_control::{
    CAPACITY_KEY as CRUISE_CONTROL_CAPACITY_KEY, config_map_name as cruise_control_config_map_name,
    deployment_name as cruise_control_deployment_name,
    jmx_exporter_config_map_name as cruise_control_jmx_config_map_name, metrics_topic, metrics_topic_name,
};
pub use cruise_control_deployment::OPERATOR_CERTIFICATE_ANNOTATION as CRUISE_CONTROL_OPERATOR_CERTIFICATE_ANNOTATION;
pub use labels::{
    broker_host, broker_role_selector, cluster_labels, controller_headless_service_name, controller_role_selector,
    has_controller_role, headless_service_name, node_hostname, pod_name_prefix,
};
pub use name_bridge::{BridgedName, MANAGED_BY_LABEL, MANAGED_BY_US, name_bridge};
pub use pvc::fill_placeholders;
pub use rack::Rack;
pub use services::HeadlessSelection;

use crate::model::{BrokerModel, ValidatedCluster};

/// Pod annotation holding [`BrokerObjects::config_hash`].
pub const CONFIG_HASH_ANNOTATION: &str = "koperator-rs.io/config-hash";
/// Pod annotation: the node names the pod's configuration uses are Koperator's
/// ([`NODE_NAMES_KOPERATOR`]). A pod of this operator without it was made before the operator
/// named nodes as Koperator does, and reaches KRaft controllers as `<cluster>-<id>.<cluster>-headless`.
/// Set outside the configuration hash, so that adding it restarted no pod.
pub const NODE_NAMES_ANNOTATION: &str = "koperator-rs.io/node-names";
pub const NODE_NAMES_KOPERATOR: &str = "koperator";
/// Pod annotation: the serial number of the server certificate the broker was started with.
/// Kafka reads its key store once, at start, so a renewed certificate changes the pod's
/// configuration hash and the health-gated rolling restart brings it to every broker, one at a
/// time.
pub const SERVER_CERTIFICATE_ANNOTATION: &str = "koperator-rs.io/server-certificate-serial";
/// Pod annotation: the serials of the CAs the broker was started trusting (its `ca.crt`), in
/// the configuration hash for the same reason; a rotation of the CA reads it to know which
/// brokers trust the new CA (see `pki::rotation`).
pub const TRUSTED_CAS_ANNOTATION: &str = "koperator-rs.io/trusted-ca-serials";

/// What the reconciler has observed and the builders need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedFacts {
    /// KRaft cluster id (from status.clusterID), generated once by the reconciler.
    pub cluster_id: Option<String>,
    /// Existing claims of a broker by mount path → PVC name (PVCs use generateName).
    pub claims: BTreeMap<i32, BTreeMap<String, String>>,
    /// Dynamic config keys Kafka reported read-only (status.readOnlyConfigKeys).
    pub read_only_config_keys: BTreeSet<String>,
    /// Serial number of the brokers' server certificate, for clusters with TLS listeners.
    pub server_certificate_serial: Option<String>,
    /// Serial numbers of the CAs the brokers trust, comma-separated, for the same clusters.
    pub trusted_ca_serials: Option<String>,
    /// What each broker advertises on each served external listener, where known.
    pub external_addresses: ExternalAddresses,
    /// Each broker's rack, with `rackAwareness` (`reconcile::decide::racks`).
    pub racks: BTreeMap<i32, Rack>,
}

/// What the reconciler has observed and the Cruise Control builders need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CruiseControlFacts {
    /// `capacity.json` of the existing Cruise Control ConfigMap, if any.
    pub previous_capacity: Option<String>,
    /// Brokers the status still tracks but the spec no longer lists (being drained).
    pub departing_brokers: BTreeSet<i32>,
    /// The serial of the operator's client certificate Cruise Control is to start with, on TLS
    /// clusters: its Kafka clients read their key store once, so a new one restarts it.
    pub operator_certificate_serial: Option<String>,
}

/// Cruise Control as the operator runs it (the Service is among [`ClusterObjects::services`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CruiseControlObjects {
    /// `<cluster>-cruisecontrol-config`.
    pub config_map: ConfigMap,
    /// `<cluster>-cc-jmx-exporter`: the rules of Cruise Control's metrics port.
    pub jmx_exporter_config_map: ConfigMap,
    /// `<cluster>-cruisecontrol`, its pod annotated with the hash of the files it reads at start.
    pub deployment: Deployment,
}

/// Objects shared by all brokers.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterObjects {
    /// `<cluster>-headless` (and in KRaft `<cluster>-controller-headless`), or per-broker
    /// services when not headless; `<cluster>-all-broker`;
    /// `<cluster>-cruisecontrol-svc` unless Cruise Control is external.
    pub services: Vec<Service>,
    /// `<cluster>-pdb` over the brokers and, in KRaft, `<cluster>-controller-pdb` over the
    /// controllers, when `disruptionBudget.create`.
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
    /// Shared ConfigMaps (e.g. the JMX exporter configuration).
    pub config_maps: Vec<ConfigMap>,
}

/// Everything one broker needs.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerObjects {
    pub id: i32,
    /// `<cluster>-config-<id>`, key `broker-config`.
    pub config_map: ConfigMap,
    /// One per storage config with a pvcSpec, keyed by mount path; generateName
    /// `<cluster>-<id>-storage-<n>-` and annotation `mountPath`.
    pub claims: BTreeMap<String, PersistentVolumeClaim>,
    /// None until every claim exists (the pod mounts them by name) and, in KRaft mode, until
    /// `facts.cluster_id` is known (the pod formats its storage with it).
    pub pod: Option<Pod>,
    /// Hash of the rendered broker configuration; stamped on the pod so the reconciler can tell
    /// when a running broker's configuration is out of sync.
    pub config_hash: String,
}

pub fn cluster_objects(cluster: &ValidatedCluster, headless: HeadlessSelection) -> ClusterObjects {
    let mut services = services::services(cluster, headless);
    services.extend(cruise_control::service(cluster));
    ClusterObjects {
        services,
        pod_disruption_budgets: pdb::pod_disruption_budgets(cluster, false),
        config_maps: vec![config_map::jmx_exporter_config_map(cluster)],
    }
}

/// Cruise Control's ConfigMaps and Deployment, for a cluster whose plan is to deploy it with
/// `settings`.
pub fn cruise_control_objects(
    cluster: &ValidatedCluster,
    settings: &crate::model::DeploySettings,
    facts: &CruiseControlFacts,
) -> CruiseControlObjects {
    let config_map = cruise_control::config_map(cluster, settings, facts);
    let serial = facts.operator_certificate_serial.as_deref();
    let deployment = cruise_control_deployment::deployment(cluster, settings, &config_map, serial);
    CruiseControlObjects {
        config_map,
        jmx_exporter_config_map: cruise_control::jmx_exporter_config_map(cluster),
        deployment,
    }
}

pub fn broker_objects(cluster: &ValidatedCluster, broker: &BrokerModel, facts: &ObservedFacts) -> BrokerObjects {
    let rack = facts.racks.get(&broker.id);
    let properties =
        server_properties_with(cluster, broker, &facts.read_only_config_keys, &facts.external_addresses, rack);
    let config_map = config_map::broker_config_map(cluster, broker, properties);
    let claims = pvc::broker_claims(cluster, broker);
    let no_claims = BTreeMap::new();
    let claim_names = facts.claims.get(&broker.id).unwrap_or(&no_claims);
    let mut pod = pod::broker_pod(cluster, broker, claim_names, facts.cluster_id.as_deref());
    if let (Some(rack), Some(spec)) = (rack, pod.spec.as_mut()) {
        spec.affinity = Some(rack.pin(spec.affinity.take().unwrap_or_default()));
    }
    if let Some(serial) = &facts.server_certificate_serial {
        let annotations = pod.metadata.annotations.get_or_insert_default();
        annotations.insert(SERVER_CERTIFICATE_ANNOTATION.to_string(), serial.clone());
    }
    if let Some(serials) = &facts.trusted_ca_serials {
        let annotations = pod.metadata.annotations.get_or_insert_default();
        annotations.insert(TRUSTED_CAS_ANNOTATION.to_string(), serials.clone());
    }

    let config_hash = config_hash(&config_map, &pod);
    let annotations = pod.metadata.annotations.get_or_insert_default();
    annotations.insert(CONFIG_HASH_ANNOTATION.to_string(), config_hash.clone());
    annotations.insert(NODE_NAMES_ANNOTATION.to_string(), NODE_NAMES_KOPERATOR.to_string());

    let claims_exist = claims.keys().all(|mount_path| claim_names.contains_key(mount_path));
    let identity_known = !cluster.is_kraft() || facts.cluster_id.is_some();
    BrokerObjects {
        id: broker.id,
        config_map,
        claims,
        pod: (claims_exist && identity_known).then_some(pod),
        config_hash,
    }
}

/// SHA-256 over the ConfigMap's data and the pod as built (labels, annotations, spec), so a
/// change to either — server.properties, image, env, resources, a claim — changes the hash.
///
/// Left out: what a running node never reads again — a dynamic quorum's bootstrap servers and
/// storage format flags and host names (see [`broker_config::QUORUM_BOOTSTRAP_SERVERS`]): a controller joining
/// or leaving must not restart every node.
fn config_hash(config_map: &ConfigMap, pod: &Pod) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in config_map.data.iter().flatten() {
        if key == config_map::STORAGE_FORMAT_KEY || key == config_map::QUORUM_HOSTS_KEY {
            continue;
        }
        hasher.update(key.as_bytes());
        hasher.update([0]);
        let bootstrap = format!("{}=", broker_config::QUORUM_BOOTSTRAP_SERVERS);
        for line in value.split_inclusive('\n').filter(|line| !line.starts_with(&bootstrap)) {
            hasher.update(line.as_bytes());
        }
        hasher.update([0]);
    }
    // Maps are BTreeMaps, so the bytes are stable.
    const SERIALIZES: &str = "k8s-openapi objects serialize (string keys only)";
    hasher.update(serde_json::to_vec(&pod.metadata.labels).expect(SERIALIZES));
    hasher.update(serde_json::to_vec(&pod.metadata.annotations).expect(SERIALIZES));
    hasher.update(serde_json::to_vec(&pod.spec).expect(SERIALIZES));
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}
