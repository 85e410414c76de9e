//! A typed async client for the part of Cruise Control's REST API the operator uses.
//!
//! - Reads: [`CruiseControlClient::state`], [`kafka_cluster_state`](CruiseControlClient::kafka_cluster_state),
//!   [`load`](CruiseControlClient::load), [`user_tasks`](CruiseControlClient::user_tasks).
//! - Tasks: [`add_broker`](CruiseControlClient::add_broker), [`remove_broker`](CruiseControlClient::remove_broker),
//!   [`rebalance`](CruiseControlClient::rebalance), [`remove_disks`](CruiseControlClient::remove_disks), or any
//!   [`TaskRequest`] through [`submit`](CruiseControlClient::submit). Each is sent with
//!   `dryrun=false&json=true` and answers a [`Submitted`] carrying the `User-Task-ID`; 202
//!   (proposal still computing) is followed up with [`poll`](CruiseControlClient::poll).
//! - [`stop_proposal_execution`](CruiseControlClient::stop_proposal_execution).
//!
//! Failures are one [`Error`]: unreachable or timed out, an error status with Cruise Control's
//! `errorMessage`, or an answer that does not parse. Answers are parsed leniently (see
//! [`responses`]), since Cruise Control versions differ in the fields they write.

mod client;
mod endpoint;
mod error;
mod parameters;
mod request;
pub mod responses;

pub use client::{ClientSettings, CruiseControlClient, Submitted, USER_TASK_ID_HEADER};
pub use endpoint::{CruiseControlEndpoint, DEFAULT_PORT, InvalidEndpoint, PATH_PREFIX};
pub use error::Error;
pub use request::{TaskEndpoint, TaskOptions, TaskRequest, encode_query};
pub use responses::{
    ClusterLoad, CruiseControlState, ExecutorStatus, KafkaClusterState, OptimizationResult, OptimizationSummary,
    Progress, StopResult, UserTask, UserTaskStatus,
};
