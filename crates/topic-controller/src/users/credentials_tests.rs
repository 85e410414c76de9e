use crd_types::kafka_user::{ScramCredentialSpec, SecretKeyReference, UserQuotaSpec};
use crd_types::{KafkaUser, KafkaUserSpec};

use super::*;

fn key(name: &str) -> ResourceKey {
    ResourceKey { namespace: "app".into(), name: name.into() }
}

fn scram_user(name: &str, create_cert: bool) -> UserRequest {
    let spec = KafkaUserSpec {
        secret_name: format!("{name}-secret"),
        create_cert: Some(create_cert),
        scram: Some(ScramCredentialSpec::default()),
        ..Default::default()
    };
    let mut user = KafkaUser::new(name, spec);
    user.spec.cluster_ref.name = "kafka".into();
    user.metadata.namespace = Some("app".into());
    user.metadata.uid = Some(format!("uid-{name}"));
    UserRequest::from_resource(&user)
}

fn stored(user: &UserRequest, password: &str, digest: Option<String>) -> StoredSecret {
    let data: BTreeMap<String, String> = [
        (SCRAM_PASSWORD_KEY.to_owned(), password.to_owned()),
        (JAAS_CONFIG_KEY.to_owned(), jaas_config(&user.resource.name, password)),
    ]
    .into();
    StoredSecret {
        owner_uids: vec![user.uid.clone()],
        keys: data.keys().cloned().collect(),
        data,
        certificate_name: None,
        scram_digest: digest,
    }
}

fn observed(present: &[&str], passwords: &[(&str, Password)]) -> CredentialsObserved {
    CredentialsObserved {
        scram: ScramView::Read(present.iter().map(|name| (*name).to_owned()).collect()),
        quotas: QuotaView::Read(UserQuotas::new()),
        passwords: passwords.iter().map(|(name, password)| (key(name), password.clone())).collect(),
    }
}

fn run(
    users: &[&UserRequest],
    secrets: &BTreeMap<ResourceKey, Option<StoredSecret>>,
    observed: &CredentialsObserved,
) -> (CredentialsPlan, BTreeMap<ResourceKey, UserOutcome>) {
    let mut outcomes = BTreeMap::new();
    let plan = plan_credentials(users, secrets, observed, &mut outcomes);
    (plan, outcomes)
}

#[test]
fn a_generated_password_is_stored_then_set_then_left_alone() {
    let carol = scram_user("carol", false);
    let generated = observed(&[], &[("carol", Password::Generated("s3cret".into()))]);
    let (plan, outcomes) = run(&[&carol], &BTreeMap::new(), &generated);
    assert_eq!(plan.secrets_before.len(), 1, "stored before Kafka gets it");
    assert!(!format!("{plan:?}").contains("s3cret"), "a password in Debug: {plan:?}");
    assert!(!format!("{generated:?}").contains("s3cret"), "a password in Debug: {generated:?}");
    let before = &plan.secrets_before[0].1;
    assert_eq!(before.type_.as_deref(), Some("Opaque"), "no certificate: the credential makes the Secret");
    assert!(before.metadata.annotations.is_none(), "no digest until Kafka has it");
    assert_eq!(plan.upserts.len(), 1);
    let upsert = &plan.upserts[0];
    assert_eq!((upsert.name.as_str(), upsert.password.as_str()), ("carol", "s3cret"));
    let digest = password_digest("carol", "s3cret");
    let annotations = upsert.secret.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get(PASSWORD_DIGEST_ANNOTATION), Some(&digest));
    let data = upsert.secret.data.clone().unwrap_or_default();
    assert_eq!(
        String::from_utf8(data[JAAS_CONFIG_KEY].0.clone()).ok().as_deref(),
        Some(
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"carol\" password=\"s3cret\";"
        )
    );
    assert!(outcomes[&key("carol")].waiting.iter().any(|w| w.contains("SCRAM credential")));

    // Next pass: Kafka has it, the Secret holds it and its digest: nothing to write.
    let secrets = [(key("carol"), Some(stored(&carol, "s3cret", Some(digest))))].into();
    let known = observed(&["carol"], &[("carol", Password::Known("s3cret".into()))]);
    let (plan, outcomes) = run(&[&carol], &secrets, &known);
    assert!(plan.is_empty(), "{plan:?}");
    assert!(outcomes[&key("carol")].ready());
    assert!(outcomes[&key("carol")].certificate.as_deref().is_some_and(|c| c.contains("SCRAM-SHA-512")));
}

#[test]
fn a_changed_or_lost_password_is_set_again() {
    let mut carol = scram_user("carol", false);
    carol.spec.scram = Some(ScramCredentialSpec {
        password_secret: Some(SecretKeyReference { name: "carol-password".into(), key: "password".into() }),
    });
    let secrets = [(key("carol"), Some(stored(&carol, "old", Some(password_digest("carol", "old")))))].into();
    let changed = observed(&["carol"], &[("carol", Password::Known("new".into()))]);
    let (plan, _) = run(&[&carol], &secrets, &changed);
    assert_eq!(plan.upserts.len(), 1, "the password changed");
    assert!(plan.secrets_before.is_empty(), "a password from a Secret is not lost");

    // Deleted from Kafka by hand: set again.
    let secrets = [(key("carol"), Some(stored(&carol, "new", Some(password_digest("carol", "new")))))].into();
    let (plan, _) = run(&[&carol], &secrets, &observed(&[], &[("carol", Password::Known("new".into()))]));
    assert_eq!(plan.upserts.len(), 1, "Kafka lost the credential");

    // Kafka has it but the Secret lost its keys: only the Secret is written.
    let mut bare = stored(&carol, "new", Some(password_digest("carol", "new")));
    bare.data.clear();
    let secrets = [(key("carol"), Some(bare))].into();
    let (plan, _) = run(&[&carol], &secrets, &observed(&["carol"], &[("carol", Password::Known("new".into()))]));
    assert!(plan.upserts.is_empty());
    assert_eq!(plan.secrets_only.len(), 1);
}

#[test]
fn bad_input_and_shared_names_set_nothing() {
    let carol = scram_user("carol", false);
    let missing = observed(&[], &[("carol", Password::Missing("spec.scram.passwordSecret: Secret app/x".into()))]);
    let (plan, outcomes) = run(&[&carol], &BTreeMap::new(), &missing);
    assert!(plan.is_empty());
    assert_eq!(outcomes[&key("carol")].problems[0].reason, "ScramPasswordMissing");

    let mut twin = scram_user("carol", false);
    twin.resource.namespace = "other".into();
    let (plan, outcomes) =
        run(&[&carol, &twin], &BTreeMap::new(), &observed(&[], &[("carol", Password::Generated("a".into()))]));
    assert!(plan.upserts.is_empty(), "one credential per name: set for neither");
    assert_eq!(outcomes[&key("carol")].problems[0].reason, "ScramNameShared");

    // A certificate user's Secret comes from its issuer first.
    let dave = scram_user("dave", true);
    let (plan, outcomes) =
        run(&[&dave], &BTreeMap::new(), &observed(&[], &[("dave", Password::Generated("a".into()))]));
    assert!(plan.is_empty());
    assert!(outcomes[&key("dave")].waiting[0].contains("before adding the SCRAM password"));
}

#[test]
fn a_credential_goes_with_its_last_user() {
    let mut carol = scram_user("carol", false);
    carol.deleting = true;
    let (plan, outcomes) = run(&[&carol], &BTreeMap::new(), &observed(&["carol"], &[]));
    assert_eq!(plan.deletes, ["carol"]);
    assert!(outcomes[&key("carol")].waiting.iter().any(|w| w.contains("removing its SCRAM credential")));

    let mut dropped = scram_user("carol", false);
    dropped.spec.scram = None;
    assert_eq!(run(&[&dropped], &BTreeMap::new(), &observed(&["carol"], &[])).0.deletes, ["carol"]);
    assert!(run(&[&dropped], &BTreeMap::new(), &observed(&[], &[])).0.deletes.is_empty());
}

#[test]
fn quotas_follow_the_spec_on_every_principal() {
    let mut carol = scram_user("carol", false);
    carol.spec.quotas = Some(UserQuotaSpec { producer_byte_rate: Some(1024), ..Default::default() });
    let secrets = [(key("carol"), Some(stored(&carol, "p", Some(password_digest("carol", "p")))))].into();
    let mut seen = observed(&["carol"], &[("carol", Password::Known("p".into()))]);
    seen.quotas = QuotaView::Read([("CN=carol".to_owned(), [(CONSUMER_BYTE_RATE.to_owned(), 5.0)].into())].into());
    let (plan, outcomes) = run(&[&carol], &secrets, &seen);
    let changes: BTreeMap<&str, &UserQuotaChange> = plan.quota_changes.iter().map(|c| (c.user.as_str(), c)).collect();
    assert_eq!(changes.len(), 2, "the certificate's principal and the SCRAM one");
    assert_eq!(changes["CN=carol"].set, [(PRODUCER_BYTE_RATE.to_owned(), 1024.0)].into());
    assert_eq!(changes["CN=carol"].remove, [CONSUMER_BYTE_RATE], "unset in the spec: removed");
    assert!(changes["carol"].remove.is_empty());
    assert!(outcomes[&key("carol")].waiting.iter().any(|w| w.contains("quotas")));

    let both: UserQuotas = ["CN=carol", "carol"]
        .into_iter()
        .map(|name| (name.to_owned(), [(PRODUCER_BYTE_RATE.to_owned(), 1024.0)].into()))
        .collect();
    seen.quotas = QuotaView::Read(both.clone());
    assert!(run(&[&carol], &secrets, &seen).0.is_empty(), "idle: nothing to write");

    carol.deleting = true;
    seen.scram = ScramView::Read(BTreeSet::new());
    let (plan, _) = run(&[&carol], &secrets, &seen);
    assert!(plan.quota_changes.iter().all(|c| c.set.is_empty() && c.remove == [PRODUCER_BYTE_RATE]), "{plan:?}");
    assert_eq!(plan.quota_changes.len(), 2);
}
