//! Status conditions every kind of this API reports, and how they are updated.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The resource has reached its desired state.
pub const READY: &str = "Ready";
/// The operator is working towards the desired state; the message says what it waits for.
pub const RECONCILING: &str = "Reconciling";
/// The desired state cannot be reached as specified; the message names the cause and the fix.
pub const DEGRADED: &str = "Degraded";

/// Sets `condition` in `conditions`, keeping `lastTransitionTime` when the status did not change
/// so that an unchanged resource produces an identical status (and no write).
pub fn upsert(conditions: &mut Vec<Condition>, mut condition: Condition) {
    match conditions.iter_mut().find(|existing| existing.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

/// A condition of `type_` with `status` "True" or "False".
pub fn new(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    #[test]
    fn unchanged_status_keeps_transition_time() {
        let mut conditions = vec![new(READY, false, "Starting", "broker 0 starting", Some(1), at(10))];
        upsert(&mut conditions, new(READY, false, "Starting", "broker 1 starting", Some(1), at(20)));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, at(10));
        assert_eq!(conditions[0].message, "broker 1 starting");
    }

    #[test]
    fn changed_status_moves_transition_time() {
        let mut conditions = vec![new(READY, false, "Starting", "", Some(1), at(10))];
        upsert(&mut conditions, new(READY, true, "Running", "", Some(1), at(20)));
        assert_eq!(conditions[0].last_transition_time, at(20));
    }
}
