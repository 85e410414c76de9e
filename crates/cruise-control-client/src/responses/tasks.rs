//! User tasks and what the task endpoints answer: an optimization result (200) or the
//! progress of the proposal still being computed (202).

use std::fmt;

use serde::Deserialize;

use super::lenient;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct UserTasks {
    #[serde(rename = "userTasks", default, deserialize_with = "lenient::or_default")]
    pub user_tasks: Vec<UserTask>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct UserTask {
    #[serde(rename = "UserTaskId", default, deserialize_with = "lenient::or_default")]
    pub user_task_id: String,
    /// `POST /kafkacruisecontrol/add_broker?brokerid=3&dryrun=false&json=true`.
    #[serde(rename = "RequestURL", default, deserialize_with = "lenient::or_default")]
    pub request_url: String,
    #[serde(rename = "ClientIdentity", default, deserialize_with = "lenient::or_default")]
    pub client_identity: String,
    /// Milliseconds since the epoch (Cruise Control writes a string).
    #[serde(rename = "StartMs", default, deserialize_with = "lenient::optional_int")]
    pub start_ms: Option<i64>,
    #[serde(rename = "Status", default, deserialize_with = "lenient::or_default")]
    pub status: UserTaskStatus,
}

/// Active (computing the proposal), InExecution (moving data), Completed, CompletedWithError.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum UserTaskStatus {
    Active,
    InExecution,
    Completed,
    CompletedWithError,
    Other(String),
}

impl UserTaskStatus {
    /// Still computing or executing: the task may move data.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Active | Self::InExecution)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "Active",
            Self::InExecution => "InExecution",
            Self::Completed => "Completed",
            Self::CompletedWithError => "CompletedWithError",
            Self::Other(status) => status,
        }
    }
}

impl Default for UserTaskStatus {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl From<String> for UserTaskStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "Active" => Self::Active,
            "InExecution" => Self::InExecution,
            "Completed" => Self::Completed,
            "CompletedWithError" => Self::CompletedWithError,
            _ => Self::Other(status),
        }
    }
}

impl fmt::Display for UserTaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 200 answer of a task endpoint: the proposal Cruise Control computed (and, with
/// `dryrun=false`, started executing).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptimizationResult {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub summary: OptimizationSummary,
    /// Per goal: name, status and cluster statistics; kept as JSON, the operator only counts them.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub goal_summary: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptimizationSummary {
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_replica_movements: i64,
    #[serde(rename = "dataToMoveMB", default, deserialize_with = "lenient::int")]
    pub data_to_move_mb: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_leader_movements: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub num_intra_broker_replica_movements: i64,
    #[serde(rename = "intraBrokerDataToMoveMB", default, deserialize_with = "lenient::int")]
    pub intra_broker_data_to_move_mb: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub recent_windows: i64,
    #[serde(default, deserialize_with = "lenient::float")]
    pub monitored_partitions_percentage: f64,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub excluded_topics: Vec<String>,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub excluded_brokers_for_leadership: Vec<i32>,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub excluded_brokers_for_replica_move: Vec<i32>,
    #[serde(default, deserialize_with = "lenient::float")]
    pub on_demand_balancedness_score_before: f64,
    #[serde(default, deserialize_with = "lenient::float")]
    pub on_demand_balancedness_score_after: f64,
    /// RIGHT_SIZED, UNDER_PROVISIONED, OVER_PROVISIONED or UNDECIDED (newer versions).
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub provision_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub provision_recommendation: Option<String>,
}

/// The 202 answer: how far the proposal computation got.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Progress {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub progress: Vec<OperationProgress>,
}

impl Progress {
    /// The latest step, e.g. "WAITING_FOR_CLUSTER_MODEL: waiting for the cluster model (12.5%)".
    pub fn latest_step(&self) -> Option<String> {
        let step = self.progress.iter().flat_map(|operation| &operation.steps).next_back()?;
        Some(format!("{}: {} ({:.1}%)", step.step, step.description, step.completion_percentage))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct OperationProgress {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub operation: String,
    #[serde(rename = "operationProgress", default, deserialize_with = "lenient::or_default")]
    pub steps: Vec<ProgressStep>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ProgressStep {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub step: String,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub description: String,
    #[serde(rename = "time-in-ms", default, deserialize_with = "lenient::int")]
    pub time_in_ms: i64,
    #[serde(rename = "completionPercentage", default, deserialize_with = "lenient::float")]
    pub completion_percentage: f64,
}

/// The answer to `stop_proposal_execution`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct StopResult {
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub message: String,
    /// Set by the client from the `User-Task-ID` header: the stop request is a user task too.
    #[serde(skip)]
    pub user_task_id: Option<String>,
}

/// The body of every error answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub error_message: Option<String>,
}
