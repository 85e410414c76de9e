//! Waiting until something holds, with a timeout whose error shows the last observed state.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use anyhow::{Result, bail};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Longest excerpt of the last observed state an error shows.
const STATE_EXCERPT_CHARS: usize = 6000;

/// What one look at the world found.
pub enum Check<T> {
    Done(T),
    /// Not yet; the text describes what was seen, for the timeout error.
    Pending(String),
}

/// Polls `look` until it returns `Check::Done`. A failing look counts as pending (the error
/// is kept as the last state), so a briefly unavailable endpoint does not fail the wait.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut look: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::from("(nothing observed yet)");
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(remaining.max(Duration::from_millis(1)), look()).await {
            Ok(Ok(Check::Done(value))) => return Ok(value),
            Ok(Ok(Check::Pending(state))) => last = state,
            Ok(Err(error)) => last = format!("error: {error:#}"),
            Err(_) => last = format!("{last}\n(the last look itself did not finish before the deadline)"),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting until {what}; last observed:\n{}", excerpt(&last));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until the object exists and `condition` holds for it; returns the object.
pub async fn until<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    timeout: Duration,
    condition: impl Fn(&K) -> bool,
) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    K::DynamicType: Default,
{
    let description = format!("{} {name} {what}", K::kind(&K::DynamicType::default()));
    eventually(&description, timeout, || async {
        Ok(match api.get_opt(name).await? {
            Some(object) if condition(&object) => Check::Done(object),
            Some(object) => Check::Pending(to_yaml_without_managed_fields(&object)),
            None => Check::Pending(format!("{name} does not exist")),
        })
    })
    .await
}

/// Waits until the object is gone.
pub async fn until_deleted<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    K::DynamicType: Default,
{
    let description = format!("{} {name} is deleted", K::kind(&K::DynamicType::default()));
    eventually(&description, timeout, || async {
        Ok(match api.get_opt(name).await? {
            Some(object) => Check::Pending(to_yaml_without_managed_fields(&object)),
            None => Check::Done(()),
        })
    })
    .await
}

/// The object as YAML for an error message: status first (what a wait is about, and it must
/// survive truncation of a long spec), managedFields left out.
pub fn to_yaml_without_managed_fields(object: &impl Serialize) -> String {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        metadata.remove("managedFields");
    }
    let status = value.as_object_mut().and_then(|object| object.remove("status"));
    let yaml = |value: &serde_json::Value| {
        serde_yaml::to_string(value).unwrap_or_else(|error| format!("(unprintable: {error})"))
    };
    match status {
        Some(status) => format!("{}{}", yaml(&serde_json::json!({ "status": status })), yaml(&value)),
        None => yaml(&value),
    }
}

fn excerpt(text: &str) -> String {
    if text.chars().count() <= STATE_EXCERPT_CHARS {
        return text.to_string();
    }
    let tail: String = text.chars().take(STATE_EXCERPT_CHARS).collect();
    format!("{tail}\n... (truncated)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_the_value_once_the_check_is_done() -> Result<()> {
        let mut looks = 0;
        let value = eventually("the third look", Duration::from_secs(5), || {
            looks += 1;
            let done = looks >= 3;
            async move { Ok(if done { Check::Done(7) } else { Check::Pending("not yet".to_string()) }) }
        })
        .await?;
        assert_eq!(value, 7);
        Ok(())
    }

    #[tokio::test]
    async fn eventually_times_out_with_the_last_observed_state() {
        let error = eventually::<(), _, _>("never", Duration::from_millis(100), || async {
            Ok(Check::Pending("broker 1 is fenced".to_string()))
        })
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("waiting until never"), "{error}");
        assert!(error.contains("broker 1 is fenced"), "{error}");
    }

    #[test]
    fn status_comes_first() {
        let object = serde_json::json!({"metadata": {"name": "x", "managedFields": []}, "spec": {}, "status": {"phase": "Running"}});
        let yaml = to_yaml_without_managed_fields(&object);
        assert!(yaml.starts_with("status:\n  phase: Running"), "{yaml}");
        assert!(!yaml.contains("managedFields"), "{yaml}");
    }
}
