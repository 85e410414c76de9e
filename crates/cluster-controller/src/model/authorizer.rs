//! An authorizer the nodes themselves would fail: the brokers and KRaft controllers talk to
//! each other as the principal of the listener they use, and on a plaintext one that is
//! `User:ANONYMOUS`. Replication (CLUSTER_ACTION) and the quorum's own requests need that
//! principal to be a super user (or every principal allowed where no ACL is found), or the
//! cluster never forms. Pure.

use crd_types::kafka_cluster::{KafkaClusterSpec, SecurityProtocol};

use super::{ValidationError, parse_properties};

const ANONYMOUS: &str = "User:ANONYMOUS";
/// Kafka's ACL authorizer that keeps its ACLs in ZooKeeper; a KRaft node cannot start with it.
const ZOOKEEPER_AUTHORIZERS: [&str; 2] =
    ["kafka.security.authorizer.AclAuthorizer", "kafka.security.auth.SimpleAclAuthorizer"];
/// Kafka's ACL authorizer that keeps its ACLs in the KRaft metadata log; it needs a quorum.
const KRAFT_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// Adds an error when `spec.readOnlyConfig` turns an authorizer on and a listener the nodes
/// talk on is plaintext while neither `super.users` has `User:ANONYMOUS` nor
/// `allow.everyone.if.no.acl.found` is true. (With TLS on those listeners the nodes act as
/// the brokers' certificate, which the operator keeps in `super.users`.)
///
/// Also adds an error when the authorizer class belongs to the other metadata mode: a KRaft
/// node with `AclAuthorizer` (or a ZooKeeper broker with `StandardAuthorizer`) exits at start,
/// which would leave the first rolled broker crash-looping.
pub(super) fn check_authorizer(spec: &KafkaClusterSpec, errors: &mut Vec<ValidationError>) {
    let config = parse_properties(spec.read_only_config.as_deref().unwrap_or_default());
    let Some(class) = config.get("authorizer.class.name").map(|class| class.trim()).filter(|c| !c.is_empty()) else {
        return;
    };
    let kraft = spec.is_kraft();
    if kraft && ZOOKEEPER_AUTHORIZERS.contains(&class) {
        errors.push(ValidationError::AuthorizerForOtherMode {
            class: class.to_owned(),
            store: "ZooKeeper",
            fix: KRAFT_AUTHORIZER,
        });
    } else if !kraft && class == KRAFT_AUTHORIZER {
        errors.push(ValidationError::AuthorizerForOtherMode {
            class: class.to_owned(),
            store: "the KRaft metadata log",
            fix: ZOOKEEPER_AUTHORIZERS[0],
        });
    }
    let anonymous_is_super =
        config.get("super.users").is_some_and(|users| users.split(';').any(|user| user.trim() == ANONYMOUS));
    let everyone_allowed = config.get("allow.everyone.if.no.acl.found").is_some_and(|v| v.trim() == "true");
    if anonymous_is_super || everyone_allowed {
        return;
    }
    for listener in &spec.listeners_config.internal_listeners {
        let between_nodes = listener.common.used_for_inner_broker_communication == Some(true)
            || listener.used_for_controller_communication == Some(true);
        if between_nodes && listener.common.security_protocol == SecurityProtocol::Plaintext {
            errors.push(ValidationError::AnonymousNodes { name: listener.common.name.clone() });
        }
    }
}

#[cfg(test)]
mod tests {
    use crd_types::kafka_cluster::SecurityProtocol;

    use crate::build::tests::kraft_dedicated;
    use crate::model::validate;

    const AUTHORIZER: &str = "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n";

    fn errors(read_only_config: &str, tls: bool) -> Vec<String> {
        let mut cluster = kraft_dedicated();
        cluster.spec.read_only_config = Some(read_only_config.to_owned());
        if tls {
            for listener in &mut cluster.spec.listeners_config.internal_listeners {
                listener.common.security_protocol = SecurityProtocol::Ssl;
            }
            cluster.spec.listeners_config.ssl_secrets = Some(crd_types::kafka_cluster::SslSecrets {
                tls_secret_name: "kafka-ca".into(),
                create: Some(true),
                ..Default::default()
            });
        }
        validate(&cluster).err().unwrap_or_default().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn plaintext_nodes_need_anonymous_among_super_users_under_an_authorizer() {
        let refused = errors(AUTHORIZER, false);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].contains("internalListeners[name=internal]"), "{refused:?}");
        assert!(refused[1].contains("internalListeners[name=controller]"), "{refused:?}");
        assert!(refused[0].contains("User:ANONYMOUS"), "{refused:?}");

        assert!(errors(&format!("{AUTHORIZER}super.users=User:CN=admin;User:ANONYMOUS\n"), false).is_empty());
        assert!(errors(&format!("{AUTHORIZER}allow.everyone.if.no.acl.found=true\n"), false).is_empty());
        assert!(errors(AUTHORIZER, true).is_empty(), "TLS nodes act as the brokers' certificate");
        assert!(errors("", false).is_empty(), "no authorizer");
    }

    #[test]
    fn an_authorizer_of_the_other_metadata_mode_is_refused_naming_the_right_one() {
        let refused = errors("authorizer.class.name=kafka.security.authorizer.AclAuthorizer\n", true);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].contains("keeps its ACLs in ZooKeeper"), "{refused:?}");
        assert!(refused[0].contains(super::KRAFT_AUTHORIZER), "{refused:?}");

        let mut zookeeper = crate::build::tests::zookeeper();
        zookeeper.spec.read_only_config = Some(AUTHORIZER.to_owned());
        let refused: Vec<String> =
            validate(&zookeeper).err().unwrap_or_default().iter().map(ToString::to_string).collect();
        assert!(refused.iter().any(|e| e.contains("kafka.security.authorizer.AclAuthorizer")), "{refused:?}");

        zookeeper.spec.read_only_config = Some(
            "authorizer.class.name=kafka.security.authorizer.AclAuthorizer\nallow.everyone.if.no.acl.found=true\n"
                .into(),
        );
        assert!(validate(&zookeeper).is_ok());
    }
}
