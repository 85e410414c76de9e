//! Decides a cluster's KafkaUsers in one go (pure; no client): ACL changes per principal,
//! certificates to issue or Certificates to apply, finalizers, labels, clean-ups on deletion,
//! and each user's outcome for its status.
//!
//! ACLs are decided per principal, not per KafkaUser: two KafkaUsers of one name in two
//! namespaces share `User:CN=<name>`, so a binding goes only when no KafkaUser of that
//! principal still asks for it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crd_types::kafka_user::{UserPkiBackend, secret_keys};
use crd_types::labels::KAFKA_CR;
use kafka_admin::AclBinding;

use super::certificate::{self, StoredSecret, Verdict, unix_time};
use super::credentials::{CredentialsObserved, CredentialsPlan, plan_credentials};
use super::request::UserRequest;
use crate::access::UserIssuer;
use crate::request::{ClusterKey, ResourceKey};
use crate::user_acls::diff::AclChanges;
use crate::user_acls::grants::{desired_bindings, status_acls};

/// How the cluster stands, as far as its users are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    Ready {
        issuer: Option<UserIssuer>,
        /// The CA bundle clients of the cluster trust; `None` on a plaintext listener.
        ca_bundle: Option<String>,
    },
    /// Not reachable yet: why.
    Waiting(String),
    /// The KafkaCluster does not exist.
    Gone,
}

/// Kafka's ACLs as read this pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AclView {
    /// Every binding of the cluster, by principal.
    Read(BTreeMap<String, BTreeSet<AclBinding>>),
    /// The brokers run no authorizer (DescribeAcls answers SECURITY_DISABLED).
    NoAuthorizer,
    /// Not read: why.
    Unread(String),
}

/// Everything the plan looks at besides the KafkaUsers.
pub struct Observed<'a> {
    pub cluster: &'a ClusterKey,
    pub reach: &'a Reach,
    pub acls: &'a AclView,
    /// The user's Secret (`spec.secretName`), for users that were looked up; `None`: absent.
    pub secrets: &'a BTreeMap<ResourceKey, Option<StoredSecret>>,
    /// The user's cert-manager Certificate, where one was looked up.
    pub certificates: &'a BTreeMap<ResourceKey, Option<Value>>,
    /// SCRAM credentials and quotas as Kafka holds them, and the SCRAM users' passwords.
    pub credentials: &'a CredentialsObserved,
    /// Unix seconds.
    pub now: i64,
}

/// What needs the user's hand, for the Degraded condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

/// What became of one KafkaUser, for its status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserOutcome {
    /// `status.acls`: the bindings its grants stand for, in Koperator's notation.
    pub acls: Vec<String>,
    pub problems: Vec<Problem>,
    /// What it waits for (the cluster, an issuer, changes being applied).
    pub waiting: Vec<String>,
    /// What the certificate is, when it serves.
    pub certificate: Option<String>,
    /// Other KafkaUsers with the same principal.
    pub shared_with: Vec<ResourceKey>,
    /// Fields accepted but not acted on, with why.
    pub unsupported: Vec<String>,
}

impl UserOutcome {
    pub fn ready(&self) -> bool {
        self.problems.is_empty() && self.waiting.is_empty()
    }
}

/// What to remove for a KafkaUser being deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub secret: Option<String>,
    pub certificate: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub finalizers_to_add: Vec<ResourceKey>,
    pub labels_to_set: Vec<ResourceKey>,
    /// Every principal's changes, together (one CreateAcls, one DeleteAcls).
    pub acl_changes: AclChanges,
    /// Users whose certificate the operator's CA issues this pass, with why.
    pub issue: Vec<(ResourceKey, String)>,
    /// cert-manager Certificates to apply.
    pub certificates: Vec<(ResourceKey, Value)>,
    /// Users whose Secret is made now holding only a new Java stores' password, for
    /// cert-manager to write the stores with (before their Certificate is applied).
    pub passwords: Vec<ResourceKey>,
    pub cleanups: Vec<(ResourceKey, Cleanup)>,
    /// Deleted users whose ACLs, Secret and Certificate are gone: their finalizer goes.
    pub releases: Vec<ResourceKey>,
    /// SCRAM credentials, their Secrets, and quotas.
    pub credentials: CredentialsPlan,
    pub outcomes: BTreeMap<ResourceKey, UserOutcome>,
}

impl Plan {
    /// Whether a pass soon should look again (something applied or waited for).
    pub fn retry_soon(&self) -> bool {
        !self.acl_changes.is_empty()
            || !self.issue.is_empty()
            || !self.certificates.is_empty()
            || !self.passwords.is_empty()
            || !self.cleanups.is_empty()
            || !self.credentials.is_empty()
            || self.outcomes.values().any(|o| !o.waiting.is_empty())
    }
}

pub fn plan(users: &[&UserRequest], observed: &Observed<'_>) -> Plan {
    let mut plan = Plan::default();
    let acls_done = plan_acls(users, observed, &mut plan);
    plan.credentials = plan_credentials(users, observed.secrets, observed.credentials, &mut plan.outcomes);
    for user in users {
        if user.deleting {
            let done = user.principals().iter().all(|principal| acls_done.contains(principal));
            plan_deletion(user, observed, done, &mut plan);
        } else {
            plan_user(user, observed, &mut plan);
        }
    }
    plan
}

/// Desired bindings per principal against Kafka's; returns the principals with nothing left
/// to change (a deleted user of such a principal has no ACL left to remove).
fn plan_acls(users: &[&UserRequest], observed: &Observed<'_>, plan: &mut Plan) -> BTreeSet<String> {
    let mut desired: BTreeMap<String, Option<BTreeSet<AclBinding>>> = BTreeMap::new();
    for user in users {
        let outcome = plan.outcomes.entry(user.resource.clone()).or_default();
        for principal in user.principals() {
            let entry = desired.entry(principal.clone()).or_insert_with(|| Some(BTreeSet::new()));
            match desired_bindings(&principal, &user.spec.topic_grants) {
                Ok(bindings) => {
                    if !user.deleting {
                        outcome.acls.extend(status_acls(&bindings));
                        if let Some(set) = entry.as_mut() {
                            set.extend(bindings);
                        }
                    }
                }
                Err(errors) => {
                    // Reported once, for the first principal: the grants are the same.
                    if principal == user.principal {
                        for error in errors {
                            outcome.problems.push(Problem { reason: "InvalidGrant", message: error.to_string() });
                        }
                    }
                    // An invalid grant changes nothing for the principal: it does not revoke
                    // what the grants granted before.
                    if !user.deleting {
                        *entry = None;
                    }
                }
            }
        }
        outcome.shared_with = users
            .iter()
            .filter(|other| other.principal == user.principal && other.resource != user.resource)
            .map(|other| other.resource.clone())
            .collect();
    }
    let empty = BTreeMap::new();
    let observed_acls = match observed.acls {
        AclView::Read(by_principal) => by_principal,
        // Nothing to change in a cluster that enforces no ACL.
        AclView::NoAuthorizer => &empty,
        AclView::Unread(_) => return BTreeSet::new(),
    };
    let mut done = BTreeSet::new();
    for (principal, wanted) in desired {
        let Some(wanted) = wanted else { continue };
        let none = BTreeSet::new();
        let changes = if matches!(observed.acls, AclView::NoAuthorizer) {
            AclChanges::default()
        } else {
            AclChanges::between(&wanted, observed_acls.get(&principal).unwrap_or(&none))
        };
        if changes.is_empty() {
            done.insert(principal);
        } else {
            plan.acl_changes.create.extend(changes.create);
            plan.acl_changes.delete.extend(changes.delete);
        }
    }
    done
}

fn plan_user(user: &UserRequest, observed: &Observed<'_>, plan: &mut Plan) {
    if !user.has_finalizer() {
        plan.finalizers_to_add.push(user.resource.clone());
    }
    if user.labels.get(KAFKA_CR) != Some(&observed.cluster.name) {
        plan.labels_to_set.push(user.resource.clone());
    }
    let mut outcome = plan.outcomes.remove(&user.resource).unwrap_or_default();
    match observed.acls {
        AclView::Unread(why) => outcome.waiting.push(format!("ACLs not read: {why}")),
        AclView::NoAuthorizer if !user.spec.topic_grants.is_empty() => outcome.problems.push(Problem {
            reason: "NoAuthorizer",
            message: format!(
                "spec.topicGrants: the brokers of KafkaCluster {} run no authorizer, so no ACL can be set: add \
                 authorizer.class.name to the cluster's spec.readOnlyConfig",
                observed.cluster
            ),
        }),
        _ => {}
    }
    let pending: BTreeSet<&str> =
        plan.acl_changes.create.iter().chain(&plan.acl_changes.delete).map(|b| b.principal.as_str()).collect();
    if user.principals().iter().any(|principal| pending.contains(principal.as_str())) {
        outcome.waiting.push("setting its ACLs in Kafka".to_owned());
    }
    plan_certificate(user, observed, plan, &mut outcome);
    plan.outcomes.insert(user.resource.clone(), outcome);
}

fn plan_certificate(user: &UserRequest, observed: &Observed<'_>, plan: &mut Plan, outcome: &mut UserOutcome) {
    if !user.spec.creates_certificate() {
        return;
    }
    let backend = user.spec.pki_backend_spec.as_ref();
    if backend.is_some_and(|b| b.pki_backend == UserPkiBackend::K8sCsr) {
        outcome.problems.push(Problem {
            reason: "UnsupportedPkiBackend",
            message: "spec.pkiBackendSpec.pkiBackend: k8s-csr is not supported: remove spec.pkiBackendSpec to use \
                      the cluster's certificates, or name a cert-manager issuer in spec.pkiBackendSpec.issuerRef"
                .to_owned(),
        });
        return;
    }
    let (issuer, ca_bundle) = match observed.reach {
        Reach::Ready { issuer, ca_bundle } => (issuer, ca_bundle),
        Reach::Waiting(why) => {
            outcome.waiting.push(why.clone());
            return;
        }
        Reach::Gone => {
            outcome.problems.push(Problem {
                reason: "ClusterNotFound",
                message: format!(
                    "spec.clusterRef: KafkaCluster {} does not exist: create it or fix spec.clusterRef",
                    observed.cluster
                ),
            });
            return;
        }
    };
    let user_issuer = backend.and_then(|b| b.issuer_ref.as_ref()).is_some();
    let (Some(issuer), Some(ca_bundle)) = (issuer, ca_bundle) else {
        outcome.problems.push(Problem {
            reason: "NoTlsListener",
            message: format!(
                "spec.createCert: KafkaCluster {} has no TLS listener with certificates the operator makes, so a client \
                 certificate would authenticate nobody: give it an ssl listener and spec.listenersConfig.sslSecrets \
                 with create: true, or set createCert: false for ACLs only",
                observed.cluster
            ),
        });
        return;
    };
    let secret = observed.secrets.get(&user.resource).and_then(Option::as_ref);
    if *issuer == UserIssuer::OperatorCa && !user_issuer {
        match certificate::verdict(user, secret, ca_bundle, observed.now) {
            Verdict::Valid { not_after } => {
                outcome.certificate = Some(format!(
                    "certificate in Secret {} valid until {}",
                    user.spec.secret_name,
                    unix_time(not_after)
                ));
            }
            Verdict::Issue(why) => {
                outcome.waiting.push(format!("issuing its certificate: {why}"));
                plan.issue.push((user.resource.clone(), why));
            }
            Verdict::Foreign => outcome.problems.push(foreign_secret(user)),
        }
        return;
    }
    let Some(desired) = certificate::cert_manager_certificate(user, issuer) else { return };
    // cert-manager writes into a Secret of that name whoever made it: only into the user's.
    if secret.is_some_and(|secret| !secret.belongs_to(user)) {
        outcome.problems.push(foreign_secret(user));
        return;
    }
    let java = user.spec.include_jks == Some(true);
    // cert-manager reads the stores' password from the Secret it writes them to (as with
    // Koperator): the Secret is made first, holding only the password.
    if java && !secret.is_some_and(|secret| secret.has(secret_keys::PASSWORD)) {
        plan.passwords.push(user.resource.clone());
    }
    let stored = observed.certificates.get(&user.resource).and_then(Option::as_ref);
    if !stored.is_some_and(|stored| certificate::certificate_matches(stored, &desired)) {
        plan.certificates.push((user.resource.clone(), desired));
    }
    let mut keys = vec![secret_keys::CA_CERT, secret_keys::CERT, secret_keys::KEY];
    if java {
        keys.extend([secret_keys::KEYSTORE, secret_keys::TRUSTSTORE, secret_keys::PASSWORD]);
    }
    match secret {
        Some(secret) if keys.iter().all(|key| secret.has(key)) => {
            outcome.certificate = Some(format!("certificate in Secret {} (cert-manager)", user.spec.secret_name));
        }
        _ => outcome.waiting.push(format!("waiting for cert-manager to write Secret {}", user.spec.secret_name)),
    }
}

fn foreign_secret(user: &UserRequest) -> Problem {
    Problem {
        reason: "SecretConflict",
        message: format!(
            "spec.secretName: Secret {}/{} exists and is not this KafkaUser's; it is never overwritten: choose another \
             secretName or delete that Secret",
            user.resource.namespace, user.spec.secret_name
        ),
    }
}

/// A deleted KafkaUser keeps its finalizer until its ACLs (those no other KafkaUser of its
/// principal wants), its Secret and its Certificate are gone.
fn plan_deletion(user: &UserRequest, observed: &Observed<'_>, acls_done: bool, plan: &mut Plan) {
    let mut outcome = plan.outcomes.remove(&user.resource).unwrap_or_default();
    outcome.acls.clear();
    if !user.has_finalizer() {
        return;
    }
    let secret = observed.secrets.get(&user.resource).and_then(Option::as_ref);
    let cleanup = Cleanup {
        secret: secret.filter(|s| s.belongs_to(user)).map(|_| user.spec.secret_name.clone()),
        certificate: observed
            .certificates
            .get(&user.resource)
            .and_then(Option::as_ref)
            .map(|_| user.resource.name.clone()),
    };
    let cleaned = cleanup == Cleanup::default();
    if !cleaned {
        plan.cleanups.push((user.resource.clone(), cleanup));
    }
    // With the cluster gone there is no ACL (nor credential) left to remove.
    let acls_gone = acls_done || *observed.reach == Reach::Gone;
    let credentials_gone = *observed.reach == Reach::Gone || !credentials_pending(user, &plan.credentials);
    if acls_gone && cleaned && credentials_gone {
        plan.releases.push(user.resource.clone());
        return;
    }
    let why = match observed.acls {
        AclView::Unread(why) if !acls_gone => format!("deleting: its ACLs are not read yet ({why})"),
        _ => "deleting: removing its ACLs and Secret".to_owned(),
    };
    outcome.waiting.push(why);
    plan.outcomes.insert(user.resource.clone(), outcome);
}

/// Whether a deleted user's SCRAM credential or quotas are still to be removed.
fn credentials_pending(user: &UserRequest, credentials: &CredentialsPlan) -> bool {
    let name = user.resource.name.as_str();
    let certificate_name = user.principal.trim_start_matches("User:");
    credentials.deletes.iter().any(|deleted| deleted == name)
        || credentials.quota_changes.iter().any(|change| change.user == name || change.user == certificate_name)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
