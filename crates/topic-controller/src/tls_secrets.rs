//! Reads the Secrets a cluster's TLS material is in. Client required (`get` on Secrets; no
//! list or watch, so the controller can be granted no more than that).
//!
//! Each pass reads only the Secrets' metadata; their data is read again when a
//! resourceVersion changed (a renewed certificate), so the key material is neither fetched
//! nor kept beyond the settings built from it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use kafka_admin::TlsSettings;

use crate::tls_material::{self, CachedMaterial, MaterialError, SecretData, SecretName, TlsSource};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Missing(#[from] MaterialError),
    #[error("failed to read Secret {secret}")]
    Read {
        secret: SecretName,
        #[source]
        source: kube::Error,
    },
}

/// The settings for `source`, from `cached` while none of its Secrets changed. `cached` is
/// replaced after a read, and emptied when the material is incomplete.
pub async fn tls_settings(
    client: &Client,
    source: &TlsSource,
    cached: &mut Option<CachedMaterial>,
) -> Result<TlsSettings, Error> {
    let mut versions = BTreeMap::new();
    for secret in source.secrets() {
        let metadata = api(client, secret).get_metadata_opt(&secret.name).await.map_err(read_error(secret))?;
        versions.insert(secret.clone(), metadata.and_then(|m| m.resource_version()));
    }
    if let Some(current) = cached.as_ref().filter(|c| c.is_current(source, &versions)) {
        return Ok(current.settings.clone());
    }
    *cached = None;
    let mut data = SecretData::new();
    let mut read_versions = BTreeMap::new();
    for secret in source.secrets() {
        let object = api(client, secret).get_opt(&secret.name).await.map_err(read_error(secret))?;
        if let Some(version) = object.as_ref().and_then(ResourceExt::resource_version) {
            read_versions.insert(secret.clone(), version);
        }
        data.insert(secret.clone(), object.and_then(|object| object.data));
    }
    let settings = tls_material::tls_settings(source, &data)?;
    tracing::info!(secrets = ?read_versions, "read the TLS material of a Kafka cluster");
    *cached = Some(CachedMaterial { source: source.clone(), versions: read_versions, settings: settings.clone() });
    Ok(settings)
}

fn api(client: &Client, secret: &SecretName) -> Api<Secret> {
    Api::namespaced(client.clone(), &secret.namespace)
}

fn read_error(secret: &SecretName) -> impl FnOnce(kube::Error) -> Error + '_ {
    move |source| Error::Read { secret: secret.clone(), source }
}
