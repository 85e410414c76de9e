//! Writes the status of any namespaced custom resource by server-side apply (the only status
//! writer), as the deployable's field manager, with force.
//!
//! Server-side apply instead of a merge patch: fields this manager applied before and no
//! longer applies are removed by the API server (a retried Cruise Control task drops the old
//! task's `id` and `summary`) without a hand-written diff naming each one with `null`, and
//! fields another manager set and we never apply (the `currentTask` the cluster controller
//! writes when it creates a CruiseControlOperation) stay as they are. `force` takes over fields
//! another manager set to a different value: the status is this controller's to write.
//!
//! Callers write only a status that differs from the one they read, so that an unchanged
//! object costs no write.

use std::borrow::Cow;
use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error_class::{Classify, ErrorClass, kube_error_class};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[error("failed to apply the status of {kind} {namespace}/{name}")]
pub struct StatusError {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[source]
    pub source: kube::Error,
}

impl Classify for StatusError {
    fn class(&self) -> ErrorClass {
        kube_error_class(&self.source)
    }
}

/// What became of a status write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusWrite {
    Applied,
    /// The object is gone: nothing to write a status to.
    ObjectGone,
}

/// The apply configuration: identity and status only, so the apply owns nothing else.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOnly<'a, S> {
    api_version: Cow<'a, str>,
    kind: Cow<'a, str>,
    status: &'a S,
}

/// Applies `status` to the object `namespace`/`name` of kind `K`.
pub async fn apply_status<K, S>(
    client: &Client,
    field_manager: &str,
    namespace: &str,
    name: &str,
    status: &S,
) -> Result<StatusWrite, StatusError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + Debug,
{
    let body = StatusOnly { api_version: K::api_version(&()), kind: K::kind(&()), status };
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(field_manager).force();
    match api.patch_status(name, &params, &Patch::Apply(&body)).await {
        Ok(_) => Ok(StatusWrite::Applied),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(StatusWrite::ObjectGone),
        Err(source) => Err(StatusError {
            kind: K::kind(&()).into_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        }),
    }
}
