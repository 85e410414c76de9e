use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use super::*;
use crd_types::KafkaUserSpec;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca() -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).expect("CA").pem();
    Ca { pem, issuer: Issuer::new(params, key) }
}

/// A certificate as the cluster controller signs it: valid from five minutes before `issued`.
fn leaf(ca: &Ca, common_name: &str, dns: &[&str], issued: i64, seconds: i64) -> String {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(dns.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>()).expect("params");
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.not_before = time(issued - CLOCK_SKEW_SECONDS);
    params.not_after = time(issued + seconds);
    params.signed_by(&key, &ca.issuer).expect("leaf").pem()
}

fn time(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(seconds).expect("valid time")
}

fn user(spec: KafkaUserSpec) -> UserRequest {
    let mut user = KafkaUser::new("alice", spec);
    user.metadata.namespace = Some("ns".into());
    user.metadata.uid = Some("uid-alice".into());
    UserRequest::from_resource(&user)
}

fn spec(seconds: i32, dns: &[&str]) -> KafkaUserSpec {
    KafkaUserSpec {
        secret_name: "alice-tls".into(),
        expiration_seconds: Some(seconds),
        dns_names: dns.iter().map(|d| (*d).to_owned()).collect(),
        ..Default::default()
    }
}

fn stored(ca_pem: &str, certificate: &str, owner: &str) -> StoredSecret {
    let data: BTreeMap<String, String> = [
        (secret_keys::CA_CERT.to_owned(), ca_pem.to_owned()),
        (secret_keys::CERT.to_owned(), certificate.to_owned()),
        (secret_keys::KEY.to_owned(), "KEY".to_owned()),
    ]
    .into();
    StoredSecret {
        owner_uids: vec![owner.into()],
        keys: data.keys().cloned().collect(),
        data,
        certificate_name: None,
        scram_digest: None,
    }
}

#[test]
fn a_fresh_certificate_of_the_spec_serves() {
    let ca = ca();
    let user = user(spec(30 * DAY as i32, &["b.example", "a.example"]));
    let certificate = leaf(&ca, "alice", &["a.example", "b.example"], NOW, 30 * DAY);
    let verdict = verdict(&user, Some(&stored(&ca.pem, &certificate, "uid-alice")), &ca.pem, NOW + DAY);
    assert_eq!(verdict, Verdict::Valid { not_after: NOW + 30 * DAY });
}

#[test]
fn it_is_issued_again_when_anything_it_depends_on_changed() {
    let ca = ca();
    let user = user(spec(30 * DAY as i32, &[]));
    let good = leaf(&ca, "alice", &[], NOW, 30 * DAY);
    let judge = |stored: Option<&StoredSecret>, bundle: &str, now: i64| match verdict(&user, stored, bundle, now) {
        Verdict::Issue(why) => why,
        other => panic!("{other:?}"),
    };
    assert_eq!(judge(None, &ca.pem, NOW), "no certificate yet");
    let secret = stored(&ca.pem, &good, "uid-alice");
    // A third of 30 days (and 5 minutes) left: cert-manager's default renewal point.
    assert!(judge(Some(&secret), &ca.pem, NOW + 20 * DAY).starts_with("renewal due"));
    assert_eq!(judge(Some(&secret), &self::ca().pem, NOW), "the cluster's CA changed");
    let other_name = stored(&ca.pem, &leaf(&ca, "bob", &[], NOW, 30 * DAY), "uid-alice");
    assert_eq!(judge(Some(&other_name), &ca.pem, NOW), "its common name is bob");
    let with_dns = stored(&ca.pem, &leaf(&ca, "alice", &["x.example"], NOW, 30 * DAY), "uid-alice");
    assert_eq!(judge(Some(&with_dns), &ca.pem, NOW), "spec.dnsNames changed");
    let shorter = stored(&ca.pem, &leaf(&ca, "alice", &[], NOW, DAY), "uid-alice");
    assert_eq!(judge(Some(&shorter), &ca.pem, NOW), "spec.expirationSeconds changed");
    let mut no_key = secret.clone();
    no_key.keys.retain(|key| key != secret_keys::KEY);
    assert!(judge(Some(&no_key), &ca.pem, NOW).contains("lacks"));
    let mut with_jks = user.clone();
    with_jks.spec.include_jks = Some(true);
    assert_eq!(
        verdict(&with_jks, Some(&secret), &ca.pem, NOW),
        Verdict::Issue("spec.includeJKS: the Java key stores are missing".into())
    );
    let mut garbage = secret.clone();
    garbage.data.insert(secret_keys::CERT.into(), "garbage".into());
    assert!(judge(Some(&garbage), &ca.pem, NOW).starts_with("tls.crt cannot be read"));
}

#[test]
fn a_secret_of_someone_else_is_never_taken() {
    let ca = ca();
    let user = user(spec(30 * DAY as i32, &[]));
    let theirs = stored(&ca.pem, &leaf(&ca, "alice", &[], NOW, 30 * DAY), "uid-of-another-owner");
    assert_eq!(verdict(&user, Some(&theirs), &ca.pem, NOW), Verdict::Foreign);
}

#[test]
fn the_secret_is_owned_by_the_user_and_laid_out_as_koperators() {
    let user = user(spec(3600, &[]));
    let secret = user_secret(&user, "CA", "CERT", "KEY", None);
    let keys: Vec<&String> = secret.data.as_ref().expect("data").keys().collect();
    assert_eq!(keys, ["ca.crt", "tls.crt", "tls.key"]);
    let java = JavaStores { keystore: vec![1], truststore: vec![2], password: "pw".into() };
    let with_jks = user_secret(&user, "CA", "CERT", "KEY", Some(&java));
    let keys: Vec<&String> = with_jks.data.as_ref().expect("data").keys().collect();
    assert_eq!(keys, ["ca.crt", "keystore.jks", "password", "tls.crt", "tls.key", "truststore.jks"]);
    assert_eq!(StoredSecret::from_secret(&with_jks).keys.len(), 6);
    let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str(), owner.controller), ("KafkaUser", "uid-alice", Some(true)));
    assert_eq!(StoredSecret::from_secret(&secret).owner_uids, ["uid-alice"]);
}

#[test]
fn the_cert_manager_certificate_is_koperators_and_matches_itself_once_stored() {
    let mut user = user(spec(7200, &["alice.example"]));
    user.spec.annotations = [("team".to_owned(), "a".to_owned())].into();
    let issuer = UserIssuer::CertManager {
        name: "ns-kafka-issuer".into(),
        kind: "ClusterIssuer".into(),
        group: "cert-manager.io".into(),
    };
    let desired = cert_manager_certificate(&user, &issuer).expect("a Certificate");
    assert_eq!(desired["metadata"]["name"], "alice");
    assert_eq!(desired["metadata"]["annotations"]["team"], "a");
    let spec = &desired["spec"];
    assert_eq!(spec["secretName"], "alice-tls");
    assert_eq!(spec["commonName"], "alice");
    assert_eq!(spec["duration"], "7200s");
    assert_eq!(spec["issuerRef"]["name"], "ns-kafka-issuer");
    assert_eq!(spec["dnsNames"], json!(["alice.example"]));
    assert_eq!(cert_manager_certificate(&user, &UserIssuer::OperatorCa), None, "the operator's CA needs none");

    let mut stored = desired.clone();
    stored["metadata"]["uid"] = json!("x");
    stored["status"] = json!({"ready": true});
    assert!(certificate_matches(&stored, &desired));
    stored["spec"]["duration"] = json!("60s");
    assert!(!certificate_matches(&stored, &desired), "an edit is set back");
}
