//! The cert-manager objects the cluster controller's builder makes for Koperator's SSL sample
//! (`sslSecrets.create: true`), applied to the test bed's real cert-manager: every Certificate
//! becomes Ready, the CA, server and controller Secrets hold `ca.crt`, `tls.crt` and `tls.key`,
//! openssl verifies both leaves against the CA and finds every broker and Service name in the
//! server certificate, and a deleted certificate Secret is issued again with a new serial.
//! No cluster controller runs here; brokers serving these certificates: `tls_cluster.rs`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind};
use kube::{Api, Client};

use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{cert_manager, kafka_cluster, manifests, pki};

const SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";
const CLUSTER: &str = "kafka";
const ISSUE_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn cert_manager_issues_the_ssl_samples_certificates() -> Result<()> {
    namespace::run_isolated("cert-manager-pki", async |ns| {
        // The leaf Certificates are owned by the KafkaCluster: without it, the garbage
        // collector would delete them. No controller runs, so it stays a plain object.
        let sample = kafka_cluster::sample(SAMPLE)?;
        kafka_cluster::apply(ns, &sample).await?;
        let objects = cert_manager::objects_of(ns, CLUSTER).await?;

        let outcome = prove(ns, &objects).await;
        // ClusterIssuers and the CA live outside the test namespace: removed here, pass or fail.
        let cleanup = cert_manager::delete_outside_namespace(&ns.client, &ns.name, &objects).await;
        outcome.and(cleanup)
    })
    .await
}

async fn prove(ns: &TestNamespace, objects: &cluster_controller::CertManagerObjects) -> Result<()> {
    // All at once, in the builder's order, as the operator will: cert-manager sorts out that
    // the CA issuer is ready only once the CA is issued.
    for object in objects.all() {
        let namespace = object.metadata.namespace.as_deref().unwrap_or(&ns.name);
        manifests::apply_object(&ns.client, namespace, &serde_json::to_value(object)?).await?;
    }
    for certificate in &objects.certificates {
        let namespace = certificate.metadata.namespace.as_deref().context("a Certificate has a namespace")?;
        let name = certificate.metadata.name.as_deref().context("a Certificate has a name")?;
        wait_ready(&ns.client, namespace, name).await?;
    }

    let ca = pki::pem_secret(&ns.client, cert_manager::NAMESPACE, "kafka-ca-certificate").await?;
    let server = pki::pem_secret(&ns.client, &ns.name, "kafka-server-certificate").await?;
    let controller = pki::pem_secret(&ns.client, &ns.name, "kafka-controller").await?;
    let dir = pki::work_dir(&ns.name)?;
    for (name, leaf) in [("server", &server), ("controller", &controller)] {
        ensure!(leaf.ca == ca.certificate, "the {name} Secret's ca.crt is not the CA's certificate");
        pki::verify(&dir, name, &leaf.ca, &leaf.certificate).await?;
    }

    let dns_names = pki::dns_names(&dir, "server", &server.certificate).await?;
    let namespace = &ns.name;
    for service in ["kafka-headless", "kafka-all-broker"] {
        for name in [
            format!("{service}.{namespace}.svc.cluster.local"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}"),
            service.to_string(),
        ] {
            ensure!(dns_names.contains(&name), "the server certificate lacks {name}; it has {dns_names:?}");
        }
    }
    // Brokers are reached as <pod>.<headless service>: a wildcard must cover each, as a TLS
    // client checks it.
    for broker in 0..3 {
        for name in [
            format!("kafka-{broker}.kafka-headless.{namespace}.svc.cluster.local"),
            format!("kafka-{broker}.kafka-headless.{namespace}.svc"),
            format!("kafka-{broker}.kafka-headless.{namespace}"),
        ] {
            ensure!(
                pki::matches_host(&dir, &server.certificate, &name).await?,
                "the server certificate does not match {name}"
            );
        }
    }
    let foreign = "kafka-0.kafka-headless.elsewhere.svc.cluster.local";
    ensure!(!pki::matches_host(&dir, &server.certificate, foreign).await?, "the server certificate matches {foreign}");

    // A lost Secret is issued again, with a new serial, still signed by the same CA.
    let serial = pki::x509(&dir, "server", &server.certificate, &["-noout", "-serial"]).await?;
    Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .delete("kafka-server-certificate", &DeleteParams::default())
        .await?;
    let reissued = wait::eventually("kafka-server-certificate is issued again", ISSUE_TIMEOUT, || async {
        Ok(match pki::pem_secret(&ns.client, &ns.name, "kafka-server-certificate").await {
            Ok(files) => Check::Done(files),
            Err(error) => Check::Pending(format!("{error:#}")),
        })
    })
    .await?;
    let new_serial = pki::x509(&dir, "reissued", &reissued.certificate, &["-noout", "-serial"]).await?;
    ensure!(new_serial != serial, "the reissued certificate kept the serial {serial}");
    pki::verify(&dir, "reissued", &reissued.ca, &reissued.certificate).await?;
    pki::remove_work_dir(&ns.name);
    Ok(())
}

async fn wait_ready(client: &Client, namespace: &str, name: &str) -> Result<()> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"));
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
    wait::eventually(&format!("Certificate {namespace}/{name} is Ready"), ISSUE_TIMEOUT, || async {
        let certificate = api.get(name).await?;
        let conditions = certificate.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let ready = conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True");
        Ok(if ready { Check::Done(()) } else { Check::Pending(format!("conditions: {conditions:?}")) })
    })
    .await
}
