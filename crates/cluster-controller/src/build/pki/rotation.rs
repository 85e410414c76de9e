//! A new CA of the operator (`pkiBackend: operator-ca`) without an outage. Pure.
//!
//! Brokers read their trust (`ca.crt`) and key store once, at start, and a roll restarts one
//! at a time: if the brokers' certificates were signed by the new CA at once, a restarted broker
//! would present a certificate its not-yet-restarted peers (trusting only the old CA) refuse,
//! and the roll would stop at its health gate with partitions under-replicated. So a new CA
//! reaches the brokers in three rolls, each started only when the one before has reached
//! every broker:
//!
//! 1. trust: the certificates stay, `ca.crt` becomes the new CA followed by the old ones;
//! 2. sign: once every broker trusts the new CA, the certificates are issued by it (`ca.crt`
//!    keeps both, since brokers not restarted yet still present the old CA's);
//! 3. retire: once every broker presents a certificate of the new CA, `ca.crt` holds only the
//!    new CA, so the old one (perhaps why the CA was replaced) is trusted no more.
//!
//! The old CA is found in the `ca.crt` of the brokers' certificate Secret, so deleting the CA
//! Secret (the way to ask for a new CA) loses nothing the rotation needs. Pods carry what they
//! started with: the serial of their certificate and of each CA they trust.

use std::collections::BTreeSet;

use super::PkiError;
use super::inspect::{certificate_facts, signed_by};

/// What a broker pod started with, from its annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerTrust {
    pub broker: i32,
    /// The serial of the server certificate it presents.
    pub server_serial: Option<String>,
    /// The serials of the CAs it trusts.
    pub trusted_ca_serials: BTreeSet<String>,
    /// Started and ready; a broker being restarted is not counted as having anything yet.
    pub ready: bool,
}

/// The next step of a rotation, for the brokers' certificate and the operator's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// No rotation under way: certificates follow their usual checks.
    Settled,
    /// Step 1: keep the certificates, trust `bundle` (the new CA first).
    Trust { bundle: String },
    /// Step 2: issue the certificates with the current CA, trusting `bundle`.
    Sign { bundle: String },
    /// Step 3: keep the certificates, trust only the current CA.
    Retire,
    /// A step is reaching the brokers; these have not got it yet.
    Waiting { step: &'static str, brokers: Vec<i32> },
}

/// The rotation step for a brokers' certificate `server_certificate_pem` trusting
/// `server_bundle_pem`, given the CA that signs now and what each broker of the spec started
/// with. A server certificate that cannot be read is no rotation: it is issued afresh.
pub fn next_step(
    server_certificate_pem: &str,
    server_bundle_pem: &str,
    current_ca_pem: &str,
    brokers: &[BrokerTrust],
) -> Result<Rotation, PkiError> {
    let current_serial = certificate_facts(current_ca_pem)?.serial;
    let bundle = split_certificates(server_bundle_pem);
    let mut bundle_serials = Vec::with_capacity(bundle.len());
    for certificate in &bundle {
        bundle_serials.push(certificate_facts(certificate)?.serial);
    }
    let trusts_current = bundle_serials.contains(&current_serial);
    let server_serial = certificate_facts(server_certificate_pem)?.serial;

    if signed_by(server_certificate_pem, current_ca_pem)? {
        if bundle_serials.len() <= 1 || !trusts_current {
            return Ok(Rotation::Settled);
        }
        let behind = brokers_without(brokers, |broker| broker.server_serial.as_ref() == Some(&server_serial));
        return Ok(if behind.is_empty() {
            Rotation::Retire
        } else {
            Rotation::Waiting { step: "sign", brokers: behind }
        });
    }
    if !trusts_current {
        let mut trusted = vec![current_ca_pem.trim().to_owned()];
        trusted.extend(bundle.into_iter().filter(|certificate| certificate.trim() != current_ca_pem.trim()));
        return Ok(Rotation::Trust { bundle: join(&trusted) });
    }
    let behind = brokers_without(brokers, |broker| broker.trusted_ca_serials.contains(&current_serial));
    Ok(if behind.is_empty() {
        Rotation::Sign { bundle: join(&bundle) }
    } else {
        Rotation::Waiting { step: "trust", brokers: behind }
    })
}

/// The serials of the certificates in a PEM bundle, comma-separated in order: what a pod
/// trusts, as its annotation says.
pub fn bundle_serials(bundle_pem: &str) -> Result<String, PkiError> {
    let serials: Result<Vec<String>, PkiError> =
        split_certificates(bundle_pem).iter().map(|certificate| Ok(certificate_facts(certificate)?.serial)).collect();
    Ok(serials?.join(","))
}

/// The PEM blocks of a bundle, each trimmed.
pub fn split_certificates(bundle_pem: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    bundle_pem
        .split_inclusive(END)
        .map(str::trim)
        .filter(|block| block.contains("-----BEGIN CERTIFICATE-----"))
        .map(str::to_owned)
        .collect()
}

fn join(certificates: &[String]) -> String {
    let mut joined = certificates.join("\n");
    joined.push('\n');
    joined
}

fn brokers_without(brokers: &[BrokerTrust], has: impl Fn(&BrokerTrust) -> bool) -> Vec<i32> {
    brokers.iter().filter(|broker| !(broker.ready && has(broker))).map(|broker| broker.broker).collect()
}

#[cfg(test)]
#[path = "rotation_tests.rs"]
mod tests;
