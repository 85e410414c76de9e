//! The Kubernetes client, from kube's standard config inference, with every write it sends
//! counted (see [`crate::api_writes`]).
//!
//! A missing or unreadable kube config is fatal (the process exits with the error): nothing
//! will fix it without a restart. An apiserver that is down or unreachable is *not*: the
//! client is created anyway and every caller retries (the CRD wait keeps `/readyz` false
//! with the connection error as reason).

use kube::client::ClientBuilder;
use kube::{Client, Config};

use crate::api_writes::{CountWritesLayer, WriteCounter};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum KubeClientError {
    /// No usable configuration from KUBECONFIG, ~/.kube/config or the in-cluster environment.
    #[error(
        "failed to find a kube config (set KUBECONFIG, create ~/.kube/config or run in a pod \
         with a service account)"
    )]
    InferConfig(#[source] kube::config::InferConfigError),
    /// The configuration could not be turned into a client (e.g. a malformed certificate).
    #[error("failed to build a kube client from the config for {cluster_url}")]
    Build {
        /// The apiserver URL from the config.
        cluster_url: String,
        /// What was wrong.
        #[source]
        source: kube::Error,
    },
}

/// Builds a client from the inferred config that counts its writes into `writes`; makes no
/// request to the apiserver.
pub async fn connect(writes: &WriteCounter) -> Result<Client, KubeClientError> {
    let config = Config::infer().await.map_err(KubeClientError::InferConfig)?;
    let cluster_url = config.cluster_url.to_string();
    tracing::info!(apiserver = %cluster_url, "using kube config");
    let builder = ClientBuilder::try_from(config).map_err(|source| KubeClientError::Build { cluster_url, source })?;
    Ok(builder.with_layer(&CountWritesLayer::new(writes.clone())).build())
}
