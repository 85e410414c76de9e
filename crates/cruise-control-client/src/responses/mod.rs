//! Cruise Control's JSON answers, parsed leniently: unknown fields are ignored and missing or
//! null ones take a default, because field sets and number spellings differ between Cruise
//! Control versions (and forks).

mod cluster;
pub(crate) mod lenient;
mod state;
mod tasks;

pub use cluster::{BrokerLoad, ClusterLoad, KafkaBrokerState, KafkaClusterState, KafkaPartitionState, PartitionState};
pub use state::{AnalyzerState, CruiseControlState, ExecutorState, ExecutorStatus, MonitorState};
pub(crate) use tasks::ErrorBody;
pub use tasks::{
    OperationProgress, OptimizationResult, OptimizationSummary, Progress, ProgressStep, StopResult, UserTask,
    UserTaskStatus, UserTasks,
};
