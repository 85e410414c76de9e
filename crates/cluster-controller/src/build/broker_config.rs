//! `server.properties` of one Kafka node.

use std::collections::{BTreeMap, BTreeSet};

use crd_types::kafka_cluster::InternalListenerConfig;

use super::labels::broker_host;
use crate::model::{
    BrokerModel, MetadataMode, Properties, QuorumConfig, ValidatedCluster, parse_properties, render_properties,
};

/// The rendered `server.properties`, keys sorted so equal input gives byte-equal output.
///
/// Precedence, later wins per key, as in Koperator (a manifest written for it must mean the
/// same here):
/// 0. SCRAM on SASL listeners ([`super::broker_sasl`]), defaults the user may override
///    (Koperator sets no SASL mechanism at all);
/// 1. `spec.readOnlyConfig`;
/// 2. the broker's own `readOnlyConfig` (with `broker.rack` from rack awareness unless set);
/// 3. settings the operator generates ([`operator_properties`]): a user's `node.id`,
///    listeners or quorum must not override the operator's, which the rest of the cluster's
///    objects (services, probes, voters) agree with; with TLS, each TLS listener's key and
///    trust material and the principals kept in `super.users` ([`super::broker_tls`]);
/// 4. the Cruise Control metrics reporter's, which keep the user's reporters and tuning
///    ([`super::cruise_control_reporter::reporter_properties`]).
#[cfg(test)]
pub fn server_properties(cluster: &ValidatedCluster, broker: &BrokerModel) -> String {
    server_properties_with(cluster, broker, &BTreeSet::new(), &ExternalAddresses::new(), None)
}

/// Served external listener name → broker id → the `host:port` that broker advertises on it,
/// for the brokers whose address is known (a load balancer's may not be yet). A host may be
/// [`NODE_IP_VARIABLE`], which Kafka resolves at start.
pub type ExternalAddresses = BTreeMap<String, BTreeMap<i32, String>>;

/// The node's address as Kafka's environment config provider reads it at start: the pod's
/// [`NODE_IP_ENV`], from the downward API (`status.hostIP`). For NodePort listeners without
/// another address, so the ConfigMap is written before the scheduler picks the node.
/// Where a node of a dynamic quorum finds the controllers (KIP-853). Read only when the node
/// starts (it then learns the voters from the metadata log), so a change of this line alone
/// restarts nothing: it is left out of the configuration hash.
pub const QUORUM_BOOTSTRAP_SERVERS: &str = "controller.quorum.bootstrap.servers";

/// `kafka-storage format`'s quorum flags for `broker` of a dynamic quorum; None for a static
/// one. Until the quorum has formed its initial controllers format with the voter set they form
/// (`id@host:port:directory`, the directories derived from the cluster id); every other node,
/// and every node after that, joins an existing quorum (`--no-initial-controllers`): a node that
/// lost its disk then comes back under a new directory id, as a new voter, never as the old one
/// with an empty log.
pub fn storage_format_flags(cluster: &ValidatedCluster, broker: &BrokerModel) -> Option<String> {
    let QuorumConfig::Dynamic { initial } = &cluster.quorum else { return None };
    let initial = initial.as_ref().filter(|initial| initial.iter().any(|(id, _)| *id == broker.id));
    let Some(initial) = initial else { return Some("--no-initial-controllers".to_owned()) };
    let port = controller_port(cluster).unwrap_or_default();
    let voters: Vec<String> = initial
        .iter()
        .map(|(id, directory)| format!("{id}@{}:{port}:{directory}", broker_host(cluster, *id)))
        .collect();
    Some(format!("--initial-controllers {}", voters.join(",")))
}

/// The host names in a dynamic quorum's `controller.quorum.bootstrap.servers`, space-separated;
/// None for a static quorum. Kafka resolves bootstrap servers once, at start: a name that does
/// not resolve yet (its pod has no address) leaves the node electing and registering against a
/// partial view of the quorum, which on a cold start left a broker talking to a former leader
/// until its registration timed out. So the pod waits for these names first (see `build::pod`).
pub fn quorum_hosts(cluster: &ValidatedCluster) -> Option<String> {
    let QuorumConfig::Dynamic { .. } = &cluster.quorum else { return None };
    let hosts: Vec<String> =
        cluster.brokers.iter().filter(|node| node.is_controller()).map(|node| broker_host(cluster, node.id)).collect();
    Some(hosts.join(" "))
}

/// The container port of the listener used for controller communication.
pub fn controller_port(cluster: &ValidatedCluster) -> Option<i32> {
    controller_listener(cluster).map(|listener| listener.common.container_port)
}

pub fn controller_listener(cluster: &ValidatedCluster) -> Option<&InternalListenerConfig> {
    let internal = &cluster.spec.listeners_config.internal_listeners;
    internal.iter().find(|l| l.used_for_controller_communication == Some(true))
}

pub const NODE_IP_VARIABLE: &str = "${env:KOPERATOR_NODE_IP}";
pub const NODE_IP_ENV: &str = "KOPERATOR_NODE_IP";
const ENV_PROVIDER_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// As [`server_properties`], plus the keys of the dynamic configuration (`clusterWideConfig`,
/// then the broker's `brokerConfig.config`) that Kafka reported read-only: they cannot be
/// applied at runtime, so they take effect here, after `readOnlyConfig`, through a restart.
pub fn server_properties_with(
    cluster: &ValidatedCluster,
    broker: &BrokerModel,
    read_only_dynamic_keys: &BTreeSet<String>,
    external: &ExternalAddresses,
    rack: Option<&super::Rack>,
) -> String {
    let mut user = parse_properties(&broker.read_only_config);
    // The rack goes where Koperator puts it, among the broker's own readOnlyConfig, unless the
    // user set one there.
    if let Some(rack) = rack {
        user.entry("broker.rack".to_owned()).or_insert_with(|| rack.broker_rack());
    }
    if !read_only_dynamic_keys.is_empty() {
        let mut dynamic = cluster.cluster_wide_config();
        dynamic.extend(broker.per_broker_config());
        user.extend(dynamic.into_iter().filter(|(key, _)| read_only_dynamic_keys.contains(key)));
    }
    let reporter = super::cruise_control_reporter::reporter_properties(cluster, broker, &user);
    let tls = if crate::model::has_certificates(&cluster.spec) {
        super::broker_tls::tls_properties(cluster, &user, &super::broker_tls::generated_principals(cluster))
    } else {
        Properties::new()
    };
    let mut properties = super::broker_sasl::sasl_defaults(cluster, &user);
    properties.extend(user);
    properties.extend(operator_properties(cluster, broker, external));
    properties.extend(tls);
    properties.extend(reporter);
    render_properties(&properties)
}

/// What the operator sets: identity, metadata quorum or ZooKeeper, listeners and log dirs.
pub fn operator_properties(
    cluster: &ValidatedCluster,
    broker: &BrokerModel,
    external: &ExternalAddresses,
) -> Properties {
    let mut properties = Properties::new();
    let mut set = |key: &str, value: String| {
        properties.insert(key.to_string(), value);
    };
    let internal = &cluster.spec.listeners_config.internal_listeners;
    let controller_listener = internal.iter().find(|l| l.used_for_controller_communication == Some(true));
    let is_controller_listener =
        |listener: &InternalListenerConfig| controller_listener.is_some_and(|c| c.common.name == listener.common.name);
    let host = broker_host(cluster, broker.id);
    let address = |listener: &InternalListenerConfig| {
        format!("{}://{host}:{}", kafka_listener_name(listener), listener.common.container_port)
    };
    let bind = |listener: &InternalListenerConfig| {
        format!("{}://:{}", kafka_listener_name(listener), listener.common.container_port)
    };

    let (mut listeners, mut advertised): (Vec<_>, Vec<_>) = match &cluster.mode {
        MetadataMode::Kraft => {
            set("node.id", broker.id.to_string());
            let roles: Vec<&str> = broker.roles.iter().map(|role| super::labels::role_name(*role)).collect();
            set("process.roles", roles.join(","));
            if let Some(controller) = controller_listener {
                set("controller.listener.names", kafka_listener_name(controller));
                let port = controller.common.container_port;
                let controllers = cluster.brokers.iter().filter(|node| node.is_controller());
                match &cluster.quorum {
                    QuorumConfig::Static => {
                        let voters: Vec<String> = controllers
                            .map(|node| format!("{}@{}:{port}", node.id, broker_host(cluster, node.id)))
                            .collect();
                        set("controller.quorum.voters", voters.join(","));
                    }
                    QuorumConfig::Dynamic { .. } => {
                        let servers: Vec<String> =
                            controllers.map(|node| format!("{}:{port}", broker_host(cluster, node.id))).collect();
                        set(QUORUM_BOOTSTRAP_SERVERS, servers.join(","));
                    }
                }
            }
            // Kafka rejects a controller listener in a broker-only node's listeners, and anything
            // but controller listeners on a controller-only node. A static quorum's node may not
            // advertise its controller listener if it has the broker role; a dynamic quorum's
            // controllers must (KIP-853): each tells the leader where it is reached, and without
            // an advertised host Kafka takes the machine's host name, which a pod without a
            // subdomain cannot be reached by.
            let listeners = internal
                .iter()
                .filter(|l| match (broker.is_broker(), broker.is_controller()) {
                    (true, true) => true,
                    (true, false) => !is_controller_listener(l),
                    (false, _) => is_controller_listener(l),
                })
                .map(bind)
                .collect();
            let dynamic = matches!(cluster.quorum, QuorumConfig::Dynamic { .. });
            let advertised = internal
                .iter()
                .filter(|l| match is_controller_listener(l) {
                    true => dynamic && broker.is_controller(),
                    false => broker.is_broker(),
                })
                .map(address)
                .collect();
            (listeners, advertised)
        }
        MetadataMode::ZooKeeper { connect } => {
            set("broker.id", broker.id.to_string());
            set("zookeeper.connect", connect.clone());
            if let Some(controller) = controller_listener {
                set("control.plane.listener.name", kafka_listener_name(controller));
            }
            (internal.iter().map(bind).collect(), internal.iter().map(address).collect())
        }
    };
    // External listeners on nodes with the broker role, once their address is known: the
    // listener, its advertised address (first, as Koperator lists them) and its protocol.
    let mut external_protocols = Vec::new();
    for listener in cluster.external_listeners.iter().filter(|_| broker.is_broker()) {
        let Some(address) = external.get(&listener.name).and_then(|brokers| brokers.get(&broker.id)) else { continue };
        let name = listener.name.to_uppercase();
        listeners.push(format!("{name}://:{}", listener.container_port));
        advertised.insert(0, format!("{name}://{address}"));
        external_protocols.push(format!("{name}:{}", listener.security_protocol.kafka_name()));
        if address.contains(NODE_IP_VARIABLE) {
            set("config.providers", "env".to_owned());
            set("config.providers.env.class", ENV_PROVIDER_CLASS.to_owned());
        }
    }
    if !listeners.is_empty() {
        set("listeners", listeners.join(","));
    }
    if !advertised.is_empty() {
        set("advertised.listeners", advertised.join(","));
    }
    let mut protocol_map: Vec<String> = internal
        .iter()
        .map(|l| format!("{}:{}", kafka_listener_name(l), l.common.security_protocol.kafka_name()))
        .collect();
    protocol_map.extend(external_protocols);
    set("listener.security.protocol.map", protocol_map.join(","));
    // Kafka refuses both settings at once; a user who sets the protocol keeps it (as in Koperator).
    let user_sets_protocol = parse_properties(&broker.read_only_config).contains_key("security.inter.broker.protocol");
    if let Some(inter_broker) = internal.iter().find(|l| l.common.used_for_inner_broker_communication == Some(true))
        && !user_sets_protocol
    {
        set("inter.broker.listener.name", kafka_listener_name(inter_broker));
    }

    let log_dirs: Vec<String> = broker
        .config
        .storage_configs
        .iter()
        .filter(|storage| storage.pvc_spec.is_some() || storage.empty_dir.is_some())
        .map(|storage| log_dir(&storage.mount_path))
        .collect();
    if !log_dirs.is_empty() {
        set("log.dirs", log_dirs.join(","));
    }
    // TODO(rack awareness): broker.rack from the node's labels named in spec.rackAwareness.
    properties
}

/// Kafka listener names are the spec's names upper-cased (`internal` → `INTERNAL`).
pub fn kafka_listener_name(listener: &InternalListenerConfig) -> String {
    listener.common.name.to_uppercase()
}

/// Kafka keeps its data one level below the mount point (as Koperator), so a filesystem's
/// `lost+found` is not mistaken for a partition directory.
pub fn log_dir(mount_path: &str) -> String {
    format!("{}/kafka", mount_path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{kraft_combined, kraft_dedicated, zookeeper};

    #[test]
    fn generated_settings_win_over_user_config_and_broker_over_cluster() {
        let mut cluster = kraft_combined();
        cluster.spec.read_only_config = Some("num.partitions=3\nlog.dirs=/elsewhere\nnode.id=99".into());
        cluster.spec.brokers[0].read_only_config = Some("num.partitions=6".into());
        let validated = crate::model::validate(&cluster).expect("valid");
        let rendered = server_properties(&validated, &validated.brokers[0]);
        let properties = parse_properties(&rendered);
        assert_eq!(properties["num.partitions"], "6");
        assert_eq!(properties["log.dirs"], "/kafka-logs/kafka");
        assert_eq!(properties["node.id"], "0");
        let other = parse_properties(&server_properties(&validated, &validated.brokers[1]));
        assert_eq!(other["num.partitions"], "3");
    }

    #[test]
    fn rendering_is_sorted_and_stable() {
        let validated = crate::model::validate(&kraft_combined()).expect("valid");
        let first = server_properties(&validated, &validated.brokers[0]);
        let keys: Vec<&str> = first.lines().filter_map(|line| line.split_once('=').map(|(k, _)| k)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(first, server_properties(&validated, &validated.brokers[0]));
    }

    #[test]
    fn dedicated_roles_get_only_their_listeners() {
        let validated = crate::model::validate(&kraft_dedicated()).expect("valid");
        let broker = operator_properties(&validated, &validated.brokers[0], &ExternalAddresses::new());
        assert_eq!(broker["process.roles"], "broker");
        assert_eq!(broker["listeners"], "INTERNAL://:29092");
        assert_eq!(broker["advertised.listeners"], "INTERNAL://kafka-0.kafka-headless.kafka.svc.cluster.local:29092");
        let controller = operator_properties(&validated, &validated.brokers[3], &ExternalAddresses::new());
        assert_eq!(controller["process.roles"], "controller");
        assert_eq!(controller["listeners"], "CONTROLLER://:29093");
        assert!(!controller.contains_key("advertised.listeners"));
        assert_eq!(controller["log.dirs"], "/kafka-metadata/kafka");
        assert_eq!(
            controller["controller.quorum.voters"],
            "3@kafka-3.kafka-controller-headless.kafka.svc.cluster.local:29093,\
             4@kafka-4.kafka-controller-headless.kafka.svc.cluster.local:29093,\
             5@kafka-5.kafka-controller-headless.kafka.svc.cluster.local:29093"
        );
    }

    #[test]
    fn zookeeper_mode_settings() {
        let mut cluster = zookeeper();
        cluster.spec.headless_service_enabled = false;
        let validated = crate::model::validate(&cluster).expect("valid");
        let properties = operator_properties(&validated, &validated.brokers[1], &ExternalAddresses::new());
        assert_eq!(properties["broker.id"], "1");
        assert_eq!(properties["zookeeper.connect"], "zookeeper-client.zookeeper:2181/kafka");
        assert_eq!(properties["control.plane.listener.name"], "CONTROLLER");
        assert_eq!(properties["inter.broker.listener.name"], "INTERNAL");
        assert_eq!(
            properties["advertised.listeners"],
            "INTERNAL://kafka-1.kafka.svc.cluster.local:29092,CONTROLLER://kafka-1.kafka.svc.cluster.local:29093"
        );
        assert!(!properties.contains_key("node.id") && !properties.contains_key("process.roles"));
    }

    #[test]
    fn inter_broker_protocol_from_the_user_drops_the_listener_name() {
        let mut cluster = zookeeper();
        cluster.spec.read_only_config = Some("security.inter.broker.protocol=PLAINTEXT".into());
        let validated = crate::model::validate(&cluster).expect("valid");
        let properties = parse_properties(&server_properties(&validated, &validated.brokers[0]));
        assert!(!properties.contains_key("inter.broker.listener.name"));
    }
}
