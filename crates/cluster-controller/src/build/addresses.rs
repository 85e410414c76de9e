//! The addresses clients and status report for each internal listener.

use std::collections::BTreeMap;

use super::labels::{all_broker_service_name, broker_host};
use crate::model::ValidatedCluster;

/// Internal listener name → (`host:port` per node id, `host:port` of the all-broker service).
///
/// The controller listener lists the controller nodes; every other listener the nodes with the
/// broker role (controller-only nodes do not serve clients). Hosts are the ones advertised in
/// `server.properties`.
// TODO(external access): external listeners' addresses.
pub fn listener_addresses(cluster: &ValidatedCluster) -> BTreeMap<String, (BTreeMap<i32, String>, String)> {
    let ValidatedCluster { namespace, cluster_domain, .. } = cluster;
    let all_broker_host = format!("{}.{namespace}.svc.{cluster_domain}", all_broker_service_name(cluster));
    cluster
        .spec
        .listeners_config
        .internal_listeners
        .iter()
        .map(|listener| {
            let port = listener.common.container_port;
            let controller_listener = listener.used_for_controller_communication == Some(true) && cluster.is_kraft();
            let per_node = cluster
                .brokers
                .iter()
                .filter(|node| if controller_listener { node.is_controller() } else { node.is_broker() })
                .map(|node| (node.id, format!("{}:{port}", broker_host(cluster, node.id))))
                .collect();
            (listener.common.name.clone(), (per_node, format!("{all_broker_host}:{port}")))
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
        let (internal, all_broker) = &addresses["internal"];
        assert_eq!(internal.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(internal[&0], "kafka-0.kafka-headless.kafka.svc.cluster.local:29092");
        assert_eq!(all_broker, "kafka-all-broker.kafka.svc.cluster.local:29092");
        let (controller, _) = &addresses["controller"];
        assert_eq!(controller.keys().copied().collect::<Vec<_>>(), [3, 4, 5]);
    }
}
