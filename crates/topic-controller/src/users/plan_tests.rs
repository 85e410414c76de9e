use crd_types::kafka_user::{AccessType, KAFKA_USER_FINALIZER, PatternType, PkiBackendSpec, UserTopicGrant};
use crd_types::{KafkaUser, KafkaUserSpec};
use kafka_admin::AclOperation;

use super::*;
use crate::user_acls::diff::bindings_by_principal;
use crate::users::credentials::CredentialsObserved;

fn cluster() -> ClusterKey {
    ClusterKey { namespace: "kafka".into(), name: "kafka".into() }
}

fn grant(topic: &str, access_type: AccessType) -> UserTopicGrant {
    UserTopicGrant { topic_name: topic.into(), access_type, pattern_type: None }
}

fn user(namespace: &str, name: &str, grants: Vec<UserTopicGrant>) -> UserRequest {
    let spec = KafkaUserSpec { secret_name: format!("{name}-tls"), topic_grants: grants, ..Default::default() };
    let mut user = KafkaUser::new(name, spec);
    user.spec.cluster_ref.name = "kafka".into();
    user.spec.cluster_ref.namespace = Some("kafka".into());
    user.metadata.namespace = Some(namespace.into());
    user.metadata.uid = Some(format!("uid-{namespace}-{name}"));
    user.metadata.finalizers = Some(vec![KAFKA_USER_FINALIZER.into()]);
    user.metadata.labels = Some([("kafka_cr".to_owned(), "kafka".to_owned())].into());
    UserRequest::from_resource(&user)
}

fn key(namespace: &str, name: &str) -> ResourceKey {
    ResourceKey { namespace: namespace.into(), name: name.into() }
}

fn operator_ca() -> Reach {
    Reach::Ready { issuer: Some(UserIssuer::OperatorCa), ca_bundle: Some("CA".into()) }
}

struct World {
    reach: Reach,
    acls: AclView,
    secrets: BTreeMap<ResourceKey, Option<StoredSecret>>,
    certificates: BTreeMap<ResourceKey, Option<Value>>,
    credentials: CredentialsObserved,
}

impl World {
    fn new(bindings: Vec<AclBinding>) -> Self {
        Self {
            reach: operator_ca(),
            acls: AclView::Read(bindings_by_principal(bindings)),
            secrets: BTreeMap::new(),
            certificates: BTreeMap::new(),
            credentials: CredentialsObserved::default(),
        }
    }

    fn plan(&self, users: &[&UserRequest]) -> Plan {
        let cluster = cluster();
        let observed = Observed {
            cluster: &cluster,
            reach: &self.reach,
            acls: &self.acls,
            secrets: &self.secrets,
            certificates: &self.certificates,
            credentials: &self.credentials,
            now: 1_800_000_000,
        };
        plan(users, &observed)
    }
}

/// A SCRAM user's grants bind its certificate's principal and `User:<name>`; deleting it waits
/// for its credential to go from Kafka.
#[test]
fn a_scram_user_binds_both_principals_and_goes_after_its_credential() {
    let mut carol = user("app", "carol", vec![grant("orders", AccessType::Write)]);
    carol.spec.scram = Some(Default::default());
    carol.spec.create_cert = Some(false);
    let mut world = World::new(vec![]);
    world.credentials.scram = crate::users::credentials::ScramView::Read(BTreeSet::new());
    let plan = world.plan(&[&carol]);
    let principals: BTreeSet<&str> = plan.acl_changes.create.iter().map(|b| b.principal.as_str()).collect();
    assert_eq!(principals, ["User:CN=carol", "User:carol"].into());
    assert_eq!(plan.outcomes[&key("app", "carol")].acls.len(), 8, "4 bindings per principal");

    carol.deleting = true;
    let mut world = World::new(vec![]);
    world.credentials.scram = crate::users::credentials::ScramView::Read(["carol".to_owned()].into());
    let plan = world.plan(&[&carol]);
    assert_eq!(plan.credentials.deletes, ["carol"]);
    assert!(plan.releases.is_empty(), "the finalizer stays until the credential is gone");
    world.credentials.scram = crate::users::credentials::ScramView::Read(BTreeSet::new());
    assert_eq!(world.plan(&[&carol]).releases, [key("app", "carol")]);
}

fn bindings_of(user: &UserRequest) -> Vec<AclBinding> {
    desired_bindings(&user.principal, &user.spec.topic_grants).expect("valid").into_iter().collect()
}

#[test]
fn a_new_user_gets_its_finalizer_label_acls_and_certificate() {
    let mut alice = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    alice.finalizers.clear();
    alice.labels.clear();
    let plan = World::new(vec![]).plan(&[&alice]);
    assert_eq!(plan.finalizers_to_add, [key("app", "alice")]);
    assert_eq!(plan.labels_to_set, [key("app", "alice")]);
    assert_eq!(plan.acl_changes.create, bindings_of(&alice));
    assert_eq!(plan.issue, [(key("app", "alice"), "no certificate yet".to_owned())]);
    let outcome = &plan.outcomes[&key("app", "alice")];
    assert_eq!(outcome.acls.len(), 4);
    assert!(!outcome.ready() && plan.retry_soon());
}

#[test]
fn a_dropped_grant_and_a_hand_made_binding_are_deleted_and_nothing_else_is_written() {
    let before = user("app", "alice", vec![grant("orders", AccessType::Read), grant("audit", AccessType::Write)]);
    let after = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    let mut hand_made = bindings_of(&after)[0].clone();
    hand_made.operation = AclOperation::Alter;
    let mut observed = bindings_of(&before);
    observed.push(hand_made.clone());
    let plan = World::new(observed).plan(&[&after]);
    assert!(plan.acl_changes.create.is_empty());
    assert_eq!(plan.acl_changes.delete.len(), 5, "audit's four and the hand-made one");
    assert!(plan.acl_changes.delete.contains(&hand_made));
    assert!(plan.finalizers_to_add.is_empty() && plan.labels_to_set.is_empty());
}

#[test]
fn createcert_false_is_acls_only_and_an_in_sync_user_is_ready() {
    let mut alice = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    alice.spec.create_cert = Some(false);
    let plan = World::new(bindings_of(&alice)).plan(&[&alice]);
    assert_eq!(plan, Plan { outcomes: plan.outcomes.clone(), ..Plan::default() }, "nothing to do");
    assert!(plan.outcomes[&key("app", "alice")].ready());
    assert!(!plan.retry_soon());
}

#[test]
fn users_of_one_name_share_a_principal_and_its_bindings() {
    let first = user("team-a", "alice", vec![grant("orders", AccessType::Read)]);
    let mut second = user("team-b", "alice", vec![grant("orders", AccessType::Read)]);
    second.deleting = true;
    let plan = World::new(bindings_of(&first)).plan(&[&first, &second]);
    assert!(plan.acl_changes.is_empty(), "team-a still wants every binding: {:?}", plan.acl_changes);
    assert_eq!(plan.outcomes[&key("team-a", "alice")].shared_with, [key("team-b", "alice")]);
    assert_eq!(plan.releases, [key("team-b", "alice")], "its ACLs are no longer its own to remove");
}

#[test]
fn a_deleted_user_keeps_its_finalizer_until_acls_and_secret_are_gone() {
    let mut alice = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    alice.deleting = true;
    let mut world = World::new(bindings_of(&alice));
    let owned = StoredSecret {
        owner_uids: vec![alice.uid.clone()],
        data: BTreeMap::new(),
        keys: vec![],
        certificate_name: None,
        scram_digest: None,
    };
    world.secrets.insert(key("app", "alice"), Some(owned));
    let plan = world.plan(&[&alice]);
    assert_eq!(plan.acl_changes.delete, bindings_of(&alice));
    assert_eq!(plan.cleanups[0].1.secret.as_deref(), Some("alice-tls"));
    assert!(plan.releases.is_empty(), "never before its ACLs are gone");

    let mut world = World::new(vec![]);
    world.secrets.insert(key("app", "alice"), None);
    assert_eq!(world.plan(&[&alice]).releases, [key("app", "alice")]);

    let mut unread = World::new(vec![]);
    unread.acls = AclView::Unread("timed out".into());
    let plan = unread.plan(&[&alice]);
    assert!(plan.releases.is_empty(), "ACLs not read: not known to be gone");
    unread.reach = Reach::Gone;
    assert_eq!(unread.plan(&[&alice]).releases, [key("app", "alice")], "no cluster, no ACL");
}

#[test]
fn an_invalid_grant_changes_no_acl_and_names_the_field() {
    let before = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    let mut broken = before.clone();
    broken.spec.topic_grants.push(UserTopicGrant {
        topic_name: "x".into(),
        access_type: AccessType::Read,
        pattern_type: Some(PatternType::Match),
    });
    let plan = World::new(bindings_of(&before)).plan(&[&broken]);
    assert!(plan.acl_changes.is_empty(), "a typo must not revoke what was granted");
    let problem = &plan.outcomes[&key("app", "alice")].problems[0];
    assert_eq!(problem.reason, "InvalidGrant");
    assert!(problem.message.starts_with("spec.topicGrants[1].patternType"), "{}", problem.message);
}

#[test]
fn a_cluster_without_tls_says_so_and_still_sets_acls() {
    let alice = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    let mut world = World::new(vec![]);
    world.reach = Reach::Ready { issuer: None, ca_bundle: None };
    let plan = world.plan(&[&alice]);
    let problem = &plan.outcomes[&key("app", "alice")].problems[0];
    assert_eq!(problem.reason, "NoTlsListener");
    assert!(problem.message.starts_with("spec.createCert: KafkaCluster kafka/kafka has no TLS listener"));
    assert!(plan.issue.is_empty());
    assert_eq!(plan.acl_changes.create.len(), 4);
}

#[test]
fn no_authorizer_unsupported_fields_and_k8s_csr_are_named() {
    let mut alice = user("app", "alice", vec![grant("orders", AccessType::Read)]);
    alice.spec.include_jks = Some(true);
    alice.spec.pki_backend_spec = Some(PkiBackendSpec { pki_backend: UserPkiBackend::K8sCsr, ..Default::default() });
    let mut world = World::new(vec![]);
    world.acls = AclView::NoAuthorizer;
    let plan = world.plan(&[&alice]);
    assert!(plan.acl_changes.is_empty());
    let outcome = &plan.outcomes[&key("app", "alice")];
    let reasons: Vec<&str> = outcome.problems.iter().map(|p| p.reason).collect();
    assert_eq!(reasons, ["NoAuthorizer", "UnsupportedPkiBackend"]);
    assert!(outcome.unsupported.is_empty(), "the operator's CA writes the Java stores");
}

#[test]
fn cert_manager_gets_a_certificate_applied_once_and_the_secret_waited_for() {
    let alice = user("app", "alice", vec![]);
    let issuer =
        UserIssuer::CertManager { name: "i".into(), kind: "ClusterIssuer".into(), group: "cert-manager.io".into() };
    let mut world = World::new(vec![]);
    world.reach = Reach::Ready { issuer: Some(issuer.clone()), ca_bundle: Some("CA".into()) };
    let plan = world.plan(&[&alice]);
    assert_eq!(plan.certificates.len(), 1);
    assert!(plan.passwords.is_empty(), "no JKS asked for");
    assert!(plan.outcomes[&key("app", "alice")].waiting[0].starts_with("waiting for cert-manager"));

    let stored = certificate::cert_manager_certificate(&alice, &issuer);
    world.certificates.insert(key("app", "alice"), stored);
    let data = ["ca.crt", "tls.crt", "tls.key"].map(|k| (k.to_owned(), "PEM".to_owned())).into();
    let keys = ["ca.crt", "tls.crt", "tls.key"].map(String::from).to_vec();
    world.secrets.insert(
        key("app", "alice"),
        Some(StoredSecret {
            owner_uids: vec![],
            data,
            keys,
            certificate_name: Some("alice".into()),
            scram_digest: None,
        }),
    );
    let plan = world.plan(&[&alice]);
    assert!(plan.certificates.is_empty(), "an unchanged Certificate is not applied again");
    assert!(plan.outcomes[&key("app", "alice")].ready());

    // cert-manager sets no owner on its Secret: its annotation names the user's Certificate.
    let mut deleted = alice.clone();
    deleted.deleting = true;
    let plan = world.plan(&[&deleted]);
    let expected = Cleanup { secret: Some("alice-tls".into()), certificate: Some("alice".into()) };
    assert_eq!(plan.cleanups, [(key("app", "alice"), expected)]);
    assert!(plan.releases.is_empty());

    // A Secret of that name that is not the user's: cert-manager is not pointed at it.
    let theirs = StoredSecret {
        owner_uids: vec!["other".into()],
        data: BTreeMap::new(),
        keys: vec![],
        certificate_name: None,
        scram_digest: None,
    };
    world.secrets.insert(key("app", "alice"), Some(theirs));
    let plan = world.plan(&[&alice]);
    assert!(plan.certificates.is_empty());
    assert_eq!(plan.outcomes[&key("app", "alice")].problems[0].reason, "SecretConflict");
}

#[test]
fn cert_manager_writes_the_java_stores_with_a_password_made_first() {
    let mut alice = user("app", "alice", vec![]);
    alice.spec.include_jks = Some(true);
    let issuer =
        UserIssuer::CertManager { name: "i".into(), kind: "ClusterIssuer".into(), group: "cert-manager.io".into() };
    let mut world = World::new(vec![]);
    world.reach = Reach::Ready { issuer: Some(issuer), ca_bundle: Some("CA".into()) };
    let plan = world.plan(&[&alice]);
    assert_eq!(plan.passwords, [key("app", "alice")], "the password Secret first");
    let certificate = &plan.certificates[0].1;
    assert_eq!(certificate["spec"]["keystores"]["jks"]["passwordSecretRef"]["key"], "password");

    let pem_only = ["ca.crt", "tls.crt", "tls.key", "password"];
    let data: BTreeMap<String, String> = pem_only.map(|k| (k.to_owned(), "x".to_owned())).into();
    let keys = pem_only.map(String::from).to_vec();
    let secret =
        StoredSecret { owner_uids: vec![alice.uid.clone()], data, keys, certificate_name: None, scram_digest: None };
    world.secrets.insert(key("app", "alice"), Some(secret.clone()));
    let plan = world.plan(&[&alice]);
    assert!(plan.passwords.is_empty(), "the password is there");
    assert!(plan.outcomes[&key("app", "alice")].waiting[0].starts_with("waiting for cert-manager"), "no stores yet");
    let mut complete = secret;
    complete.keys.extend(["keystore.jks", "truststore.jks"].map(String::from));
    world.secrets.insert(key("app", "alice"), Some(complete));
    assert!(world.plan(&[&alice]).outcomes[&key("app", "alice")].certificate.is_some());
}
