//! `GET state?substates=executor,monitor,analyzer`: whether Cruise Control can take a task.

use std::fmt;

use serde::Deserialize;

use super::lenient;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CruiseControlState {
    #[serde(rename = "MonitorState", default, deserialize_with = "lenient::or_default")]
    pub monitor: MonitorState,
    #[serde(rename = "ExecutorState", default, deserialize_with = "lenient::or_default")]
    pub executor: ExecutorState,
    #[serde(rename = "AnalyzerState", default, deserialize_with = "lenient::or_default")]
    pub analyzer: AnalyzerState,
}

impl CruiseControlState {
    /// Why Cruise Control cannot compute a proposal yet, or `None` when it can. Its monitor
    /// must have loaded enough metric windows (RUNNING or SAMPLING; PAUSED only stops new
    /// samples) and its analyzer must say proposals are ready, else a task fails with
    /// "not enough valid windows".
    pub fn not_ready_reason(&self) -> Option<String> {
        let monitor = self.monitor.state.as_str();
        if !matches!(monitor, "RUNNING" | "SAMPLING" | "PAUSED") {
            let state = if monitor.is_empty() { "unknown" } else { monitor };
            return Some(format!(
                "its load monitor is {state} ({} windows, {:.0}% of partitions covered)",
                self.monitor.num_monitored_windows, self.monitor.monitoring_coverage_pct
            ));
        }
        if !self.analyzer.is_proposal_ready {
            return Some("its analyzer has no proposal ready yet (not enough metric samples)".to_owned());
        }
        None
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorState {
    /// NOT_STARTED, RUNNING, SAMPLING, PAUSED, BOOTSTRAPPING, TRAINING, LOADING.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub state: String,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_monitored_windows: i64,
    #[serde(default, deserialize_with = "lenient::float")]
    pub monitoring_coverage_pct: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorState {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub state: ExecutorStatus,
    /// The user task whose proposal is executing.
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub triggered_user_task_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub triggered_self_healing_task_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub triggered_task_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_total_partition_movements: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_finished_partition_movements: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_in_progress_partition_movements: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_pending_partition_movements: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub finished_data_movement: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub total_data_to_move: i64,
}

impl ExecutorState {
    /// Which task keeps the executor busy: "user task X (INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS)".
    /// Without progress counters, so that a message built from it changes only when the task does.
    pub fn busy_with(&self) -> String {
        let task = match (&self.triggered_user_task_id, &self.triggered_self_healing_task_id) {
            (Some(id), _) if !id.is_empty() => format!("user task {id}"),
            (_, Some(id)) if !id.is_empty() => format!("self-healing task {id}"),
            _ => "a task".to_owned(),
        };
        format!("{task} ({})", self.state)
    }

    /// "3/28 partition movements done", when the executor moves partitions.
    pub fn progress(&self) -> Option<String> {
        (self.num_total_partition_movements > 0).then(|| {
            format!(
                "{}/{} partition movements done",
                self.num_finished_partition_movements, self.num_total_partition_movements
            )
        })
    }
}

/// Cruise Control's executor states; versions add states, kept as [`ExecutorStatus::Other`].
/// A missing state is `Other("UNKNOWN")`, never idle: starting a task on a guess is worse than waiting.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum ExecutorStatus {
    NoTaskInProgress,
    StartingExecution,
    InterBrokerReplicaMovementTaskInProgress,
    IntraBrokerReplicaMovementTaskInProgress,
    LeaderMovementTaskInProgress,
    StoppingExecution,
    InitializingProposalExecution,
    GeneratingProposalsForExecution,
    Other(String),
}

impl ExecutorStatus {
    /// Only an idle executor accepts a new execution ("Cannot start a new execution while
    /// there is an ongoing execution").
    pub fn is_idle(&self) -> bool {
        *self == Self::NoTaskInProgress
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::NoTaskInProgress => "NO_TASK_IN_PROGRESS",
            Self::StartingExecution => "STARTING_EXECUTION",
            Self::InterBrokerReplicaMovementTaskInProgress => "INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS",
            Self::IntraBrokerReplicaMovementTaskInProgress => "INTRA_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS",
            Self::LeaderMovementTaskInProgress => "LEADER_MOVEMENT_TASK_IN_PROGRESS",
            Self::StoppingExecution => "STOPPING_EXECUTION",
            Self::InitializingProposalExecution => "INITIALIZING_PROPOSAL_EXECUTION",
            Self::GeneratingProposalsForExecution => "GENERATING_PROPOSALS_FOR_EXECUTION",
            Self::Other(state) => state,
        }
    }
}

impl Default for ExecutorStatus {
    fn default() -> Self {
        Self::Other("UNKNOWN".to_owned())
    }
}

impl From<String> for ExecutorStatus {
    fn from(state: String) -> Self {
        match state.as_str() {
            "NO_TASK_IN_PROGRESS" => Self::NoTaskInProgress,
            "STARTING_EXECUTION" => Self::StartingExecution,
            "INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS" => Self::InterBrokerReplicaMovementTaskInProgress,
            "INTRA_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS" => Self::IntraBrokerReplicaMovementTaskInProgress,
            "LEADER_MOVEMENT_TASK_IN_PROGRESS" => Self::LeaderMovementTaskInProgress,
            "STOPPING_EXECUTION" => Self::StoppingExecution,
            "INITIALIZING_PROPOSAL_EXECUTION" => Self::InitializingProposalExecution,
            "GENERATING_PROPOSALS_FOR_EXECUTION" => Self::GeneratingProposalsForExecution,
            _ => Self::Other(state),
        }
    }
}

impl fmt::Display for ExecutorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzerState {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub is_proposal_ready: bool,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ready_goals: Vec<String>,
}
