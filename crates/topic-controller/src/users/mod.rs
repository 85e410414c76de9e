//! The KafkaUser reconciler: per KafkaCluster, its users' client certificates (from the
//! operator's CA through the cluster controller, or from cert-manager), their Secrets, and
//! their ACLs in Kafka, which follow the spec both ways.
//!
//! `controller` watches and wakes one worker per cluster; each pass (`pass`) observes, asks
//! `plan` (pure) what to do, has `apply` do it and writes statuses (`status`, pure).
//! `request` reads a KafkaUser once, `certificate` judges and builds the certificate's
//! objects (pure), `issue` has the operator's CA sign a new key, `kube_io` holds every API
//! request.

mod apply;
mod certificate;
pub mod controller;
mod credentials;
mod issue;
mod java_stores;
mod kube_io;
pub mod pass;
mod plan;
mod request;
mod status;

pub use kube_io::UserWriter;

/// API requests of a pass in flight at once.
const CONCURRENCY: usize = 16;

/// Runs `futures` [`CONCURRENCY`] at a time; answers in input order. (Plain `join_all` on
/// chunks rather than a buffered stream: the stream's closures over borrowed users do not
/// satisfy the `Send` bound of the keyed worker's pass.)
/// Takes the futures made already, so that no closure making them is held across an await.
async fn in_chunks<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending = futures.into_iter().peekable();
    let mut answers = Vec::new();
    while pending.peek().is_some() {
        let chunk: Vec<F> = pending.by_ref().take(CONCURRENCY).collect();
        answers.extend(futures::future::join_all(chunk).await);
    }
    answers
}
