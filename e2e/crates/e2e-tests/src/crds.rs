//! The project's CRDs on the test bed.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client};

use crate::testbed::repo_root;
use crate::{manifests, wait};

pub const CRD_DIR: &str = "deploy/crds";

/// Server-side applies every CRD of deploy/crds and waits until each is Established
/// (idempotent: every scenario calls it rather than relying on test order).
pub async fn install(client: &Client) -> Result<()> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    for path in yaml_files(CRD_DIR)? {
        for crd in manifests::read_documents(&path)? {
            let applied = manifests::apply_object(client, "", &crd).await?;
            let name = applied.metadata.name.context("applied CRD has no name")?;
            wait::until(&api, &name, "is Established", Duration::from_secs(30), |crd| {
                let conditions = crd.status.as_ref().and_then(|s| s.conditions.as_ref());
                conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"))
            })
            .await?;
        }
    }
    Ok(())
}

/// Repository paths of the `*.yaml` files in `dir`, sorted.
pub fn yaml_files(dir: &str) -> Result<Vec<String>> {
    let mut paths: Vec<String> = std::fs::read_dir(repo_root().join(dir))?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// kubectl from the toolchain the bootstrap installed (`$KOPERATOR_CACHE/toolchain.env`).
pub fn kubectl_path() -> Result<String> {
    let cache = std::env::var("KOPERATOR_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| std::path::Path::new(&home).join(".cache/koperator")))?;
    let toolchain = std::fs::read_to_string(cache.join("toolchain.env"))
        .with_context(|| format!("failed to read {}/toolchain.env", cache.display()))?;
    toolchain
        .lines()
        .find_map(|line| line.strip_prefix("KUBECTL="))
        .map(|value| value.trim_matches('"').to_string())
        .context("toolchain.env names no KUBECTL")
}
