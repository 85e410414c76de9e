//! The addresses clients and status report for each internal listener.

use std::collections::BTreeMap;

use super::labels::{all_broker_service_name, broker_host, controller_headless_service_name, headless_service_name};
use crate::model::ValidatedCluster;

/// Where one internal listener is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerAddresses {
    /// `host:port` per node id: the nodes that serve this listener.
    pub per_node: BTreeMap<i32, String>,
    /// Koperator's name for the cluster-wide entry: `headless` or `any-broker`.
    pub service_entry: &'static str,
    /// `host:port` of the Service in front of those nodes.
    pub service: String,
    /// The KRaft controller listener (or ZooKeeper mode's control plane listener): Koperator
    /// keeps it out of `status.listenerStatuses`.
    pub controller: bool,
}

/// Internal listener name → where it is reached.
///
/// The controller listener lists the controller nodes; every other listener the nodes with the
/// broker role (controller-only nodes do not serve clients). Hosts are the ones advertised in
/// `server.properties`. The cluster-wide address is Koperator's: the headless Service when
/// there is one (the controllers' for the controller listener), else `<cluster>-all-broker`.
// TODO(external access): external listeners' addresses.
pub fn listener_addresses(cluster: &ValidatedCluster) -> BTreeMap<String, ListenerAddresses> {
    let ValidatedCluster { namespace, cluster_domain, .. } = cluster;
    let in_cluster = |service: String| format!("{service}.{namespace}.svc.{cluster_domain}");
    cluster
        .spec
        .listeners_config
        .internal_listeners
        .iter()
        .map(|listener| {
            let port = listener.common.container_port;
            let controller = listener.used_for_controller_communication == Some(true);
            let controller_listener = controller && cluster.is_kraft();
            let per_node = cluster
                .brokers
                .iter()
                .filter(|node| if controller_listener { node.is_controller() } else { node.is_broker() })
                .map(|node| (node.id, format!("{}:{port}", broker_host(cluster, node.id))))
                .collect();
            let (service_entry, service) = match (cluster.spec.headless_service_enabled, controller_listener) {
                (true, true) => ("headless", controller_headless_service_name(cluster)),
                (true, false) => ("headless", headless_service_name(cluster)),
                (false, _) => ("any-broker", all_broker_service_name(cluster)),
            };
            let addresses = ListenerAddresses {
                per_node,
                service_entry,
                service: format!("{}:{port}", in_cluster(service)),
                controller,
            };
            (listener.common.name.clone(), addresses)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_on_client_listeners_controllers_on_the_controller_listener() {
        let cluster = crate::model::validate(&crate::build::tests::kraft_dedicated()).expect("valid");
        let addresses = listener_addresses(&cluster);
        let internal = &addresses["internal"];
        assert_eq!(internal.per_node.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(internal.per_node[&0], "kafka-0.kafka-headless.kafka.svc.cluster.local:29092");
        assert_eq!((internal.service_entry, internal.controller), ("headless", false));
        assert_eq!(internal.service, "kafka-headless.kafka.svc.cluster.local:29092");
        let controller = &addresses["controller"];
        assert_eq!(controller.per_node.keys().copied().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(controller.per_node[&3], "kafka-3.kafka-controller-headless.kafka.svc.cluster.local:29093");
        assert_eq!(controller.service, "kafka-controller-headless.kafka.svc.cluster.local:29093");
        assert!(controller.controller);
    }

    #[test]
    fn combined_nodes_are_named_where_their_pods_have_records() {
        let cluster = crate::model::validate(&crate::build::tests::kraft_combined()).expect("valid");
        let addresses = listener_addresses(&cluster);
        assert_eq!(
            addresses["internal"].per_node[&1],
            "kafka-1.kafka-controller-headless.kafka.svc.cluster.local:29092"
        );
    }

    #[test]
    fn without_a_headless_service_the_all_broker_service_is_the_entry() {
        let mut spec = crate::build::tests::zookeeper();
        spec.spec.headless_service_enabled = false;
        let cluster = crate::model::validate(&spec).expect("valid");
        let internal = &listener_addresses(&cluster)["internal"];
        assert_eq!(internal.service_entry, "any-broker");
        assert_eq!(internal.service, "kafka-all-broker.kafka.svc.cluster.local:29092");
        assert_eq!(internal.per_node[&0], "kafka-0.kafka.svc.cluster.local:29092");
    }
}
