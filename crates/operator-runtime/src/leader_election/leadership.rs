//! The observable side of leader election.

use std::{future::Future, sync::Arc};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Whether this replica leads, as a watch channel. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Leadership {
    receiver: watch::Receiver<bool>,
    /// Keeps the channel open for [`Leadership::always_leader`], where nobody else sends.
    _keep_open: Option<Arc<watch::Sender<bool>>>,
}

impl Leadership {
    /// Leadership of a process that runs without leader election (a local run, or a
    /// deployable that is safe to scale horizontally).
    pub fn always_leader() -> Self {
        let (sender, receiver) = watch::channel(true);
        Self { receiver, _keep_open: Some(Arc::new(sender)) }
    }

    pub(crate) fn from_receiver(receiver: watch::Receiver<bool>) -> Self {
        Self { receiver, _keep_open: None }
    }

    /// Whether this replica leads right now.
    pub fn is_leader(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once this replica leads; never resolves if the election has ended.
    pub async fn acquired(&mut self) {
        if self.receiver.wait_for(|leading| *leading).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves once this replica does not lead (also when the election has ended).
    pub async fn lost(&mut self) {
        // An error means the election is gone, and with it any claim to lead.
        let _ = self.receiver.wait_for(|leading| !*leading).await;
    }

    /// Runs `work` each time this replica becomes leader, with a token that is cancelled when
    /// leadership is lost or `shutdown` is cancelled, and waits for `work` to finish before
    /// campaigning on. Returns when `shutdown` is cancelled.
    pub async fn run_while_leading<F, Fut>(mut self, shutdown: &CancellationToken, mut work: F)
    where
        F: FnMut(CancellationToken) -> Fut,
        Fut: Future<Output = ()>,
    {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.acquired() => {}
            }
            let leading = shutdown.child_token();
            let stop_on_loss = {
                let leading = leading.clone();
                let mut leadership = self.clone();
                async move {
                    leadership.lost().await;
                    leading.cancel();
                }
            };
            let term = work(leading.clone());
            tokio::pin!(term);
            tokio::select! {
                () = &mut term => {}
                // `work` sees its token cancelled; let it drain before campaigning on.
                () = stop_on_loss => term.await,
            }
            leading.cancel();
            if shutdown.is_cancelled() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn always_leader_is_acquired_and_never_lost() {
        let mut leadership = Leadership::always_leader();
        assert!(leadership.is_leader());
        leadership.acquired().await;
        let lost = tokio::time::timeout(std::time::Duration::from_millis(20), leadership.lost());
        assert!(lost.await.is_err(), "lost() must not resolve");
    }

    #[tokio::test]
    async fn work_runs_per_term_and_stops_on_loss() {
        let (sender, receiver) = watch::channel(false);
        let leadership = Leadership::from_receiver(receiver);
        let shutdown = CancellationToken::new();
        let terms = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicBool::new(false));

        let runner = tokio::spawn({
            let shutdown = shutdown.clone();
            let terms = terms.clone();
            let running = running.clone();
            async move {
                leadership
                    .run_while_leading(&shutdown, |leading| {
                        let terms = terms.clone();
                        let running = running.clone();
                        async move {
                            terms.fetch_add(1, Ordering::SeqCst);
                            running.store(true, Ordering::SeqCst);
                            leading.cancelled().await;
                            running.store(false, Ordering::SeqCst);
                        }
                    })
                    .await;
            }
        });

        for term in 1..=2 {
            sender.send_replace(true);
            wait_until(|| terms.load(Ordering::SeqCst) == term).await;
            sender.send_replace(false);
            wait_until(|| !running.load(Ordering::SeqCst)).await;
        }
        shutdown.cancel();
        runner.await.expect("runner ends on shutdown");
        assert_eq!(terms.load(Ordering::SeqCst), 2);
    }

    async fn wait_until(condition: impl Fn() -> bool) {
        for _ in 0..200 {
            if condition() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }
}
