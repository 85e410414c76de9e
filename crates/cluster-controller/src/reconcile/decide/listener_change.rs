//! Pure: a listener the brokers talk to each other on (the inter-broker or a KRaft controller
//! listener) must not change its protocol in place. A roll restarts one node at a time: the
//! restarted node would speak TLS where its peers still speak plaintext (or the reverse) on
//! that listener, replication and the quorum would stop between them, and the roll would wait
//! at its health gate with partitions under-replicated. Kafka's way is a new listener beside
//! the old one, then the roles moved to it, then the old one removed: each a roll that works.

use std::collections::BTreeMap;

use crate::build;
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

/// Why the spec cannot be applied, naming the listener and the fix; None when it can.
///
/// "Running" is what the brokers' ConfigMaps hold: the last spec applied, which every node runs
/// once its roll is done. Two changes are refused: a peer listener that keeps its name but
/// changes its protocol, and a peer listener removed in the same change (moving its role to
/// another listener and removing it at once would leave the nodes still to restart talking to
/// each other on a listener the restarted ones no longer open).
pub fn in_place_protocol_change(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Option<String> {
    let running = observed.config_maps.values().find_map(|config_map| {
        let properties = config_map.data.as_ref()?.get(build::BROKER_CONFIG_KEY)?;
        Some(Listeners::read(properties)).filter(|listeners| !listeners.protocols.is_empty())
    })?;
    let broker = cluster.brokers.first()?;
    let desired = Listeners::read(&build::server_properties_with(
        cluster,
        broker,
        &Default::default(),
        &Default::default(),
        None,
    ));
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for name in running.peer_listeners() {
        let Some(before) = running.protocols.get(&name) else { continue };
        match desired.protocols.get(&name) {
            Some(after) if after != before => changed.push(format!("{} ({before} -> {after})", name.to_lowercase())),
            Some(_) => {}
            None => removed.push(name.to_lowercase()),
        }
    }
    let mut problems = Vec::new();
    if !changed.is_empty() {
        problems.push(format!(
            "spec.listenersConfig: listener {} would change its protocol in place, but the brokers talk to each \
             other on it and a roll restarts them one at a time, so restarted and waiting nodes could not talk; \
             nothing is changed until it is as before. To switch, add a listener of the new type beside it (one \
             roll), move usedForInnerBrokerCommunication or usedForControllerCommunication to it (another), \
             then remove the old listener",
            changed.join(", ")
        ));
    }
    if !removed.is_empty() {
        problems.push(format!(
            "spec.listenersConfig: listener {} would be removed while the brokers still talk to each other on it, \
             and a roll restarts them one at a time, so restarted and waiting nodes could not talk; nothing is \
             changed until it is back. Move its role (usedForInnerBrokerCommunication or \
             usedForControllerCommunication) to another listener first and let that roll finish, then remove it",
            removed.join(", ")
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// What a broker's server.properties says of its listeners.
struct Listeners {
    /// Kafka listener name → security protocol.
    protocols: BTreeMap<String, String>,
    inter_broker: Option<String>,
    controller: Vec<String>,
}

impl Listeners {
    fn read(properties: &str) -> Self {
        let value =
            |key: &str| properties.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=')).map(str::trim);
        let protocols = value("listener.security.protocol.map")
            .into_iter()
            .flat_map(|map| map.split(','))
            .filter_map(|pair| pair.split_once(':'))
            .map(|(name, protocol)| (name.trim().to_owned(), protocol.trim().to_owned()))
            .collect();
        let controller = value("controller.listener.names")
            .into_iter()
            .flat_map(|names| names.split(','))
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        Self { protocols, inter_broker: value("inter.broker.listener.name").map(str::to_owned), controller }
    }

    fn peer_listeners(&self) -> Vec<String> {
        self.inter_broker.iter().chain(&self.controller).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;
    use crate::build::tests::kraft_dedicated;
    use crate::model::validate;

    fn running(cluster: &ValidatedCluster) -> ObservedCluster {
        let properties = build::server_properties(cluster, &cluster.brokers[0]);
        let config_map =
            ConfigMap { data: Some([(build::BROKER_CONFIG_KEY.to_owned(), properties)].into()), ..Default::default() };
        let mut observed = ObservedCluster::default();
        observed.config_maps.insert("kafka-config-0".into(), Arc::new(config_map));
        observed
    }

    #[test]
    fn an_inter_broker_or_controller_listener_keeps_its_protocol() {
        let plaintext = kraft_dedicated();
        let observed = running(&validate(&plaintext).expect("valid"));
        assert_eq!(in_place_protocol_change(&validate(&plaintext).expect("valid"), &observed), None);

        let mut tls = plaintext.clone();
        for listener in &mut tls.spec.listeners_config.internal_listeners {
            listener.common.security_protocol = crd_types::kafka_cluster::SecurityProtocol::Ssl;
        }
        tls.spec.listeners_config.ssl_secrets = Some(crd_types::kafka_cluster::SslSecrets {
            tls_secret_name: "kafka-ca".into(),
            create: Some(true),
            jks_password_name: None,
            issuer_ref: None,
            pki_backend: None,
        });
        let problem = in_place_protocol_change(&validate(&tls).expect("valid"), &observed).expect("refused");
        assert!(problem.contains("listener internal (PLAINTEXT -> SSL)"), "{problem}");
        assert!(problem.contains("controller (PLAINTEXT -> SSL)"), "{problem}");
        assert!(problem.contains("add a listener of the new type beside it"), "{problem}");

        // A new cluster (no broker configuration yet) may start with any protocol.
        assert_eq!(in_place_protocol_change(&validate(&tls).expect("valid"), &ObservedCluster::default()), None);
    }

    /// The staged way: a TLS listener beside the plaintext one, the inter-broker role moved to
    /// it, the plaintext one removed, each against the step before, is never refused; the
    /// last two at once are.
    #[test]
    fn a_peer_listener_is_removed_only_after_its_role_moved() {
        use crd_types::kafka_cluster::{SecurityProtocol, SslSecrets};
        let plaintext = kraft_dedicated();
        let mut beside = plaintext.clone();
        let mut tls_listener = beside.spec.listeners_config.internal_listeners[0].clone();
        tls_listener.common.name = "tls".into();
        tls_listener.common.container_port = 29094;
        tls_listener.common.security_protocol = SecurityProtocol::Ssl;
        tls_listener.common.used_for_inner_broker_communication = None;
        beside.spec.listeners_config.internal_listeners.push(tls_listener);
        beside.spec.listeners_config.ssl_secrets = Some(SslSecrets {
            tls_secret_name: "kafka-ca".into(),
            create: Some(true),
            jks_password_name: None,
            issuer_ref: None,
            pki_backend: None,
        });
        let mut moved = beside.clone();
        for listener in &mut moved.spec.listeners_config.internal_listeners {
            listener.common.used_for_inner_broker_communication = Some(listener.common.name == "tls");
        }
        let mut removed = moved.clone();
        removed.spec.listeners_config.internal_listeners.retain(|listener| listener.common.name != "internal");

        let valid = |cluster: &crd_types::KafkaCluster| validate(cluster).expect("valid");
        for (from, to) in [(&plaintext, &beside), (&beside, &moved), (&moved, &removed)] {
            assert_eq!(in_place_protocol_change(&valid(to), &running(&valid(from))), None);
        }
        let problem = in_place_protocol_change(&valid(&removed), &running(&valid(&beside))).expect("refused");
        assert!(problem.contains("listener internal would be removed while the brokers still talk"), "{problem}");
        assert!(problem.contains("Move its role"), "{problem}");
    }
}
