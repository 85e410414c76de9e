//! The cert-manager objects of a TLS cluster (cluster-scoped issuers, the CA Certificate and its
//! Secret in cert-manager's namespace) live outside the test's namespace, so a test removes them
//! itself: these are the builder's objects for the stored cluster, and their deletion.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::{Api, Client};
use serde_json::json;

use cluster_controller::CertManagerObjects;

use crate::namespace::TestNamespace;
use crate::wait::{self, Check};
use crate::{kafka_cluster, manifests};

/// Where the test bed runs cert-manager; its ClusterIssuers read their Secrets there.
pub const NAMESPACE: &str = "cert-manager";

/// The objects the cluster controller's builder makes for the stored KafkaCluster `cluster`
/// (`sslSecrets.create: true` with cert-manager).
pub async fn objects_of(ns: &TestNamespace, cluster: &str) -> Result<CertManagerObjects> {
    let stored = kafka_cluster::api(ns).get(cluster).await.with_context(|| format!("KafkaCluster {cluster}"))?;
    let cluster = cluster_controller::validate(&stored).map_err(|errors| anyhow!("{errors:?}"))?;
    Ok(cluster_controller::cert_manager_objects(&cluster, NAMESPACE, &[]))
}

/// The cluster-scoped issuers, and the CA Certificate and Secret in cert-manager's namespace.
pub async fn delete_outside_namespace(
    client: &Client,
    test_namespace: &str,
    objects: &CertManagerObjects,
) -> Result<()> {
    let mut failures = Vec::new();
    for object in objects.all() {
        let namespace = object.metadata.namespace.as_deref();
        if namespace == Some(test_namespace) {
            continue;
        }
        let value = serde_json::to_value(object)?;
        let (api, name) = manifests::api_for(client, namespace.unwrap_or(test_namespace), &value).await?;
        if let Err(error) = ignore_absent(api.delete(&name, &DeleteParams::default()).await) {
            failures.push(format!("{}: {error}", manifests::describe(&value)));
        }
        if let Some(namespace) = namespace {
            let secret = object.data["spec"]["secretName"].as_str().unwrap_or(&name);
            let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
            if let Err(error) = ignore_absent(secrets.delete(secret, &DeleteParams::default()).await) {
                failures.push(format!("Secret {namespace}/{secret}: {error}"));
            }
        }
    }
    ensure!(failures.is_empty(), "cleanup failed: {}", failures.join("; "));
    Ok(())
}

/// Deletes the Certificate `name` in `namespace` and, once it is gone, its Secret of the same
/// name: only whoever applies the Certificate again can bring the Secret back.
pub async fn delete_certificate_and_its_secret(client: &Client, namespace: &str, name: &str) -> Result<()> {
    let certificate = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name}});
    let (certificates, _) = manifests::api_for(client, namespace, &certificate).await?;
    ignore_absent(certificates.delete(name, &DeleteParams::default()).await)?;
    wait::eventually(&format!("Certificate {namespace}/{name} is gone"), Duration::from_secs(60), || async {
        Ok(match certificates.get_opt(name).await? {
            None => Check::Done(()),
            Some(_) => Check::Pending("still there".to_owned()),
        })
    })
    .await?;
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    ignore_absent(secrets.delete(name, &DeleteParams::default()).await)?;
    Ok(())
}

fn ignore_absent<T>(result: kube::Result<T>) -> kube::Result<()> {
    match result {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other.map(drop),
    }
}
