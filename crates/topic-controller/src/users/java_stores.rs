//! Java key stores for `includeJKS: true`: `keystore.jks` (the user's key and certificate) and
//! `truststore.jks` (the CA certificates), in Sun's JKS format, which every JVM reads and
//! Koperator writes (pure; no client, randomness passed in).
//!
//! No JKS writer exists among the crates this workspace uses, and the format is small: a
//! header, the entries, and a SHA-1 over the password, the JVM's fixed phrase "Mighty
//! Aphrodite" and everything before it. The private key is protected as the JVM's
//! `KeyProtector` does: a SHA-1 key stream from a salt XORed over the PKCS#8 key, followed by
//! a SHA-1 check of password and key. (SHA-1 is what the format prescribes, not a choice.)

use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, digest};
use ring::rand::{SecureRandom, SystemRandom};

const MAGIC: u32 = 0xFEED_FEED;
const VERSION: u32 = 2;
const PRIVATE_KEY_ENTRY: u32 = 1;
const TRUSTED_CERTIFICATE_ENTRY: u32 = 2;
const CERTIFICATE_TYPE: &str = "X.509";
const INTEGRITY_PHRASE: &[u8] = b"Mighty Aphrodite";
/// DER of AlgorithmIdentifier { 1.3.6.1.4.1.42.2.17.1.1 (Sun's key protector), NULL }.
const KEY_PROTECTOR_ALGORITHM: [u8; 16] =
    [0x30, 0x0e, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01, 0x05, 0x00];
const SHA1_LEN: usize = 20;
/// Characters of a generated store password: any JVM tool and shell takes them unquoted.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// The three keys `includeJKS` adds to the user's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaStores {
    pub keystore: Vec<u8>,
    pub truststore: Vec<u8>,
    pub password: String,
}

/// A new random password for the stores.
pub fn new_password() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| char::from(PASSWORD_ALPHABET[usize::from(*b) % PASSWORD_ALPHABET.len()])).collect())
}

/// Both stores for a key and its certificate, trusting `ca_certificates_der`, under a new
/// random password (as Koperator, one password for both stores and the key).
pub fn java_stores(
    alias: &str,
    key_pkcs8_der: &[u8],
    certificate_der: &[u8],
    ca_certificates_der: &[Vec<u8>],
    created_ms: u64,
) -> Result<JavaStores, ring::error::Unspecified> {
    let random = SystemRandom::new();
    let mut salt = [0; SHA1_LEN];
    random.fill(&mut salt)?;
    let password = new_password()?;
    Ok(JavaStores {
        keystore: key_store(alias, key_pkcs8_der, &[certificate_der.to_vec()], &password, created_ms, salt),
        truststore: trust_store(ca_certificates_der, &password, created_ms),
        password,
    })
}

/// A key store holding one private key entry: `key_pkcs8_der` with its certificate chain (leaf
/// first), protected by `password` as the store is.
pub fn key_store(
    alias: &str,
    key_pkcs8_der: &[u8],
    chain_der: &[Vec<u8>],
    password: &str,
    created_ms: u64,
    salt: [u8; SHA1_LEN],
) -> Vec<u8> {
    let mut out = header(1);
    put_u32(&mut out, PRIVATE_KEY_ENTRY);
    put_utf(&mut out, alias);
    out.extend(created_ms.to_be_bytes());
    let protected = protect_key(key_pkcs8_der, password, salt);
    put_u32(&mut out, length(protected.len()));
    out.extend(protected);
    put_u32(&mut out, length(chain_der.len()));
    for certificate in chain_der {
        put_certificate(&mut out, certificate);
    }
    seal(out, password)
}

/// A trust store holding each of `certificates_der` as a trusted certificate entry: `ca` (as
/// cert-manager names it), then `ca-1`, `ca-2`... (two while the cluster's CA is replaced).
pub fn trust_store(certificates_der: &[Vec<u8>], password: &str, created_ms: u64) -> Vec<u8> {
    let mut out = header(certificates_der.len());
    for (index, certificate) in certificates_der.iter().enumerate() {
        put_u32(&mut out, TRUSTED_CERTIFICATE_ENTRY);
        put_utf(&mut out, &if index == 0 { "ca".to_owned() } else { format!("ca-{index}") });
        out.extend(created_ms.to_be_bytes());
        put_certificate(&mut out, certificate);
    }
    seal(out, password)
}

fn header(entries: usize) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, length(entries));
    out
}

/// The JVM keeps passwords as UTF-16 chars and hashes each as two bytes, big-endian.
fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn seal(mut store: Vec<u8>, password: &str) -> Vec<u8> {
    let mut context = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    context.update(&password_bytes(password));
    context.update(INTEGRITY_PHRASE);
    context.update(&store);
    store.extend(context.finish().as_ref());
    store
}

/// `EncryptedPrivateKeyInfo` of the JVM's key protector: salt ‖ key XOR stream ‖ check.
fn protect_key(plain: &[u8], password: &str, salt: [u8; SHA1_LEN]) -> Vec<u8> {
    let password = password_bytes(password);
    let mut stream = Vec::with_capacity(plain.len() + SHA1_LEN);
    let mut block = salt.to_vec();
    while stream.len() < plain.len() {
        block = sha1(&[&password, &block]);
        stream.extend(&block);
    }
    let mut blob = salt.to_vec();
    blob.extend(plain.iter().zip(&stream).map(|(k, s)| k ^ s));
    blob.extend(sha1(&[&password, plain]));
    let mut octets = vec![0x04];
    put_der_length(&mut octets, blob.len());
    octets.extend(blob);
    let mut info = vec![0x30];
    put_der_length(&mut info, KEY_PROTECTOR_ALGORITHM.len() + octets.len());
    info.extend(KEY_PROTECTOR_ALGORITHM);
    info.extend(octets);
    info
}

fn sha1(parts: &[&[u8]]) -> Vec<u8> {
    let joined: Vec<u8> = parts.concat();
    digest(&SHA1_FOR_LEGACY_USE_ONLY, &joined).as_ref().to_vec()
}

fn put_certificate(out: &mut Vec<u8>, der: &[u8]) {
    put_utf(out, CERTIFICATE_TYPE);
    put_u32(out, length(der.len()));
    out.extend(der);
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend(value.to_be_bytes());
}

/// Java's `writeUTF` for ASCII text (aliases and "X.509" are).
fn put_utf(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.extend(u16::try_from(bytes.len()).expect("an alias is short").to_be_bytes());
    out.extend(bytes);
}

fn length(len: usize) -> u32 {
    u32::try_from(len).expect("a certificate or key is far below 4 GiB")
}

fn put_der_length(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7f => out.push(u8::try_from(len).expect("checked")),
        0x80..=0xff => out.extend([0x81, u8::try_from(len).expect("checked")]),
        _ => out.extend([0x82].into_iter().chain(u16::try_from(len).expect("a key is short").to_be_bytes())),
    }
}

#[cfg(test)]
#[path = "java_stores_tests.rs"]
mod tests;
