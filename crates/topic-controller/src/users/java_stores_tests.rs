//! The stores are read back the way the JVM reads them (integrity digest, key protector); the
//! reader is first checked against a store `keytool` made (testdata/keytool-golden.jks:
//! `keytool -genkeypair -keyalg EC -alias golden -dname CN=golden -storetype JKS
//! -storepass changeit -keypass changeit`), so reader and writer cannot share a mistake.

use super::*;

const GOLDEN: &[u8] = include_bytes!("testdata/keytool-golden.jks");

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        slice
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    fn utf(&mut self) -> String {
        let len = u16::from_be_bytes(self.take(2).try_into().expect("2 bytes"));
        String::from_utf8(self.take(usize::from(len)).to_vec()).expect("ASCII")
    }
}

/// One entry as read: alias, the unprotected PKCS#8 key (key entries), the certificates.
type Entry = (String, Option<Vec<u8>>, Vec<Vec<u8>>);

/// What a JVM reads, entry by entry; panics where the JVM would refuse the store.
fn read(store: &[u8], password: &str) -> Vec<Entry> {
    let (body, digest_bytes) = store.split_at(store.len() - SHA1_LEN);
    let expected = sha1(&[&password_bytes(password), INTEGRITY_PHRASE, body]);
    assert_eq!(digest_bytes, expected.as_slice(), "integrity digest");
    let mut reader = Reader { bytes: body, at: 0 };
    assert_eq!((reader.u32(), reader.u32()), (MAGIC, VERSION));
    let count = reader.u32();
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = reader.u32();
        let alias = reader.utf();
        reader.take(8);
        let certificate = |reader: &mut Reader<'_>| {
            assert_eq!(reader.utf(), CERTIFICATE_TYPE);
            let len = reader.u32() as usize;
            reader.take(len).to_vec()
        };
        if tag == PRIVATE_KEY_ENTRY {
            let len = reader.u32() as usize;
            let key = unprotect(reader.take(len), password);
            let chain = (0..reader.u32()).map(|_| certificate(&mut reader)).collect();
            entries.push((alias, Some(key), chain));
        } else {
            assert_eq!(tag, TRUSTED_CERTIFICATE_ENTRY);
            entries.push((alias, None, vec![certificate(&mut reader)]));
        }
    }
    assert_eq!(reader.at, body.len(), "nothing after the entries");
    entries
}

/// Sun's KeyProtector.recover: the algorithm named, the key XORed back, the check verified.
fn unprotect(info: &[u8], password: &str) -> Vec<u8> {
    let algorithm_at = info.windows(KEY_PROTECTOR_ALGORITHM.len()).position(|w| w == KEY_PROTECTOR_ALGORITHM);
    let algorithm_at = algorithm_at.expect("Sun's key protector");
    let mut at = algorithm_at + KEY_PROTECTOR_ALGORITHM.len();
    assert_eq!(info[at], 0x04, "an OCTET STRING");
    at += 1;
    let len = match info[at] {
        0x81 => {
            at += 2;
            usize::from(info[at - 1])
        }
        0x82 => {
            at += 3;
            usize::from(u16::from_be_bytes([info[at - 2], info[at - 1]]))
        }
        short => {
            at += 1;
            usize::from(short)
        }
    };
    let blob = &info[at..at + len];
    let (salt, rest) = blob.split_at(SHA1_LEN);
    let (encrypted, check) = rest.split_at(rest.len() - SHA1_LEN);
    let password = password_bytes(password);
    let mut block = salt.to_vec();
    let mut stream = Vec::new();
    while stream.len() < encrypted.len() {
        block = sha1(&[&password, &block]);
        stream.extend(&block);
    }
    let plain: Vec<u8> = encrypted.iter().zip(&stream).map(|(e, s)| e ^ s).collect();
    assert_eq!(check, sha1(&[&password, &plain]).as_slice(), "the key protector's check");
    plain
}

#[test]
fn the_reader_reads_what_keytool_wrote() {
    let entries = read(GOLDEN, "changeit");
    assert_eq!(entries.len(), 1);
    let (alias, key, chain) = &entries[0];
    assert_eq!(alias, "golden");
    let key = key.as_ref().expect("a private key entry");
    assert_eq!(key[0], 0x30, "PKCS#8 is a DER SEQUENCE");
    assert_eq!(chain.len(), 1);
}

#[test]
#[should_panic(expected = "integrity digest")]
fn a_wrong_password_is_refused_as_the_jvm_refuses_it() {
    read(GOLDEN, "not-the-password");
}

#[test]
fn our_stores_read_back_with_the_key_and_certificates_we_put_in() {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["a.example".to_owned()]).expect("params");
    let certificate = params.self_signed(&key).expect("certificate").der().to_vec();
    let key_der = key.serialize_der();
    let store = key_store(
        "example",
        &key_der,
        std::slice::from_ref(&certificate),
        "pässword",
        1_700_000_000_000,
        [7; SHA1_LEN],
    );
    let entries = read(&store, "pässword");
    assert_eq!(entries, [("example".to_owned(), Some(key_der), vec![certificate.clone()])]);

    let trust = trust_store(&[certificate.clone(), certificate.clone()], "pw", 0);
    let entries = read(&trust, "pw");
    assert_eq!(entries.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["ca", "ca-1"]);
    assert!(entries.iter().all(|e| e.1.is_none() && e.2 == [certificate.clone()]));
}
