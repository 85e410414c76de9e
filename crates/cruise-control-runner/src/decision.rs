//! What a pass decides (pure data, no logic but the earliest wake-up): the plan for every
//! operation of one cluster, where each stands, and the inputs it is decided from. Shared by
//! `plan` and `queue`, which decide, and by `apply` and `status`, which carry it out.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crd_types::cruise_control_operation::CruiseControlTask;

use crate::model::{ClusterView, CruiseControlView, OperationView, Pacing};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// By operation name.
    pub operations: BTreeMap<String, Planned>,
    /// The operation whose request is sent in this pass.
    pub start: Option<String>,
    /// The operation whose execution is stopped in this pass.
    pub stop: Option<String>,
    pub add_finalizer: Vec<String>,
    pub release_finalizer: Vec<String>,
    /// Finished operations whose `ttlSecondsAfterFinished` has passed.
    pub delete: Vec<String>,
    /// When to look again without being woken by a change; `None`: only on a change.
    pub wake_after: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// The current task after this pass's answers from Cruise Control.
    pub task: CruiseControlTask,
    pub situation: Situation,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Situation {
    Waiting(Wait),
    /// Its request is sent in this pass.
    Starting,
    Running,
    /// Its execution is being stopped; the message says why.
    Stopping(String),
    Completed,
    /// Failed, and `errorPolicy: ignore` counts that as finished.
    FailedIgnored,
    /// Deleted and let go (nothing to stop).
    Released,
}

/// Why a queued operation is not started.
#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    Paused,
    ClusterMissing(String),
    InvalidCluster(String),
    CruiseControlUnreachable(String),
    CruiseControlBusy(String),
    CruiseControlNotReady(String),
    OwnTaskRunning {
        operation: String,
        task: String,
    },
    HigherPriority {
        operation: String,
    },
    BackingOff {
        until: Timestamp,
    },
    /// The API server refused a write the start needs (the finalizer).
    ApiError(String),
}

/// What a pass plans from.
pub struct Inputs<'a> {
    pub operations: &'a [OperationView],
    pub cluster: &'a ClusterView,
    pub cruise_control: &'a CruiseControlView,
    pub pacing: &'a Pacing,
    pub now: Timestamp,
}

/// The earliest time a pass wants to look again.
#[derive(Default)]
pub struct Wake(Option<Duration>);

impl Wake {
    pub fn at(&mut self, after: Duration) {
        self.0 = Some(self.0.map_or(after, |current| current.min(after)));
    }

    pub fn earliest(&self) -> Option<Duration> {
        self.0
    }
}
