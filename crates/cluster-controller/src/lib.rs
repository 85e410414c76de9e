//! The cluster controller as a library: the reconciler is `reconcile`, wired to the API in
//! `controller`; the gRPC services are in `grpc`. `main.rs` runs them.
//!
//! Besides what `main.rs` needs, only pure builders that the end-to-end tests prove against the
//! real thing are public; everything else stays private, so unused code is still reported.

/// The deployable's name: its reporter, its metrics' prefix.
pub const NAME: &str = env!("CARGO_PKG_NAME");

mod actions;
mod build;
pub mod controller;
pub mod grpc;
mod model;
mod reconcile;
mod status;

/// The cert-manager objects of a TLS cluster, applied to a real cert-manager by
/// `e2e/crates/e2e-tests/tests/cert_manager_pki.rs`.
pub use build::pki::cert_manager::{CertManagerObjects, cert_manager_objects};
pub use model::{ValidatedCluster, validate};
