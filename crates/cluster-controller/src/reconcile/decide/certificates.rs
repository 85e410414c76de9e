//! Pure: the certificates of a cluster with `sslSecrets.create: true`, written before anything
//! that uses them — the Secrets the operator's CA issued this pass, or the cert-manager issuers
//! and certificates — and whether the brokers' and the operator's certificates exist yet, so
//! that broker pods wait for theirs (a pod whose Secret volume is missing never starts).
//!
//! Making a certificate needs a new key and the clock, so `reconcile::certificates` makes them
//! before the decision ([`Prepared`]); this module only orders their writes and reports.

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;

use crate::build::pki::cert_manager::CertManagerObjects;
use crate::build::pki::inspect::{CertificateFacts, certificate_facts};
use crate::build::pki::names::{controller_certificate_secret_name, server_certificate_secret_name};
use crate::build::pki::rotation::bundle_serials;
use crate::build::pki::secrets::{CA_CERTIFICATE_KEY, read_key_and_certificate, read_text};
use crate::model::{PkiSource, ValidatedCluster};
use crate::reconcile::observe::ObservedCluster;

use super::plan::{Action, Created, Desired, Notice, Step};

/// Condition type: whether the cluster's certificates exist, when they expire, or why not.
pub const CERTIFICATES: &str = "Certificates";

/// What `reconcile::certificates` made or chose for this pass.
#[derive(Debug)]
pub struct Prepared {
    pub source: PkiSource,
    /// The operator's CA, made this pass because its Secret does not exist.
    pub new_authority: Option<Secret>,
    /// Certificates the operator's CA issued this pass, with why.
    pub issued: Vec<Issued>,
    /// cert-manager's objects, for the cert-manager backend.
    pub cert_manager: Option<CertManagerRequest>,
    /// Why certificates cannot be made (names the Secret and the fix).
    pub problem: Option<String>,
    /// Where a rotation of the operator's CA stands, while one is under way.
    pub rotation: Option<String>,
    /// What the TLS external listeners advertise: brokers start only with a server certificate
    /// naming all of it (cert-manager issues a changed Certificate a moment later).
    pub external_hosts: Vec<String>,
}

#[derive(Debug)]
pub struct Issued {
    pub secret: Secret,
    /// Why it was issued (e.g. "none existed", "renewal due").
    pub reason: String,
}

#[derive(Debug)]
pub struct CertManagerRequest {
    pub objects: CertManagerObjects,
    pub fingerprint: u64,
    /// This process applied the same objects already.
    pub applied: bool,
}

/// Where the cluster's certificates stand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificatesReport {
    /// None for a cluster whose certificates the operator does not make.
    pub condition: Option<CertificatesCondition>,
    /// Why broker pods wait, when the brokers' certificate does not exist yet.
    pub brokers_wait: Option<String>,
    /// The serial number of the brokers' certificate, as written by this pass or stored.
    pub server_serial: Option<String>,
    /// The serial numbers of the CAs the brokers' certificate Secret says to trust.
    pub trusted_ca_serials: Option<String>,
    /// The serial number of the operator's client certificate, as written by this pass or stored.
    pub operator_serial: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificatesCondition {
    pub ready: bool,
    pub reason: &'static str,
    pub message: String,
}

/// The writes of the certificates, in order (CA, then what it signs), and where they stand.
pub fn plan(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    prepared: Option<&Prepared>,
    steps: &mut Vec<Step>,
) -> CertificatesReport {
    let Some(prepared) = prepared else {
        return CertificatesReport::default();
    };
    if let Some(authority) = &prepared.new_authority {
        let note = format!("created the cluster's certificate authority in Secret {}", authority.name_any());
        steps.push(Step::noted(
            Action::Create(Box::new(Created::Secret(authority.clone()))),
            Notice::normal("CertificateAuthorityCreated", "IssueCertificates", note),
        ));
    }
    for issued in &prepared.issued {
        let note = format!("issued the certificate in Secret {} ({})", issued.secret.name_any(), issued.reason);
        steps.push(Step::noted(
            Action::Apply(Box::new(Desired::Secret(issued.secret.clone()))),
            Notice::normal("CertificateIssued", "IssueCertificates", note),
        ));
    }
    if let Some(request) = prepared.cert_manager.as_ref().filter(|request| !request.applied) {
        steps.push(Step::new(Action::ApplyCertManager {
            objects: request.objects.all().cloned().collect(),
            fingerprint: request.fingerprint,
        }));
    }

    let server = server_certificate_secret_name(cluster);
    let operator = controller_certificate_secret_name(cluster);
    let latest = |name: &str| -> Option<&Secret> {
        let issued = prepared.issued.iter().find(|issued| issued.secret.name_any() == name).map(|i| &i.secret);
        issued.or_else(|| observed.secrets.get(name).map(AsRef::as_ref))
    };
    let current = |name: &str| -> Result<(String, CertificateFacts), String> {
        let secret = latest(name).ok_or_else(|| waiting_for(prepared.source, name))?;
        read_certificate(secret).map_err(|problem| format!("Secret {name}: {problem}"))
    };
    let trusted_ca_serials = latest(&server)
        .and_then(|secret| read_text(secret, CA_CERTIFICATE_KEY).ok())
        .and_then(|bundle| bundle_serials(&bundle).ok());
    let (server_state, operator_state) = (current(&server), current(&operator));
    let brokers_wait = match &server_state {
        Err(wait) => Some(wait.clone()),
        Ok((name, facts)) => unnamed_external_hosts(name, facts, &prepared.external_hosts),
    };
    let server_serial = server_state.as_ref().ok().map(|(_, facts)| facts.serial.clone());
    let operator_serial = operator_state.as_ref().ok().map(|(_, facts)| facts.serial.clone());
    let describe = |state: Result<(String, CertificateFacts), String>| {
        state.map(|(name, facts)| format!("Secret {name}: serial {}, expires {}", facts.serial, rfc3339(&facts)))
    };
    let (server_state, operator_state) = (describe(server_state), describe(operator_state));
    let condition = match (&prepared.problem, server_state, operator_state) {
        (Some(problem), _, _) => {
            CertificatesCondition { ready: false, reason: "CannotIssue", message: problem.clone() }
        }
        (None, Ok(server), Ok(operator)) => {
            let rotation = prepared.rotation.as_ref().map(|rotation| format!("; {rotation}")).unwrap_or_default();
            CertificatesCondition { ready: true, reason: "Issued", message: format!("{server}; {operator}{rotation}") }
        }
        (None, server, operator) => {
            let waits: Vec<String> = [server, operator].into_iter().filter_map(Result::err).collect();
            CertificatesCondition { ready: false, reason: "Waiting", message: waits.join("; ") }
        }
    };
    CertificatesReport { condition: Some(condition), brokers_wait, server_serial, trusted_ca_serials, operator_serial }
}

/// Why brokers wait for the server certificate `facts` (of Secret `name`): the external hosts it
/// does not name yet; None when it names them all.
fn unnamed_external_hosts(name: &str, facts: &CertificateFacts, hosts: &[String]) -> Option<String> {
    let ips: Vec<String> = facts.ip_addresses.iter().map(ToString::to_string).collect();
    let missing: Vec<&str> = hosts
        .iter()
        .filter(|host| !facts.dns_names.contains(*host) && !ips.contains(host))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the certificate in Secret {name} does not name {} yet, which external TLS listeners advertise; waiting \
             for it to be issued again",
            missing.join(", ")
        )
    })
}

fn waiting_for(source: PkiSource, secret: &str) -> String {
    match source {
        PkiSource::CertManager => {
            format!(
                "waiting for cert-manager to issue the certificate of Secret {secret} (Certificate status says why)"
            )
        }
        PkiSource::OperatorCa => format!(
            "waiting for the operator's CA to issue the certificate of Secret {secret} (the operator reads only \
             Secrets labelled kafka_cr=<cluster>: a CA Secret made by hand under tlsSecretName needs that label)"
        ),
    }
}

/// A certificate's Secret's name and what its certificate says, or what is wrong with it.
fn read_certificate(secret: &Secret) -> Result<(String, CertificateFacts), String> {
    let stored = read_key_and_certificate(secret).map_err(|error| error.to_string())?;
    read_text(secret, CA_CERTIFICATE_KEY).map_err(|error| error.to_string())?;
    let facts = certificate_facts(&stored.certificate_pem).map_err(|error| error.to_string())?;
    Ok((secret.name_any(), facts))
}

fn rfc3339(facts: &CertificateFacts) -> String {
    let not_after = facts.validity.not_after;
    not_after.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| not_after.to_string())
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
