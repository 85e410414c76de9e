//! Answers repeats of an action without asking the cluster controller again. Alertmanager
//! re-sends a firing alert with every group notification, and a storm of identical posts must
//! not become a storm of gRPC calls: concurrent requests for one key share one call, and its
//! answer is kept for a while. Only an optimisation: "at most once" across replicas and restarts
//! is the cluster controller's idempotency ledger.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// Keys kept before expired ones are swept.
const SWEEP_ABOVE: usize = 4096;

/// One key's answer and until when it holds, shared by every request that asks meanwhile.
type Slot<T> = Arc<OnceCell<(T, Instant)>>;

pub struct DedupeCache<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

// Not derived: that would require `T: Default`.
impl<T> Default for DedupeCache<T> {
    fn default() -> Self {
        Self { slots: Mutex::new(HashMap::new()) }
    }
}

impl<T: Clone> DedupeCache<T> {
    /// The answer for `key` while it holds, or the one `compute` gives (once, however many ask
    /// at the same time), kept for `lifetime(answer)`. Returns whether the answer was shared
    /// rather than computed. An error is not kept: the next request tries again.
    pub async fn get_or_try<E, F, Fut>(
        &self,
        key: &str,
        lifetime: impl Fn(&T) -> Duration,
        compute: F,
    ) -> Result<(T, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = self.slot(key);
        let mut computed = false;
        let (answer, _) = slot
            .get_or_try_init(|| {
                computed = true;
                async {
                    let answer = compute().await?;
                    let expires = Instant::now() + lifetime(&answer);
                    Ok((answer, expires))
                }
            })
            .await?;
        Ok((answer.clone(), !computed))
    }

    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let live = |slot: &Slot<T>| slot.get().is_none_or(|(_, expires)| *expires > now);
        if slots.len() > SWEEP_ABOVE {
            slots.retain(|_, slot| live(slot));
        }
        match slots.get(key) {
            Some(slot) if live(slot) => slot.clone(),
            _ => {
                let slot = Slot::default();
                slots.insert(key.to_owned(), slot.clone());
                slot
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_requests_for_one_key_share_one_computation() {
        let cache = Arc::new(DedupeCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_try(
                            "k",
                            |_| Duration::from_secs(60),
                            || async {
                                calls.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                Ok::<_, ()>(7)
                            },
                        )
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("joined").expect("ok").0, 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_asked_again_and_answers_expire_after_their_lifetime() {
        let cache = DedupeCache::default();
        let minute = |_: &i32| Duration::from_secs(60);
        assert!(cache.get_or_try("k", minute, || async { Err::<i32, _>("down") }).await.is_err());
        assert_eq!(cache.get_or_try("k", minute, || async { Ok::<_, ()>(1) }).await, Ok((1, false)));
        assert_eq!(cache.get_or_try("k", minute, || async { Ok::<_, ()>(2) }).await, Ok((1, true)));
        let short = |_: &i32| Duration::from_millis(30);
        assert_eq!(cache.get_or_try("s", short, || async { Ok::<_, ()>(3) }).await, Ok((3, false)));
        assert_eq!(cache.get_or_try("s", short, || async { Ok::<_, ()>(4) }).await, Ok((3, true)));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get_or_try("s", short, || async { Ok::<_, ()>(5) }).await, Ok((5, false)));
    }
}
