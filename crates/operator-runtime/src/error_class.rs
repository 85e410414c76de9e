//! How bad a failed pass is (pure): transient (retry soon) or permanent (only a change, or a
//! long wait, can fix it), with a short category for metrics, and the wait before retrying.
//!
//! Every error a pass or reconcile returns implements [`Classify`]; the keyed worker and
//! kube's `Controller::run` error policy (see [`retry_action`]) pace retries by it.

use std::time::Duration;

use kube::runtime::controller::Action;

/// Whether retrying soon can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The API server, Kafka or Cruise Control was unreachable, busy or raced with another
    /// writer: retrying soon will likely succeed.
    Transient,
    /// Refused for a reason that retrying does not change (forbidden, invalid): retried
    /// only rarely, in case the cause was fixed outside the object.
    Permanent,
}

/// A failure's severity and category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorClass {
    pub severity: Severity,
    /// Short snake_case name, the `category` label of `*_reconcile_failures_total`:
    /// `api_conflict`, `api_unavailable`, `kafka_unreachable`...
    pub category: &'static str,
}

impl ErrorClass {
    pub const fn transient(category: &'static str) -> Self {
        Self { severity: Severity::Transient, category }
    }

    pub const fn permanent(category: &'static str) -> Self {
        Self { severity: Severity::Permanent, category }
    }

    pub fn is_transient(self) -> bool {
        self.severity == Severity::Transient
    }
}

/// An error a pass can fail with; `Display` and `source` give the chain the Warning event
/// carries.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn class(&self) -> ErrorClass;
}

/// The class of a failed API request: conflicts, throttling, server errors and lost
/// connections are transient; the rest (forbidden, invalid, not found...) permanent.
pub fn kube_error_class(error: &kube::Error) -> ErrorClass {
    match error {
        kube::Error::Api(status) => match status.code {
            // 422 is also a failed JSON patch `test`: the object changed under the writer.
            409 => ErrorClass::transient("api_conflict"),
            429 | 500 | 502 | 503 | 504 => ErrorClass::transient("api_unavailable"),
            401 | 403 => ErrorClass::permanent("api_forbidden"),
            404 => ErrorClass::permanent("api_not_found"),
            400 | 422 => ErrorClass::permanent("api_invalid"),
            _ => ErrorClass::permanent("api_error"),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            ErrorClass::transient("api_unreachable")
        }
        kube::Error::Auth(_) => ErrorClass::transient("api_auth"),
        _ => ErrorClass::permanent("api_client"),
    }
}

/// How long to wait after a failed pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPacing {
    /// First retry after a transient failure (or a pass that asks to look again soon);
    /// doubles with each retry in a row, up to `max`.
    pub min: Duration,
    pub max: Duration,
    /// Wait after a permanent failure.
    pub after_permanent: Duration,
}

impl Default for RetryPacing {
    fn default() -> Self {
        Self { min: Duration::from_secs(1), max: Duration::from_secs(30), after_permanent: Duration::from_secs(300) }
    }
}

impl RetryPacing {
    /// The wait after the `attempt`-th failure in a row (0 for the first).
    pub fn wait(&self, class: ErrorClass, attempt: u32) -> Duration {
        match class.severity {
            Severity::Transient => self.soon(attempt),
            Severity::Permanent => self.after_permanent,
        }
    }

    /// The `attempt`-th retry in a row (0 for the first) of something that may pass soon.
    pub fn soon(&self, attempt: u32) -> Duration {
        self.min.saturating_mul(2u32.saturating_pow(attempt.min(20))).min(self.max)
    }
}

/// For kube's `Controller` error policy: requeue a transient failure after `pacing.min`, a
/// permanent one after `pacing.after_permanent` (the controller keeps no count of failures
/// in a row per object, so there is no doubling).
pub fn retry_action(error: &impl Classify, pacing: &RetryPacing) -> Action {
    Action::requeue(pacing.wait(error.class(), 0))
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure("refused", "Reason").with_code(code)))
    }

    #[test]
    fn api_errors_are_transient_only_when_retrying_can_help() {
        let class = |code| kube_error_class(&api_error(code));
        assert_eq!(class(409), ErrorClass::transient("api_conflict"));
        assert_eq!(class(503), ErrorClass::transient("api_unavailable"));
        assert_eq!(class(429), ErrorClass::transient("api_unavailable"));
        assert_eq!(class(403), ErrorClass::permanent("api_forbidden"));
        assert_eq!(class(422), ErrorClass::permanent("api_invalid"));
        assert_eq!(class(404), ErrorClass::permanent("api_not_found"));
        let lost = kube::Error::Service(Box::new(std::io::Error::other("connection reset")));
        assert_eq!(kube_error_class(&lost), ErrorClass::transient("api_unreachable"));
        let bad_body = kube::Error::SerdeError(serde_json::from_str::<u8>("x").expect_err("not a number"));
        assert_eq!(kube_error_class(&bad_body), ErrorClass::permanent("api_client"));
    }

    #[test]
    fn transient_waits_double_up_to_the_max_and_permanent_ones_are_long() {
        let pacing = RetryPacing::default();
        let transient = ErrorClass::transient("kafka_unreachable");
        let waits: Vec<u64> = (0..7).map(|attempt| pacing.wait(transient, attempt).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(pacing.wait(transient, u32::MAX), Duration::from_secs(30));
        assert_eq!(pacing.wait(ErrorClass::permanent("api_forbidden"), 0), Duration::from_secs(300));
    }

    #[test]
    fn the_controller_error_policy_follows_the_class() {
        #[derive(Debug, thiserror::Error)]
        #[error("failed to write")]
        struct Refused(ErrorClass);
        impl Classify for Refused {
            fn class(&self) -> ErrorClass {
                self.0
            }
        }
        let pacing = RetryPacing::default();
        assert_eq!(
            retry_action(&Refused(ErrorClass::transient("api_conflict")), &pacing),
            Action::requeue(Duration::from_secs(1))
        );
        assert_eq!(
            retry_action(&Refused(ErrorClass::permanent("api_forbidden")), &pacing),
            Action::requeue(Duration::from_secs(300))
        );
    }
}
