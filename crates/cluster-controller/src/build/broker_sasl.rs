//! `server.properties` settings of SASL listeners (`type: sasl_plaintext` or `sasl_ssl`):
//! SCRAM-SHA-512, whose credentials Kafka keeps itself (KafkaUsers with a SCRAM password set
//! them through the admin API). Pure.
//!
//! Koperator configures no SASL mechanism: its users set one through `readOnlyConfig`. So the
//! user's keys win here: the operator's are defaults for the keys the user did not set, and a
//! listener whose mechanisms the user chose is left to the user. The model refuses SASL on the
//! listeners the nodes talk to each other on (they would need credentials of their own).

use crd_types::kafka_cluster::CommonListenerSpec;

use crate::model::{Properties, ValidatedCluster};

/// The mechanism SASL listeners get unless the user chose theirs.
pub const SCRAM_MECHANISM: &str = "SCRAM-SHA-512";
/// Kafka's server-side login module for SCRAM (no credentials of its own: it checks clients').
const SCRAM_LOGIN_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required;";

/// Every listener, internal and external, with SASL.
pub fn sasl_listeners(cluster: &ValidatedCluster) -> impl Iterator<Item = &CommonListenerSpec> {
    super::broker_tls::all_listeners(cluster).filter(|listener| listener.security_protocol.uses_sasl())
}

/// The SCRAM defaults of each SASL listener `<l>`, under `listener.name.<l>.`: the enabled
/// mechanisms and the login module of [`SCRAM_MECHANISM`]. Nothing for a listener whose
/// `sasl.enabled.mechanisms` the user set (`user`), nor for a cluster without SASL.
pub fn sasl_defaults(cluster: &ValidatedCluster, user: &Properties) -> Properties {
    let mut properties = Properties::new();
    for listener in sasl_listeners(cluster) {
        let prefix = format!("listener.name.{}.", listener.name.to_lowercase());
        let mechanisms = format!("{prefix}sasl.enabled.mechanisms");
        if user.contains_key(&mechanisms) {
            continue;
        }
        properties.insert(mechanisms, SCRAM_MECHANISM.to_string());
        properties.insert(
            format!("{prefix}{}.sasl.jaas.config", SCRAM_MECHANISM.to_lowercase()),
            SCRAM_LOGIN_MODULE.to_string(),
        );
    }
    properties
}

#[cfg(test)]
mod tests {
    use crd_types::kafka_cluster::{InternalListenerConfig, SecurityProtocol};

    use super::*;
    use crate::build::tests::kraft_dedicated;
    use crate::model::validate;

    fn with_scram_listener(protocol: SecurityProtocol) -> crd_types::KafkaCluster {
        let mut cluster = kraft_dedicated();
        let mut listener: InternalListenerConfig = cluster.spec.listeners_config.internal_listeners[0].clone();
        listener.common.name = "clients".into();
        listener.common.container_port = 29095;
        listener.common.security_protocol = protocol;
        listener.common.used_for_inner_broker_communication = None;
        cluster.spec.listeners_config.internal_listeners.push(listener);
        cluster
    }

    #[test]
    fn a_sasl_listener_gets_scram_unless_the_user_chose() {
        let cluster = validate(&with_scram_listener(SecurityProtocol::SaslPlaintext)).expect("valid");
        let defaults = sasl_defaults(&cluster, &Properties::new());
        assert_eq!(defaults["listener.name.clients.sasl.enabled.mechanisms"], "SCRAM-SHA-512");
        assert_eq!(
            defaults["listener.name.clients.scram-sha-512.sasl.jaas.config"],
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        );
        assert_eq!(defaults.len(), 2, "{defaults:?}");

        let user = Properties::from([("listener.name.clients.sasl.enabled.mechanisms".into(), "PLAIN".into())]);
        assert!(sasl_defaults(&cluster, &user).is_empty());
        assert!(sasl_defaults(&validate(&kraft_dedicated()).expect("valid"), &Properties::new()).is_empty());
    }

    #[test]
    fn sasl_between_nodes_is_refused_and_for_clients_allowed() {
        assert!(validate(&with_scram_listener(SecurityProtocol::SaslPlaintext)).is_ok());
        let mut cluster = kraft_dedicated();
        cluster.spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::SaslPlaintext;
        let errors = validate(&cluster).expect_err("refused");
        let expected = "internalListeners[name=internal].type: SASL_PLAINTEXT (SASL) is not supported on a listener \
                        the nodes talk to each other on";
        assert!(errors.iter().any(|e| e.to_string().contains(expected)), "{errors:?}");
    }
}
