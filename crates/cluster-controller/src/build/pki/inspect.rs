//! What a stored certificate is worth: read the PEM a Secret holds and decide, purely, whether
//! it still serves or must be issued again, and when it must be renewed.

use std::collections::BTreeSet;
use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::PkiError;
use super::operator_ca::{CertificateAuthority, KeyAndCertificate, LeafRequest, Validity};

/// What a certificate says, as far as the operator cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    pub validity: Validity,
    pub common_name: Option<String>,
    pub dns_names: BTreeSet<String>,
    pub ip_addresses: BTreeSet<IpAddr>,
    /// The serial number in lower-case hex, to show which certificate a broker presents.
    pub serial: String,
    pub is_ca: bool,
}

/// When a certificate is due for renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Now: less than a third of its lifetime is left (or it has expired).
    Due,
    /// Not before this time.
    At(OffsetDateTime),
}

/// cert-manager's default: renew once two thirds of the lifetime have passed (its `renewBefore`
/// defaults to a third of the duration), which leaves a 90-day certificate 30 days of retries.
pub fn renewal(validity: Validity, now: OffsetDateTime) -> Renewal {
    let lifetime = validity.not_after - validity.not_before;
    let renew_at = validity.not_after - lifetime / 3;
    if now >= renew_at { Renewal::Due } else { Renewal::At(renew_at) }
}

/// Why a stored leaf certificate must be issued again, or when it will need renewing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafVerdict {
    /// Serves until it is renewed at `renew_at`.
    Valid { renew_at: OffsetDateTime },
    /// Nothing stored yet.
    Missing,
    /// The stored certificate or key cannot be read.
    Unreadable(String),
    /// The stored key is not the certificate's.
    KeyMismatch,
    /// Signed by another CA than the current one (e.g. the CA was replaced).
    OtherIssuer,
    /// Its names are not the ones clients use now (e.g. a broker was added).
    NamesChanged { missing: Vec<String>, unexpected: Vec<String> },
    /// Less than a third of its lifetime left.
    RenewalDue,
}

impl LeafVerdict {
    pub fn must_issue(&self) -> bool {
        !matches!(self, Self::Valid { .. })
    }
}

/// Reads the first certificate of a PEM text.
pub fn certificate_facts(certificate_pem: &str) -> Result<CertificateFacts, PkiError> {
    let pem = first_certificate(certificate_pem)?;
    let certificate = parse(&pem)?;
    let validity = Validity {
        not_before: certificate.validity().not_before.to_datetime(),
        not_after: certificate.validity().not_after.to_datetime(),
    };
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|attribute| attribute.as_str().ok())
        .map(str::to_string);
    let (dns_names, ip_addresses) = subject_names(&certificate);
    Ok(CertificateFacts {
        validity,
        common_name,
        dns_names,
        ip_addresses,
        serial: certificate.raw_serial().iter().map(|byte| format!("{byte:02x}")).collect(),
        is_ca: certificate.is_ca(),
    })
}

/// Whether `stored` (a Secret's `tls.crt` and `tls.key`) still serves `wanted` under `ca` at
/// `now`. The order of the checks is the order of their remedies' urgency: anything but
/// [`LeafVerdict::Valid`] means issuing a new certificate.
pub fn inspect_leaf(
    stored: Option<&KeyAndCertificate>,
    ca: &CertificateAuthority,
    wanted: &LeafRequest,
    now: OffsetDateTime,
) -> LeafVerdict {
    let Some(stored) = stored else {
        return LeafVerdict::Missing;
    };
    let facts = match certificate_facts(&stored.certificate_pem) {
        Ok(facts) => facts,
        Err(error) => return LeafVerdict::Unreadable(error.to_string()),
    };
    match key_matches(stored) {
        Ok(true) => {}
        Ok(false) => return LeafVerdict::KeyMismatch,
        Err(error) => return LeafVerdict::Unreadable(error.to_string()),
    }
    match signed_by(&stored.certificate_pem, &ca.pem().certificate_pem) {
        Ok(true) => {}
        Ok(false) => return LeafVerdict::OtherIssuer,
        Err(error) => return LeafVerdict::Unreadable(error.to_string()),
    }
    // DNS names and IP addresses alike: what clients verify the holder by.
    let names = |dns: &mut dyn Iterator<Item = &String>, ips: &mut dyn Iterator<Item = &IpAddr>| -> BTreeSet<String> {
        dns.cloned().chain(ips.map(IpAddr::to_string)).collect()
    };
    let wanted_names = names(&mut wanted.dns_names.iter(), &mut wanted.ip_addresses.iter());
    let held_names = names(&mut facts.dns_names.iter(), &mut facts.ip_addresses.iter());
    if held_names != wanted_names || facts.common_name.as_deref() != Some(wanted.common_name.as_str()) {
        return LeafVerdict::NamesChanged {
            missing: wanted_names.difference(&held_names).cloned().collect(),
            unexpected: held_names.difference(&wanted_names).cloned().collect(),
        };
    }
    match renewal(facts.validity, now) {
        Renewal::Due => LeafVerdict::RenewalDue,
        Renewal::At(renew_at) => LeafVerdict::Valid { renew_at },
    }
}

/// Whether the private key is the one the certificate's public key belongs to.
pub fn key_matches(stored: &KeyAndCertificate) -> Result<bool, PkiError> {
    use rcgen::PublicKeyData;
    let key = rcgen::KeyPair::from_pem(&stored.private_key_pem).map_err(PkiError::ParseKey)?;
    let pem = first_certificate(&stored.certificate_pem)?;
    let certificate = parse(&pem)?;
    Ok(certificate.public_key().raw == key.subject_public_key_info().as_slice())
}

/// Whether the CA's key signed the certificate.
pub fn signed_by(certificate_pem: &str, ca_certificate_pem: &str) -> Result<bool, PkiError> {
    let leaf_pem = first_certificate(certificate_pem)?;
    let ca_pem = first_certificate(ca_certificate_pem)?;
    let leaf = parse(&leaf_pem)?;
    let ca = parse(&ca_pem)?;
    Ok(leaf.verify_signature(Some(ca.public_key())).is_ok())
}

/// Whether any certificate of `bundle_pem` (a CA file, one or more PEM certificates) signed the
/// first certificate of `certificate_pem`; an error when the bundle holds no certificate.
pub fn signed_by_any(certificate_pem: &str, bundle_pem: &str) -> Result<bool, PkiError> {
    let leaf_pem = first_certificate(certificate_pem)?;
    let leaf = parse(&leaf_pem)?;
    let mut found = false;
    for pem in Pem::iter_from_buffer(bundle_pem.as_bytes()) {
        let pem = pem.map_err(|error| PkiError::ReadCertificate(format!("not PEM: {error}")))?;
        if pem.label != "CERTIFICATE" {
            continue;
        }
        found = true;
        if leaf.verify_signature(Some(parse(&pem)?.public_key())).is_ok() {
            return Ok(true);
        }
    }
    if !found {
        return Err(PkiError::ReadCertificate("no PEM CERTIFICATE block".to_string()));
    }
    Ok(false)
}

fn first_certificate(certificate_pem: &str) -> Result<Pem, PkiError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes())
        .map_err(|error| PkiError::ReadCertificate(format!("not PEM: {error}")))?;
    if pem.label != "CERTIFICATE" {
        return Err(PkiError::ReadCertificate(format!("PEM block {:?}, not CERTIFICATE", pem.label)));
    }
    Ok(pem)
}

fn parse(pem: &Pem) -> Result<X509Certificate<'_>, PkiError> {
    pem.parse_x509().map_err(|error| PkiError::ReadCertificate(format!("not an X.509 certificate: {error}")))
}

/// The DNS names and IP addresses among the certificate's subject alternative names.
fn subject_names(certificate: &X509Certificate<'_>) -> (BTreeSet<String>, BTreeSet<IpAddr>) {
    let (mut dns_names, mut ip_addresses) = (BTreeSet::new(), BTreeSet::new());
    let Ok(Some(extension)) = certificate.subject_alternative_name() else {
        return (dns_names, ip_addresses);
    };
    for name in &extension.value.general_names {
        match name {
            GeneralName::DNSName(dns_name) => {
                dns_names.insert(dns_name.to_string());
            }
            GeneralName::IPAddress(bytes) => {
                let address = match bytes.len() {
                    4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                    _ => None,
                };
                ip_addresses.extend(address);
            }
            _ => {}
        }
    }
    (dns_names, ip_addresses)
}
