//! One task per KafkaCluster that has CruiseControlOperations: it runs a pass when one of them
//! changes (after a short pause that gathers a burst into one pass), and again when the pass
//! asks for it (a running task to poll, a back-off to wait out, a TTL to expire).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use operator_runtime::CancellationToken;

use crate::model::ClusterKey;
use crate::pass::{self, ClusterState, Shared};

/// Gathers the create and status writes that set up one operation into one pass.
const DEBOUNCE: Duration = Duration::from_millis(200);

pub async fn run(cluster: ClusterKey, shared: Arc<Shared>, changed: Arc<Notify>, stop: CancellationToken) {
    let mut state = ClusterState::default();
    let mut next_pass: Option<Instant> = Some(Instant::now());
    loop {
        let timer = async {
            match next_pass {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = changed.notified() => {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(DEBOUNCE) => {}
                }
            }
            () = timer => {}
        }
        let started = Instant::now();
        // Not cut short when leadership ends: a task request sent must have its status written,
        // or the next leader would take the task for one never sent. A pass is a handful of
        // requests, each bounded by its timeout.
        let wake_after = pass::run_pass(&shared, &mut state, &cluster).await;
        tracing::debug!(%cluster, elapsed = ?started.elapsed(), ?wake_after, "pass done");
        next_pass = wake_after.map(|after| Instant::now() + after);
    }
}
