//! Support for the end-to-end tests in `tests/`: attach to the test bed, give every test a
//! namespace of its own, apply manifests, wait for conditions, and talk to Kafka through
//! `e2e/testbed exec` (kcat and the Kafka CLI tools, with cluster DNS).
//!
//! A test reads like:
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! e2e_tests::namespace::run_isolated("example", async |ns| {
//!     e2e_tests::manifests::apply(&ns.client, &ns.name, "kind: ConfigMap ...", &[]).await?;
//!     Ok(())
//! })
//! .await
//! # }
//! ```

pub mod acls;
pub mod alerting;
pub mod cert_manager;
pub mod controller_process;
pub mod crds;
pub mod cruise_control;
pub mod cruise_control_operation;
pub mod diagnostics;
pub mod helm;
pub mod host_command;
pub mod jaeger;
pub mod kafka_cluster;
pub mod kafka_topic;
pub mod kcat;
pub mod koperator_layout;
pub mod manifests;
pub mod message_accounting;
pub mod namespace;
pub mod pki;
pub mod pod_state;
pub mod processes;
pub mod rolling;
pub mod testbed;
pub mod wait;
pub mod zookeeper;
