//! Readiness gates: named conditions that must all hold before `/readyz` answers 200.
//!
//! Each part of startup that can keep the process from doing its job (CRDs not installed,
//! caches not synced) registers a gate and keeps its reason up to date, so an operator
//! reading `/readyz` or `kubectl describe pod` learns *which* thing is missing and why.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

/// The set of gates of one process; cheap to clone, all clones share the gates.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    gates: Arc<Mutex<Vec<GateEntry>>>,
}

#[derive(Debug)]
struct GateEntry {
    name: String,
    /// `None` when the gate is satisfied.
    unmet_reason: Option<String>,
}

impl Readiness {
    /// A set without gates, which is ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a gate that starts unmet with `initial_reason`. Gates are reported in
    /// registration order; registering a name twice returns a handle to the same gate.
    pub fn gate(&self, name: impl Into<String>, initial_reason: impl Into<String>) -> ReadinessGate {
        let name = name.into();
        let mut gates = self.lock();
        if !gates.iter().any(|gate| gate.name == name) {
            gates.push(GateEntry { name: name.clone(), unmet_reason: Some(initial_reason.into()) });
        }
        ReadinessGate { name, readiness: self.clone() }
    }

    /// The current state of every gate.
    pub fn report(&self) -> ReadinessReport {
        let unmet = self
            .lock()
            .iter()
            .filter_map(|gate| {
                let reason = gate.unmet_reason.clone()?;
                Some(UnmetGate { gate: gate.name.clone(), reason })
            })
            .collect();
        ReadinessReport { unmet }
    }

    fn set(&self, name: &str, unmet_reason: Option<String>) {
        if let Some(gate) = self.lock().iter_mut().find(|gate| gate.name == name) {
            gate.unmet_reason = unmet_reason;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<GateEntry>> {
        // A panic while holding this lock cannot leave the list half-updated (every write is
        // a single assignment or push), so the data is still consistent.
        self.gates.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Handle to one gate; whoever owns the condition keeps it up to date.
#[derive(Clone, Debug)]
pub struct ReadinessGate {
    name: String,
    readiness: Readiness,
}

impl ReadinessGate {
    /// The gate's name as shown in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Marks the condition as satisfied.
    pub fn set_ready(&self) {
        self.readiness.set(&self.name, None);
    }

    /// Marks the condition as unmet and says why, e.g. "crd kafkatopics.kafka.banzaicloud.io
    /// not found".
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        self.readiness.set(&self.name, Some(reason.into()));
    }
}

/// Snapshot of all gates at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadinessReport {
    /// Gates that are not satisfied, in registration order.
    pub unmet: Vec<UnmetGate>,
}

/// A gate that is not satisfied and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetGate {
    /// Name of the gate.
    pub gate: String,
    /// Why it is not satisfied.
    pub reason: String,
}

impl ReadinessReport {
    /// Whether every gate is satisfied.
    pub fn is_ready(&self) -> bool {
        self.unmet.is_empty()
    }
}

/// The `/readyz` body: `ready`, or `not ready` followed by one `gate: reason` line per unmet
/// gate.
impl fmt::Display for ReadinessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ready() {
            return writeln!(f, "ready");
        }
        writeln!(f, "not ready")?;
        for UnmetGate { gate, reason } in &self.unmet {
            writeln!(f, "{gate}: {reason}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_gates_means_ready() {
        let report = Readiness::new().report();
        assert!(report.is_ready());
        assert_eq!(report.to_string(), "ready\n");
    }

    #[test]
    fn a_new_gate_is_unmet_with_its_initial_reason() {
        let readiness = Readiness::new();
        readiness.gate("crds", "waiting for the first check");
        assert_eq!(
            readiness.report().unmet,
            vec![UnmetGate { gate: "crds".into(), reason: "waiting for the first check".into() }]
        );
    }

    #[test]
    fn report_names_every_unmet_gate_in_registration_order() {
        let readiness = Readiness::new();
        let crds = readiness.gate("crds", "starting");
        let caches = readiness.gate("caches", "starting");
        let grpc = readiness.gate("grpc", "starting");
        crds.set_not_ready("crd kafkaclusters.kafka.banzaicloud.io not established");
        caches.set_ready();
        grpc.set_not_ready("port 9090 in use");

        let report = readiness.report();
        assert!(!report.is_ready());
        assert_eq!(
            report.to_string(),
            "not ready\n\
             crds: crd kafkaclusters.kafka.banzaicloud.io not established\n\
             grpc: port 9090 in use\n"
        );
    }

    #[test]
    fn gates_can_become_unmet_again() {
        let readiness = Readiness::new();
        let crds = readiness.gate("crds", "starting");
        crds.set_ready();
        assert!(readiness.report().is_ready());
        crds.set_not_ready("crd kafkatopics.kafka.banzaicloud.io was deleted");
        assert_eq!(readiness.report().unmet[0].reason, "crd kafkatopics.kafka.banzaicloud.io was deleted");
    }

    #[test]
    fn registering_a_name_twice_shares_the_gate() {
        let readiness = Readiness::new();
        let first = readiness.gate("crds", "starting");
        let second = readiness.gate("crds", "ignored, the gate exists");
        assert_eq!(readiness.report().unmet[0].reason, "starting");
        second.set_ready();
        assert!(readiness.report().is_ready());
        first.set_not_ready("again");
        assert_eq!(readiness.report().unmet.len(), 1);
    }
}
