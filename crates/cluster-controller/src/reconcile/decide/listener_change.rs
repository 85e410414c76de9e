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
pub fn in_place_protocol_change(cluster: &ValidatedCluster, observed: &ObservedCluster) -> Option<String> {
    let running = observed.config_maps.values().find_map(|config_map| {
        let properties = config_map.data.as_ref()?.get(build::BROKER_CONFIG_KEY)?;
        Some(Listeners::read(properties)).filter(|listeners| !listeners.protocols.is_empty())
    })?;
    let broker = cluster.brokers.first()?;
    let desired = Listeners::read(&build::server_properties_with(cluster, broker, &Default::default()));
    let changed: Vec<String> = running
        .peer_listeners()
        .into_iter()
        .filter_map(|name| {
            let (before, after) = (running.protocols.get(&name)?, desired.protocols.get(&name)?);
            (before != after).then(|| format!("{} ({before} -> {after})", name.to_lowercase()))
        })
        .collect();
    (!changed.is_empty()).then(|| {
        format!(
            "spec.listenersConfig: listener {} would change its protocol in place, but the brokers talk to each \
             other on it and a roll restarts them one at a time, so restarted and waiting nodes could not talk; \
             nothing is changed until it is as before. To switch, add a listener of the new type beside it (one \
             roll), move usedForInnerBrokerCommunication or usedForControllerCommunication to it (another), \
             then remove the old listener",
            changed.join(", ")
        )
    })
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
}
