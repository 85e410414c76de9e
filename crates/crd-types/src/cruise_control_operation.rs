//! `CruiseControlOperation` (`kafka.banzaicloud.io/v1alpha1`): one Cruise Control task, its
//! execution and its retries. The operation to run lives in `status.currentTask`, set by
//! whoever creates the object; the cluster is found through the `kafka_cr` label.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kafka.banzaicloud.io",
    version = "v1alpha1",
    kind = "CruiseControlOperation",
    namespaced,
    status = "CruiseControlOperationStatus",
    shortname = "cco",
    category = "kafka",
    printcolumn = r#"{"name":"Task ID","type":"string","jsonPath":".status.currentTask.id"}"#,
    printcolumn = r#"{"name":"Operation","type":"string","jsonPath":".status.currentTask.operation"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.currentTask.state"}"#,
    printcolumn = r#"{"name":"Retries","type":"integer","jsonPath":".status.retryCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlOperationSpec {
    /// `retry` (default) runs a failed task again after a back-off; `ignore` counts it as done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "retry"))]
    pub error_policy: Option<ErrorPolicy>,
    /// Delete the finished operation after this many seconds; kept forever when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorPolicy {
    Ignore,
    #[default]
    Retry,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlOperationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_task: Option<CruiseControlTask>,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub error_policy: Option<ErrorPolicy>,
    #[serde(default)]
    pub retry_count: i32,
    /// Earlier failed attempts, newest last, bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_tasks: Vec<CruiseControlTask>,
    /// `Ready` says whether the task is done and, while it is not, what it waits for (Cruise
    /// Control busy or unreachable, the pause label, a back-off, an operation of higher
    /// priority); `Degraded` says why the last attempt failed. Not in Koperator's API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// A Cruise Control user task as the operator tracks it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlTask {
    /// Cruise Control's User-Task-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub finished: Option<String>,
    pub operation: CruiseControlTaskOperation,
    /// Request parameters, e.g. `brokerid`, `brokerid_and_logdirs`, `excluded_topics`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(rename = "httpRequest", default, skip_serializing_if = "Option::is_none")]
    pub http_request: Option<String>,
    #[serde(rename = "httpResponseCode", default, skip_serializing_if = "Option::is_none")]
    pub http_response_code: Option<i32>,
    /// Summary of the proposal Cruise Control executed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "crate::zero_values::empty_as_none", skip_serializing_if = "Option::is_none")]
    pub state: Option<CruiseControlUserTaskState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Cruise Control endpoints a task can call.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum CruiseControlTaskOperation {
    #[serde(rename = "add_broker")]
    AddBroker,
    #[serde(rename = "remove_broker")]
    RemoveBroker,
    #[serde(rename = "rebalance")]
    Rebalance,
    #[serde(rename = "remove_disks")]
    RemoveDisks,
    #[serde(rename = "stop_proposal_execution")]
    StopProposalExecution,
    #[default]
    #[serde(rename = "status")]
    Status,
}

impl CruiseControlTaskOperation {
    /// Cruise Control's endpoint name for the operation (`add_broker`, ...), as serialized.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::AddBroker => "add_broker",
            Self::RemoveBroker => "remove_broker",
            Self::Rebalance => "rebalance",
            Self::RemoveDisks => "remove_disks",
            Self::StopProposalExecution => "stop_proposal_execution",
            Self::Status => "status",
        }
    }
}

/// Cruise Control's user task states.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CruiseControlUserTaskState {
    Active,
    InExecution,
    Completed,
    CompletedWithError,
}
