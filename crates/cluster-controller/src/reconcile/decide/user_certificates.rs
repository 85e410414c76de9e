//! Pure: whether the certificates the user brings (`sslSecrets.create` false or unset) serve,
//! read from the Secrets the observe stage fetched. Every problem names the Secret, the key and
//! the fix; with any, the pass ends before a broker is touched (the reconciler reports them as
//! a Degraded condition and looks again when the Secret changes or at the next resync).
//!
//! What serves: `tlsSecretName` holds PEM `caCert`, and `peerCert`/`peerKey` when a TLS listener
//! serves them, `clientCert`/`clientKey` when the operator talks TLS; each certificate parses,
//! is within its validity, is signed by a certificate of `caCert` (or carries its chain), and
//! its key is its own, PKCS#8 as Kafka's PEM key store requires. A listener's
//! `serverSSLCertSecret` holds non-empty `keystore.jks`, `truststore.jks` and `password`
//! (the JKS content is Kafka's to read: no JKS reader here).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kafka_admin::{ClientCertificate, TlsSettings};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::build::pki::inspect::{CertificateFacts, certificate_facts, key_matches, signed_by_any};
use crate::build::pki::operator_ca::KeyAndCertificate;
use crate::build::pki::user_provided::{
    CA_CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY, KEY_STORE, PASSWORD, PEER_CERTIFICATE, PEER_KEY, TRUST_STORE,
    jks_listeners, operator_uses_tls, serves_peer_certificate,
};
use crate::model::{ValidatedCluster, user_certificates};

/// The user's certificates, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCertificates {
    /// What the brokers serve, in one word for the pod annotation (a change rolls them):
    /// `peerCert`'s serial, and a digest of each JKS listener's Secret.
    pub server_fingerprint: String,
    /// The operator's TLS client settings, when it talks TLS.
    pub client: Option<TlsSettings>,
}

/// The user's certificates, or every problem with them; None when the operator makes the
/// certificates or the cluster has no `sslSecrets`.
pub fn check(
    cluster: &ValidatedCluster,
    secrets: &BTreeMap<String, Arc<Secret>>,
    now: OffsetDateTime,
) -> Option<Result<UserCertificates, Vec<String>>> {
    let name = user_certificates(&cluster.spec)?;
    // A cluster without TLS listeners reads no certificate (Koperator's samples set sslSecrets
    // on plaintext clusters too).
    crate::build::broker_tls::tls_listeners(cluster).next()?;
    let mut problems = Vec::new();
    let mut fingerprint = Vec::new();
    let mut client = None;
    let field = "spec.listenersConfig.sslSecrets.tlsSecretName";
    match secrets.get(name) {
        None => problems.push(format!(
            "Secret {name} ({field}) does not exist in namespace {}; create it with the PEM keys {CA_CERTIFICATE}, \
             {PEER_CERTIFICATE}, {PEER_KEY}, {CLIENT_CERTIFICATE} and {CLIENT_KEY}, or set sslSecrets.create: true \
             for certificates the operator makes",
            cluster.namespace
        )),
        Some(secret) => {
            let pem = PemSecret { name, secret, now };
            match pem.text(CA_CERTIFICATE) {
                Err(problem) => problems.push(problem),
                Ok(ca) => {
                    if let Err(problem) = pem.certificate_facts(CA_CERTIFICATE, &ca) {
                        problems.push(problem);
                    }
                    if serves_peer_certificate(cluster) {
                        match pem.leaf(PEER_CERTIFICATE, PEER_KEY, &ca) {
                            Ok((_, facts)) => fingerprint.push(facts.serial),
                            Err(mut found) => problems.append(&mut found),
                        }
                    }
                    if operator_uses_tls(cluster) {
                        match pem.leaf(CLIENT_CERTIFICATE, CLIENT_KEY, &ca) {
                            Ok((stored, _)) => {
                                client = Some(TlsSettings {
                                    ca_pem: ca,
                                    client: Some(ClientCertificate {
                                        certificate_pem: stored.certificate_pem,
                                        private_key_pem: stored.private_key_pem,
                                    }),
                                });
                            }
                            Err(mut found) => problems.append(&mut found),
                        }
                    }
                }
            }
        }
    }
    for (listener, secret_name) in jks_listeners(cluster) {
        let path = format!("spec.listenersConfig.internalListeners[name={}].serverSSLCertSecret", listener.name);
        let Some(secret) = secrets.get(secret_name) else {
            problems.push(format!(
                "Secret {secret_name} ({path}) does not exist in namespace {}; create it with {KEY_STORE}, \
                 {TRUST_STORE} and their {PASSWORD} (Koperator's JKS layout), or remove serverSSLCertSecret",
                cluster.namespace
            ));
            continue;
        };
        let mut digest = Sha256::new();
        for key in [KEY_STORE, TRUST_STORE, PASSWORD] {
            match secret.data.as_ref().and_then(|data| data.get(key)).filter(|value| !value.0.is_empty()) {
                Some(value) => {
                    digest.update(key.as_bytes());
                    digest.update(&value.0);
                }
                None => problems.push(format!(
                    "Secret {secret_name} ({path}) has no {key} or it is empty; add it (Koperator's JKS layout: \
                     {KEY_STORE}, {TRUST_STORE}, {PASSWORD})"
                )),
            }
        }
        let digest: String = digest.finalize().iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        fingerprint.push(format!("{}:{digest}", listener.name));
    }
    if !problems.is_empty() {
        return Some(Err(problems));
    }
    Some(Ok(UserCertificates { server_fingerprint: fingerprint.join(","), client }))
}

/// One PEM Secret of the user's, read at `now`.
struct PemSecret<'a> {
    name: &'a str,
    secret: &'a Secret,
    now: OffsetDateTime,
}

impl PemSecret<'_> {
    fn text(&self, key: &str) -> Result<String, String> {
        let name = self.name;
        let bytes = self.secret.data.as_ref().and_then(|data| data.get(key)).filter(|value| !value.0.is_empty());
        let bytes = bytes.ok_or_else(|| {
            format!(
                "Secret {name} (spec.listenersConfig.sslSecrets.tlsSecretName) has no {key} or it is empty; \
                 add it as PEM (Koperator's keys: {CA_CERTIFICATE}, {PEER_CERTIFICATE}, {PEER_KEY}, \
                 {CLIENT_CERTIFICATE}, {CLIENT_KEY})"
            )
        })?;
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("{key} of Secret {name} is not text; store it as PEM"))
    }

    /// The certificate under `key`, readable and within its validity.
    fn certificate_facts(&self, key: &str, pem: &str) -> Result<CertificateFacts, String> {
        let name = self.name;
        let facts = certificate_facts(pem)
            .map_err(|error| format!("{key} of Secret {name} is not a PEM certificate ({error}); store it as PEM"))?;
        let rfc3339 = |at: OffsetDateTime| {
            at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
        };
        if facts.validity.not_after <= self.now {
            return Err(format!(
                "{key} of Secret {name} expired at {} (serial {}); put a renewed certificate in it",
                rfc3339(facts.validity.not_after),
                facts.serial
            ));
        }
        if facts.validity.not_before > self.now {
            return Err(format!(
                "{key} of Secret {name} is valid only from {} (serial {}); put a certificate valid now in it",
                rfc3339(facts.validity.not_before),
                facts.serial
            ));
        }
        Ok(facts)
    }

    /// The leaf certificate under `certificate_key` with the key under `key_key`: readable,
    /// valid now, signed by `ca` (or by a certificate of its own chain), the key its own.
    fn leaf(
        &self,
        certificate_key: &str,
        key_key: &str,
        ca: &str,
    ) -> Result<(KeyAndCertificate, CertificateFacts), Vec<String>> {
        let name = self.name;
        let (certificate_pem, private_key_pem) = match (self.text(certificate_key), self.text(key_key)) {
            (Ok(certificate), Ok(key)) => (certificate, key),
            (certificate, key) => return Err([certificate.err(), key.err()].into_iter().flatten().collect()),
        };
        let facts = self.certificate_facts(certificate_key, &certificate_pem).map_err(|problem| vec![problem])?;
        let mut problems = Vec::new();
        let chain = format!("{ca}\n{certificate_pem}");
        match signed_by_any(&certificate_pem, &chain) {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "{certificate_key} of Secret {name} is not signed by {CA_CERTIFICATE} (nor by a certificate of its \
                 own chain); put the CA that signed it in {CA_CERTIFICATE}, or a certificate that CA signed in \
                 {certificate_key}"
            )),
            Err(error) => problems.push(format!("{CA_CERTIFICATE} of Secret {name}: {error}; store it as PEM")),
        }
        let stored = KeyAndCertificate { certificate_pem, private_key_pem };
        match key_matches(&stored) {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "{key_key} of Secret {name} is not the key of {certificate_key} (serial {}); put the certificate's \
                 own key in it",
                facts.serial
            )),
            Err(error) => problems.push(format!(
                "{key_key} of Secret {name} cannot be read ({error}); store it unencrypted as PKCS#8 PEM \
                 (openssl pkcs8 -topk8 -nocrypt)"
            )),
        }
        if problems.is_empty() { Ok((stored, facts)) } else { Err(problems) }
    }
}

#[cfg(test)]
#[path = "user_certificates_tests.rs"]
mod tests;
