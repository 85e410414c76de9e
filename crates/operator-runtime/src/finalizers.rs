//! Adds or removes one finalizer on any namespaced resource (the only finalizer writes): a
//! JSON patch that first tests the list it was computed from, so a concurrent change to the
//! finalizers fails the write instead of being overwritten.
//!
//! Not `kube::runtime::finalizer`: that one wraps a whole reconcile of one object and holds
//! the finalizer for the object's whole life. Our controllers work on batches (the topic
//! controller adds finalizers for many KafkaTopics before one Kafka request) and hold a
//! finalizer only while there is something to clean up (the runner: while a task may move
//! data), from a cache that keeps the finalizer list but not the object.

use std::fmt::Debug;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch as JsonPatch, PatchOperation, RemoveOperation, TestOperation};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error_class::{Classify, ErrorClass, kube_error_class};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[error("failed to {} the finalizer {finalizer} {} {kind} {namespace}/{name}", change.verb(), change.preposition())]
pub struct FinalizerError {
    pub change: FinalizerChange,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub finalizer: String,
    #[source]
    pub source: kube::Error,
}

/// What a finalizer write was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalizerChange {
    Add,
    Remove,
}

impl FinalizerChange {
    fn verb(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
        }
    }

    fn preposition(self) -> &'static str {
        match self {
            Self::Add => "to",
            Self::Remove => "from",
        }
    }
}

impl Classify for FinalizerError {
    fn class(&self) -> ErrorClass {
        match &self.source {
            // A failed `test` (the finalizers changed since they were read: the next pass
            // reads them again), or an admission policy refusing the finalizer (retried at the
            // pace of the pass, so that lifting the policy takes effect).
            kube::Error::Api(status) if status.code == 409 || status.code == 422 => {
                ErrorClass::transient("finalizer_conflict")
            }
            other => kube_error_class(other),
        }
    }
}

/// The object whose finalizers are written, as last read.
#[derive(Clone, Copy, Debug)]
pub struct FinalizerTarget<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// `metadata.finalizers` as read; the patch fails if they differ now.
    pub finalizers: &'a [String],
}

/// Adds `finalizer` unless `target` has it already.
pub async fn add<K>(client: &Client, target: FinalizerTarget<'_>, finalizer: &str) -> Result<(), FinalizerError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let Some(patch) = add_patch(target.finalizers, finalizer) else { return Ok(()) };
    send::<K>(client, target, patch)
        .await
        .map_err(|source| failed::<K>(FinalizerChange::Add, target, finalizer, source))
}

/// Removes `finalizer` if `target` has it; an object already gone counts as done (the
/// finalizer was the last thing holding it).
pub async fn remove<K>(client: &Client, target: FinalizerTarget<'_>, finalizer: &str) -> Result<(), FinalizerError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let Some(patch) = remove_patch(target.finalizers, finalizer) else { return Ok(()) };
    match send::<K>(client, target, patch).await {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        result => result.map_err(|source| failed::<K>(FinalizerChange::Remove, target, finalizer, source)),
    }
}

async fn send<K>(client: &Client, target: FinalizerTarget<'_>, patch: JsonPatch) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), target.namespace);
    api.patch(target.name, &PatchParams::default(), &Patch::Json::<()>(patch)).await.map(|_| ())
}

fn failed<K: Resource<DynamicType = ()>>(
    change: FinalizerChange,
    target: FinalizerTarget<'_>,
    finalizer: &str,
    source: kube::Error,
) -> FinalizerError {
    FinalizerError {
        change,
        kind: K::kind(&()).into_owned(),
        namespace: target.namespace.to_owned(),
        name: target.name.to_owned(),
        finalizer: finalizer.to_owned(),
        source,
    }
}

fn finalizers_path() -> PointerBuf {
    PointerBuf::from_tokens(["metadata", "finalizers"])
}

/// The patch that appends `finalizer` to `existing` (pure); `None` when it is there already.
pub fn add_patch(existing: &[String], finalizer: &str) -> Option<JsonPatch> {
    if existing.iter().any(|present| present == finalizer) {
        return None;
    }
    let operations = if existing.is_empty() {
        // An empty list is stored as no list at all.
        vec![
            test(finalizers_path(), Value::Null),
            PatchOperation::Add(AddOperation { path: finalizers_path(), value: Value::from(vec![finalizer]) }),
        ]
    } else {
        vec![
            test(finalizers_path(), Value::from(existing)),
            PatchOperation::Add(AddOperation {
                path: PointerBuf::from_tokens(["metadata", "finalizers", "-"]),
                value: Value::from(finalizer),
            }),
        ]
    };
    Some(JsonPatch(operations))
}

/// The patch that removes `finalizer` from `existing` (pure); `None` when it is not there.
/// Only the entry itself is tested: other finalizers may come and go, as long as ours is
/// still where it was read.
pub fn remove_patch(existing: &[String], finalizer: &str) -> Option<JsonPatch> {
    let index = existing.iter().position(|present| present == finalizer)?;
    let path = PointerBuf::from_tokens(["metadata".to_owned(), "finalizers".to_owned(), index.to_string()]);
    Some(JsonPatch(vec![test(path.clone(), Value::from(finalizer)), PatchOperation::Remove(RemoveOperation { path })]))
}

fn test(path: PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Test(TestOperation { path, value })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OURS: &str = "finalizer.kafkatopics.kafka.banzaicloud.io";

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    /// Applies `patch` with json-patch's own implementation of RFC 6902.
    fn applied(mut object: Value, patch: &JsonPatch) -> Result<Value, json_patch::PatchError> {
        json_patch::patch(&mut object, patch).map(|()| object)
    }

    #[test]
    fn adding_tests_the_list_it_was_computed_from() {
        let patch = add_patch(&[], OURS).expect("missing, so added");
        assert_eq!(
            serde_json::to_value(&patch).expect("serializes"),
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [OURS]},
            ])
        );
        // The API server's JSON patch (evanphx/json-patch) tests a missing member as null, which
        // RFC 6902 leaves open and json-patch refuses: this oracle gets an explicit null.
        let bare = json!({"metadata": {"name": "orders", "finalizers": null}});
        assert_eq!(applied(bare, &patch).expect("applies")["metadata"]["finalizers"], json!([OURS]));
        // Someone added a finalizer in between: the test fails instead of dropping theirs.
        assert!(applied(json!({"metadata": {"finalizers": ["theirs"]}}), &patch).is_err());

        let patch = add_patch(&strings(&["theirs"]), OURS).expect("missing, so added");
        let object = json!({"metadata": {"finalizers": ["theirs"]}});
        assert_eq!(applied(object, &patch).expect("applies")["metadata"]["finalizers"], json!(["theirs", OURS]));
        assert!(applied(json!({"metadata": {"finalizers": ["other"]}}), &patch).is_err());

        assert!(add_patch(&strings(&["theirs", OURS]), OURS).is_none());
    }

    #[test]
    fn removing_tests_that_ours_is_still_where_it_was() {
        let patch = remove_patch(&strings(&["theirs", OURS]), OURS).expect("present, so removed");
        assert_eq!(
            serde_json::to_value(&patch).expect("serializes"),
            json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": OURS},
                {"op": "remove", "path": "/metadata/finalizers/1"},
            ])
        );
        let object = json!({"metadata": {"finalizers": ["theirs", OURS]}});
        assert_eq!(applied(object, &patch).expect("applies")["metadata"]["finalizers"], json!(["theirs"]));
        // Theirs went first: ours moved, and the stale index must not remove anything else.
        assert!(applied(json!({"metadata": {"finalizers": [OURS]}}), &patch).is_err());
        assert!(remove_patch(&strings(&["theirs"]), OURS).is_none());
    }

    #[test]
    fn a_changed_list_is_a_transient_conflict() {
        let error = |code| FinalizerError {
            change: FinalizerChange::Remove,
            kind: "KafkaTopic".into(),
            namespace: "ns".into(),
            name: "orders".into(),
            finalizer: OURS.into(),
            source: kube::Error::Api(Box::new(kube::core::Status::failure("test failed", "Invalid").with_code(code))),
        };
        assert_eq!(error(422).class(), ErrorClass::transient("finalizer_conflict"));
        assert_eq!(error(403).class(), ErrorClass::permanent("api_forbidden"));
        assert_eq!(error(422).to_string(), format!("failed to remove the finalizer {OURS} from KafkaTopic ns/orders"));
    }
}
