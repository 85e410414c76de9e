//! The status a KafkaUser should show for its outcome (pure), so that an unchanged user
//! produces an identical status and costs no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crd_types::KafkaUserStatus;
use crd_types::conditions::{self, DEGRADED, READY};
use crd_types::kafka_user::UserState;

use super::plan::UserOutcome;
use super::request::UserRequest;

/// Another KafkaUser has the same principal: its ACLs are shared.
pub const SHARED_PRINCIPAL: &str = "SharedPrincipal";
/// Fields accepted but not acted on.
pub const UNSUPPORTED_FIELDS: &str = "UnsupportedFields";

/// The status `request` should have after `outcome`; `now` stamps changed conditions only.
pub fn desired_status(request: &UserRequest, outcome: &UserOutcome, now: &Time) -> KafkaUserStatus {
    let generation = request.generation;
    let mut status = KafkaUserStatus {
        state: None,
        acls: outcome.acls.clone(),
        observed_generation: generation,
        conditions: request.status.conditions.clone(),
    };
    let condition = |type_: &str, value: bool, reason: &str, message: String| {
        conditions::new(type_, value, reason, message, generation, now.clone())
    };
    let ready = if outcome.ready() {
        let mut parts = vec![format!("{} ACLs in Kafka as specified", outcome.acls.len())];
        parts.extend(outcome.certificate.clone());
        condition(READY, true, "InSync", parts.join("; "))
    } else if let Some(problem) = outcome.problems.first() {
        condition(READY, false, problem.reason, all(outcome))
    } else {
        condition(READY, false, "Reconciling", all(outcome))
    };
    conditions::upsert(&mut status.conditions, ready);
    let degraded = match outcome.problems.first() {
        Some(problem) => condition(
            DEGRADED,
            true,
            problem.reason,
            outcome.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "),
        ),
        None => condition(DEGRADED, false, "AsExpected", String::new()),
    };
    conditions::upsert(&mut status.conditions, degraded);
    optional(&mut status, SHARED_PRINCIPAL, !outcome.shared_with.is_empty(), || {
        let others: Vec<String> = outcome.shared_with.iter().map(ToString::to_string).collect();
        condition(
            SHARED_PRINCIPAL,
            true,
            "SameName",
            format!(
                "KafkaUsers {} have the same name on this cluster, so the same principal ({}): Kafka cannot tell their \
                 certificates apart, and each has the ACLs of all; give them different names",
                others.join(", "),
                request.principal
            ),
        )
    });
    optional(&mut status, UNSUPPORTED_FIELDS, !outcome.unsupported.is_empty(), || {
        condition(UNSUPPORTED_FIELDS, true, "NotActedOn", outcome.unsupported.join("; "))
    });
    status.state = if !outcome.problems.is_empty() {
        Some(UserState::Failed)
    } else if outcome.ready() {
        Some(UserState::Created)
    } else {
        request.status.state
    };
    status
}

/// A condition present only while it holds.
fn optional(
    status: &mut KafkaUserStatus,
    type_: &str,
    holds: bool,
    condition: impl FnOnce() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition,
) {
    if holds {
        conditions::upsert(&mut status.conditions, condition());
    } else {
        status.conditions.retain(|c| c.type_ != type_);
    }
}

fn all(outcome: &UserOutcome) -> String {
    outcome
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .chain(outcome.waiting.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::request::ResourceKey;
    use crate::users::plan::Problem;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    fn request(status: KafkaUserStatus) -> UserRequest {
        let mut user = crd_types::KafkaUser::new("alice", Default::default());
        user.metadata.namespace = Some("ns".into());
        user.metadata.generation = Some(2);
        user.status = Some(status);
        UserRequest::from_resource(&user)
    }

    #[test]
    fn an_unchanged_outcome_gives_an_identical_status() {
        let outcome = UserOutcome { acls: vec!["a".into()], certificate: Some("c".into()), ..Default::default() };
        let first = desired_status(&request(KafkaUserStatus::default()), &outcome, &at(10));
        assert_eq!(first.state, Some(UserState::Created));
        let again = desired_status(&request(first.clone()), &outcome, &at(20));
        assert_eq!(again, first, "no new transition time, so no write");
    }

    #[test]
    fn problems_fail_the_user_and_name_the_field() {
        let outcome = UserOutcome {
            problems: vec![Problem { reason: "NoTlsListener", message: "spec.createCert: no TLS".into() }],
            shared_with: vec![ResourceKey { namespace: "other".into(), name: "alice".into() }],
            unsupported: vec!["spec.includeJKS: later".into()],
            ..Default::default()
        };
        let status = desired_status(&request(KafkaUserStatus::default()), &outcome, &at(10));
        assert_eq!(status.state, Some(UserState::Failed));
        let find = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_).expect(type_).clone();
        assert_eq!((find(DEGRADED).status.as_str(), find(DEGRADED).reason.as_str()), ("True", "NoTlsListener"));
        assert_eq!(find(READY).status, "False");
        assert!(find(SHARED_PRINCIPAL).message.contains("other/alice"), "{:?}", find(SHARED_PRINCIPAL));
        assert_eq!(find(UNSUPPORTED_FIELDS).message, "spec.includeJKS: later");

        let fixed = desired_status(&request(status), &UserOutcome::default(), &at(20));
        assert!(fixed.conditions.iter().all(|c| c.type_ != SHARED_PRINCIPAL && c.type_ != UNSUPPORTED_FIELDS));
        assert_eq!(fixed.state, Some(UserState::Created));
    }
}
