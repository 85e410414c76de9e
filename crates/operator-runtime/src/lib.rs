//! What every koperator-rs deployable needs. [`deployable::run`] puts it together; the
//! parts, in the order it uses them:
//!
//! 1. [`cli::RuntimeArgs`]: shared flags (flatten into the binary's parser).
//! 2. [`telemetry::init_tracing`]: logs, optional OTLP traces, and W3C trace context, which
//!    [`trace_context`] carries across gRPC calls and objects so an action is one trace.
//! 3. [`shutdown::on_signals`]: one cancellation token for SIGTERM/SIGINT.
//! 4. [`http_server::spawn`]: `/metrics`, `/healthz`, `/readyz` from a [`MetricsRegistry`]
//!    and the [`Readiness`] gates.
//! 5. [`kube_client::connect`]: the Kubernetes client.
//! 6. [`crd_wait::wait_for_crds`]: block (not ready) until the CRDs are Established.
//! 7. [`leader_election::start`]: campaign for a Lease; controllers run while
//!    [`Leadership`] says so, and the lease is released after they drained.
//!
//! And the one way every controller writes and paces its work:
//!
//! - [`api_writes`]: every write the client sends is counted (a tower layer under the client
//!   [`kube_client::connect`] builds), as `koperator_<deployable>_writes_total{kind,verb}`.
//! - [`finalizers`]: add or remove one finalizer, guarded by a JSON patch `test`.
//! - [`status_apply`]: a custom resource's status by server-side apply.
//! - [`keyed_worker`]: one task per key (a cluster) running debounced, paced passes.
//! - [`error_class`] and [`reconcile_report`]: transient or permanent failures, reconcile
//!   metrics, and a Warning event on the object whose pass failed.

pub mod api_writes;
pub mod cli;
pub mod crd_wait;
pub mod deployable;
pub mod error_class;
pub mod finalizers;
pub mod http_server;
pub mod keyed_worker;
pub mod kube_client;
pub mod leader_election;
pub mod readiness;
pub mod reconcile_report;
pub mod shutdown;
pub mod status_apply;
pub mod telemetry;
pub mod trace_context;

pub use http_server::MetricsRegistry;
pub use leader_election::Leadership;
pub use readiness::{Readiness, ReadinessGate};
pub use tokio_util::sync::CancellationToken;

/// An error and all its sources on one line ("failed to X: because Y: because Z"), for log
/// fields and readiness reasons where a multi-line report does not fit.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source's message in their own; don't print it twice.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
