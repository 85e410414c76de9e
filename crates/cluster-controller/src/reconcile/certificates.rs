//! Makes what the certificates' decision needs and cannot make purely: new keys and
//! certificates of the operator's CA (randomness, the clock), and the fingerprint of
//! cert-manager's objects against what this process applied. Reads only; `apply` writes.
//!
//! The operator's CA is made in one pass and signs certificates from the next (its Secret's
//! watch event starts it at once): a CA Secret that already existed unseen (a user's, without
//! the cluster's labels) is then never overwritten, and nothing is signed by a CA that was not
//! stored.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use time::OffsetDateTime;

use crate::build::pki::cert_manager::cert_manager_objects;
use crate::build::pki::inspect::{LeafVerdict, Renewal, certificate_facts, inspect_leaf, renewal};
use crate::build::pki::names::{
    DEFAULT_CERT_MANAGER_NAMESPACE, ca_common_name, controller_certificate_secret_name, controller_common_name,
    server_certificate_secret_name, server_common_name, server_dns_names, server_ip_addresses, spiffe_id,
};
use crate::build::pki::operator_ca::{CA_LIFETIME, CertificateAuthority, LEAF_LIFETIME, LeafRequest, Validity};
use crate::build::pki::rotation::{self, BrokerTrust, Rotation};
use crate::build::pki::secrets::{
    CA_CERTIFICATE_KEY, ca_secret, ca_secret_name, ca_secret_trusting, leaf_secret, read_key_and_certificate, read_text,
};
use crate::build::{SERVER_CERTIFICATE_ANNOTATION, TRUSTED_CAS_ANNOTATION};
use crate::model::{PkiSource, ValidatedCluster, pki_source};
use crate::reconcile::decide::certificates::{CertManagerRequest, Issued, Prepared};
use crate::reconcile::observe::ObservedCluster;

/// How long cert-manager gets to make a Secret after its objects were applied, before they are
/// applied again (someone may have deleted a Certificate or an issuer since).
const CERT_MANAGER_GRACE: Duration = Duration::from_secs(30);

/// The fingerprints of the cert-manager objects this process applied, and when, per cluster.
#[derive(Default)]
pub struct AppliedCertManager(Mutex<HashMap<(String, String), (u64, Instant)>>);

impl AppliedCertManager {
    /// Whether the same objects were applied, and need not be again: cert-manager keeps what it
    /// was given, unless a certificate it should keep is overdue past the grace period.
    pub fn still_applied(&self, cluster: &ValidatedCluster, fingerprint: u64, overdue: bool) -> bool {
        let applied = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match applied.get(&(cluster.namespace.clone(), cluster.name.clone())) {
            Some((applied, at)) if *applied == fingerprint => !overdue || at.elapsed() < CERT_MANAGER_GRACE,
            _ => false,
        }
    }

    /// Drops what was applied for a cluster that is gone.
    pub fn forget(&self, namespace: &str, name: &str) {
        let mut applied = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        applied.remove(&(namespace.to_owned(), name.to_owned()));
    }

    pub fn record(&self, cluster: &ValidatedCluster, fingerprint: u64) {
        self.record_at(cluster, fingerprint, Instant::now());
    }

    fn record_at(&self, cluster: &ValidatedCluster, fingerprint: u64, at: Instant) {
        let mut applied = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        applied.insert((cluster.namespace.clone(), cluster.name.clone()), (fingerprint, at));
    }
}

/// None for a cluster whose certificates the operator does not make. `external_hosts`: what
/// the TLS external listeners advertise (see `decide::external_access::certificate_hosts`).
pub fn prepare(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    external_hosts: &[String],
    applied: &AppliedCertManager,
    now: OffsetDateTime,
) -> Option<Prepared> {
    let source = pki_source(&cluster.spec)?;
    let mut prepared = Prepared {
        source,
        new_authority: None,
        issued: Vec::new(),
        cert_manager: None,
        problem: None,
        rotation: None,
        external_hosts: external_hosts.to_vec(),
    };
    match source {
        PkiSource::CertManager => {
            let objects = cert_manager_objects(cluster, DEFAULT_CERT_MANAGER_NAMESPACE, external_hosts);
            let mut hasher = DefaultHasher::new();
            for object in objects.all() {
                serde_json::to_string(object).expect("dynamic objects serialize").hash(&mut hasher);
            }
            let fingerprint = hasher.finish();
            let overdue = cert_manager_overdue(cluster, observed, now);
            let applied = applied.still_applied(cluster, fingerprint, overdue);
            prepared.cert_manager = Some(CertManagerRequest { objects, fingerprint, applied });
        }
        PkiSource::OperatorCa => {
            if let Err(problem) = operator_ca(cluster, observed, external_hosts, now, &mut prepared) {
                prepared.problem = Some(problem);
            }
        }
    }
    Some(prepared)
}

/// Whether a certificate cert-manager keeps for the cluster is missing or past the point where
/// cert-manager renews it: a sign that its Certificate or issuer was deleted or changed by hand.
fn cert_manager_overdue(cluster: &ValidatedCluster, observed: &ObservedCluster, now: OffsetDateTime) -> bool {
    [server_certificate_secret_name(cluster), controller_certificate_secret_name(cluster)].iter().any(|name| {
        let Some(secret) = observed.secrets.get(name) else {
            return true;
        };
        let facts =
            read_key_and_certificate(secret).ok().and_then(|stored| certificate_facts(&stored.certificate_pem).ok());
        facts.is_none_or(|facts| renewal(facts.validity, now) == Renewal::Due)
    })
}

fn operator_ca(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    external_hosts: &[String],
    now: OffsetDateTime,
    prepared: &mut Prepared,
) -> Result<(), String> {
    let ca_name = ca_secret_name(cluster);
    let Some(ca_secret_stored) = observed.secrets.get(&ca_name) else {
        let ca = CertificateAuthority::generate(&ca_common_name(cluster), Validity::starting(now, CA_LIFETIME))
            .map_err(|error| format!("cannot make the cluster's CA: {error}"))?;
        prepared.new_authority = Some(ca_secret(cluster, &ca));
        return Ok(());
    };
    let unreadable = |error: String| {
        format!(
            "Secret {ca_name} (spec.listenersConfig.sslSecrets.tlsSecretName) does not hold a CA the operator can \
             use: {error}; fix its ca.crt, tls.crt and tls.key, or delete it for a new CA (every certificate is \
             then issued again)"
        )
    };
    let stored = read_key_and_certificate(ca_secret_stored).map_err(|error| unreadable(error.to_string()))?;
    let ca = CertificateAuthority::from_pem(&stored.certificate_pem, &stored.private_key_pem)
        .map_err(|error| unreadable(error.to_string()))?;

    let server_cn = server_common_name(cluster);
    let operator_cn = controller_common_name(cluster);
    let server_names = (server_dns_names(cluster, external_hosts), server_ip_addresses(external_hosts));
    let leaves = [
        (server_certificate_secret_name(cluster), server_names, server_cn),
        (controller_certificate_secret_name(cluster), (Vec::new(), Vec::new()), operator_cn),
    ];
    let rotation = rotation_step(cluster, observed, &ca);
    for (secret_name, (dns_names, ip_addresses), common_name) in leaves {
        let uris = vec![spiffe_id(cluster, &common_name)];
        let wanted = LeafRequest { common_name, dns_names, ip_addresses, uris };
        let secret = observed.secrets.get(&secret_name);
        let stored = secret.and_then(|secret| read_key_and_certificate(secret).ok());
        let issue = |bundle: &str, reason: String| -> Result<Issued, String> {
            let leaf = ca
                .issue(&wanted, Validity::starting(now, LEAF_LIFETIME))
                .map_err(|error| format!("cannot issue the certificate of Secret {secret_name}: {error}"))?;
            Ok(Issued { secret: leaf_secret(cluster, secret_name.clone(), bundle, &leaf), reason })
        };
        // Keeps the stored certificate and trusts `bundle`; issues one if none can be kept.
        let trust = |bundle: &str, reason: &str| -> Result<Issued, String> {
            match &stored {
                Some(leaf) => Ok(Issued {
                    secret: leaf_secret(cluster, secret_name.clone(), bundle, leaf),
                    reason: reason.to_owned(),
                }),
                None => issue(bundle, format!("{reason}; none could be kept")),
            }
        };
        let current_ca = ca.pem().certificate_pem.as_str();
        match &rotation {
            Rotation::Trust { bundle } => {
                prepared.issued.push(trust(bundle, "CA rotation 1/3: the new CA is trusted beside the old")?);
            }
            Rotation::Sign { bundle } => {
                prepared.issued.push(issue(bundle, "CA rotation 2/3: signed by the new CA".to_owned())?);
            }
            Rotation::Retire => {
                prepared.issued.push(trust(current_ca, "CA rotation 3/3: the old CA is trusted no more")?);
            }
            Rotation::Waiting { step, brokers } => {
                prepared.rotation = Some(format!(
                    "CA rotation: waiting for nodes {brokers:?} to restart with the {step} step (one at a time, \
                     health-gated)"
                ));
            }
            Rotation::Settled => {
                let mut verdict = inspect_leaf(stored.as_ref(), &ca, &wanted, now);
                // The trust bundle too must be the CA's: clients read it from the same Secret.
                let bundle = secret.and_then(|secret| read_text(secret, CA_CERTIFICATE_KEY).ok());
                if !verdict.must_issue() && bundle.as_deref() != Some(current_ca) {
                    verdict = LeafVerdict::OtherIssuer;
                }
                if verdict.must_issue() {
                    prepared.issued.push(issue(current_ca, reason(&verdict))?);
                }
            }
        }
    }
    // Clients read their trust from the CA Secret: it trusts both CAs while brokers may present
    // either's certificate.
    match &rotation {
        Rotation::Trust { bundle } => prepared.issued.push(Issued {
            secret: ca_secret_trusting(cluster, &ca, bundle),
            reason: "CA rotation 1/3: clients trust the new CA beside the old".to_owned(),
        }),
        Rotation::Retire => prepared.issued.push(Issued {
            secret: ca_secret(cluster, &ca),
            reason: "CA rotation 3/3: clients trust only the new CA".to_owned(),
        }),
        _ => {}
    }
    Ok(())
}

/// Where a rotation of the operator's CA stands, read from the brokers' certificate Secret and
/// the broker pods' annotations. A Secret that cannot be read starts no rotation: its
/// certificate is issued afresh by the usual checks.
fn rotation_step(cluster: &ValidatedCluster, observed: &ObservedCluster, ca: &CertificateAuthority) -> Rotation {
    let Some(secret) = observed.secrets.get(&server_certificate_secret_name(cluster)) else {
        return Rotation::Settled;
    };
    let (Ok(stored), Ok(bundle)) = (read_key_and_certificate(secret), read_text(secret, CA_CERTIFICATE_KEY)) else {
        return Rotation::Settled;
    };
    let brokers: Vec<BrokerTrust> =
        cluster.brokers.iter().map(|broker| broker_trust(broker.id, observed.pods.get(&broker.id))).collect();
    rotation::next_step(&stored.certificate_pem, &bundle, &ca.pem().certificate_pem, &brokers)
        .unwrap_or(Rotation::Settled)
}

/// What broker `id`'s running pod started with; a pod being deleted or not ready has nothing yet.
fn broker_trust(id: i32, pods: Option<&Vec<Arc<Pod>>>) -> BrokerTrust {
    let running = pods.into_iter().flatten().find(|pod| pod.metadata.deletion_timestamp.is_none());
    let Some(pod) = running else {
        return BrokerTrust { broker: id, ..BrokerTrust::default() };
    };
    let annotation = |key: &str| pod.metadata.annotations.as_ref().and_then(|annotations| annotations.get(key));
    let ready = pod
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    BrokerTrust {
        broker: id,
        server_serial: annotation(SERVER_CERTIFICATE_ANNOTATION).cloned(),
        trusted_ca_serials: annotation(TRUSTED_CAS_ANNOTATION)
            .map(|serials| serials.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        ready,
    }
}

fn reason(verdict: &LeafVerdict) -> String {
    match verdict {
        LeafVerdict::Valid { .. } => "valid".to_owned(),
        LeafVerdict::Missing => "none existed".to_owned(),
        LeafVerdict::Unreadable(error) => format!("the stored one could not be read: {error}"),
        LeafVerdict::KeyMismatch => "the stored key was not the certificate's".to_owned(),
        LeafVerdict::OtherIssuer => "the stored one was signed by another CA".to_owned(),
        LeafVerdict::NamesChanged { missing, unexpected } => {
            format!("its names changed: +[{}] -[{}]", missing.join(", "), unexpected.join(", "))
        }
        LeafVerdict::RenewalDue => "renewal due".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::load;
    use crate::model::validate;

    fn ssl_sample() -> ValidatedCluster {
        validate(&load("crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml")).expect("valid")
    }

    #[test]
    fn cert_manager_objects_are_applied_again_when_a_certificate_stays_overdue() {
        let cluster = ssl_sample();
        let applied = AppliedCertManager::default();
        applied.record(&cluster, 7);
        assert!(applied.still_applied(&cluster, 7, false));
        assert!(applied.still_applied(&cluster, 7, true), "cert-manager gets time to issue");
        assert!(!applied.still_applied(&cluster, 8, false), "other objects");

        let long_ago = Instant::now().checked_sub(CERT_MANAGER_GRACE * 2).expect("an earlier instant");
        applied.record_at(&cluster, 7, long_ago);
        assert!(applied.still_applied(&cluster, 7, false), "nothing overdue: cert-manager keeps them");
        assert!(!applied.still_applied(&cluster, 7, true), "overdue past the grace: apply again");
    }

    #[test]
    fn missing_cert_manager_secrets_are_overdue() {
        let cluster = ssl_sample();
        assert!(cert_manager_overdue(&cluster, &ObservedCluster::default(), OffsetDateTime::now_utc()));
    }
}
