//! A KRaft cluster with TLS on the inter-broker and the controller listener, its certificates
//! from the operator's own CA (`sslSecrets: {create: true, pkiBackend: operator-ca}`), checked
//! with clients no one here wrote: two broker-only nodes and one controller-only node reach
//! ClusterRunning; the CA, server and operator Secrets hold PEM certificates and PKCS#8 keys
//! that openssl verifies, the server certificate naming the headless and all-broker Services;
//! `openssl s_client` with a client certificate verifies every node's address (host name
//! included) up to the CA; kcat and Kafka's own console tools, with a client certificate issued
//! here with openssl from the CA Secret and host name verification, create a topic, produce and
//! consume; the topic controller creates and deletes a KafkaTopic's topic over TLS; a plaintext
//! client and a TLS client without certificate are refused; a new CA reaches every node in
//! three gated rolls (trust both, sign, retire the old) under acks=all production over TLS,
//! nothing acknowledged lost, never two nodes down, the old CA's client refused. Beside it,
//! Koperator's own SSL sample (ZooKeeper mode, cert-manager) runs and serves kcat over TLS, and
//! a Certificate deleted by hand is applied again.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::host_command;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::message_accounting::{self, Accounting};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::pki::{self, ClientFiles, PemSecret};
use e2e_tests::rolling::{self, ContinuousProducer, DownWatch};
use e2e_tests::wait::{self, Check};
use e2e_tests::{cert_manager, crds, kafka_topic, kcat, namespace, zookeeper};

const CLUSTER: &str = "kafka";
const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";
const SSL_SAMPLE_CLUSTER: &str = "kafka-ssl";
/// The CA Secret in cert-manager's namespace (the sample's `tlsSecretName`, renamed).
const SSL_SAMPLE_CA: &str = "kafka-ssl-ca-certificate";
const CA_SECRET: &str = "kafka-ca";
const BROKER_PORT: u16 = 29092;
const CONTROLLER_PORT: u16 = 29093;
/// The client certificate's common name, hence the client's Kafka principal `User:CN=e2e-client`.
const CLIENT: &str = "e2e-client";
const MESSAGES: u32 = 500;
const SERVER_SECRET: &str = "kafka-server-certificate";
const TLS_TOPIC: &str = "tls-topic";
/// The cluster controller's gRPC address, for the topic controller (unique among the e2e tests).
const GRPC_ADDRESS: &str = "127.0.0.1:19596";
const RENEWAL_TOPIC: &str = "renewal";
/// Three nodes restarted one at a time, each behind the roll's gates, on two busy cores.
const RENEWAL_TIMEOUT: Duration = Duration::from_secs(600);
/// A JVM tool of Kafka's starting on two busy cores, plus the TLS handshakes.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn kraft_cluster_with_tls_from_the_operators_ca_serves_only_tls_clients() -> Result<()> {
    namespace::run_isolated("tls-kraft", async |ns| {
        crds::install(&ns.client).await?;
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", GRPC_ADDRESS]).await?;
        let endpoint = format!("http://{GRPC_ADDRESS}");
        let topic_controller = ControllerProcess::start(
            "topic-controller",
            &ns.name,
            &["--cluster-access-endpoint", &endpoint, "--resync-interval", "5s"],
        )
        .await?;
        let started = Instant::now();
        kafka_cluster::apply(ns, &tls_kraft_cluster()?).await?;
        kafka_cluster::wait_running(ns, CLUSTER).await?;
        eprintln!("e2e: {CLUSTER} is ClusterRunning {:.0?} after apply", started.elapsed());

        let dir = pki::work_dir(&ns.name)?;
        let ca = operator_secrets_hold_the_certificates(ns).await?;
        let client = ClientFiles::issue(&dir, &ca, CLIENT).await?;
        let tls = client.kcat_settings();
        let bootstrap = bootstrap(ns, CLUSTER);
        let metadata = kcat::metadata_with(&bootstrap, None, &tls).await?;
        ensure!(metadata.broker_ids() == vec![0, 1], "clients must see brokers 0 and 1, saw {:?}", metadata.brokers);

        let checked = Instant::now();
        every_address_verifies_up_to_the_ca(ns, &client, &ca, &bootstrap).await?;
        eprintln!("e2e: openssl s_client verified every address in {:.0?}", checked.elapsed());

        let properties = dir.join("client.properties");
        client.write_kafka_properties(&properties)?;
        let clients = Instant::now();
        round_trip(&bootstrap, &properties, &tls, "kcat-tls", 2).await?;
        // Kafka's own client reads what kcat wrote, and kcat what Kafka's own client wrote.
        let accounting = console_consume(&bootstrap, &properties, "kcat-tls", MESSAGES).await?;
        ensure!(accounting.is_exact(), "kafka-console-consumer on kcat-tls: {accounting}");
        kafka_topic::create_with_kafka_tool_configured(&bootstrap, Some(&properties), "console-tls", 2, 2, &[]).await?;
        console_produce(&bootstrap, &properties, "console-tls", MESSAGES).await?;
        kcat::expect_exactly_with(&bootstrap, "console-tls", 0..MESSAGES, &tls).await?;
        eprintln!("e2e: kcat and Kafka's console tools round trips over TLS in {:.0?}", clients.elapsed());

        let topic_outcome = a_kafka_topic_is_reconciled_over_tls(ns, &bootstrap, &tls).await;
        report_logs_on_failure(topic_outcome, || {
            format!("topic controller log tail:\n{}", topic_controller.log_tail(30))
        })?;
        other_clients_are_refused(&bootstrap, &client).await?;
        a_new_ca_reaches_every_node_without_loss(ns, &client, &bootstrap, &properties).await?;
        pki::remove_work_dir(&ns.name);
        // Cruise Control's metrics topic is a KafkaTopic with the topic controller's finalizer:
        // it must go while the topic controller runs, or the namespace could not be deleted.
        kafka_topic::remove_all(ns, CLUSTER).await
    })
    .await
}

/// Koperator's `simplekafkacluster_ssl.yaml` (ZooKeeper mode, three brokers, both internal
/// listeners `ssl` with `sslClientAuth: requested`, certificates from cert-manager) runs; kcat
/// with a client certificate from its CA round-trips, a plaintext client is refused and, as
/// `requested` allows, a TLS client without certificate is served. Renamed (cluster and CA
/// Secret) so that its cluster-scoped issuers and the CA in cert-manager's namespace cannot
/// meet `cert_manager_pki.rs`'s, which uses the sample's names.
#[tokio::test]
async fn koperators_ssl_sample_runs_on_cert_manager_certificates() -> Result<()> {
    namespace::run_isolated("tls-zookeeper", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let mut cluster = kafka_cluster::sample(SSL_SAMPLE)?;
        cluster["metadata"]["name"] = json!(SSL_SAMPLE_CLUSTER);
        cluster["spec"]["listenersConfig"]["sslSecrets"]["tlsSecretName"] = json!(SSL_SAMPLE_CA);
        cluster["spec"]["zkAddresses"] = json!([zookeeper]);
        let started = Instant::now();
        kafka_cluster::apply(ns, &cluster).await?;
        let objects = cert_manager::objects_of(ns, SSL_SAMPLE_CLUSTER).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, SSL_SAMPLE_CLUSTER).await?;
            eprintln!("e2e: {SSL_SAMPLE_CLUSTER} is ClusterRunning {:.0?} after apply", started.elapsed());
            let dir = pki::work_dir(&ns.name)?;
            let ca = pki::pem_secret(&ns.client, cert_manager::NAMESPACE, SSL_SAMPLE_CA).await?;
            let client = ClientFiles::issue(&dir, &ca, CLIENT).await?;
            let tls = client.kcat_settings();
            let bootstrap = bootstrap(ns, SSL_SAMPLE_CLUSTER);
            let metadata = kcat::metadata_with(&bootstrap, None, &tls).await?;
            ensure!(metadata.broker_ids() == vec![0, 1, 2], "clients must see brokers 0-2, saw {:?}", metadata.brokers);
            let properties = dir.join("client.properties");
            client.write_kafka_properties(&properties)?;
            round_trip(&bootstrap, &properties, &tls, "kcat-tls", 3).await?;

            let plaintext = kcat::metadata_with(&bootstrap, None, &[]).await;
            ensure!(plaintext.is_err(), "a plaintext kcat read the metadata of the TLS listener");
            let anonymous = pki::tls_without_certificate(&client.ca);
            kcat::metadata_with(&bootstrap, None, &anonymous)
                .await
                .context("sslClientAuth: requested must serve a TLS client without certificate")?;
            pki::remove_work_dir(&ns.name);
            a_deleted_certificate_is_applied_again(ns).await
        }
        .await;
        let cleanup = cert_manager::delete_outside_namespace(&ns.client, &ns.name, &objects).await;
        outcome.and(cleanup)
    })
    .await
}

/// The operator's Certificate deleted by hand, then its Secret: the operator applies the
/// Certificate again and cert-manager issues a new Secret (a Secret event wakes the cluster).
async fn a_deleted_certificate_is_applied_again(ns: &TestNamespace) -> Result<()> {
    let name = format!("{SSL_SAMPLE_CLUSTER}-controller");
    cert_manager::delete_certificate_and_its_secret(&ns.client, &ns.name, &name).await?;
    let started = Instant::now();
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::until(&secrets, &name, "cert-manager issued it again", Duration::from_secs(120), |secret| {
        secret.data.as_ref().is_some_and(|data| data.contains_key("tls.crt"))
    })
    .await?;
    eprintln!("e2e: deleted Certificate {name} applied again and issued in {:.0?}", started.elapsed());
    Ok(())
}

/// The topic controller, told by the cluster controller's ClusterAccess where the operator's
/// client certificate is, creates a KafkaTopic's topic over TLS (kcat over TLS sees its
/// partitions), and deletes it with the KafkaTopic.
async fn a_kafka_topic_is_reconciled_over_tls(ns: &TestNamespace, bootstrap: &str, tls: &[String]) -> Result<()> {
    let started = Instant::now();
    kafka_topic::apply(ns, &kafka_topic::manifest(TLS_TOPIC, TLS_TOPIC, 3, 2, &[("retention.ms", "3600000")])).await?;
    kafka_topic::wait_in_sync(ns, TLS_TOPIC, Duration::from_secs(120)).await?;
    let metadata = kcat::metadata_with(bootstrap, Some(TLS_TOPIC), tls).await?;
    let partitions = metadata.topic(TLS_TOPIC).map_or(0, |topic| topic.partitions.len());
    ensure!(partitions == 3, "{TLS_TOPIC} has {partitions} partitions in Kafka, not 3");
    let reconciled = started.elapsed();

    kafka_topic::api(ns).delete(TLS_TOPIC, &DeleteParams::default()).await?;
    wait::eventually("the KafkaTopic and its topic are gone", Duration::from_secs(120), || async {
        let object = kafka_topic::api(ns).get_opt(TLS_TOPIC).await?;
        let metadata = kcat::metadata_with(bootstrap, None, tls).await?;
        Ok(match (object, metadata.topic(TLS_TOPIC)) {
            (None, None) => Check::Done(()),
            (object, topic) => Check::Pending(format!("KafkaTopic {}, topic {}", object.is_some(), topic.is_some())),
        })
    })
    .await?;
    eprintln!("e2e: KafkaTopic {TLS_TOPIC} in sync over TLS in {reconciled:.0?}, then deleted");
    Ok(())
}

/// A new CA — its Secret deleted, the way to ask the operator's CA for a new one — reaches every
/// node in three health-gated rolls (trust both CAs, sign with the new one, trust only the new
/// one) while kcat produces over TLS with acks=all. The producing client reads its trust from the
/// CA Secret, as the cluster's clients do, once the Secret trusts both. Afterwards every node
/// presents a new certificate, no acknowledged message is lost, no two nodes were ever down at
/// once, and a client certificate of the old CA is refused.
async fn a_new_ca_reaches_every_node_without_loss(
    ns: &TestNamespace,
    client: &ClientFiles,
    bootstrap: &str,
    properties: &Path,
) -> Result<()> {
    let dir = pki::work_dir(&ns.name)?;
    let tls = client.kcat_settings();
    let old = pki::pem_secret(&ns.client, &ns.name, SERVER_SECRET).await?;
    let old_serial = serial(&dir, "old-server", &old.certificate).await?;
    // One in-sync replica suffices, so that production goes on while a broker restarts; the
    // roll waits until both are in sync again before it restarts the other.
    let config = [("min.insync.replicas", "1")];
    kafka_topic::create_with_kafka_tool_configured(bootstrap, Some(properties), RENEWAL_TOPIC, 2, 2, &config).await?;

    let down = DownWatch::start(ns, CLUSTER, &[0, 1, 2]);
    let producer = ContinuousProducer::start_with(bootstrap, RENEWAL_TOPIC, 50, tls.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started = Instant::now();
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    secrets.delete(CA_SECRET, &DeleteParams::default()).await?;
    let both = wait::eventually("the CA Secret trusts the new CA and the old", RENEWAL_TIMEOUT, || async {
        let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
        let count = ca.ca.matches("BEGIN CERTIFICATE").count();
        Ok(if count == 2 { Check::Done(ca.ca) } else { Check::Pending(format!("{count} certificate(s) in ca.crt")) })
    })
    .await?;
    std::fs::write(&client.ca, &both)?;
    eprintln!("e2e: the CA Secret trusts both CAs {:.0?} after its deletion", started.elapsed());
    // The last step is written once every node presents the new CA's certificate.
    wait::eventually("the brokers' certificate is the new CA's and trusts only it", RENEWAL_TIMEOUT, || async {
        let server = pki::pem_secret(&ns.client, &ns.name, SERVER_SECRET).await?;
        let count = server.ca.matches("BEGIN CERTIFICATE").count();
        let renewed = server.certificate != old.certificate;
        Ok(if renewed && count == 1 {
            Check::Done(())
        } else {
            Check::Pending(format!("renewed: {renewed}, {count} certificate(s) in ca.crt"))
        })
    })
    .await?;
    eprintln!("e2e: every node presents the new CA's certificate {:.0?} after the deletion", started.elapsed());
    let produced = producer.stop().await?;
    every_node_trusts_one_ca(ns).await?;
    let took = started.elapsed();
    let (worst, when) = down.worst();

    let new_ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
    let new_dir = dir.join("new-ca");
    std::fs::create_dir_all(&new_dir)?;
    let new_client = ClientFiles::issue(&new_dir, &new_ca, CLIENT).await?;
    let new_tls = new_client.kcat_settings();
    let acknowledged = rolling::expect_no_acknowledged_loss_with(bootstrap, RENEWAL_TOPIC, &produced, &new_tls).await?;
    let new = pki::pem_secret(&ns.client, &ns.name, SERVER_SECRET).await?;
    let new_serial = serial(&dir, "new-server", &new.certificate).await?;
    ensure!(new_serial != old_serial, "the server certificate was not issued again ({old_serial})");
    for (host, port) in node_addresses(ns).await? {
        let address = format!("{host}:{port}");
        let output = pki::s_client(&address, &host, &new_client).await?;
        let presented = first_certificate(&output.stdout)
            .with_context(|| format!("openssl s_client to {address} printed no certificate:\n{}", output.stderr))?;
        let presented = serial(&dir, "presented", &presented).await?;
        ensure!(presented == new_serial, "{address} presents {presented}, not the new {new_serial}");
    }
    let old_client = kcat::metadata_with(bootstrap, None, &tls).await;
    ensure!(old_client.is_err(), "a client certificate of the retired CA still reads the metadata");
    println!(
        "a new CA reached 3 nodes in three rolls in {took:.0?} (server certificate {old_serial} -> {new_serial}); \
         {acknowledged} acknowledged messages all consumed ({} batches failed, unacknowledged); at most {worst} \
         node(s) down at once; the old CA's client certificate is refused",
        produced.failed.len()
    );
    ensure!(worst <= 1, "{when}");
    ensure!(acknowledged > 0, "nothing was acknowledged during the rolls");
    Ok(())
}

/// Every node runs, ready, trusting one CA (the last roll of a rotation reached it).
async fn every_node_trusts_one_ca(ns: &TestNamespace) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={CLUSTER},brokerId");
    wait::eventually("every node restarted trusting only the new CA", RENEWAL_TIMEOUT, || async {
        let listed = pods.list(&ListParams::default().labels(&selector)).await?.items;
        let settled: Vec<bool> = listed
            .iter()
            .map(|pod| {
                let trusted = pod.annotations().get("koperator-rs.io/trusted-ca-serials");
                let ready = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                ready && pod.metadata.deletion_timestamp.is_none() && trusted.is_some_and(|t| !t.contains(','))
            })
            .collect();
        Ok(if settled.len() == 3 && settled.iter().all(|s| *s) {
            Check::Done(())
        } else {
            Check::Pending(format!("settled pods: {settled:?}"))
        })
    })
    .await
}

/// `serial=…` as openssl prints a certificate's serial number.
async fn serial(dir: &Path, name: &str, certificate: &str) -> Result<String> {
    Ok(pki::x509(dir, name, certificate, &["-noout", "-serial"]).await?.trim().to_owned())
}

/// The first PEM certificate in `text` (what `openssl s_client -showcerts` printed).
fn first_certificate(text: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = text.find(BEGIN)?;
    let end = start + text[start..].find(END)? + END.len();
    Some(format!("{}\n", &text[start..end]))
}

/// Creates `topic` (2 partitions) with Kafka's own tool and the TLS client properties, then
/// kcat over TLS produces messages `0..MESSAGES` with acks=all and reads exactly those back.
async fn round_trip(
    bootstrap: &str,
    properties: &Path,
    tls: &[String],
    topic: &str,
    replication_factor: i32,
) -> Result<()> {
    kafka_topic::create_with_kafka_tool_configured(bootstrap, Some(properties), topic, 2, replication_factor, &[])
        .await?;
    kcat::wait_known_to_every_broker(bootstrap, topic, 2, tls, Duration::from_secs(60)).await?;
    kcat::produce_numbered_with(bootstrap, topic, 0..MESSAGES, tls).await?;
    kcat::expect_exactly_with(bootstrap, topic, 0..MESSAGES, tls).await?;
    Ok(())
}

/// The dedicated-controllers sample cut to two brokers and one controller, every internal
/// listener `ssl`, certificates from the operator's CA.
fn tls_kraft_cluster() -> Result<serde_json::Value> {
    let mut cluster = kafka_cluster::two_brokers_one_controller(2)?;
    let spec = &mut cluster["spec"];
    spec["cruiseControlConfig"]["topicConfig"]["replicationFactor"] = json!(2);
    let listeners = spec["listenersConfig"]["internalListeners"].as_array_mut().context("internalListeners")?;
    ensure!(listeners.len() == 2, "the sample has an inter-broker and a controller listener: {listeners:?}");
    for listener in listeners {
        listener["type"] = json!("ssl");
    }
    spec["listenersConfig"]["sslSecrets"] =
        json!({"tlsSecretName": CA_SECRET, "create": true, "pkiBackend": "operator-ca"});
    Ok(cluster)
}

/// The CA Secret holds the CA's certificate and key; the server and operator Secrets hold
/// leaves the CA signed, with PKCS#8 keys; the server certificate is named after the headless
/// Service and covers every node and Service name. Returns the CA Secret.
async fn operator_secrets_hold_the_certificates(ns: &TestNamespace) -> Result<PemSecret> {
    let dir = pki::work_dir(&ns.name)?;
    let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
    ensure!(ca.ca == ca.certificate, "{CA_SECRET}: ca.crt and tls.crt must both be the CA's certificate");
    let ca_constraints = pki::x509(&dir, "ca", &ca.certificate, &["-noout", "-ext", "basicConstraints"]).await?;
    ensure!(ca_constraints.contains("CA:TRUE"), "{CA_SECRET}'s certificate is no CA: {ca_constraints}");
    for name in ["kafka-server-certificate", "kafka-controller"] {
        let leaf = pki::pem_secret(&ns.client, &ns.name, name).await?;
        ensure!(leaf.ca == ca.certificate, "{name}: ca.crt is not the certificate of {CA_SECRET}");
        ensure!(leaf.key.starts_with("-----BEGIN PRIVATE KEY-----"), "{name}: tls.key is not PKCS#8 PEM");
        pki::verify(&dir, name, &ca.certificate, &leaf.certificate).await?;
    }

    let server = pki::pem_secret(&ns.client, &ns.name, "kafka-server-certificate").await?;
    let namespace = &ns.name;
    let subject = pki::subject(&dir, "server", &server.certificate).await?;
    let headless = format!("{CLUSTER}-headless.{namespace}.svc.cluster.local");
    ensure!(
        subject == format!("CN = {headless}"),
        "the server certificate's subject is {subject}, not CN = {headless}"
    );
    let dns_names = pki::dns_names(&dir, "server", &server.certificate).await?;
    for name in [
        format!("*.{CLUSTER}-headless.{namespace}.svc.cluster.local"),
        format!("*.{CLUSTER}-controller-headless.{namespace}.svc.cluster.local"),
        format!("{CLUSTER}-all-broker.{namespace}.svc.cluster.local"),
        format!("{CLUSTER}-all-broker.{namespace}.svc"),
        format!("{CLUSTER}-all-broker.{namespace}"),
        format!("{CLUSTER}-all-broker"),
    ] {
        ensure!(dns_names.contains(&name), "the server certificate lacks {name}; it has {dns_names:?}");
    }
    Ok(ca)
}

/// `openssl s_client` with the client certificate verifies the chain up to the CA and the
/// host name at every node's own address (brokers on the inter-broker listener, the controller
/// on the controller listener) and at the bootstrap Service; a name the certificate does not
/// carry fails the same check.
async fn every_address_verifies_up_to_the_ca(
    ns: &TestNamespace,
    client: &ClientFiles,
    ca: &PemSecret,
    bootstrap: &str,
) -> Result<()> {
    let dir = pki::work_dir(&ns.name)?;
    let ca_subject = pki::subject(&dir, "ca", &ca.certificate).await?;
    let mut addresses = node_addresses(ns).await?;
    ensure!(addresses.len() == 3, "expected two brokers and a controller, found {addresses:?}");
    let bootstrap_host = bootstrap.rsplit_once(':').map_or(bootstrap, |(host, _)| host);
    addresses.push((bootstrap_host.to_owned(), BROKER_PORT));
    for (host, port) in &addresses {
        let address = format!("{host}:{port}");
        let output = pki::s_client(&address, host, client).await?;
        let printed = format!("{}{}", output.stdout, output.stderr);
        ensure!(
            output.success && printed.contains("Verify return code: 0 (ok)"),
            "openssl s_client to {address} failed ({:?}):\n{printed}",
            output.code
        );
        // The verification path: the server's certificate at depth 0, issued by the CA at depth 1.
        ensure!(
            printed.contains(&format!("depth=1 {ca_subject}")) && printed.contains(&format!("i:{ca_subject}")),
            "openssl s_client to {address} does not show {ca_subject} in the chain:\n{printed}"
        );
    }
    let (host, port) = &addresses[0];
    let foreign = host.replace(&ns.name, "elsewhere");
    let output = pki::s_client(&format!("{host}:{port}"), &foreign, client).await?;
    ensure!(
        !output.success && format!("{}{}", output.stdout, output.stderr).contains("hostname mismatch"),
        "openssl s_client accepted {host}:{port} as {foreign}:\n{}{}",
        output.stdout,
        output.stderr
    );
    Ok(())
}

/// Each Kafka node's DNS name (`<hostname>.<subdomain>.<namespace>.svc.cluster.local`, from its
/// pod) and the TLS port it serves: brokers the inter-broker listener, controllers the
/// controller listener.
async fn node_addresses(ns: &TestNamespace) -> Result<Vec<(String, u16)>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={CLUSTER},brokerId");
    let mut addresses = Vec::new();
    for pod in pods.list(&ListParams::default().labels(&selector)).await? {
        let spec = pod.spec.context("a pod has a spec")?;
        let (Some(hostname), Some(subdomain)) = (spec.hostname, spec.subdomain) else {
            anyhow::bail!("a Kafka pod without hostname and subdomain: no DNS name to verify");
        };
        let labels = pod.metadata.labels.unwrap_or_default();
        let controller = labels.get("isControllerNode").is_some_and(|value| value == "true");
        let port = if controller { CONTROLLER_PORT } else { BROKER_PORT };
        addresses.push((format!("{hostname}.{subdomain}.{}.svc.cluster.local", ns.name), port));
    }
    addresses.sort();
    Ok(addresses)
}

/// `kafka-console-producer` with the TLS client properties, acks=all; the messages `0..count`.
async fn console_produce(bootstrap: &str, properties: &Path, topic: &str, count: u32) -> Result<()> {
    let properties = properties.to_string_lossy();
    let mut args = console_tool("kafka-console-producer", bootstrap, topic, &properties);
    args.extend(["--command-property", "acks=all"]);
    let input = message_accounting::lines(0..count);
    host_command::run_ok(&args, Some(input.as_bytes()), TOOL_TIMEOUT).await.map(drop)
}

/// `kafka-console-consumer` with the TLS client properties, from the beginning, until `count`
/// messages came (or a minute passed without one): what it read against `0..count`.
async fn console_consume(bootstrap: &str, properties: &Path, topic: &str, count: u32) -> Result<Accounting> {
    let (properties, count_text) = (properties.to_string_lossy(), count.to_string());
    let mut args = console_tool("kafka-console-consumer", bootstrap, topic, &properties);
    args.extend(["--from-beginning", "--max-messages", &count_text, "--timeout-ms", "60000"]);
    let stdout = host_command::run_ok(&args, None, TOOL_TIMEOUT).await?;
    let received: Vec<String> = stdout.lines().map(str::to_owned).collect();
    Ok(Accounting::of(0..count, &received))
}

/// A console tool's command line up to its own options. `--command-config` (Kafka 4.2+; the
/// test bed's tools are the newest cached Kafka's): with the deprecated `--consumer.config` the
/// consumer prints its warning on stdout, among the messages.
fn console_tool<'a>(tool: &'a str, bootstrap: &'a str, topic: &'a str, properties: &'a str) -> Vec<&'a str> {
    vec![tool, "--bootstrap-server", bootstrap, "--topic", topic, "--command-config", properties]
}

/// A plaintext client and a TLS client that presents no certificate get no metadata from the
/// TLS listener.
async fn other_clients_are_refused(bootstrap: &str, client: &ClientFiles) -> Result<()> {
    let plaintext = kcat::metadata_with(bootstrap, None, &[]).await;
    let error = format!("{:#}", plaintext.err().context("a plaintext kcat read the metadata of the TLS listener")?);
    ensure!(error.contains("Failed to acquire metadata"), "the plaintext kcat failed otherwise: {error}");

    let anonymous = kcat::metadata_with(bootstrap, None, &pki::tls_without_certificate(&client.ca)).await;
    let error = format!("{:#}", anonymous.err().context("a kcat without client certificate read the metadata")?);
    ensure!(
        error.contains("Failed to acquire metadata") && error.contains("SSL"),
        "the kcat without client certificate failed otherwise: {error}"
    );
    eprintln!("e2e: refused as they must be; without a client certificate kcat said: {error}");
    Ok(())
}
