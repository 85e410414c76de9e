//! CruiseControlOperations in tests, created the way Koperator creates them: the object with
//! the `kafka_cr` label first, then the task in `status.currentTask` (a status subresource).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crd_types::cruise_control_operation::{CruiseControlTask, CruiseControlTaskOperation, ErrorPolicy};
use crd_types::{CruiseControlOperation, CruiseControlOperationSpec};

use crate::namespace::TestNamespace;
use crate::wait::{self, Check};

/// What to create.
#[derive(Clone, Debug)]
pub struct NewOperation<'a> {
    pub name: &'a str,
    pub cluster: &'a str,
    pub operation: CruiseControlTaskOperation,
    pub parameters: &'a [(&'a str, &'a str)],
    pub error_policy: Option<ErrorPolicy>,
    pub ttl_seconds_after_finished: Option<i32>,
    pub paused: bool,
}

impl<'a> NewOperation<'a> {
    pub fn new(name: &'a str, cluster: &'a str, operation: CruiseControlTaskOperation) -> Self {
        Self {
            name,
            cluster,
            operation,
            parameters: &[],
            error_policy: None,
            ttl_seconds_after_finished: None,
            paused: false,
        }
    }
}

pub fn api(ns: &TestNamespace) -> Api<CruiseControlOperation> {
    Api::namespaced(ns.client.clone(), &ns.name)
}

pub async fn create(ns: &TestNamespace, new: &NewOperation<'_>) -> Result<()> {
    let mut labels = BTreeMap::from([("kafka_cr".to_owned(), new.cluster.to_owned())]);
    if new.paused {
        labels.insert("pause".to_owned(), "true".to_owned());
    }
    let operation = CruiseControlOperation {
        metadata: ObjectMeta { name: Some(new.name.to_owned()), labels: Some(labels), ..ObjectMeta::default() },
        spec: CruiseControlOperationSpec {
            error_policy: new.error_policy,
            ttl_seconds_after_finished: new.ttl_seconds_after_finished,
        },
        status: None,
    };
    let api = api(ns);
    api.create(&PostParams::default(), &operation).await.with_context(|| format!("create {}", new.name))?;
    let task = CruiseControlTask {
        operation: new.operation,
        parameters: new.parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..CruiseControlTask::default()
    };
    let patch = json!({"status": {"currentTask": task}});
    api.patch_status(new.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("set the current task of {}", new.name))?;
    Ok(())
}

pub async fn set_paused(ns: &TestNamespace, name: &str, paused: bool) -> Result<()> {
    let value = if paused { json!("true") } else { serde_json::Value::Null };
    let patch = json!({"metadata": {"labels": {"pause": value}}});
    api(ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("pause {name}"))?;
    Ok(())
}

pub async fn delete(ns: &TestNamespace, name: &str) -> Result<()> {
    match api(ns).delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error).with_context(|| format!("delete {name}")),
    }
}

/// Deletes every operation of the namespace and waits until the runner let go of them; past
/// `timeout` their finalizers are removed by hand (and that is reported as an error).
pub async fn delete_all(ns: &TestNamespace, timeout: Duration) -> Result<()> {
    let api = api(ns);
    api.delete_collection(&DeleteParams::default(), &ListParams::default()).await.context("delete operations")?;
    let gone = wait::eventually("every CruiseControlOperation is gone", timeout, || async {
        let left: Vec<String> = api.list(&ListParams::default()).await?.items.iter().map(|op| op.name_any()).collect();
        Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("left: {left:?}")) })
    })
    .await;
    if gone.is_err() {
        for operation in api.list(&ListParams::default()).await?.items {
            let patch = json!({"metadata": {"finalizers": null}});
            api.patch(&operation.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
    }
    gone
}

/// Waits until `condition` holds for the operation; returns it.
pub async fn until(
    ns: &TestNamespace,
    name: &str,
    what: &str,
    timeout: Duration,
    condition: impl Fn(&CruiseControlOperation) -> bool,
) -> Result<CruiseControlOperation> {
    wait::until(&api(ns), name, what, timeout, condition).await
}

pub fn task(operation: &CruiseControlOperation) -> Option<&CruiseControlTask> {
    operation.status.as_ref().and_then(|status| status.current_task.as_ref())
}

pub fn condition<'a>(operation: &'a CruiseControlOperation, type_: &str) -> Option<&'a Condition> {
    operation.status.as_ref().and_then(|status| status.conditions.iter().find(|c| c.type_ == type_))
}

/// The `Ready` condition's reason, or "" before the runner wrote one.
pub fn ready_reason(operation: &CruiseControlOperation) -> &str {
    condition(operation, "Ready").map(|c| c.reason.as_str()).unwrap_or_default()
}

pub fn retry_count(operation: &CruiseControlOperation) -> i32 {
    operation.status.as_ref().map(|status| status.retry_count).unwrap_or_default()
}
