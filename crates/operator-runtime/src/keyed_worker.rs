//! One task per key (a KafkaCluster) running passes one at a time: woken by a change (after
//! a short pause that gathers a burst of changes into one pass), by the wake-up the last pass
//! asked for, by the resync interval, and after a failure by the retry pacing; stopped by
//! cancellation. Records every pass (see [`crate::reconcile_report`]).
//!
//! Not `kube::runtime::Controller`: its unit of work is one object, while our controllers
//! batch the work of a whole cluster into one pass, keyed by the cluster. The topic
//! controller reads every KafkaTopic of a cluster with one Kafka metadata request and creates
//! topics in batched admin requests; the Cruise Control runner starts at most one task per
//! cluster, chosen by priority over all of the cluster's operations. Both keep per-cluster
//! state between passes (a Kafka admin client, a Cruise Control client, statuses not written
//! yet) that a per-object reconcile has no place for.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use k8s_openapi::api::core::v1::ObjectReference;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error_class::{Classify, ErrorClass, RetryPacing, Severity};
use crate::reconcile_report::ReconcileReporter;

/// When a pass wants the next one, if nothing changes in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextPass {
    /// Something waits on a condition that may pass soon (a cluster starting): retry after
    /// the retry pacing's growing pauses.
    Soon,
    /// At a known moment: a running task to poll, a back-off or a TTL to wait out.
    After(Duration),
    /// Nothing to do until a change, or the resync interval.
    Idle,
}

/// How a worker paces its passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// Gathers a burst of changes (10,000 KafkaTopics applied at once) into few passes.
    pub debounce: Duration,
    /// A pass with nothing changed, to correct drift; `None`: only on a change.
    pub resync: Option<Duration>,
    /// After [`NextPass::Soon`] and failed passes.
    pub retry: RetryPacing,
}

/// How a pass ended: when it wants the next one, and its failure if it had one.
///
/// A pass over many objects may fail for some (a write refused) and still have done the
/// rest: it reports the failure and still says when it wants to look again.
#[derive(Debug)]
pub struct PassOutcome<E> {
    pub next: NextPass,
    pub failure: Option<E>,
}

impl<E> PassOutcome<E> {
    pub fn done(next: NextPass) -> Self {
        Self { next, failure: None }
    }

    /// A pass that could not do its work at all: its retry pacing decides when to try again.
    pub fn failed(failure: E) -> Self {
        Self { next: NextPass::Idle, failure: Some(failure) }
    }
}

/// One key's passes.
pub trait KeyedPass: Send + 'static {
    type Error: Classify;

    /// Runs one pass. It is not cut short when the worker stops: a pass that sent a request
    /// must record its answer, so it should be a bounded number of requests with timeouts.
    fn run(&mut self) -> impl Future<Output = PassOutcome<Self::Error>> + Send;

    /// The object a failed pass's Warning event is about.
    fn regarding(&self) -> ObjectReference;
}

/// Starts a worker per key on first use and wakes it on every change.
pub struct KeyedWorkers<K, F> {
    running: HashMap<K, Arc<Notify>>,
    start_pass: F,
    pacing: Pacing,
    reporter: ReconcileReporter,
    stop: CancellationToken,
}

impl<K, F, P> KeyedWorkers<K, F>
where
    K: Eq + Hash + Clone,
    F: FnMut(&K) -> P,
    P: KeyedPass,
{
    /// Workers that run `start_pass(key)`'s passes until `stop`.
    pub fn new(start_pass: F, pacing: Pacing, reporter: ReconcileReporter, stop: CancellationToken) -> Self {
        Self { running: HashMap::new(), start_pass, pacing, reporter, stop }
    }

    /// Tells `key`'s worker that something changed, starting the worker first if needed.
    pub fn wake(&mut self, key: K) {
        let changed = self.running.entry(key).or_insert_with_key(|key| {
            let changed = Arc::new(Notify::new());
            let pass = (self.start_pass)(key);
            tokio::spawn(run(pass, changed.clone(), self.pacing, self.reporter.clone(), self.stop.clone()));
            changed
        });
        changed.notify_one();
    }
}

/// Runs `pass` whenever it is due until `stop`. The first pass waits for the first change.
pub async fn run<P: KeyedPass>(
    mut pass: P,
    changed: Arc<Notify>,
    pacing: Pacing,
    reporter: ReconcileReporter,
    stop: CancellationToken,
) {
    let mut schedule = Schedule::new(pacing);
    let mut next_pass: Option<Instant> = None;
    loop {
        let due = async {
            match next_pass {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = changed.notified() => {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(pacing.debounce) => {}
                }
                schedule.changed();
            }
            () = due => {}
        }
        // Changes notified until now are in what the pass reads: they need no pass of their own.
        let _ = changed.notified().now_or_never();
        let started = Instant::now();
        let outcome = pass.run().await;
        reporter.record(started.elapsed(), outcome.failure.as_ref());
        if let Some(error) = &outcome.failure {
            let regarding = pass.regarding();
            tracing::warn!(name = ?regarding.name, error = %crate::error_chain(error), "pass failed");
            reporter.publish_failure(&regarding, error).await;
        }
        let wait = schedule.after_pass(outcome.next, outcome.failure.as_ref().map(Classify::class));
        next_pass = wait.map(|wait| Instant::now() + wait);
    }
}

/// The wait after each pass (pure).
struct Schedule {
    pacing: Pacing,
    /// Passes in a row that asked to retry soon or failed transiently.
    retries: u32,
}

impl Schedule {
    fn new(pacing: Pacing) -> Self {
        Self { pacing, retries: 0 }
    }

    /// A change may have fixed what the retries waited for: start the pauses over.
    fn changed(&mut self) {
        self.retries = 0;
    }

    /// How long until the next pass after one that asked for `next` and failed with
    /// `failure`, if it did; `None`: only on a change.
    ///
    /// A failure never delays a pass the pass itself asked for: a permanent failure of one
    /// object's write must not hold up the resync of all the others.
    fn after_pass(&mut self, next: NextPass, failure: Option<ErrorClass>) -> Option<Duration> {
        let asked = match next {
            NextPass::After(wait) => Some(wait),
            NextPass::Idle => self.pacing.resync,
            NextPass::Soon => None,
        };
        let transient = failure.is_some_and(|class| class.severity == Severity::Transient);
        if next == NextPass::Soon || transient {
            let soon = self.pacing.retry.soon(self.retries);
            self.retries = self.retries.saturating_add(1);
            return Some(asked.map_or(soon, |asked| asked.min(soon)));
        }
        self.retries = 0;
        match failure {
            Some(_) => Some(
                asked.map_or(self.pacing.retry.after_permanent, |asked| asked.min(self.pacing.retry.after_permanent)),
            ),
            None => asked,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::MetricsRegistry;
    use crate::reconcile_report::ReconcileMetrics;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to reach the cluster")]
    struct Failed(ErrorClass);

    impl Classify for Failed {
        fn class(&self) -> ErrorClass {
            self.0
        }
    }

    /// A pass that answers from a script and notes when it ran (since the test began).
    struct Scripted {
        answers: VecDeque<PassOutcome<Failed>>,
        ran_at: Arc<Mutex<Vec<u64>>>,
        began: Instant,
    }

    impl KeyedPass for Scripted {
        type Error = Failed;

        fn run(&mut self) -> impl Future<Output = PassOutcome<Failed>> + Send {
            let millis = u64::try_from(self.began.elapsed().as_millis()).expect("a short test");
            self.ran_at.lock().expect("not poisoned").push(millis);
            let answer = self.answers.pop_front().unwrap_or(PassOutcome::done(NextPass::Idle));
            async move { answer }
        }

        fn regarding(&self) -> ObjectReference {
            ObjectReference { name: Some("kafka".into()), ..ObjectReference::default() }
        }
    }

    const PACING: Pacing = Pacing {
        debounce: Duration::from_millis(250),
        resync: Some(Duration::from_secs(300)),
        retry: RetryPacing {
            min: Duration::from_secs(1),
            max: Duration::from_secs(4),
            after_permanent: Duration::from_secs(60),
        },
    };

    struct Running {
        ran_at: Arc<Mutex<Vec<u64>>>,
        changed: Arc<Notify>,
        metrics: ReconcileMetrics,
        stop: CancellationToken,
        worker: tokio::task::JoinHandle<()>,
    }

    fn start(answers: Vec<PassOutcome<Failed>>) -> Running {
        let ran_at = Arc::new(Mutex::new(Vec::new()));
        let pass = Scripted { answers: answers.into(), ran_at: ran_at.clone(), began: Instant::now() };
        let metrics = ReconcileMetrics::register(&MetricsRegistry::default(), "test");
        let reporter = ReconcileReporter::without_events(metrics.clone());
        let (changed, stop) = (Arc::new(Notify::new()), CancellationToken::new());
        let worker = tokio::spawn(run(pass, changed.clone(), PACING, reporter, stop.clone()));
        Running { ran_at, changed, metrics, stop, worker }
    }

    impl Running {
        fn ran_at(&self) -> Vec<u64> {
            self.ran_at.lock().expect("not poisoned").clone()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_is_one_pass_after_the_debounce() {
        let running = start(vec![]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(running.ran_at().is_empty(), "no pass before the first change");
        for _ in 0..100 {
            running.changed.notify_one();
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(running.ran_at(), [10_250]);
        // Idle: the next pass is the resync.
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(running.ran_at(), [10_250, 310_250]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_double_up_to_the_max_and_a_change_starts_them_over() {
        let soon = || PassOutcome::done(NextPass::Soon);
        let running = start(vec![soon(), soon(), soon(), soon(), soon(), soon()]);
        running.changed.notify_one();
        tokio::time::sleep(Duration::from_millis(12_000)).await;
        // 250 ms debounce, then 1 s, 2 s, 4 s, 4 s (the max).
        assert_eq!(running.ran_at(), [250, 1_250, 3_250, 7_250, 11_250]);
        running.changed.notify_one();
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // The change: a pass after the debounce, then the first pause again (1 s).
        assert_eq!(running.ran_at()[5..], [12_250, 13_250]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_requested_wake_up_is_kept_and_failures_are_paced_by_their_class() {
        let transient = || PassOutcome::failed(Failed(ErrorClass::transient("api_unavailable")));
        let forbidden = || Failed(ErrorClass::permanent("api_forbidden"));
        let running = start(vec![
            PassOutcome::done(NextPass::After(Duration::from_secs(5))),
            transient(),
            transient(),
            PassOutcome::failed(forbidden()),
            // A pass that failed for one object but wants to look again in 10 s.
            PassOutcome { next: NextPass::After(Duration::from_secs(10)), failure: Some(forbidden()) },
            PassOutcome::done(NextPass::Idle),
        ]);
        running.changed.notify_one();
        tokio::time::sleep(Duration::from_secs(100)).await;
        // After 5 s as asked; transient failures retried after 1 s, 2 s; the permanent one
        // after 60 s, unless the pass asked for less.
        assert_eq!(running.ran_at(), [250, 5_250, 6_250, 8_250, 68_250, 78_250]);
        assert_eq!((running.metrics.count("success"), running.metrics.count("failure")), (2, 4));
        assert_eq!(running.metrics.failures("api_unavailable"), 2);
        assert_eq!(running.metrics.failures("api_forbidden"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_the_worker_even_while_it_debounces() {
        let running = start(vec![]);
        running.changed.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
        running.stop.cancel();
        assert!(running.ran_at().is_empty());
        tokio::time::timeout(Duration::from_secs(1), running.worker).await.expect("stopped").expect("no panic");
    }

    #[tokio::test(start_paused = true)]
    async fn workers_start_per_key_on_the_first_change() {
        let started = Arc::new(Mutex::new(Vec::new()));
        let ran_at = Arc::new(Mutex::new(Vec::new()));
        let metrics = ReconcileMetrics::register(&MetricsRegistry::default(), "test");
        let stop = CancellationToken::new();
        let mut workers = KeyedWorkers::new(
            |key: &&str| {
                started.lock().expect("not poisoned").push(key.to_string());
                Scripted { answers: VecDeque::new(), ran_at: ran_at.clone(), began: Instant::now() }
            },
            PACING,
            ReconcileReporter::without_events(metrics.clone()),
            stop.clone(),
        );
        workers.wake("a");
        workers.wake("b");
        workers.wake("a");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(*started.lock().expect("not poisoned"), ["a", "b"]);
        assert_eq!(metrics.count("success"), 2, "one pass per key: the second wake of a came within its debounce");
        stop.cancel();
    }
}
