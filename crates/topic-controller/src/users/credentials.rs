//! SCRAM credentials and client quotas of KafkaUsers, fields of ours beside Koperator's (pure;
//! no client): what Kafka should hold for each user, against what it holds.
//!
//! SCRAM (`spec.scram`): the credential's name is the KafkaUser's name (principal
//! `User:<name>`); its password comes from `spec.scram.passwordSecret` or is generated once and
//! kept in the user's Secret, with a ready `sasl.jaas.config`. Kafka never shows a credential's
//! password, so the Secret records a digest of the password last set in Kafka
//! ([`PASSWORD_DIGEST_ANNOTATION`]): a credential is set again when Kafka has none, or the
//! password is no longer the one set. A credential name two KafkaUsers would share (the same
//! name in two namespaces) is set for neither.
//!
//! Quotas (`spec.quotas`): set on every principal of the user (`CN=<name>`, and `<name>` with
//! SCRAM); the keys the spec leaves unset are removed, and all go with the user. A user without
//! `spec.quotas` leaves Kafka's quotas as they are.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crd_types::kafka_user::UserQuotaSpec;
use kafka_admin::{CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, UserQuotaChange, UserQuotas};

use super::certificate::StoredSecret;
use super::plan::{Problem, UserOutcome};
use super::request::UserRequest;
use crate::request::ResourceKey;

/// The Secret key of the SCRAM password; with `includeJKS` `password` is the key stores', so
/// then [`SCRAM_PASSWORD_KEY_WITH_JKS`].
pub const SCRAM_PASSWORD_KEY: &str = "password";
pub const SCRAM_PASSWORD_KEY_WITH_JKS: &str = "scram-password";
/// A client's whole SASL login, ready for its properties.
pub const JAAS_CONFIG_KEY: &str = "sasl.jaas.config";
/// On the user's Secret: SHA-256 of the credential's name and the password last set in Kafka.
pub const PASSWORD_DIGEST_ANNOTATION: &str = "koperator-rs.io/scram-password-sha256";
/// Kafka's minimum, as its own tools set it.
pub const SCRAM_ITERATIONS: i32 = kafka_admin::MIN_SCRAM_ITERATIONS;

/// Kafka's SCRAM credentials, as read this pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ScramView {
    /// The names (of those asked) that have a SCRAM-SHA-512 credential.
    Read(BTreeSet<String>),
    /// Not read: why.
    Unread(String),
    /// Not asked: no user has or had SCRAM.
    #[default]
    NotNeeded,
}

/// Kafka's users' quotas, as read this pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum QuotaView {
    Read(UserQuotas),
    Unread(String),
    /// Not asked: no user has quotas.
    #[default]
    NotNeeded,
}

/// Where a SCRAM user's password is, as observed. `Debug` never shows a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// From `spec.scram.passwordSecret`, or already in the user's Secret.
    Known(String),
    /// Generated this pass: nowhere yet, so it is stored before Kafka gets it.
    Generated(String),
    /// `spec.scram.passwordSecret` names a Secret or key that is missing or empty: why.
    Missing(String),
}

/// What the credential plan looks at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CredentialsObserved {
    pub scram: ScramView,
    pub quotas: QuotaView,
    /// Per SCRAM user (not being deleted).
    pub passwords: BTreeMap<ResourceKey, Password>,
}

/// A credential to set in Kafka, and the Secret to write once it is set. `Debug` never shows
/// the password (nor the Secret that holds it).
#[derive(Clone, PartialEq)]
pub struct ScramUpsert {
    pub user: ResourceKey,
    pub name: String,
    pub password: String,
    /// The user's Secret with the password and the digest, written after Kafka took it.
    pub secret: Secret,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Known(_) => f.write_str("Known(<hidden>)"),
            Self::Generated(_) => f.write_str("Generated(<hidden>)"),
            Self::Missing(why) => f.debug_tuple("Missing").field(why).finish(),
        }
    }
}

impl std::fmt::Debug for ScramUpsert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramUpsert")
            .field("user", &self.user)
            .field("name", &self.name)
            .field("secret", &self.secret.metadata.name)
            .finish_non_exhaustive()
    }
}

/// What the credentials of a cluster's users need. `Debug` names the users, never a password.
#[derive(Clone, Default, PartialEq)]
pub struct CredentialsPlan {
    /// Secrets to write before Kafka is asked (a generated password must be stored first).
    pub secrets_before: Vec<(ResourceKey, Secret)>,
    pub upserts: Vec<ScramUpsert>,
    /// Secrets to correct without asking Kafka (Kafka has the credential; the Secret lost it).
    pub secrets_only: Vec<(ResourceKey, Secret)>,
    /// Credential names to delete (their last KafkaUser is deleted, or no longer asks for SCRAM).
    pub deletes: Vec<String>,
    pub quota_changes: Vec<UserQuotaChange>,
}

impl std::fmt::Debug for CredentialsPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users =
            |secrets: &[(ResourceKey, Secret)]| secrets.iter().map(|(user, _)| user.to_string()).collect::<Vec<_>>();
        f.debug_struct("CredentialsPlan")
            .field("secrets_before", &users(&self.secrets_before))
            .field("upserts", &self.upserts)
            .field("secrets_only", &users(&self.secrets_only))
            .field("deletes", &self.deletes)
            .field("quota_changes", &self.quota_changes)
            .finish()
    }
}

impl CredentialsPlan {
    pub fn is_empty(&self) -> bool {
        self.secrets_before.is_empty()
            && self.upserts.is_empty()
            && self.secrets_only.is_empty()
            && self.deletes.is_empty()
            && self.quota_changes.is_empty()
    }
}

/// The key of the SCRAM password in the user's Secret.
pub fn password_key(user: &UserRequest) -> &'static str {
    if user.spec.include_jks == Some(true) { SCRAM_PASSWORD_KEY_WITH_JKS } else { SCRAM_PASSWORD_KEY }
}

/// Kafka's client login for a SCRAM user, quoted as JAAS wants it.
pub fn jaas_config(name: &str, password: &str) -> String {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{}\" password=\"{}\";",
        quote(name),
        quote(password)
    )
}

/// Hex SHA-256 of the name and password (a name is part of it, so equal passwords of two
/// users differ).
pub fn password_digest(name: &str, password: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{name}\0{password}").as_bytes());
    digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The users of `users` whose SCRAM credential name another live user of the cluster shares.
fn shared_names<'a>(users: &[&'a UserRequest]) -> BTreeSet<&'a str> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for user in users.iter().filter(|u| !u.deleting && u.spec.scram.is_some()) {
        *seen.entry(user.resource.name.as_str()).or_default() += 1;
    }
    seen.into_iter().filter(|(_, count)| *count > 1).map(|(name, _)| name).collect()
}

/// Decides every user's SCRAM credential and quotas; problems and waits go into `outcomes`.
pub fn plan_credentials(
    users: &[&UserRequest],
    secrets: &BTreeMap<ResourceKey, Option<StoredSecret>>,
    observed: &CredentialsObserved,
    outcomes: &mut BTreeMap<ResourceKey, UserOutcome>,
) -> CredentialsPlan {
    let mut plan = CredentialsPlan::default();
    let shared = shared_names(users);
    let wanted: BTreeSet<&str> =
        users.iter().filter(|u| !u.deleting && u.spec.scram.is_some()).map(|u| u.resource.name.as_str()).collect();
    for user in users.iter().filter(|u| !u.deleting && u.spec.scram.is_some()) {
        let outcome = outcomes.entry(user.resource.clone()).or_default();
        if shared.contains(user.resource.name.as_str()) {
            outcome.problems.push(Problem {
                reason: "ScramNameShared",
                message: format!(
                    "spec.scram: another KafkaUser named {} on this cluster asks for SCRAM, and Kafka has one credential \
                     per name, so neither is set: rename one of them",
                    user.resource.name
                ),
            });
            continue;
        }
        let secret = secrets.get(&user.resource).and_then(Option::as_ref);
        plan_scram(user, secret, observed, &mut plan, outcome);
    }
    // A credential goes when no live user wants it: the user was deleted, or dropped spec.scram.
    if let ScramView::Read(present) = &observed.scram {
        let mut deletes: BTreeSet<String> = BTreeSet::new();
        for user in users {
            let name = user.resource.name.as_str();
            if present.contains(name) && !wanted.contains(name) && (user.deleting || user.spec.scram.is_none()) {
                deletes.insert(name.to_owned());
                if user.deleting {
                    outcomes
                        .entry(user.resource.clone())
                        .or_default()
                        .waiting
                        .push("removing its SCRAM credential".into());
                }
            }
        }
        plan.deletes = deletes.into_iter().collect();
    }
    plan_quotas(users, observed, &mut plan, outcomes);
    plan
}

fn plan_scram(
    user: &UserRequest,
    secret: Option<&StoredSecret>,
    observed: &CredentialsObserved,
    plan: &mut CredentialsPlan,
    outcome: &mut UserOutcome,
) {
    let name = user.resource.name.as_str();
    let in_kafka = match &observed.scram {
        ScramView::Read(present) => present.contains(name),
        ScramView::Unread(why) => {
            outcome.waiting.push(format!("SCRAM credentials not read: {why}"));
            return;
        }
        ScramView::NotNeeded => return,
    };
    let (password, generated) = match observed.passwords.get(&user.resource) {
        Some(Password::Known(password)) => (password.clone(), false),
        Some(Password::Generated(password)) => (password.clone(), true),
        Some(Password::Missing(why)) => {
            outcome.problems.push(Problem { reason: "ScramPasswordMissing", message: why.clone() });
            return;
        }
        None => return,
    };
    if secret.is_some_and(|s| !s.belongs_to(user)) {
        // The certificate's plan may have said so already.
        if outcome.problems.iter().any(|p| p.reason == "SecretConflict") {
            return;
        }
        outcome.problems.push(Problem {
            reason: "SecretConflict",
            message: format!(
                "spec.secretName: Secret {}/{} exists and is not this KafkaUser's; it is never overwritten: choose \
                 another secretName or delete that Secret",
                user.resource.namespace, user.spec.secret_name
            ),
        });
        return;
    }
    // A certificate's Secret is made by its issuer (typed kubernetes.io/tls); the password joins it.
    if user.spec.creates_certificate() && secret.is_none() {
        outcome.waiting.push(format!("waiting for Secret {} before adding the SCRAM password", user.spec.secret_name));
        return;
    }
    let digest = password_digest(name, &password);
    let key = password_key(user);
    let jaas = jaas_config(name, &password);
    let stored = |k: &str| secret.and_then(|s| s.data.get(k)).map(String::as_str);
    let secret_holds = stored(key) == Some(password.as_str()) && stored(JAAS_CONFIG_KEY) == Some(jaas.as_str());
    let kafka_holds = in_kafka && secret.and_then(|s| s.scram_digest.as_deref()) == Some(digest.as_str());
    let with_digest = |digest: Option<&str>| scram_secret(user, key, &password, &jaas, digest, secret.is_none());
    if kafka_holds {
        if !secret_holds {
            plan.secrets_only.push((user.resource.clone(), with_digest(Some(&digest))));
        }
        outcome.certificate = Some(match outcome.certificate.take() {
            Some(certificate) => format!("{certificate}; SCRAM-SHA-512 credential in Kafka"),
            None => {
                format!("SCRAM-SHA-512 credential in Kafka, password in Secret {} key {key}", user.spec.secret_name)
            }
        });
        return;
    }
    if generated {
        plan.secrets_before.push((user.resource.clone(), with_digest(None)));
    }
    outcome.waiting.push("setting its SCRAM credential in Kafka".to_owned());
    let secret = with_digest(Some(&digest));
    plan.upserts.push(ScramUpsert { user: user.resource.clone(), name: name.to_owned(), password, secret });
}

/// The fields of the user's Secret the SCRAM credential owns (applied by a field manager of
/// its own, beside the certificate's): the password, the JAAS login, the digest. Owned by the
/// user and typed only when this creates the Secret (no certificate).
fn scram_secret(
    user: &UserRequest,
    key: &str,
    password: &str,
    jaas: &str,
    digest: Option<&str>,
    creates: bool,
) -> Secret {
    let data = [(key, password), (JAAS_CONFIG_KEY, jaas)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
        .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some(user.spec.secret_name.clone()),
            namespace: Some(user.resource.namespace.clone()),
            annotations: digest.map(|d| [(PASSWORD_DIGEST_ANNOTATION.to_owned(), d.to_owned())].into()),
            owner_references: creates.then(|| vec![super::certificate::owner_reference(user)]),
            labels: creates.then(|| [(crd_types::labels::KAFKA_CR.to_owned(), user.cluster.name.clone())].into()),
            ..Default::default()
        },
        type_: creates.then(|| "Opaque".to_owned()),
        data: Some(data),
        ..Default::default()
    }
}

/// The quota principals of a user: the certificate's (`CN=<name>`) and, with SCRAM, `<name>`.
fn quota_names(user: &UserRequest) -> Vec<String> {
    let mut names = vec![user.principal.trim_start_matches("User:").to_owned()];
    if user.spec.scram.is_some() {
        names.push(user.resource.name.clone());
    }
    names
}

fn desired_quotas(spec: &UserQuotaSpec) -> BTreeMap<String, f64> {
    [
        (PRODUCER_BYTE_RATE, spec.producer_byte_rate.map(|v| v as f64)),
        (CONSUMER_BYTE_RATE, spec.consumer_byte_rate.map(|v| v as f64)),
        (REQUEST_PERCENTAGE, spec.request_percentage.map(f64::from)),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key.to_owned(), value?)))
    .collect()
}

fn plan_quotas(
    users: &[&UserRequest],
    observed: &CredentialsObserved,
    plan: &mut CredentialsPlan,
    outcomes: &mut BTreeMap<ResourceKey, UserOutcome>,
) {
    let with_quotas: Vec<&&UserRequest> = users.iter().filter(|u| u.spec.quotas.is_some()).collect();
    if with_quotas.is_empty() {
        return;
    }
    let present = match &observed.quotas {
        QuotaView::Read(present) => present,
        QuotaView::Unread(why) => {
            for user in with_quotas.iter().filter(|u| !u.deleting) {
                outcomes.entry(user.resource.clone()).or_default().waiting.push(format!("quotas not read: {why}"));
            }
            return;
        }
        QuotaView::NotNeeded => return,
    };
    // Desired per principal; principals two live users want differently are left alone.
    let mut desired: BTreeMap<String, Option<BTreeMap<String, f64>>> = BTreeMap::new();
    for user in with_quotas.iter().filter(|u| !u.deleting) {
        let wanted = user.spec.quotas.as_ref().map(desired_quotas).unwrap_or_default();
        for name in quota_names(user) {
            let entry = desired.entry(name.clone()).or_insert_with(|| Some(wanted.clone()));
            if entry.as_ref().is_some_and(|e| *e != wanted) {
                *entry = None;
                outcomes.entry(user.resource.clone()).or_default().problems.push(Problem {
                    reason: "QuotasShared",
                    message: format!(
                        "spec.quotas: another KafkaUser of principal {name} asks for other quotas; rename one of them"
                    ),
                });
            }
        }
    }
    let managed = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE];
    for user in with_quotas.iter().filter(|u| u.deleting) {
        for name in quota_names(user) {
            desired.entry(name).or_insert_with(|| Some(BTreeMap::new()));
        }
    }
    for (name, wanted) in desired {
        let Some(wanted) = wanted else { continue };
        let none = BTreeMap::new();
        let current = present.get(&name).unwrap_or(&none);
        let set: BTreeMap<String, f64> =
            wanted.iter().filter(|(k, v)| current.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), *v)).collect();
        let remove: Vec<String> = managed
            .iter()
            .filter(|key| current.contains_key(**key) && !wanted.contains_key(**key))
            .map(|key| (*key).to_owned())
            .collect();
        if !set.is_empty() || !remove.is_empty() {
            plan.quota_changes.push(UserQuotaChange { user: name, set, remove });
        }
    }
    let changing: BTreeSet<&str> = plan.quota_changes.iter().map(|c| c.user.as_str()).collect();
    for user in with_quotas {
        if quota_names(user).iter().any(|name| changing.contains(name.as_str())) {
            let why = if user.deleting { "removing its quotas" } else { "setting its quotas in Kafka" };
            outcomes.entry(user.resource.clone()).or_default().waiting.push(why.to_owned());
        }
    }
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
