//! Waiting until the CRDs a deployable serves are installed and Established.
//!
//! CRDs are installed separately from the operator (`kubectl apply --server-side`), so a
//! missing CRD is an installation step not done yet, not a crash: the process keeps
//! `/readyz` false with a reason naming the CRD, logs how to install it, and checks again.

use std::time::Duration;

use kube::Client;
use kube::api::GetParams;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::readiness::ReadinessGate;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum CrdWaitError {
    /// Shutdown was requested before every CRD was Established.
    #[error("shutdown requested while waiting for CRDs")]
    Cancelled,
}

/// The command that installs the CRDs, quoted in every "missing CRD" message.
pub const INSTALL_HINT: &str = "install the CRDs with `kubectl apply --server-side -f deploy/crds/`";

/// Pause between checks.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long one read may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Repeat an unchanged warning this often, so it is in the recent log lines.
const REPEAT_WARNING_EVERY: u32 = 12;

/// What one CRD looks like to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrdState {
    /// Served by the apiserver.
    Established,
    /// Exists but is not (yet) served; the reason comes from its conditions.
    NotEstablished(String),
    /// Does not exist.
    Missing,
    /// Could not be read (apiserver down, RBAC); the error text.
    Unreadable(String),
}

/// The part of a CustomResourceDefinition this module reads: its conditions. The whole object is
/// not deserialized: KafkaCluster's schema (half a megabyte of JSON) would become megabytes of
/// `JSONSchemaProps` on the heap of every deployable, kept by the allocator long after the wait.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CrdConditions {
    #[serde(default)]
    status: Option<CrdStatusConditions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdStatusConditions {
    #[serde(default)]
    conditions: Vec<CrdCondition>,
}

#[derive(Clone, Debug, Deserialize)]
struct CrdCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The state of a CRD as read (`None` when it does not exist).
pub fn crd_state(crd: Option<&CrdConditions>) -> CrdState {
    let Some(crd) = crd else {
        return CrdState::Missing;
    };
    let conditions = crd.status.as_ref().map(|status| status.conditions.as_slice()).unwrap_or_default();
    match conditions.iter().find(|condition| condition.type_ == "Established") {
        Some(condition) if condition.status == "True" => CrdState::Established,
        Some(condition) => CrdState::NotEstablished(format!(
            "Established={} {}: {}",
            condition.status,
            condition.reason.as_deref().unwrap_or_default(),
            condition.message.as_deref().unwrap_or_default()
        )),
        None => CrdState::NotEstablished("no Established condition yet".to_owned()),
    }
}

/// One line per CRD that is not Established, or `None` when all are.
pub fn unmet_reason(states: &[(&str, CrdState)]) -> Option<String> {
    let problems: Vec<String> = states
        .iter()
        .filter_map(|(name, state)| match state {
            CrdState::Established => None,
            CrdState::Missing => Some(format!("crd {name} not found; {INSTALL_HINT}")),
            CrdState::NotEstablished(reason) => Some(format!("crd {name} not established ({reason})")),
            CrdState::Unreadable(error) => Some(format!("cannot read crd {name}: {error}")),
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Checks the CRDs every few seconds until all are Established, keeping `gate` up to date.
/// Never gives up; returns early only when `shutdown` is cancelled.
pub async fn wait_for_crds(
    client: &Client,
    crd_names: &[&str],
    gate: &ReadinessGate,
    shutdown: &CancellationToken,
) -> Result<(), CrdWaitError> {
    let mut last_reason: Option<String> = None;
    let mut unchanged_checks = 0_u32;
    loop {
        let states = tokio::select! {
            () = shutdown.cancelled() => return Err(CrdWaitError::Cancelled),
            states = read_states(client, crd_names) => states,
        };
        let Some(reason) = unmet_reason(&states) else {
            gate.set_ready();
            tracing::info!(crds = ?crd_names, "all CRDs are established");
            return Ok(());
        };
        if last_reason.as_ref() != Some(&reason) || unchanged_checks >= REPEAT_WARNING_EVERY {
            tracing::warn!("waiting for CRDs: {reason}");
            unchanged_checks = 0;
        }
        unchanged_checks += 1;
        gate.set_not_ready(reason.clone());
        last_reason = Some(reason);
        tokio::select! {
            () = shutdown.cancelled() => return Err(CrdWaitError::Cancelled),
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

async fn read_states<'name>(client: &Client, crd_names: &[&'name str]) -> Vec<(&'name str, CrdState)> {
    let mut states = Vec::with_capacity(crd_names.len());
    for &name in crd_names {
        // A hanging apiserver must show up as a reason, not freeze the gate.
        let state = match tokio::time::timeout(REQUEST_TIMEOUT, read_conditions(client, name)).await {
            Ok(Ok(crd)) => crd_state(crd.as_ref()),
            Ok(Err(error)) => CrdState::Unreadable(crate::error_chain(&error)),
            Err(_) => CrdState::Unreadable(format!("no answer from the apiserver within {REQUEST_TIMEOUT:?}")),
        };
        states.push((name, state));
    }
    states
}

/// GETs one CRD, deserializing only its conditions; `None` when it does not exist.
async fn read_conditions(client: &Client, name: &str) -> kube::Result<Option<CrdConditions>> {
    let request = kube::core::Request::new("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        .get(name, &GetParams::default())
        .map_err(kube::Error::BuildRequest)?;
    match client.request::<CrdConditions>(request).await {
        Ok(crd) => Ok(Some(crd)),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd_with_conditions(conditions: serde_json::Value) -> CrdConditions {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "kafkaclusters.kafka.banzaicloud.io" },
            "spec": {
                "group": "kafka.banzaicloud.io",
                "names": { "kind": "KafkaCluster", "plural": "kafkaclusters" },
                "scope": "Namespaced",
                "versions": []
            },
            "status": { "conditions": conditions }
        }))
        .expect("valid CRD")
    }

    #[test]
    fn established_true_is_established() {
        let crd = crd_with_conditions(serde_json::json!([
            { "type": "NamesAccepted", "status": "True" },
            { "type": "Established", "status": "True" }
        ]));
        assert_eq!(crd_state(Some(&crd)), CrdState::Established);
    }

    #[test]
    fn established_false_reports_the_condition() {
        let crd = crd_with_conditions(serde_json::json!([{
            "type": "Established", "status": "False", "reason": "Installing",
            "message": "the initial names have not been accepted"
        }]));
        assert_eq!(
            crd_state(Some(&crd)),
            CrdState::NotEstablished("Established=False Installing: the initial names have not been accepted".into())
        );
        let fresh = crd_with_conditions(serde_json::json!([]));
        assert!(matches!(crd_state(Some(&fresh)), CrdState::NotEstablished(_)));
    }

    #[test]
    fn unmet_reason_names_each_missing_crd_and_how_to_install_it() {
        let states = [
            ("kafkaclusters.kafka.banzaicloud.io", CrdState::Missing),
            ("kafkatopics.kafka.banzaicloud.io", CrdState::Established),
            ("kafkausers.kafka.banzaicloud.io", CrdState::Unreadable("connection refused".into())),
        ];
        assert_eq!(
            unmet_reason(&states).expect("two are unmet"),
            "crd kafkaclusters.kafka.banzaicloud.io not found; install the CRDs with \
             `kubectl apply --server-side -f deploy/crds/`; \
             cannot read crd kafkausers.kafka.banzaicloud.io: connection refused"
        );
        assert_eq!(unmet_reason(&[("kafkatopics.kafka.banzaicloud.io", CrdState::Established)]), None);
    }
}
