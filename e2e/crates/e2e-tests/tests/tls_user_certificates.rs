//! A KRaft split-role cluster (two brokers, one controller) with TLS on the inter-broker and
//! controller listeners and certificates the user brings (`sslSecrets: {tlsSecretName,
//! create: false}`, Koperator's keys `caCert`, `caKey`, `peerCert`, `peerKey`, `clientCert`,
//! `clientKey`), all made here with openssl from a CA of the test's own:
//! - before the Secret exists the cluster is Degraded naming it, and no broker pod is made;
//! - the controller listener has its own JKS `serverSSLCertSecret` (`keystore.jks`,
//!   `truststore.jks`, `password`, made with openssl and keytool), which brokers and the
//!   controller read in place;
//! - with them the cluster reaches ClusterRunning; kcat and Kafka's own tool, with a client
//!   certificate of the user's CA and host name verification, create a topic, produce and
//!   consume, and `openssl s_client` sees the user's CA at the top of every node's chain, the
//!   brokers presenting `peerCert`, the controller its JKS certificate;
//! - a `peerKey` that is not `peerCert`'s key makes the cluster Degraded naming the key, and no
//!   broker is restarted; the right key back, the cluster is running again on the same pods;
//! - a renewed `peerCert` reaches every node through the health-gated roll under acks=all
//!   production over TLS: nothing acknowledged lost, never two nodes down.
//!
//! The Secret carries `kafka_cr: kafka` so that its changes wake the cluster at once (an
//! unlabelled one is read again at the next pass).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap, condition};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::pki::{self, ClientFiles, PemSecret};
use e2e_tests::rolling::{ContinuousProducer, DownWatch};
use e2e_tests::wait;
use e2e_tests::{crds, kafka_topic, kcat, namespace, rolling};

const CLUSTER: &str = "kafka";
const USER_SECRET: &str = "user-certificates";
/// The controller listener's `serverSSLCertSecret` (Koperator's JKS layout).
const JKS_SECRET: &str = "controller-jks";
const JKS_PASSWORD: &str = "e2e-jks-password";
const CLIENT: &str = "e2e-client";
const MESSAGES: u32 = 200;
/// Three nodes restarted one at a time, each behind the roll's gates, on two busy cores.
const ROLL_TIMEOUT: Duration = Duration::from_secs(600);
/// A Degraded condition comes within a pass or two.
const DEGRADED_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn kraft_cluster_with_the_users_certificates_serves_tls_clients() -> Result<()> {
    namespace::run_isolated("tls-user", async |ns| {
        crds::install(&ns.client).await?;
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let dir = pki::work_dir(&ns.name)?;
        let ca = pki::self_signed_ca(&dir, "e2e-user-ca").await?;
        let data = user_secret_data(ns, &ca).await?;
        let (controller_certificate, controller_jks) = controller_jks_data(ns, &ca).await?;

        let started = Instant::now();
        kafka_cluster::apply(ns, &user_certificates_cluster()?).await?;
        let missing = format!("Secret {USER_SECRET} (spec.listenersConfig.sslSecrets.tlsSecretName) does not exist");
        wait_degraded(ns, &missing).await?;
        ensure!(rolling::pod_uids(ns, CLUSTER).await?.is_empty(), "a broker pod was made without its certificates");
        eprintln!("e2e: Degraded while {USER_SECRET} is missing, after {:.0?}", started.elapsed());

        let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
        secrets.create(&PostParams::default(), &secret(USER_SECRET, &data)).await?;
        secrets.create(&PostParams::default(), &secret(JKS_SECRET, &controller_jks)).await?;
        kafka_cluster::wait_running(ns, CLUSTER).await?;
        eprintln!("e2e: {CLUSTER} is ClusterRunning {:.0?} after apply", started.elapsed());

        let client = ClientFiles::issue(&dir, &ca, CLIENT).await?;
        let tls = client.kcat_settings();
        let bootstrap = bootstrap(ns, CLUSTER);
        let metadata = kcat::metadata_with(&bootstrap, None, &tls).await?;
        ensure!(metadata.broker_ids() == vec![0, 1], "clients must see brokers 0 and 1, saw {:?}", metadata.brokers);
        let properties = dir.join("client.properties");
        client.write_kafka_properties(&properties)?;
        kafka_topic::create_with_kafka_tool_configured(&bootstrap, Some(&properties), "user-tls", 2, 2, &[]).await?;
        kcat::produce_numbered_with(&bootstrap, "user-tls", 0..MESSAGES, &tls).await?;
        kcat::expect_exactly_with(&bootstrap, "user-tls", 0..MESSAGES, &tls).await?;
        let presented = every_node_presents_the_users_chain(ns, &client, &ca).await?;
        expect_presented(&presented, &data["peerCert"], &controller_certificate)?;
        eprintln!("e2e: kcat and kafka-topics over TLS with the user's CA, host names verified");

        a_key_of_another_certificate_is_refused_without_touching_brokers(ns, &data).await?;
        a_renewed_certificate_reaches_every_node_through_the_gated_roll(ns, &ca, &client, &bootstrap)
            .await
            .and_then(|renewed| expect_presented(&renewed.presented, &renewed.certificate, &controller_certificate))?;
        pki::remove_work_dir(&ns.name);
        Ok(())
    })
    .await
}

/// The dedicated-controllers sample cut to two brokers and one controller, every internal
/// listener `ssl`, certificates from the user's Secret.
fn user_certificates_cluster() -> Result<serde_json::Value> {
    let mut cluster = kafka_cluster::two_brokers_one_controller(1)?;
    let spec = &mut cluster["spec"];
    let listeners = spec["listenersConfig"]["internalListeners"].as_array_mut().context("internalListeners")?;
    for listener in listeners {
        listener["type"] = json!("ssl");
        if listener["usedForControllerCommunication"] == json!(true) {
            listener["serverSSLCertSecret"] = json!({"name": JKS_SECRET});
        }
    }
    spec["listenersConfig"]["sslSecrets"] = json!({"tlsSecretName": USER_SECRET, "create": false});
    Ok(cluster)
}

/// Koperator's keys: the CA, the brokers' certificate naming every node and Service address,
/// and the operator's client certificate, each PEM.
async fn user_secret_data(ns: &TestNamespace, ca: &PemSecret) -> Result<BTreeMap<String, String>> {
    let dir = pki::work_dir(&ns.name)?;
    let peer_name = format!("{CLUSTER}-headless.{}.svc.cluster.local", ns.name);
    let (peer, peer_key) = pki::issue_leaf(&dir, ca, &peer_name, &peer_dns_names(ns)).await?;
    let (operator, operator_key) = pki::issue_leaf(&dir, ca, "koperator-rs", &[]).await?;
    Ok(BTreeMap::from([
        ("caCert".to_owned(), ca.certificate.clone()),
        ("caKey".to_owned(), ca.key.clone()),
        ("peerCert".to_owned(), peer),
        ("peerKey".to_owned(), peer_key),
        ("clientCert".to_owned(), operator),
        ("clientKey".to_owned(), operator_key),
    ]))
}

/// Every name a client reaches a node or the bootstrap Service at.
fn peer_dns_names(ns: &TestNamespace) -> Vec<String> {
    let namespace = &ns.name;
    vec![
        format!("*.{CLUSTER}-headless.{namespace}.svc.cluster.local"),
        format!("{CLUSTER}-headless.{namespace}.svc.cluster.local"),
        format!("*.{CLUSTER}-controller-headless.{namespace}.svc.cluster.local"),
        format!("{CLUSTER}-all-broker.{namespace}.svc.cluster.local"),
    ]
}

/// The controller listener's own certificate (signed by the same CA) in Koperator's JKS
/// layout: (the certificate as PEM, the Secret's data).
async fn controller_jks_data(ns: &TestNamespace, ca: &PemSecret) -> Result<(String, BTreeMap<String, Vec<u8>>)> {
    let dir = pki::work_dir(&ns.name)?;
    // A common name holds 64 characters at most; the DNS names are what clients check.
    let (certificate, key) = pki::issue_leaf(&dir, ca, "kafka-controller-jks", &peer_dns_names(ns)).await?;
    let (key_store, trust_store) = pki::jks_stores(&dir, "controller", ca, &certificate, &key, JKS_PASSWORD).await?;
    let data = BTreeMap::from([
        ("keystore.jks".to_owned(), key_store),
        ("truststore.jks".to_owned(), trust_store),
        ("password".to_owned(), JKS_PASSWORD.as_bytes().to_vec()),
    ]);
    Ok((certificate, data))
}

/// Brokers (the inter-broker listener, :29092) present `peerCert`; the controller (its own
/// listener, :29093) the certificate of its JKS Secret.
fn expect_presented(presented: &[(String, String)], peer: &str, controller: &str) -> Result<()> {
    for (address, leaf) in presented {
        let (wanted, what) =
            if address.ends_with(":29093") { (controller, "its JKS certificate") } else { (peer, "peerCert") };
        ensure!(same_pem(leaf, wanted), "{address} does not present {what}");
    }
    Ok(())
}

fn secret<V: AsRef<[u8]>>(name: &str, data: &BTreeMap<String, V>) -> Secret {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.to_owned());
    secret.metadata.labels = Some(BTreeMap::from([("kafka_cr".to_owned(), CLUSTER.to_owned())]));
    secret.data = Some(data.iter().map(|(key, value)| (key.clone(), ByteString(value.as_ref().to_vec()))).collect());
    secret
}

async fn wait_degraded(ns: &TestNamespace, needle: &str) -> Result<()> {
    let what = format!("is Degraded mentioning {needle:?}");
    wait::until(&kafka_cluster::api(ns), CLUSTER, &what, DEGRADED_TIMEOUT, |cluster| {
        condition(cluster, "Degraded").is_some_and(|d| d.status == "True" && d.message.contains(needle))
    })
    .await
    .map(drop)
}

/// `openssl s_client` with the client certificate verifies every node's address, host name
/// included, up to the user's CA; each address with the certificate it presented.
async fn every_node_presents_the_users_chain(
    ns: &TestNamespace,
    client: &ClientFiles,
    ca: &PemSecret,
) -> Result<Vec<(String, String)>> {
    let dir = pki::work_dir(&ns.name)?;
    let ca_subject = pki::subject(&dir, "user-ca", &ca.certificate).await?;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={CLUSTER},brokerId");
    let mut nodes = Vec::new();
    for pod in pods.list(&ListParams::default().labels(&selector)).await? {
        let spec = pod.spec.context("a pod has a spec")?;
        let (Some(hostname), Some(subdomain)) = (spec.hostname, spec.subdomain) else {
            anyhow::bail!("a Kafka pod without hostname and subdomain: no DNS name to verify");
        };
        let controller = pod.metadata.labels.unwrap_or_default().get("isControllerNode").is_some_and(|v| v == "true");
        let port = if controller { 29093 } else { 29092 };
        nodes.push((format!("{hostname}.{subdomain}.{}.svc.cluster.local", ns.name), port));
    }
    ensure!(nodes.len() == 3, "expected two brokers and a controller, found {nodes:?}");
    let mut presented = Vec::new();
    for (host, port) in nodes {
        let address = format!("{host}:{port}");
        let output = pki::s_client(&address, &host, client).await?;
        let printed = format!("{}{}", output.stdout, output.stderr);
        ensure!(
            output.success && printed.contains("Verify return code: 0 (ok)") && printed.contains(&ca_subject),
            "openssl s_client to {address} did not verify up to {ca_subject}:\n{printed}"
        );
        let leaf = first_certificate(&output.stdout).with_context(|| format!("{address} printed no certificate"))?;
        presented.push((address, leaf));
    }
    Ok(presented)
}

/// The first PEM certificate in `text` (what `openssl s_client -showcerts` printed first: the
/// server's own).
fn first_certificate(text: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = text.find(BEGIN)?;
    let end = start + text[start..].find(END)? + END.len();
    Some(text[start..end].to_owned())
}

/// Whether two PEM texts hold the same first certificate, whatever their line breaks.
fn same_pem(left: &str, right: &str) -> bool {
    let body = |text: &str| first_certificate(text).map(|pem| pem.split_whitespace().collect::<String>());
    body(left).is_some() && body(left) == body(right)
}

/// The renewed `peerCert`, and what every node presented after the roll.
struct Renewed {
    certificate: String,
    presented: Vec<(String, String)>,
}

/// The user renews the brokers' certificate (a new `peerCert` and `peerKey` in the same
/// Secret): the health-gated roll restarts every node, one at a time, while kcat produces
/// over TLS with acks=all, and nothing acknowledged is lost.
async fn a_renewed_certificate_reaches_every_node_through_the_gated_roll(
    ns: &TestNamespace,
    ca: &PemSecret,
    client: &ClientFiles,
    bootstrap: &str,
) -> Result<Renewed> {
    let dir = pki::work_dir(&ns.name)?;
    let peer_name = format!("{CLUSTER}-headless.{}.svc.cluster.local", ns.name);
    let (renewed, renewed_key) = pki::issue_leaf(&dir, ca, &peer_name, &peer_dns_names(ns)).await?;
    let tls = client.kcat_settings();
    let down = DownWatch::start(ns, CLUSTER, &[0, 1, 2]);
    let producer = ContinuousProducer::start_with(bootstrap, "user-tls", 50, tls.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = rolling::pod_uids(ns, CLUSTER).await?;
    let started = Instant::now();
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    let patch = json!({"data": {
        "peerCert": ByteString(renewed.as_bytes().to_vec()),
        "peerKey": ByteString(renewed_key.as_bytes().to_vec()),
    }});
    secrets.patch(USER_SECRET, &PatchParams::default(), &Patch::Merge(patch)).await?;
    rolling::wait_rolled(ns, CLUSTER, &before, 3, ROLL_TIMEOUT).await?;
    let took = started.elapsed();
    let produced = producer.stop().await?;
    let (worst, when) = down.worst();
    let acknowledged = rolling::expect_no_acknowledged_loss_with(bootstrap, "user-tls", &produced, &tls).await?;
    let presented = every_node_presents_the_users_chain(ns, client, ca).await?;
    eprintln!(
        "e2e: the renewed certificate reached 3 nodes in {took:.0?}; {acknowledged} acknowledged messages all \
         consumed; at most {worst} node(s) down at once"
    );
    ensure!(worst <= 1, "{when}");
    ensure!(acknowledged > 0, "nothing was acknowledged during the roll");
    Ok(Renewed { certificate: renewed, presented })
}

/// A `peerKey` of another certificate: Degraded naming the key, no broker restarted; the right
/// key back, running again on the same pods.
async fn a_key_of_another_certificate_is_refused_without_touching_brokers(
    ns: &TestNamespace,
    data: &BTreeMap<String, String>,
) -> Result<()> {
    let before = rolling::pod_uids(ns, CLUSTER).await?;
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    let patch = |key: &str| json!({"data": {"peerKey": k8s_openapi::ByteString(key.as_bytes().to_vec())}});
    let params = PatchParams::default();
    secrets.patch(USER_SECRET, &params, &Patch::Merge(patch(&data["clientKey"]))).await?;
    wait_degraded(ns, &format!("peerKey of Secret {USER_SECRET} is not the key of peerCert")).await?;
    // Two more passes' worth: nothing may restart while the Secret is bad.
    tokio::time::sleep(Duration::from_secs(20)).await;
    ensure!(rolling::pod_uids(ns, CLUSTER).await? == before, "a broker was restarted on a bad Secret");
    eprintln!("e2e: Degraded on a peerKey of another certificate; no broker restarted");

    secrets.patch(USER_SECRET, &params, &Patch::Merge(patch(&data["peerKey"]))).await?;
    wait::until(&kafka_cluster::api(ns), CLUSTER, "is no longer Degraded", DEGRADED_TIMEOUT, |cluster| {
        condition(cluster, "Degraded").is_none_or(|d| d.status != "True")
    })
    .await?;
    kafka_cluster::wait_running(ns, CLUSTER).await?;
    ensure!(rolling::pod_uids(ns, CLUSTER).await? == before, "the same certificate restarted a broker");
    Ok(())
}
