//! A namespace of its own for every test, deleted at the end even when the test fails.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures::FutureExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::{diagnostics, testbed};

/// How long cleanup waits for the namespace (and so its pods' processes) to be gone.
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

/// Set to keep the namespace of a failed test for debugging.
const KEEP_ON_FAILURE_VARIABLE: &str = "E2E_KEEP_NAMESPACE";

/// Label on every test namespace, to find leftovers: `kubectl get ns -l e2e-tests=true`.
pub const LABEL: &str = "e2e-tests";

pub struct TestNamespace {
    pub client: Client,
    pub name: String,
}

impl TestNamespace {
    /// Creates `e2e-<prefix>-<unique suffix>`.
    pub async fn create(client: Client, prefix: &str) -> Result<Self> {
        let name = unique_name(prefix);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(LABEL.to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("failed to create namespace {name}"))?;
        Ok(Self { client, name })
    }

    /// Deletes the namespace and waits until it is gone, so no pod of this test still runs.
    /// Pods are killed first (grace period 0): a Kafka broker's controlled shutdown in a
    /// cluster that is going away can take minutes, and the namespace controller backs off
    /// exponentially while content remains.
    pub async fn cleanup(&self) -> Result<()> {
        let pods = Api::<Pod>::namespaced(self.client.clone(), &self.name);
        if let Err(error) =
            pods.delete_collection(&DeleteParams::default().grace_period(0), &ListParams::default()).await
        {
            eprintln!("e2e: failed to kill the pods of {}: {error}", self.name);
        }
        let api = Api::<Namespace>::all(self.client.clone());
        match api.delete(&self.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(error) => return Err(error).with_context(|| format!("failed to delete namespace {}", self.name)),
        }
        crate::wait::until_deleted(&api, &self.name, DELETION_TIMEOUT).await
    }
}

/// Runs `body` in a fresh namespace, then deletes the namespace whether `body` returned an
/// error, panicked or succeeded. On failure the namespace's pods and events are printed first.
pub async fn run_isolated(prefix: &str, body: impl AsyncFnOnce(&TestNamespace) -> Result<()>) -> Result<()> {
    let client = testbed::client().await?;
    let namespace = TestNamespace::create(client, prefix).await?;
    let outcome = AssertUnwindSafe(body(&namespace)).catch_unwind().await;
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        diagnostics::print_namespace(&namespace.client, &namespace.name).await;
    }
    let cleanup = if failed && std::env::var_os(KEEP_ON_FAILURE_VARIABLE).is_some() {
        eprintln!("e2e: keeping namespace {} ({KEEP_ON_FAILURE_VARIABLE} is set)", namespace.name);
        Ok(())
    } else {
        namespace.cleanup().await
    };
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(error)) => {
            if let Err(cleanup_error) = cleanup {
                eprintln!("e2e: cleanup after the failure also failed: {cleanup_error:#}");
            }
            Err(error)
        }
        Ok(Ok(())) => cleanup,
    }
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let suffix = format!(
        "{:x}{:x}{:x}",
        millis % 0x10_0000,
        std::process::id() % 0x1000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let prefix: String = prefix.chars().take(40).collect();
    format!("e2e-{prefix}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dns_labels() {
        let first = unique_name("kraft-pods");
        let second = unique_name("kraft-pods");
        assert_ne!(first, second);
        assert!(first.len() <= 63);
        assert!(first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
