//! Applies a users plan (client required): finalizers before anything is created, ACLs (one
//! CreateAcls, then one DeleteAcls: a grant changing shape keeps working throughout),
//! certificates, clean-ups, released finalizers; then the statuses that changed.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use kafka_admin::{ErrorCode, ScramAlteration, ScramMechanism, WireAdmin};

use super::credentials::{SCRAM_ITERATIONS, ScramUpsert};
use super::pass::{PassError, Shared, kafka_failure};
use super::plan::{Plan, Problem};
use super::request::UserRequest;
use super::{certificate, in_chunks, issue, java_stores, status};
use crate::request::{ClusterKey, ResourceKey};
use crate::user_acls::grants::status_acls;

type Users<'a> = HashMap<&'a ResourceKey, &'a UserRequest>;

pub async fn apply(
    shared: &Shared,
    cluster: &ClusterKey,
    users: &Users<'_>,
    admin: Option<&WireAdmin>,
    plan: &mut Plan,
    failures: &mut Vec<PassError>,
) {
    let finalized = add_finalizers(shared, users, plan, failures).await;
    for key in &plan.labels_to_set {
        if let Some(user) = users.get(key)
            && let Err(source) = shared.writer.set_cluster_label(user).await
        {
            failures.push(PassError::Write { user: key.clone(), source });
        }
    }
    if let Some(admin) = admin.filter(|_| finalized && !plan.acl_changes.is_empty()) {
        apply_acls(shared, cluster, users, admin, plan, failures).await;
    }
    if let Some(admin) = admin.filter(|_| finalized && !plan.credentials.is_empty()) {
        apply_credentials(shared, cluster, users, admin, plan, failures).await;
    }
    issue_certificates(shared, users, plan, failures).await;
    for key in &plan.passwords {
        let Some(user) = users.get(key) else { continue };
        let written = match java_stores::new_password() {
            Ok(password) => shared.writer.apply_secret(&certificate::password_secret(user, &password)).await,
            Err(_) => continue,
        };
        if let Err(source) = written {
            failures.push(PassError::Write { user: key.clone(), source });
        }
    }
    for (key, certificate) in &plan.certificates {
        if let Err(source) = shared.writer.apply_certificate(&key.namespace, &key.name, certificate).await {
            failures.push(PassError::Write { user: key.clone(), source });
        }
    }
    for (key, cleanup) in &plan.cleanups {
        let (secret, certificate) = (cleanup.secret.as_deref(), cleanup.certificate.as_deref());
        let deleted = async {
            if let Some(name) = certificate {
                shared.writer.delete_certificate(&key.namespace, name).await?;
            }
            if let Some(name) = secret {
                shared.writer.delete_secret(&key.namespace, name).await?;
            }
            Ok(())
        };
        if let Err(source) = deleted.await {
            failures.push(PassError::Write { user: key.clone(), source });
        }
    }
    for key in &plan.releases {
        let Some(user) = users.get(key) else { continue };
        match shared.writer.remove_finalizer(user).await {
            Ok(()) => {
                let note = "its ACLs and Secret are removed".to_owned();
                shared.writer.publish(user, false, "UserRemoved", note).await;
            }
            Err(error) => failures.push(error.into()),
        }
    }
}

/// SCRAM credentials (a generated password stored first, then Kafka, then the Secret's digest),
/// credentials no user wants any more, and quotas.
async fn apply_credentials(
    shared: &Shared,
    cluster: &ClusterKey,
    users: &Users<'_>,
    admin: &WireAdmin,
    plan: &Plan,
    failures: &mut Vec<PassError>,
) {
    let credentials = &plan.credentials;
    let mut unstored = Vec::new();
    for (key, secret) in &credentials.secrets_before {
        if let Err(source) = shared.writer.apply_scram_secret(secret).await {
            failures.push(PassError::Write { user: key.clone(), source });
            unstored.push(key);
        }
    }
    let upserts: Vec<&ScramUpsert> = credentials.upserts.iter().filter(|u| !unstored.contains(&&u.user)).collect();
    let alterations: Vec<ScramAlteration> = upserts
        .iter()
        .map(|upsert| ScramAlteration::Upsert {
            user: upsert.name.clone(),
            mechanism: ScramMechanism::Sha512,
            iterations: SCRAM_ITERATIONS,
            password: upsert.password.clone(),
        })
        .chain(
            credentials
                .deletes
                .iter()
                .map(|name| ScramAlteration::Delete { user: name.clone(), mechanism: ScramMechanism::Sha512 }),
        )
        .collect();
    if !alterations.is_empty() {
        match admin.alter_user_scram_credentials(&alterations).await {
            Ok(outcomes) => {
                for (alteration, outcome) in alterations.iter().zip(outcomes) {
                    let upsert = upserts.iter().find(|u| u.name == alteration.user());
                    match (outcome.result, upsert) {
                        (Ok(()), Some(upsert)) if matches!(alteration, ScramAlteration::Upsert { .. }) => {
                            match shared.writer.apply_scram_secret(&upsert.secret).await {
                                Ok(()) => {
                                    if let Some(user) = users.get(&upsert.user) {
                                        let note = "SCRAM-SHA-512 credential set in Kafka".to_owned();
                                        shared.writer.publish(user, false, "ScramCredentialSet", note).await;
                                    }
                                }
                                Err(source) => failures.push(PassError::Write { user: upsert.user.clone(), source }),
                            }
                        }
                        (Ok(()), _) => {}
                        // Deleting a credential that is gone already is done.
                        (Err(error), _) if error.code == ErrorCode::RESOURCE_NOT_FOUND => {}
                        (Err(error), _) => failures.push(PassError::Kafka {
                            cluster: cluster.clone(),
                            message: format!("SCRAM credential of {}: {error}", alteration.user()),
                            retriable: false,
                        }),
                    }
                }
            }
            Err(error) => failures.push(kafka_failure(cluster, &error)),
        }
    }
    for (key, secret) in &credentials.secrets_only {
        if let Err(source) = shared.writer.apply_scram_secret(secret).await {
            failures.push(PassError::Write { user: key.clone(), source });
        }
    }
    if !credentials.quota_changes.is_empty() {
        match admin.alter_user_quotas(&credentials.quota_changes).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    if let Err(error) = outcome.result {
                        failures.push(PassError::Kafka {
                            cluster: cluster.clone(),
                            message: format!("quotas of {}: {error}", outcome.user),
                            retriable: false,
                        });
                    }
                }
            }
            Err(error) => failures.push(kafka_failure(cluster, &error)),
        }
    }
}

/// Whether every user that needed the finalizer has it now.
async fn add_finalizers(shared: &Shared, users: &Users<'_>, plan: &Plan, failures: &mut Vec<PassError>) -> bool {
    let wanted: Vec<&UserRequest> = plan.finalizers_to_add.iter().filter_map(|key| users.get(key).copied()).collect();
    let adds: Vec<_> = wanted.into_iter().map(|user| shared.writer.add_finalizer(user)).collect();
    let answers = in_chunks(adds).await;
    let before = failures.len();
    failures.extend(answers.into_iter().filter_map(Result::err).map(PassError::from));
    failures.len() == before
}

async fn apply_acls(
    shared: &Shared,
    cluster: &ClusterKey,
    users: &Users<'_>,
    admin: &WireAdmin,
    plan: &mut Plan,
    failures: &mut Vec<PassError>,
) {
    let mut refused: Vec<(String, String)> = Vec::new();
    match admin.create_acls(&plan.acl_changes.create).await {
        Ok(answers) => {
            for answer in answers {
                if let Err(error) = answer.result {
                    refused.push((answer.binding.principal.clone(), format!("{}: {error}", answer.binding)));
                }
            }
        }
        Err(error) => failures.push(kafka_failure(cluster, &error)),
    }
    match admin.delete_acls(&plan.acl_changes.delete_filters()).await {
        Ok(answers) => {
            for answer in answers {
                if let Err(error) = answer.result {
                    let principal = answer.filter.principal.clone().unwrap_or_default();
                    refused.push((principal, format!("deleting {:?}: {error}", answer.filter.resource_name)));
                }
            }
        }
        Err(error) => failures.push(kafka_failure(cluster, &error)),
    }
    let (created, deleted) = (&plan.acl_changes.create, &plan.acl_changes.delete);
    for user in users.values().filter(|u| !u.deleting) {
        let principals = user.principals();
        let mine = |b: &&kafka_admin::AclBinding| principals.contains(&b.principal);
        let (added, removed): (Vec<_>, Vec<_>) =
            (created.iter().filter(mine).collect(), deleted.iter().filter(mine).collect());
        if !added.is_empty() || !removed.is_empty() {
            let note = format!(
                "created {} and deleted {} ACLs of {}; deleted: {:?}",
                added.len(),
                removed.len(),
                user.principal,
                status_acls(removed)
            );
            shared.writer.publish(user, false, "AclsChanged", note).await;
        }
        let theirs: Vec<&str> =
            refused.iter().filter(|(p, _)| principals.contains(p)).map(|(_, m)| m.as_str()).collect();
        if !theirs.is_empty()
            && let Some(outcome) = plan.outcomes.get_mut(&user.resource)
        {
            let message = format!("spec.topicGrants: Kafka refused ACLs: {}", theirs.join("; "));
            shared.writer.publish(user, true, "AclsRefused", message.clone()).await;
            outcome.problems.push(Problem { reason: "KafkaRefusedAcl", message });
        }
    }
}

async fn issue_certificates(shared: &Shared, users: &Users<'_>, plan: &mut Plan, failures: &mut Vec<PassError>) {
    let wanted: Vec<(&UserRequest, String)> =
        plan.issue.iter().filter_map(|(key, why)| Some((*users.get(key)?, why.clone()))).collect();
    let issues: Vec<_> = wanted
        .into_iter()
        .map(|(user, why)| async move { (user, why, issue::issue(&shared.access, &shared.writer, user).await) })
        .collect();
    let answers = in_chunks(issues).await;
    for (user, why, answer) in answers {
        match answer {
            Ok(expiry) => {
                let note = format!("certificate in Secret {} valid until {expiry} ({why})", user.spec.secret_name);
                shared.writer.publish(user, false, "CertificateIssued", note).await;
            }
            Err(source) => {
                let message = operator_runtime::error_chain(&source);
                if let Some(outcome) = plan.outcomes.get_mut(&user.resource) {
                    outcome.waiting.push(format!("certificate not issued: {message}"));
                }
                failures.push(PassError::Issue { user: user.resource.clone(), source });
            }
        }
    }
}

/// Writes each status that differs from the one the user shows.
pub async fn write_statuses(shared: &Shared, users: &[UserRequest], plan: &Plan, failures: &mut Vec<PassError>) {
    let now = Time(Timestamp::now());
    let changed: Vec<_> = users
        .iter()
        .filter(|user| !plan.releases.contains(&user.resource))
        .filter_map(|user| {
            let outcome = plan.outcomes.get(&user.resource)?;
            let desired = status::desired_status(user, outcome, &now);
            (desired != user.status).then_some((user, desired))
        })
        .collect();
    let writes: Vec<_> = changed
        .into_iter()
        .map(|(user, status)| async move { shared.writer.write_status(user, &status).await })
        .collect();
    let answers = in_chunks(writes).await;
    failures.extend(answers.into_iter().filter_map(Result::err).map(PassError::from));
}
