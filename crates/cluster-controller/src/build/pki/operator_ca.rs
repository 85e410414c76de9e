//! The operator's own CA (`sslSecrets.pkiBackend: operator-ca`), for clusters that do not run
//! cert-manager: a CA and the certificates signed by it, made here with rcgen.
//!
//! Pure: no client and no I/O; only key generation and serial numbers draw randomness. The
//! reconciler stores what this makes in Secrets ([`super::secrets`]) and asks
//! [`super::inspect`] whether what is stored still serves.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use super::PkiError;

/// How long the operator's CA is valid. Long, because replacing a CA means every client must
/// trust the new one first; leaves are renewed far more often.
pub const CA_LIFETIME: Duration = Duration::days(5 * 365);
/// How long broker and operator certificates are valid: Koperator's KafkaUser default (90 days),
/// which is also cert-manager's default duration.
pub const LEAF_LIFETIME: Duration = Duration::days(90);
/// Certificates start this much before "now", so a node whose clock is a little behind the
/// operator's does not reject a certificate that is not valid yet.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// When a certificate is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Valid from (a little before) `now` until `now + lifetime`.
    pub fn starting(now: OffsetDateTime, lifetime: Duration) -> Self {
        Self { not_before: now - CLOCK_SKEW, not_after: now + lifetime }
    }
}

/// A PEM certificate and its PKCS#8 PEM private key (the form Kafka's PEM key stores read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAndCertificate {
    pub certificate_pem: String,
    pub private_key_pem: String,
}

/// What a leaf certificate says about its holder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafRequest {
    /// The subject's only attribute: `CN=<common_name>` (the holder's Kafka principal).
    pub common_name: String,
    pub dns_names: Vec<String>,
    /// IP address SANs: the addresses external listeners advertise as IPs (a load balancer's).
    pub ip_addresses: Vec<std::net::IpAddr>,
    /// URI SANs (Koperator puts a SPIFFE ID in every certificate it requests).
    pub uris: Vec<String>,
}

/// A CA that can sign: its certificate and key.
pub struct CertificateAuthority {
    pem: KeyAndCertificate,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        formatter.debug_struct("CertificateAuthority").field("certificate_pem", &self.pem.certificate_pem).finish()
    }
}

impl CertificateAuthority {
    /// A new self-signed CA named `common_name`.
    pub fn generate(common_name: &str, validity: Validity) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::Generate)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_only(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.serial_number = Some(random_serial());
        let certificate = params.self_signed(&key).map_err(PkiError::Generate)?;
        let pem = KeyAndCertificate { certificate_pem: certificate.pem(), private_key_pem: key.serialize_pem() };
        Ok(Self { pem, issuer: Issuer::new(params, key) })
    }

    /// The CA stored earlier (a Secret's `tls.crt` and `tls.key`).
    pub fn from_pem(certificate_pem: &str, private_key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(private_key_pem).map_err(PkiError::ParseKey)?;
        let issuer = Issuer::from_ca_cert_pem(certificate_pem, key).map_err(PkiError::ParseCertificate)?;
        let pem = KeyAndCertificate {
            certificate_pem: certificate_pem.to_string(),
            private_key_pem: private_key_pem.to_string(),
        };
        Ok(Self { pem, issuer })
    }

    /// The CA's certificate and key, as stored.
    pub fn pem(&self) -> &KeyAndCertificate {
        &self.pem
    }

    /// A certificate for `request`, usable by servers and clients alike (as Koperator's: every
    /// broker is both to its peers), signed by this CA, with a new key.
    pub fn issue(&self, request: &LeafRequest, validity: Validity) -> Result<KeyAndCertificate, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::Generate)?;
        let certificate = leaf_params(request, validity)?.signed_by(&key, &self.issuer).map_err(PkiError::Generate)?;
        Ok(KeyAndCertificate { certificate_pem: certificate.pem(), private_key_pem: key.serialize_pem() })
    }

    /// A certificate for `request` on the public key of `csr_pem` (PKCS#10, its signature
    /// checked), whose holder keeps the private key. Only the key is taken from the CSR: the
    /// names are `request`'s, so a CSR cannot ask for more than the caller grants.
    pub fn sign_request(&self, csr_pem: &str, request: &LeafRequest, validity: Validity) -> Result<String, PkiError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(PkiError::ParseRequest)?;
        csr.params = leaf_params(request, validity)?;
        Ok(csr.signed_by(&self.issuer).map_err(PkiError::Generate)?.pem())
    }
}

/// A leaf usable by servers and clients alike, named as `request` says.
fn leaf_params(request: &LeafRequest, validity: Validity) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_only(&request.common_name);
    params.subject_alt_names = request
        .dns_names
        .iter()
        .map(|name| name.clone().try_into().map(SanType::DnsName))
        .chain(request.uris.iter().map(|uri| uri.clone().try_into().map(SanType::URI)))
        .chain(request.ip_addresses.iter().map(|ip| Ok(SanType::IpAddress(*ip))))
        .collect::<Result<_, _>>()
        .map_err(PkiError::Generate)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(random_serial());
    Ok(params)
}

/// A subject of `CN=<common_name>` alone, as cert-manager writes it, so Kafka's principal is
/// `User:CN=<common_name>` whichever backend issued the certificate.
fn common_name_only(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// 16 random bytes, first bit clear (a serial is a positive integer): without one, rcgen derives
/// the serial from the public key, and RFC 5280 wants serials unique per CA.
fn random_serial() -> SerialNumber {
    let mut bytes = uuid::Uuid::new_v4().into_bytes().to_vec();
    bytes[0] &= 0x7f;
    SerialNumber::from(bytes)
}
