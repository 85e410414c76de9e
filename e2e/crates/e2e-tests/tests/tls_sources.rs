//! Each certificate source with each metadata mode `tls_cluster.rs` and
//! `tls_user_certificates.rs` do not run: a KRaft split-role cluster (one broker, one
//! controller, SSL on both listeners) on cert-manager's certificates, and Koperator's ZooKeeper
//! SSL sample (one broker) on the operator's own CA and on the user's certificates.
//! Each reaches ClusterRunning; `openssl s_client` verifies the broker's address up to the
//! cluster's CA; kcat with a client certificate issued here from that CA and host name
//! verification produces and consumes; a plaintext client is refused. Switching the KRaft
//! cluster's listeners back to plaintext in place is refused (its roll could not complete).
//! Small clusters, no Cruise Control: the certificates are the point, the rest is
//! `tls_cluster.rs`'s.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::pki::{self, ClientFiles, PemSecret};
use e2e_tests::{cert_manager, crds, kafka_topic, kcat, rolling, wait, zookeeper};

const DEDICATED_SAMPLE: &str = "deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml";
const SSL_SAMPLE: &str = "crates/crd-types/tests/fixtures/koperator/samples/simplekafkacluster_ssl.yaml";
/// Unique names: cert-manager's issuers are cluster-scoped and named after the cluster, so
/// they must not meet those of `tls_cluster.rs` or `cert_manager_pki.rs`.
const KRAFT_CLUSTER: &str = "kafka-cm-kraft";
/// cert-manager keeps the CA as Koperator names it, `<cluster>-ca-certificate`, in its namespace.
const KRAFT_CA: &str = "kafka-cm-kraft-ca-certificate";
const ZOOKEEPER_CLUSTER: &str = "kafka";
const ZOOKEEPER_CA: &str = "kafka-ca";
/// The user's certificates, in Koperator's keys (`caCert`, `peerCert`, …).
const USER_SECRET: &str = "user-certificates";
const NO_CRUISE_CONTROL: &str = "absent-cruise-control:8090";
/// Internal topics of a one-broker cluster.
const ONE_BROKER_CONFIG: &str = "auto.create.topics.enable=false\noffsets.topic.replication.factor=1\n\
     transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\nmin.insync.replicas=1\n";
const MESSAGES: u32 = 200;

#[tokio::test]
async fn kraft_split_roles_run_on_cert_manager_certificates() -> Result<()> {
    namespace::run_isolated("tls-cm-kraft", async |ns| {
        crds::install(&ns.client).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let cluster = kraft_on_cert_manager()?;
        let started = Instant::now();
        kafka_cluster::apply(ns, &cluster).await?;
        let objects = cert_manager::objects_of(ns, KRAFT_CLUSTER).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, KRAFT_CLUSTER).await?;
            eprintln!("e2e: {KRAFT_CLUSTER} (cert-manager) is ClusterRunning {:.0?} after apply", started.elapsed());
            let ca = pki::pem_secret(&ns.client, cert_manager::NAMESPACE, KRAFT_CA).await?;
            serves_tls_clients_only(ns, KRAFT_CLUSTER, &ca).await?;
            plaintext_in_place_is_refused(ns, &cluster).await
        }
        .await;
        let outcome = report_logs_on_failure(outcome, || controller.log_tail(40));
        let cleanup = cert_manager::delete_outside_namespace(&ns.client, &ns.name, &objects).await;
        outcome.and(cleanup)
    })
    .await
}

#[tokio::test]
async fn zookeeper_mode_runs_on_the_operators_ca() -> Result<()> {
    namespace::run_isolated("tls-ca-zookeeper", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let mut cluster = one_broker(kafka_cluster::sample(SSL_SAMPLE)?);
        cluster["spec"]["zkAddresses"] = json!([zookeeper]);
        cluster["spec"]["listenersConfig"]["sslSecrets"] =
            json!({"tlsSecretName": ZOOKEEPER_CA, "create": true, "pkiBackend": "operator-ca"});
        let started = Instant::now();
        kafka_cluster::apply(ns, &cluster).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, ZOOKEEPER_CLUSTER).await?;
            eprintln!(
                "e2e: {ZOOKEEPER_CLUSTER} (operator's CA) is ClusterRunning {:.0?} after apply",
                started.elapsed()
            );
            let ca = pki::pem_secret(&ns.client, &ns.name, ZOOKEEPER_CA).await?;
            serves_tls_clients_only(ns, ZOOKEEPER_CLUSTER, &ca).await
        }
        .await;
        report_logs_on_failure(outcome, || controller.log_tail(40))
    })
    .await
}

#[tokio::test]
async fn zookeeper_mode_runs_on_the_users_certificates() -> Result<()> {
    namespace::run_isolated("tls-user-zookeeper", async |ns| {
        let zookeeper = zookeeper::deploy(ns).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let ca = users_certificates(ns).await?;
        let mut cluster = one_broker(kafka_cluster::sample(SSL_SAMPLE)?);
        cluster["spec"]["zkAddresses"] = json!([zookeeper]);
        cluster["spec"]["listenersConfig"]["sslSecrets"] = json!({"tlsSecretName": USER_SECRET, "create": false});
        let started = Instant::now();
        kafka_cluster::apply(ns, &cluster).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, ZOOKEEPER_CLUSTER).await?;
            eprintln!(
                "e2e: {ZOOKEEPER_CLUSTER} (the user's certificates) is ClusterRunning {:.0?} after apply",
                started.elapsed()
            );
            serves_tls_clients_only(ns, ZOOKEEPER_CLUSTER, &ca).await
        }
        .await;
        report_logs_on_failure(outcome, || controller.log_tail(40))
    })
    .await
}

/// A CA, the brokers' certificate naming every address of `kafka`, and the operator's client
/// certificate, made with openssl and stored in Koperator's layout; returns the CA.
async fn users_certificates(ns: &TestNamespace) -> Result<PemSecret> {
    let dir = pki::work_dir(&ns.name)?;
    let ca = pki::self_signed_ca(&dir, "e2e-users-ca").await?;
    let names: Vec<String> = ["*.kafka-headless", "kafka-headless", "kafka-all-broker"]
        .iter()
        .map(|name| format!("{name}.{}.svc.cluster.local", ns.name))
        .collect();
    let (peer, peer_key) = pki::issue_leaf(&dir, &ca, "kafka-peer", &names).await?;
    let (operator, operator_key) = pki::issue_leaf(&dir, &ca, "koperator-rs", &[]).await?;
    let data = [
        ("caCert", &ca.certificate),
        ("peerCert", &peer),
        ("peerKey", &peer_key),
        ("clientCert", &operator),
        ("clientKey", &operator_key),
    ];
    let mut secret = Secret::default();
    secret.metadata.name = Some(USER_SECRET.to_owned());
    secret.metadata.labels = Some([("kafka_cr".to_owned(), ZOOKEEPER_CLUSTER.to_owned())].into());
    secret.string_data = Some(data.iter().map(|(key, value)| ((*key).to_owned(), (*value).clone())).collect());
    Api::<Secret>::namespaced(ns.client.clone(), &ns.name).create(&PostParams::default(), &secret).await?;
    Ok(ca)
}

/// The running cluster's listeners switched back to plaintext in place: refused (Degraded,
/// naming the listeners and the staged way), no pod replaced; the spec as before clears it.
async fn plaintext_in_place_is_refused(ns: &TestNamespace, cluster: &Value) -> Result<()> {
    let before = rolling::pod_uids(ns, KRAFT_CLUSTER).await?;
    let mut plaintext = cluster.clone();
    for listener in plaintext["spec"]["listenersConfig"]["internalListeners"].as_array_mut().context("listeners")? {
        listener["type"] = json!("plaintext");
    }
    kafka_cluster::apply(ns, &plaintext).await?;
    let clusters = kafka_cluster::api(ns);
    let refused = "listener internal (SSL -> PLAINTEXT), controller (SSL -> PLAINTEXT) would change its protocol";
    wait::until(&clusters, KRAFT_CLUSTER, "is Degraded for the in-place switch", Duration::from_secs(60), |c| {
        kafka_cluster::condition(c, "Degraded")
            .is_some_and(|d| d.status == "True" && d.message.contains(refused) && d.message.contains("beside it"))
    })
    .await?;
    ensure!(rolling::pod_uids(ns, KRAFT_CLUSTER).await? == before, "a pod was replaced for a refused spec");
    kafka_cluster::apply(ns, cluster).await?;
    wait::until(&clusters, KRAFT_CLUSTER, "is no longer Degraded", Duration::from_secs(60), |c| {
        kafka_cluster::condition(c, "Degraded").is_none_or(|d| d.status != "True")
    })
    .await?;
    eprintln!("e2e: switching the inter-broker and controller listeners in place was refused, then cleared");
    Ok(())
}

/// The dedicated-controllers sample cut to one broker and one controller, both listeners `ssl`,
/// certificates from cert-manager.
fn kraft_on_cert_manager() -> Result<Value> {
    let mut cluster = one_broker(kafka_cluster::sample(DEDICATED_SAMPLE)?);
    cluster["metadata"]["name"] = json!(KRAFT_CLUSTER);
    let spec = &mut cluster["spec"];
    spec["brokers"] = json!([{"id": 0, "brokerConfigGroup": "broker"}, {"id": 1, "brokerConfigGroup": "controller"}]);
    let listeners = spec["listenersConfig"]["internalListeners"].as_array_mut().context("internalListeners")?;
    ensure!(listeners.len() == 2, "the sample has an inter-broker and a controller listener: {listeners:?}");
    for listener in listeners {
        listener["type"] = json!("ssl");
    }
    spec["listenersConfig"]["sslSecrets"] = json!({"tlsSecretName": KRAFT_CA, "create": true});
    Ok(cluster)
}

/// One broker (id 0), the internal topics fitted to it, Cruise Control elsewhere.
fn one_broker(mut cluster: Value) -> Value {
    let spec = &mut cluster["spec"];
    let first = spec["brokers"][0].clone();
    spec["brokers"] = json!([first]);
    spec["readOnlyConfig"] = json!(ONE_BROKER_CONFIG);
    spec["cruiseControlConfig"]["cruiseControlEndpoint"] = json!(NO_CRUISE_CONTROL);
    cluster
}

/// Broker 0's DNS name, from its pod's hostname and subdomain.
async fn broker_host(ns: &TestNamespace, cluster: &str) -> Result<String> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={cluster},brokerId=0");
    let pod = pods.list(&ListParams::default().labels(&selector)).await?.items.into_iter().next();
    let spec = pod.and_then(|pod| pod.spec).context("no pod of broker 0")?;
    let (Some(hostname), Some(subdomain)) = (spec.hostname, spec.subdomain) else {
        bail!("broker 0's pod has no hostname and subdomain: no DNS name to verify");
    };
    Ok(format!("{hostname}.{subdomain}.{}.svc.cluster.local", ns.name))
}

/// `openssl s_client` verifies broker 0's address up to `ca`; kcat with a client certificate
/// of `ca` round-trips; a plaintext kcat gets no metadata.
async fn serves_tls_clients_only(ns: &TestNamespace, cluster: &str, ca: &PemSecret) -> Result<()> {
    let dir = pki::work_dir(&ns.name)?;
    let client = ClientFiles::issue(&dir, ca, "e2e-client").await?;
    let host = broker_host(ns, cluster).await?;
    let output = pki::s_client(&format!("{host}:29092"), &host, &client).await?;
    ensure!(
        output.stdout.contains("Verify return code: 0 (ok)"),
        "openssl s_client did not verify {host}:\n{}\n{}",
        output.stdout,
        output.stderr
    );

    let bootstrap = bootstrap(ns, cluster);
    let tls = client.kcat_settings();
    let properties = dir.join("client.properties");
    client.write_kafka_properties(&properties)?;
    kafka_topic::create_with_kafka_tool_configured(&bootstrap, Some(&properties), "tls", 1, 1, &[]).await?;
    kcat::produce_numbered_with(&bootstrap, "tls", 0..MESSAGES, &tls).await?;
    kcat::expect_exactly_with(&bootstrap, "tls", 0..MESSAGES, &tls).await?;
    let plaintext = tokio::time::timeout(Duration::from_secs(60), kcat::metadata_with(&bootstrap, None, &[])).await;
    ensure!(!matches!(plaintext, Ok(Ok(_))), "a plaintext kcat read the metadata of the TLS listener");
    pki::remove_work_dir(&ns.name);
    Ok(())
}
