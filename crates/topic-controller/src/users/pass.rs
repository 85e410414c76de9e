//! One pass over every KafkaUser of one cluster: ask the cluster controller how to reach the
//! brokers and who issues certificates → observe (one DescribeAcls of the whole cluster, the
//! users' Secrets and Certificates) → plan (pure) → apply (finalizers first, then ACLs in one
//! CreateAcls and one DeleteAcls, certificates, clean-ups, released finalizers) → statuses
//! and events, each written only when it changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;

use kafka_admin::{
    AclBindingFilter, ConnectionSettings, ErrorCode, RequestCounter, RequestError, ScramMechanism, WireAdmin,
};
use operator_runtime::error_class::{Classify, ErrorClass, kube_error_class};
use operator_runtime::finalizers::FinalizerError;
use operator_runtime::status_apply::StatusError;

use super::apply::{apply, write_statuses};
use super::credentials::{CredentialsObserved, Password, QuotaView, ScramView, password_key};
use super::in_chunks;
use super::issue::IssueError;
use super::kube_io::UserWriter;
use super::plan::{self, AclView, Observed, Reach};
use super::request::UserRequest;
use crate::access::{self, ClusterAccess, UserIssuer};
use crate::request::{ClusterKey, ResourceKey};
use crate::tls_material::CachedMaterial;
use crate::tls_secrets;
use crate::user_acls::diff::bindings_by_principal;

/// What every cluster worker shares.
pub struct Shared {
    pub writer: UserWriter,
    pub access: ClusterAccess,
    pub kafka_requests: RequestCounter,
    pub client_id: String,
    pub request_timeout: std::time::Duration,
}

/// What one cluster's worker keeps between passes.
#[derive(Default)]
pub struct ClusterState {
    tls_material: Option<CachedMaterial>,
    /// The user CA's material, for a cluster whose client connection is not TLS.
    user_ca_material: Option<CachedMaterial>,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("failed to ask the cluster controller about KafkaCluster {cluster}")]
    ClusterAccess {
        cluster: ClusterKey,
        #[source]
        source: access::Error,
    },
    #[error("failed to reach Kafka of KafkaCluster {cluster}: {message}")]
    Kafka { cluster: ClusterKey, message: String, retriable: bool },
    #[error("failed to read the Secret or Certificate of KafkaUser {user}")]
    Read {
        user: ResourceKey,
        #[source]
        source: kube::Error,
    },
    #[error("failed to write for KafkaUser {user}")]
    Write {
        user: ResourceKey,
        #[source]
        source: kube::Error,
    },
    #[error("failed to change a finalizer")]
    Finalizer(#[from] FinalizerError),
    #[error("failed to write a status")]
    Status(#[from] StatusError),
    #[error("failed to issue the certificate of KafkaUser {user}")]
    Issue {
        user: ResourceKey,
        #[source]
        source: IssueError,
    },
}

impl Classify for PassError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::ClusterAccess { .. } => ErrorClass::transient("cluster_access_unreachable"),
            Self::Kafka { retriable: true, .. } => ErrorClass::transient("kafka_unreachable"),
            Self::Kafka { .. } => ErrorClass::permanent("kafka_request"),
            Self::Read { source, .. } | Self::Write { source, .. } => kube_error_class(source),
            Self::Finalizer(source) => source.class(),
            Self::Status(source) => source.class(),
            Self::Issue { .. } => ErrorClass::transient("certificate_issue"),
        }
    }
}

#[derive(Debug)]
pub struct PassReport {
    pub retry_soon: bool,
    pub failure: Option<PassError>,
}

pub async fn run_pass(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    users: &[UserRequest],
) -> PassReport {
    let mut failures = Vec::new();
    let (reach, admin) = reach(shared, state, cluster, &mut failures).await;
    let acls = match &admin {
        Some(admin) => read_acls(admin, cluster, &mut failures).await,
        None => AclView::Unread(match &reach {
            Reach::Waiting(why) => why.clone(),
            _ => "the cluster is not reachable".to_owned(),
        }),
    };
    let refs: Vec<&UserRequest> = users.iter().collect();
    let (secrets, certificates) = read_objects(shared, &refs, &reach, &mut failures).await;
    let credentials = read_credentials(shared, admin.as_deref(), cluster, &refs, &secrets, &mut failures).await;
    let now = Timestamp::now().as_second();
    let observed = Observed {
        cluster,
        reach: &reach,
        acls: &acls,
        secrets: &secrets,
        certificates: &certificates,
        credentials: &credentials,
        now,
    };
    let mut plan = plan::plan(&refs, &observed);
    let by_key: HashMap<&ResourceKey, &UserRequest> = users.iter().map(|u| (&u.resource, u)).collect();
    apply(shared, cluster, &by_key, admin.as_deref(), &mut plan, &mut failures).await;
    write_statuses(shared, users, &plan, &mut failures).await;
    PassReport { retry_soon: plan.retry_soon(), failure: failures.into_iter().next() }
}

/// How the cluster stands, and an admin client when it can be reached.
async fn reach(
    shared: &Shared,
    state: &mut ClusterState,
    cluster: &ClusterKey,
    failures: &mut Vec<PassError>,
) -> (Reach, Option<Arc<WireAdmin>>) {
    let target = match shared.access.target(cluster).await {
        Ok(target) => target,
        Err(access::Error::ClusterNotFound(_)) => return (Reach::Gone, None),
        Err(error) => {
            let message = error.to_string();
            if matches!(error, access::Error::Unreachable { .. }) {
                failures.push(PassError::ClusterAccess { cluster: cluster.clone(), source: error });
            }
            return (Reach::Waiting(message), None);
        }
    };
    let tls = match &target.tls {
        Some(source) => match tls_secrets::tls_settings(&shared.writer.client, source, &mut state.tls_material).await {
            Ok(settings) => Some(settings),
            Err(error) => return (Reach::Waiting(operator_runtime::error_chain(&error)), None),
        },
        None => None,
    };
    // With TLS on external listeners only, the connection is plaintext but the users'
    // certificates still carry the operator's CA.
    let ca_bundle = match (&tls, &target.user_ca) {
        (Some(settings), _) => Some(settings.ca_pem.clone()),
        (None, Some(source)) => {
            match tls_secrets::tls_settings(&shared.writer.client, source, &mut state.user_ca_material).await {
                Ok(settings) => Some(settings.ca_pem),
                Err(error) => return (Reach::Waiting(operator_runtime::error_chain(&error)), None),
            }
        }
        (None, None) => None,
    };
    let settings = ConnectionSettings {
        bootstrap_servers: target.bootstrap_servers.clone(),
        client_id: shared.client_id.clone(),
        request_timeout: shared.request_timeout,
        tls,
    };
    let reach = Reach::Ready { issuer: target.user_issuer.clone(), ca_bundle };
    match WireAdmin::connect(&settings, shared.kafka_requests.clone()) {
        Ok(admin) => (reach, Some(Arc::new(admin))),
        Err(error) => {
            let message = operator_runtime::error_chain(&error);
            failures.push(PassError::Kafka { cluster: cluster.clone(), message: message.clone(), retriable: false });
            (reach, None)
        }
    }
}

async fn read_acls(admin: &WireAdmin, cluster: &ClusterKey, failures: &mut Vec<PassError>) -> AclView {
    match admin.describe_acls(&AclBindingFilter::any()).await {
        Ok(bindings) => AclView::Read(bindings_by_principal(bindings)),
        Err(error) if error.code == ErrorCode::SECURITY_DISABLED => AclView::NoAuthorizer,
        Err(error) => {
            let message = operator_runtime::error_chain(&error);
            failures.push(kafka_failure(cluster, &error));
            AclView::Unread(message)
        }
    }
}

pub(super) fn kafka_failure(cluster: &ClusterKey, error: &RequestError) -> PassError {
    PassError::Kafka {
        cluster: cluster.clone(),
        message: operator_runtime::error_chain(error),
        retriable: error.is_retriable(),
    }
}

/// Kafka's SCRAM credentials of the users' names and (when a user has quotas) the users'
/// quotas, and each SCRAM user's password: from `spec.scram.passwordSecret`, from its own
/// Secret, or generated now.
async fn read_credentials(
    shared: &Shared,
    admin: Option<&WireAdmin>,
    cluster: &ClusterKey,
    users: &[&UserRequest],
    secrets: &Secrets,
    failures: &mut Vec<PassError>,
) -> CredentialsObserved {
    let mut observed = CredentialsObserved::default();
    if users.is_empty() {
        return observed;
    }
    let Some(admin) = admin else {
        let why = "the cluster is not reachable".to_owned();
        observed.scram = ScramView::Unread(why.clone());
        observed.quotas = QuotaView::Unread(why);
        return observed;
    };
    // Every user's name, so that a credential is removed also when spec.scram is dropped.
    let names: Vec<String> =
        users.iter().map(|u| u.resource.name.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    observed.scram = match admin.describe_user_scram_credentials(&names).await {
        Ok(described) => {
            let mut present = BTreeSet::new();
            for user in described {
                match user.result {
                    Ok(infos) if infos.iter().any(|i| i.mechanism == ScramMechanism::Sha512) => {
                        present.insert(user.user);
                    }
                    Ok(_) => {}
                    Err(error) => {
                        observed.scram = ScramView::Unread(format!("{}: {error}", user.user));
                        break;
                    }
                }
            }
            if matches!(observed.scram, ScramView::Unread(_)) { observed.scram } else { ScramView::Read(present) }
        }
        Err(error) => {
            failures.push(kafka_failure(cluster, &error));
            ScramView::Unread(operator_runtime::error_chain(&error))
        }
    };
    if users.iter().any(|u| u.spec.quotas.is_some()) {
        observed.quotas = match admin.describe_user_quotas().await {
            Ok(quotas) => QuotaView::Read(quotas),
            Err(error) => {
                failures.push(kafka_failure(cluster, &error));
                QuotaView::Unread(operator_runtime::error_chain(&error))
            }
        };
    }
    for user in users.iter().filter(|u| !u.deleting) {
        let Some(scram) = &user.spec.scram else { continue };
        let password = match &scram.password_secret {
            Some(reference) => match shared.writer.read_secret(&user.resource.namespace, &reference.name).await {
                Ok(found) => match found.as_ref().and_then(|s| s.data.get(&reference.key)).filter(|p| !p.is_empty()) {
                    Some(password) => Password::Known(password.clone()),
                    None => Password::Missing(format!(
                        "spec.scram.passwordSecret: Secret {}/{} {} no non-empty key {}: create it with the password \
                         there, or remove passwordSecret to have one generated",
                        user.resource.namespace,
                        reference.name,
                        if found.is_some() { "has" } else { "does not exist, so" },
                        reference.key
                    )),
                },
                Err(source) => {
                    failures.push(PassError::Read { user: user.resource.clone(), source });
                    continue;
                }
            },
            None => {
                let stored = secrets.get(&user.resource).and_then(Option::as_ref).filter(|s| s.belongs_to(user));
                match stored.and_then(|s| s.data.get(password_key(user))).filter(|p| !p.is_empty()) {
                    Some(password) => Password::Known(password.clone()),
                    None => generate_password().map_or_else(
                        || {
                            Password::Missing(
                                "spec.scram: no password could be generated (the system's random source failed); \
                                 name one in spec.scram.passwordSecret"
                                    .to_owned(),
                            )
                        },
                        Password::Generated,
                    ),
                }
            }
        };
        observed.passwords.insert(user.resource.clone(), password);
    }
    observed
}

/// 32 characters from the system's random source, letters and digits (190 bits); `None` if
/// that source fails.
fn generate_password() -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    // 256 is not a multiple of 62: bytes past the last whole multiple are folded, a bias of
    // under 2 bits in 190 that no attacker can use.
    Some(bytes.iter().map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char).collect())
}

type Secrets = BTreeMap<ResourceKey, Option<super::certificate::StoredSecret>>;
type Certificates = BTreeMap<ResourceKey, Option<serde_json::Value>>;

/// The Secret of every user that has or had a certificate, and the Certificate where
/// cert-manager issues it (or may have, for a user being deleted).
async fn read_objects(
    shared: &Shared,
    users: &[&UserRequest],
    reach: &Reach,
    failures: &mut Vec<PassError>,
) -> (Secrets, Certificates) {
    let cert_manager = matches!(reach, Reach::Ready { issuer: Some(UserIssuer::CertManager { .. }), .. });
    let wanted: Vec<&UserRequest> = users
        .iter()
        .copied()
        .filter(|u| u.deleting || u.spec.creates_certificate() || u.spec.scram.is_some())
        .collect();
    let reads: Vec<_> = wanted
        .into_iter()
        .map(|user| async move {
            let namespace = &user.resource.namespace;
            let secret = shared.writer.read_secret(namespace, &user.spec.secret_name).await;
            let own_issuer = user.spec.pki_backend_spec.as_ref().is_some_and(|p| p.issuer_ref.is_some());
            let certificate = if user.deleting || cert_manager || own_issuer {
                Some(shared.writer.read_certificate(namespace, &user.resource.name).await)
            } else {
                None
            };
            (user.resource.clone(), secret, certificate)
        })
        .collect();
    let reads = in_chunks(reads).await;
    let (mut secrets, mut certificates) = (Secrets::new(), Certificates::new());
    for (user, secret, certificate) in reads {
        match secret {
            Ok(secret) => {
                secrets.insert(user.clone(), secret);
            }
            Err(source) => failures.push(PassError::Read { user: user.clone(), source }),
        }
        match certificate {
            Some(Ok(certificate)) => {
                certificates.insert(user, certificate);
            }
            Some(Err(source)) => failures.push(PassError::Read { user, source }),
            None => {}
        }
    }
    (secrets, certificates)
}
