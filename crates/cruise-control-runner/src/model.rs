//! What one pass knows, read once from the API and from Cruise Control (pure; no client):
//! the operations of one cluster, the cluster's settings, and Cruise Control's answers.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlTaskOperation, ErrorPolicy};
use crd_types::labels::{KAFKA_CR, PAUSE};
use crd_types::{CruiseControlOperation, CruiseControlOperationStatus};
use cruise_control_client::UserTaskStatus;
use operator_runtime::trace_context::TRACEPARENT_ANNOTATION;

/// Koperator's finalizer name, so operations Koperator created are handled the same way after
/// a migration. It is on an operation only while its task may move data (added before the
/// request is sent, removed once the task finished or failed), so that deleting the operation
/// stops the execution in Cruise Control first, and nothing else waits on the runner.
pub const FINALIZER: &str = "finalizer.cruisecontroloperations.kafka.banzaicloud.io";

/// A KafkaCluster by namespace and name (`kafka_cr` label; empty when the label is missing).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterKey {
    pub namespace: String,
    pub name: String,
}

impl ClusterKey {
    pub fn of(operation: &CruiseControlOperation) -> Self {
        Self {
            namespace: operation.namespace().unwrap_or_default(),
            name: operation.labels().get(KAFKA_CR).cloned().unwrap_or_default(),
        }
    }
}

impl fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One CruiseControlOperation whose creator has set `status.currentTask` (before that, the
/// runner leaves it alone: its creator writes the status with the resourceVersion it created
/// the object with, and any write of ours in between would make that write conflict).
#[derive(Clone, Debug, PartialEq)]
pub struct OperationView {
    pub name: String,
    pub uid: String,
    pub created: Option<Timestamp>,
    pub generation: Option<i64>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
    pub paused: bool,
    pub error_policy: ErrorPolicy,
    pub ttl_after_finished: Option<Duration>,
    /// The W3C `traceparent` of the span that created the operation, if its creator recorded one.
    pub trace_parent: Option<String>,
    /// `status.currentTask`.
    pub task: CruiseControlTask,
    /// The whole status as read, for comparing with the status a pass wants.
    pub status: CruiseControlOperationStatus,
}

impl OperationView {
    /// `None` for operations without a task yet, and for Koperator's `status` operations
    /// (Koperator's own bookkeeping of a slow `state` request, nothing to run).
    pub fn from_resource(operation: &CruiseControlOperation) -> Option<Self> {
        let status = operation.status.clone()?;
        let task = status.current_task.clone()?;
        if task.operation == CruiseControlTaskOperation::Status {
            return None;
        }
        let ttl = operation.spec.ttl_seconds_after_finished.and_then(|s| u64::try_from(s).ok());
        Some(Self {
            name: operation.name_any(),
            uid: operation.uid().unwrap_or_default(),
            created: operation.metadata.creation_timestamp.as_ref().map(|time| time.0),
            generation: operation.metadata.generation,
            deleting: operation.metadata.deletion_timestamp.is_some(),
            finalizers: operation.finalizers().to_vec(),
            paused: operation.labels().get(PAUSE).is_some_and(|value| value == "true"),
            error_policy: operation.spec.error_policy.unwrap_or_default(),
            ttl_after_finished: ttl.map(Duration::from_secs),
            trace_parent: operation.annotations().get(TRACEPARENT_ANNOTATION).cloned(),
            task,
            status,
        })
    }

    pub fn has_finalizer(&self) -> bool {
        self.finalizers.iter().any(|f| f == FINALIZER)
    }

    /// `add_broker brokerid=3` for messages.
    pub fn describe(&self) -> String {
        let task = &self.task;
        let subject = ["brokerid", "brokerid_and_logdirs", "destination_broker_ids"]
            .iter()
            .find_map(|key| task.parameters.get(*key).map(|value| format!(" {key}={value}")))
            .unwrap_or_default();
        format!("{}{subject}", task.operation.endpoint())
    }
}

/// What the KafkaCluster says about running tasks for it.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterView {
    /// No `kafka_cr` label, or the label names no KafkaCluster.
    Missing(String),
    /// The Cruise Control endpoint cannot be used as written.
    Invalid(String),
    Found {
        /// `cruiseControlTaskSpec.RetryDurationMinutes`: how long a task may run before it is
        /// stopped and counted as failed. Koperator's meaning (its `GetDurationMinutes`, 0
        /// meaning 5); unset when the KafkaCluster has no `cruiseControlTaskSpec`.
        task_time_limit: Option<Duration>,
    },
}

/// What Cruise Control said in this pass.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum CruiseControlView {
    /// Nothing in the pass needed it.
    #[default]
    NotAsked,
    Unreachable(String),
    Seen(Observed),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Observed {
    pub executor_idle: bool,
    pub executor_stopping: bool,
    /// "user task X (INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS, 3/28 partition movements done)".
    pub busy_with: String,
    pub triggered_task: Option<String>,
    /// Why Cruise Control cannot compute proposals yet.
    pub not_ready: Option<String>,
    /// Status of the user tasks of this cluster's operations that Cruise Control still knows.
    pub tasks: HashMap<String, UserTaskStatus>,
    /// Answers to re-sent task requests (tasks first answered with 202), by task id.
    pub polls: BTreeMap<String, PollOutcome>,
}

/// The answer to a task request sent again with its User-Task-ID.
#[derive(Clone, Debug, PartialEq)]
pub enum PollOutcome {
    /// Still 202.
    Computing,
    /// 200: the proposal's summary, in the status's `summary` form.
    Computed(BTreeMap<String, String>),
    /// An error answer: the proposal could not be computed or executed.
    Failed { code: Option<i32>, message: String },
}

/// Runner settings that shape plans.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pacing {
    /// How often running tasks, and a busy or unreachable Cruise Control, are looked at.
    pub poll_interval: Duration,
    /// Wait before the first retry of a failed task; doubles per retry up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            backoff: Duration::from_secs(20),
            max_backoff: Duration::from_secs(300),
        }
    }
}
