//! Names of a TLS cluster's PKI objects and the names its certificates carry, spelled as
//! Koperator's `pkg/util/pki` spells them, so a cluster Koperator secured keeps its objects and
//! a client that verified Koperator's certificates verifies ours.

use std::collections::BTreeSet;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::build::labels::{
    Labels, all_broker_service_name, broker_service_name, controller_headless_service_name, headless_service_name,
};
use crate::model::ValidatedCluster;

/// Koperator's `MaxCNLen`: an X.509 common name holds at most 64 characters.
const MAX_COMMON_NAME_LEN: usize = 64;

/// The namespace cert-manager runs in, where Koperator puts each cluster's CA Certificate and
/// Secret (its `--cert-manager-namespace` flag, same default).
pub const DEFAULT_CERT_MANAGER_NAMESPACE: &str = "cert-manager";

/// Label Koperator puts on every PKI object, naming the cluster's issuer.
pub const ISSUER_LABEL: &str = "kafka_issuer";

/// The self-signed ClusterIssuer that signs the CA: `<cluster>-self-signer`.
pub fn self_signer_name(cluster: &ValidatedCluster) -> String {
    format!("{}-self-signer", cluster.name)
}

/// The CA Certificate and its Secret: `<cluster>-ca-certificate`.
pub fn ca_certificate_name(cluster: &ValidatedCluster) -> String {
    format!("{}-ca-certificate", cluster.name)
}

/// The ClusterIssuer backed by the CA, which signs broker, operator and user certificates:
/// `<namespace>-<cluster>-issuer` (namespaced, so equal cluster names in two namespaces do not
/// share it).
pub fn cluster_issuer_name(cluster: &ValidatedCluster) -> String {
    format!("{}-{}-issuer", cluster.namespace, cluster.name)
}

/// The Secret holding the brokers' server certificate: `<cluster>-server-certificate`.
pub fn server_certificate_secret_name(cluster: &ValidatedCluster) -> String {
    format!("{}-server-certificate", cluster.name)
}

/// The Secret holding the operator's client certificate: `<cluster>-controller` (used by the
/// operator's Kafka clients and Cruise Control).
pub fn controller_certificate_secret_name(cluster: &ValidatedCluster) -> String {
    format!("{}-controller", cluster.name)
}

/// The CA's common name, `<cluster>-ca.<namespace>.cluster.local` (Koperator writes
/// `cluster.local` whatever the cluster domain).
pub fn ca_common_name(cluster: &ValidatedCluster) -> String {
    valid_common_name(format!("{}-ca.{}.cluster.local", cluster.name, cluster.namespace))
}

/// The brokers' common name: the headless Service's FQDN, or the all-broker Service's when the
/// cluster has none. Also the name of the server Certificate (Koperator names it after its
/// KafkaUser, whose name is this).
pub fn server_common_name(cluster: &ValidatedCluster) -> String {
    valid_common_name(bootstrap_service_fqdn(cluster))
}

/// The operator's common name, `<cluster>-controller.<namespace>.mgt.<domain>`: a name no
/// Service answers to, so the principal cannot be mistaken for a broker's.
pub fn controller_common_name(cluster: &ValidatedCluster) -> String {
    valid_common_name(format!(
        "{}.{}.mgt.{}",
        controller_certificate_secret_name(cluster),
        cluster.namespace,
        cluster.cluster_domain
    ))
}

/// A SPIFFE ID naming a certificate holder, as Koperator puts in every certificate it requests:
/// `spiffe://<domain>/ns/<namespace>/kafkauser/<name>`.
pub fn spiffe_id(cluster: &ValidatedCluster, holder: &str) -> String {
    format!("spiffe://{}/ns/{}/kafkauser/{holder}", cluster.cluster_domain, cluster.namespace)
}

/// The Kafka principal of a certificate whose subject is only `CN=<common_name>` (what both
/// cert-manager and the operator's CA issue): Kafka's default SSL principal is the subject's
/// RFC 2253 form.
pub fn principal(common_name: &str) -> String {
    format!("User:CN={common_name}")
}

/// `app=kafka`, `kafka_issuer=<namespace>-<cluster>-issuer`: Koperator's labels on PKI objects.
pub fn pki_labels(cluster: &ValidatedCluster) -> Labels {
    [
        (crd_types::labels::APP.to_string(), crd_types::labels::APP_KAFKA.to_string()),
        (ISSUER_LABEL.to_string(), cluster_issuer_name(cluster)),
    ]
    .into()
}

/// [`pki_labels`] plus the cluster's own (`kafka_cr`), on the Secrets holding the cluster's
/// certificates, whoever writes them (cert-manager copies them from the Certificate's
/// `secretTemplate`): the operator watches only Secrets so labelled, and a change to one wakes
/// its cluster's reconcile.
pub fn secret_labels(cluster: &ValidatedCluster) -> Labels {
    let mut labels = pki_labels(cluster);
    labels.extend(crate::build::labels::cluster_labels(cluster));
    labels
}

/// Every DNS name a client may reach a broker at, so clients can verify hostnames.
///
/// Koperator's list (`clusterDNSNames`), in its order: with a headless Service its FQDN, `.svc`,
/// namespace and short forms, each also as a wildcard (which covers every node's
/// `<cluster>-<id>.<cluster>-headless...` record), and the same for the KRaft controllers'
/// headless Service; without one, the all-broker Service's names and each node's Service's.
/// Beyond Koperator's list: the all-broker Service's names also with a headless Service (clients
/// bootstrap from it either way), and the host names among `external_hosts`, the addresses
/// external TLS listeners advertise (host part), sorted and de-duplicated (the IP addresses
/// among them: [`server_ip_addresses`]).
pub fn server_dns_names(cluster: &ValidatedCluster, external_hosts: &[String]) -> Vec<String> {
    let ValidatedCluster { namespace, cluster_domain, .. } = cluster;
    let mut names = Vec::new();
    let mut service_names = |service: &str, wildcard: bool| {
        let forms = [
            format!("{service}.{namespace}.svc.{cluster_domain}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}"),
        ];
        for form in forms {
            if wildcard {
                names.push(format!("*.{form}"));
            }
            names.push(form);
        }
        names.push(service.to_string());
    };
    if cluster.spec.headless_service_enabled {
        service_names(&headless_service_name(cluster), true);
        service_names(&controller_headless_service_name(cluster), true);
        service_names(&all_broker_service_name(cluster), false);
    } else {
        service_names(&all_broker_service_name(cluster), true);
        for broker in &cluster.brokers {
            let service = broker_service_name(cluster, broker.id);
            names.push(format!("{service}.{namespace}.svc.{cluster_domain}"));
            names.push(format!("{service}.{namespace}.svc"));
            names.push(format!("*.{service}.{namespace}"));
        }
    }
    let mut external: Vec<&String> = external_hosts.iter().filter(|host| host.parse::<IpAddr>().is_err()).collect();
    external.sort();
    external.dedup();
    for host in external {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    names
}

/// The IP addresses among `external_hosts` (a load balancer's, `nodePortExternalIP`): a
/// certificate names them as IP SANs, sorted and de-duplicated.
pub fn server_ip_addresses(external_hosts: &[String]) -> Vec<IpAddr> {
    let addresses: BTreeSet<IpAddr> = external_hosts.iter().filter_map(|host| host.parse().ok()).collect();
    addresses.into_iter().collect()
}

/// The FQDN clients bootstrap from: the headless Service's, else the all-broker Service's.
fn bootstrap_service_fqdn(cluster: &ValidatedCluster) -> String {
    let service = if cluster.spec.headless_service_enabled {
        headless_service_name(cluster)
    } else {
        all_broker_service_name(cluster)
    };
    format!("{service}.{}.svc.{}", cluster.namespace, cluster.cluster_domain)
}

/// Koperator's `EnsureValidCommonNameLen`: a name longer than 64 characters becomes its SHA-256
/// in lower-case hex (64 characters, and a valid DNS label, so still usable as an object name).
fn valid_common_name(name: String) -> String {
    if name.len() <= MAX_COMMON_NAME_LEN {
        return name;
    }
    Sha256::digest(name.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{kraft_dedicated, zookeeper};
    use crate::model::validate;

    #[test]
    fn names_follow_koperator() {
        let cluster = validate(&kraft_dedicated()).expect("valid");
        assert_eq!(self_signer_name(&cluster), "kafka-self-signer");
        assert_eq!(ca_certificate_name(&cluster), "kafka-ca-certificate");
        assert_eq!(cluster_issuer_name(&cluster), "kafka-kafka-issuer");
        assert_eq!(server_certificate_secret_name(&cluster), "kafka-server-certificate");
        assert_eq!(controller_certificate_secret_name(&cluster), "kafka-controller");
        assert_eq!(ca_common_name(&cluster), "kafka-ca.kafka.cluster.local");
        assert_eq!(server_common_name(&cluster), "kafka-headless.kafka.svc.cluster.local");
        assert_eq!(controller_common_name(&cluster), "kafka-controller.kafka.mgt.cluster.local");
        assert_eq!(
            principal("kafka-headless.kafka.svc.cluster.local"),
            "User:CN=kafka-headless.kafka.svc.cluster.local"
        );
    }

    #[test]
    fn a_long_common_name_becomes_its_hash() {
        let mut cluster = validate(&kraft_dedicated()).expect("valid");
        cluster.name = "a-cluster-with-a-name-long-enough-to-overflow".into();
        let name = server_common_name(&cluster);
        assert_eq!(name.len(), 64);
        assert!(name.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{name}");
        assert_eq!(name, server_common_name(&cluster), "stable");
    }

    #[test]
    fn headless_names_cover_every_node_record_and_every_service() {
        let cluster = validate(&kraft_dedicated()).expect("valid");
        let names = server_dns_names(&cluster, &[]);
        for wanted in [
            "*.kafka-headless.kafka.svc.cluster.local",
            "kafka-headless.kafka.svc.cluster.local",
            "*.kafka-headless.kafka.svc",
            "kafka-headless.kafka",
            "kafka-headless",
            "*.kafka-controller-headless.kafka.svc.cluster.local",
            "kafka-controller-headless",
            "kafka-all-broker.kafka.svc.cluster.local",
            "kafka-all-broker.kafka.svc",
            "kafka-all-broker.kafka",
            "kafka-all-broker",
        ] {
            assert!(names.iter().any(|name| name == wanted), "{wanted} missing from {names:?}");
        }
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "no duplicates: {names:?}");
        // Each node's advertised address is covered by a wildcard of exactly one label.
        for broker in &cluster.brokers {
            let host = crate::build::broker_host(&cluster, broker.id);
            let (_, parent) = host.split_once('.').expect("a dotted FQDN");
            assert!(names.contains(&format!("*.{parent}")), "{host} not covered");
        }
    }

    #[test]
    fn without_headless_every_node_service_is_named() {
        let mut spec = zookeeper();
        spec.spec.headless_service_enabled = false;
        let cluster = validate(&spec).expect("valid");
        let names = server_dns_names(&cluster, &["kafka.example.com".into(), "a.example.com".into()]);
        assert_eq!(
            &names[..2],
            ["*.kafka-all-broker.kafka.svc.cluster.local", "kafka-all-broker.kafka.svc.cluster.local"]
        );
        for broker in &cluster.brokers {
            let host = crate::build::broker_host(&cluster, broker.id);
            assert!(names.contains(&host), "{host} missing");
        }
        assert_eq!(&names[names.len() - 2..], ["a.example.com", "kafka.example.com"]);
        assert!(!names.iter().any(|name| name.contains("headless")));
    }
}
