//! The leader election decisions, free of I/O and of the real clock so they can be tested
//! step by step. Follows client-go's `leaderelection` semantics:
//!
//! - Expiry of someone else's lease is judged by *our* monotonic clock from the moment we
//!   last saw the record change, never by comparing their `renewTime` with our wall clock,
//!   so clock skew between nodes cannot make two replicas lead at once.
//! - A leader that cannot renew within `renew_deadline` stops leading on its own, before
//!   its lease (`lease_duration`) runs out for the others.

use std::time::Duration;

use k8s_openapi::{api::coordination::v1::LeaseSpec, apimachinery::pkg::apis::meta::v1::MicroTime, jiff::Timestamp};
use tokio::time::Instant;

/// How long a lease lasts and how often it is renewed or retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long followers wait after the last renewal they saw before taking over.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal.
    pub renew_deadline: Duration,
    /// Pause between attempts to acquire or renew.
    pub retry_period: Duration,
}

/// The two clocks a decision needs: monotonic for expiry, wall for the Lease fields.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Monotonic time for all duration arithmetic.
    pub monotonic: Instant,
    /// Wall-clock time written into `acquireTime` / `renewTime`.
    pub wall: Timestamp,
}

/// What to do with the Lease next.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// The Lease does not exist: create it with this spec.
    Create(LeaseSpec),
    /// Acquire or renew: replace the Lease with this spec, guarded by its resourceVersion.
    Update(LeaseSpec),
    /// Someone else holds a valid lease; try again later.
    Follow {
        /// The current holder.
        holder: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Observed {
    spec: LeaseSpec,
    changed_at: Instant,
}

/// Leader election state of one candidate.
#[derive(Clone, Debug)]
pub struct ElectionState {
    identity: String,
    timing: LeaseTiming,
    observed: Option<Observed>,
    /// Monotonic time of our last successful write as holder; `None` while not leading.
    last_renewed: Option<Instant>,
}

impl ElectionState {
    /// A candidate that does not lead yet.
    pub fn new(identity: impl Into<String>, timing: LeaseTiming) -> Self {
        Self { identity: identity.into(), timing, observed: None, last_renewed: None }
    }

    /// Our holder identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Decides what to write given the Lease as just read (`None` if it does not exist).
    pub fn plan(&mut self, current: Option<&LeaseSpec>, now: Now) -> Plan {
        let Some(current) = current else {
            return Plan::Create(self.spec_as_holder(None, now));
        };
        if self.observed.as_ref().is_none_or(|observed| observed.spec != *current) {
            self.observed = Some(Observed { spec: current.clone(), changed_at: now.monotonic });
        }
        let holder = current.holder_identity.as_deref().unwrap_or_default();
        if !holder.is_empty() && holder != self.identity && !self.observed_lease_expired(now) {
            self.last_renewed = None;
            return Plan::Follow { holder: holder.to_owned() };
        }
        Plan::Update(self.spec_as_holder(Some(current), now))
    }

    /// Records that our write of `written` was accepted by the apiserver.
    pub fn on_written(&mut self, written: LeaseSpec, now: Instant) {
        self.observed = Some(Observed { spec: written, changed_at: now });
        self.last_renewed = Some(now);
    }

    /// Whether we may act as leader at `now`: our last renewal is within the renew deadline.
    pub fn is_leader(&self, now: Instant) -> bool {
        self.last_renewed.is_some_and(|renewed| now.saturating_duration_since(renewed) < self.timing.renew_deadline)
    }

    /// How long the next acquire-or-renew attempt may take. A leader must not wait past its
    /// renew deadline for a hanging apiserver, or it would keep leading after others may
    /// have taken over.
    pub fn attempt_timeout(&self, now: Instant) -> Duration {
        match self.last_renewed {
            Some(renewed) if self.is_leader(now) => {
                (renewed + self.timing.renew_deadline).saturating_duration_since(now)
            }
            _ => self.timing.lease_duration,
        }
    }

    /// The spec that gives the lease up, if we may still claim to hold it. Keeps the
    /// transition count and sets a one-second duration so the next candidate need not wait.
    pub fn release_spec(&self, now: Now) -> Option<LeaseSpec> {
        if !self.is_leader(now.monotonic) {
            return None;
        }
        let transitions = self.observed.as_ref().and_then(|observed| observed.spec.lease_transitions);
        Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(MicroTime(now.wall)),
            renew_time: Some(MicroTime(now.wall)),
            lease_transitions: transitions,
            ..LeaseSpec::default()
        })
    }

    fn observed_lease_expired(&self, now: Now) -> bool {
        let Some(observed) = &self.observed else {
            return true;
        };
        let seconds = observed.spec.lease_duration_seconds.unwrap_or_default();
        let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or_default());
        now.monotonic.saturating_duration_since(observed.changed_at) >= duration
    }

    fn spec_as_holder(&self, current: Option<&LeaseSpec>, now: Now) -> LeaseSpec {
        let previous_holder = current.and_then(|spec| spec.holder_identity.as_deref());
        let transitions = current.and_then(|spec| spec.lease_transitions).unwrap_or_default();
        let (acquire_time, lease_transitions) = match current {
            Some(spec) if previous_holder == Some(self.identity.as_str()) => (spec.acquire_time.clone(), transitions),
            // Taking over from someone else counts as a transition; creating does not.
            Some(_) => (Some(MicroTime(now.wall)), transitions.saturating_add(1)),
            None => (Some(MicroTime(now.wall)), 0),
        };
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(whole_seconds(self.timing.lease_duration)),
            acquire_time,
            renew_time: Some(MicroTime(now.wall)),
            lease_transitions: Some(lease_transitions),
            ..LeaseSpec::default()
        }
    }
}

/// Lease durations are whole seconds in the API; round up so we never promise less.
fn whole_seconds(duration: Duration) -> i32 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: LeaseTiming = LeaseTiming {
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
    };

    /// A fake clock: both clocks advance together from an arbitrary start.
    struct FakeClock {
        start_monotonic: Instant,
        start_wall: Timestamp,
        elapsed: Duration,
    }

    impl FakeClock {
        fn new() -> Self {
            Self {
                start_monotonic: Instant::now(),
                start_wall: Timestamp::from_second(1_750_000_000).expect("valid timestamp"),
                elapsed: Duration::ZERO,
            }
        }

        fn advance(&mut self, by: Duration) {
            self.elapsed += by;
        }

        fn now(&self) -> Now {
            let elapsed = i64::try_from(self.elapsed.as_millis()).expect("small");
            Now {
                monotonic: self.start_monotonic + self.elapsed,
                wall: self.start_wall + k8s_openapi::jiff::SignedDuration::from_millis(elapsed),
            }
        }
    }

    fn written(state: &mut ElectionState, plan: Plan, clock: &FakeClock) -> LeaseSpec {
        let spec = match plan {
            Plan::Create(spec) | Plan::Update(spec) => spec,
            Plan::Follow { holder } => panic!("expected a write, {holder} holds the lease"),
        };
        state.on_written(spec.clone(), clock.now().monotonic);
        spec
    }

    #[test]
    fn creates_a_missing_lease_and_leads() {
        let clock = FakeClock::new();
        let mut state = ElectionState::new("pod-a", TIMING);
        let plan = state.plan(None, clock.now());
        let Plan::Create(spec) = &plan else { panic!("expected create, got {plan:?}") };
        assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.lease_transitions, Some(0));
        assert!(!state.is_leader(clock.now().monotonic), "not leading before the write succeeds");
        written(&mut state, plan, &clock);
        assert!(state.is_leader(clock.now().monotonic));
    }

    #[test]
    fn renewing_keeps_acquire_time_and_transitions() {
        let mut clock = FakeClock::new();
        let mut state = ElectionState::new("pod-a", TIMING);
        let plan = state.plan(None, clock.now());
        let first = written(&mut state, plan, &clock);
        clock.advance(TIMING.retry_period);
        let plan = state.plan(Some(&first), clock.now());
        let Plan::Update(renewed) = &plan else { panic!("expected update, got {plan:?}") };
        assert_eq!(renewed.acquire_time, first.acquire_time);
        assert_eq!(renewed.lease_transitions, Some(0));
        assert!(renewed.renew_time > first.renew_time);
    }

    #[test]
    fn follower_waits_while_the_holder_renews() {
        let mut clock = FakeClock::new();
        let mut leader = ElectionState::new("pod-a", TIMING);
        let mut follower = ElectionState::new("pod-b", TIMING);
        let plan = leader.plan(None, clock.now());
        let mut lease = written(&mut leader, plan, &clock);

        for _ in 0..20 {
            let plan = follower.plan(Some(&lease), clock.now());
            assert_eq!(plan, Plan::Follow { holder: "pod-a".into() });
            clock.advance(TIMING.retry_period);
            let plan = leader.plan(Some(&lease), clock.now());
            lease = written(&mut leader, plan, &clock);
        }
        assert!(!follower.is_leader(clock.now().monotonic));
        assert!(leader.is_leader(clock.now().monotonic));
    }

    #[test]
    fn follower_takes_over_once_the_lease_expires_on_its_own_clock() {
        let mut clock = FakeClock::new();
        let mut leader = ElectionState::new("pod-a", TIMING);
        let mut follower = ElectionState::new("pod-b", TIMING);
        let plan = leader.plan(None, clock.now());
        let lease = written(&mut leader, plan, &clock);

        // The follower first sees the record late: expiry counts from that moment, not
        // from renewTime, so a follower with a skewed clock cannot take over early.
        clock.advance(Duration::from_secs(14));
        assert!(matches!(follower.plan(Some(&lease), clock.now()), Plan::Follow { .. }));
        clock.advance(Duration::from_secs(14));
        assert!(matches!(follower.plan(Some(&lease), clock.now()), Plan::Follow { .. }));
        clock.advance(Duration::from_secs(1));
        let plan = follower.plan(Some(&lease), clock.now());
        let Plan::Update(taken) = &plan else { panic!("expected takeover, got {plan:?}") };
        assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
        assert_eq!(taken.lease_transitions, Some(1));
        assert_ne!(taken.acquire_time, lease.acquire_time);
    }

    #[test]
    fn leader_steps_down_when_it_cannot_renew_within_the_deadline() {
        let mut clock = FakeClock::new();
        let mut state = ElectionState::new("pod-a", TIMING);
        let plan = state.plan(None, clock.now());
        written(&mut state, plan, &clock);
        clock.advance(TIMING.renew_deadline - Duration::from_millis(1));
        assert!(state.is_leader(clock.now().monotonic));
        clock.advance(Duration::from_millis(1));
        assert!(!state.is_leader(clock.now().monotonic));
        // ...which is before anyone else may take over.
        assert!(TIMING.renew_deadline < TIMING.lease_duration);
    }

    #[test]
    fn a_leaders_attempt_may_not_outlast_its_renew_deadline() {
        let mut clock = FakeClock::new();
        let mut state = ElectionState::new("pod-a", TIMING);
        assert_eq!(state.attempt_timeout(clock.now().monotonic), TIMING.lease_duration);
        let plan = state.plan(None, clock.now());
        written(&mut state, plan, &clock);
        clock.advance(Duration::from_secs(3));
        assert_eq!(state.attempt_timeout(clock.now().monotonic), Duration::from_secs(7));
        clock.advance(Duration::from_secs(7));
        assert_eq!(state.attempt_timeout(clock.now().monotonic), TIMING.lease_duration);
    }

    #[test]
    fn leader_that_finds_another_holder_stops_leading_at_once() {
        let mut clock = FakeClock::new();
        let mut state = ElectionState::new("pod-a", TIMING);
        let plan = state.plan(None, clock.now());
        let mut lease = written(&mut state, plan, &clock);
        lease.holder_identity = Some("pod-b".into());
        clock.advance(TIMING.retry_period);
        assert_eq!(state.plan(Some(&lease), clock.now()), Plan::Follow { holder: "pod-b".into() });
        assert!(!state.is_leader(clock.now().monotonic));
    }

    #[test]
    fn released_lease_is_taken_over_without_waiting() {
        let mut clock = FakeClock::new();
        let mut leader = ElectionState::new("pod-a", TIMING);
        let mut follower = ElectionState::new("pod-b", TIMING);
        let plan = leader.plan(None, clock.now());
        let lease = written(&mut leader, plan, &clock);
        assert!(matches!(follower.plan(Some(&lease), clock.now()), Plan::Follow { .. }));

        clock.advance(Duration::from_secs(1));
        let released = leader.release_spec(clock.now()).expect("still leading");
        assert_eq!(released.holder_identity, None);
        assert_eq!(released.lease_transitions, Some(0));
        let plan = follower.plan(Some(&released), clock.now());
        let Plan::Update(taken) = plan else { panic!("expected takeover, got {plan:?}") };
        assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
        assert_eq!(taken.lease_transitions, Some(1));
    }

    #[test]
    fn a_non_leader_has_nothing_to_release() {
        let clock = FakeClock::new();
        let state = ElectionState::new("pod-a", TIMING);
        assert_eq!(state.release_spec(clock.now()), None);
    }

    #[test]
    fn fractional_lease_durations_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(15_001)), 16);
        assert_eq!(whole_seconds(Duration::from_secs(15)), 15);
    }
}
