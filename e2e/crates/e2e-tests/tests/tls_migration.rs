//! A running plaintext KRaft cluster (two broker-only nodes, one controller-only node) becomes
//! a TLS cluster the staged way, each step one health-gated roll, while kcat produces with
//! acks=all: (1) a TLS listener beside the plaintext one, certificates from the operator's CA;
//! (2) the inter-broker role moved to it; (3) the plaintext listener removed. Nothing
//! acknowledged is lost and no two nodes are ever down at once; afterwards a plaintext client
//! is refused. Doing steps 2 and 3 at once is refused with a Degraded condition naming the
//! listener and the order, and no pod is replaced for it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::pki::{self, ClientFiles};
use e2e_tests::rolling::{self, ContinuousProducer, DownWatch};
use e2e_tests::{crds, kafka_topic, kcat, wait};

const CLUSTER: &str = "kafka";
const CA_SECRET: &str = "kafka-ca";
const TLS_LISTENER: &str = "tls";
const TLS_PORT: u16 = 29094;
const TOPIC: &str = "migration";
const NODES: usize = 3;
/// Three nodes restarted one at a time behind the roll's gates, on two busy cores.
const ROLL_TIMEOUT: Duration = Duration::from_secs(600);
const NO_CRUISE_CONTROL: &str = "absent-cruise-control:8090";

#[tokio::test]
async fn a_plaintext_cluster_moves_to_tls_in_three_gated_rolls_without_loss() -> Result<()> {
    namespace::run_isolated("tls-migration", async |ns| {
        crds::install(&ns.client).await?;
        let controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let outcome = migrate(ns).await;
        report_logs_on_failure(outcome, || controller.log_tail(40))
    })
    .await
}

async fn migrate(ns: &TestNamespace) -> Result<()> {
    let plaintext = plaintext_cluster()?;
    kafka_cluster::apply(ns, &plaintext).await?;
    kafka_cluster::wait_running(ns, CLUSTER).await?;
    let plaintext_bootstrap = bootstrap(ns, CLUSTER);
    // One in-sync replica suffices, so that production goes on while a broker restarts; the
    // roll waits until both are in sync again before it restarts the other.
    let config = [("min.insync.replicas", "1")];
    kafka_topic::create_with_kafka_tool_configured(&plaintext_bootstrap, None, TOPIC, 2, 2, &config).await?;

    let down = DownWatch::start(ns, CLUSTER, &[0, 1, 2]);
    let started = Instant::now();
    let producer = ContinuousProducer::start(&plaintext_bootstrap, TOPIC, 50);
    let beside = tls_beside(&plaintext)?;
    roll_to(ns, &beside, "a TLS listener beside the plaintext one").await?;
    let moved = inter_broker_on(&beside, TLS_LISTENER)?;
    let removed = without_listener(&moved, "internal")?;
    moving_and_removing_at_once_is_refused(ns, &removed).await?;
    roll_to(ns, &moved, "the inter-broker role on the TLS listener").await?;
    let clusters = kafka_cluster::api(ns);
    let degraded = kafka_cluster::condition(&clusters.get(CLUSTER).await?, "Degraded").map(|d| d.status.clone());
    ensure!(degraded.as_deref() != Some("True"), "still Degraded after the staged step was applied");
    let over_plaintext = producer.stop().await?;
    let acknowledged_plaintext = rolling::expect_no_acknowledged_loss(&plaintext_bootstrap, TOPIC, &over_plaintext)
        .await
        .context("over the plaintext listener, after two rolls")?;

    let dir = pki::work_dir(&ns.name)?;
    let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
    let client = ClientFiles::issue(&dir, &ca, "e2e-client").await?;
    let tls = client.kcat_settings();
    let tls_bootstrap = format!("{CLUSTER}-all-broker.{}.svc.cluster.local:{TLS_PORT}", ns.name);
    let producer = ContinuousProducer::start_with(&tls_bootstrap, TOPIC, 50, tls.clone());
    roll_to(ns, &removed, "the plaintext listener removed").await?;
    let over_tls = producer.stop().await?;
    let took = started.elapsed();
    let (worst, when) = down.worst();
    // Everything acknowledged over either listener is in the topic, read over TLS.
    let mut produced = over_tls;
    produced.acknowledged.extend(over_plaintext.acknowledged);
    let acknowledged = rolling::expect_no_acknowledged_loss_with(&tls_bootstrap, TOPIC, &produced, &tls).await?;
    let refused = tokio::time::timeout(Duration::from_secs(60), kcat::metadata_with(&plaintext_bootstrap, None, &[]));
    ensure!(!matches!(refused.await, Ok(Ok(_))), "a plaintext client still reads metadata after the migration");
    println!(
        "plaintext -> TLS in three rolls in {took:.0?}: {acknowledged} acknowledged messages all consumed \
         ({acknowledged_plaintext} over plaintext during the first two rolls, {} batches failed, unacknowledged); \
         at most {worst} node(s) down at once; plaintext refused afterwards",
        produced.failed.len()
    );
    ensure!(worst <= 1, "{when}");
    ensure!(acknowledged_plaintext > 0 && acknowledged > acknowledged_plaintext, "nothing acknowledged in a step");
    pki::remove_work_dir(&ns.name);
    Ok(())
}

/// Applies `cluster` and waits until every node restarted with it and the cluster runs.
async fn roll_to(ns: &TestNamespace, cluster: &Value, step: &str) -> Result<()> {
    let before: BTreeSet<String> = rolling::pod_uids(ns, CLUSTER).await?;
    let started = Instant::now();
    kafka_cluster::apply(ns, cluster).await?;
    rolling::wait_rolled(ns, CLUSTER, &before, NODES, ROLL_TIMEOUT).await.with_context(|| format!("step: {step}"))?;
    eprintln!("e2e: {step}: every node rolled in {:.0?}", started.elapsed());
    Ok(())
}

/// Moving the inter-broker role and removing its old listener in one change (the nodes run
/// with the plaintext listener carrying it): Degraded, naming the listener and the order, and
/// no pod replaced. The next step applied clears it.
async fn moving_and_removing_at_once_is_refused(ns: &TestNamespace, at_once: &Value) -> Result<()> {
    let before = rolling::pod_uids(ns, CLUSTER).await?;
    kafka_cluster::apply(ns, at_once).await?;
    let clusters = kafka_cluster::api(ns);
    let refused = "listener internal would be removed while the brokers still talk to each other on it";
    wait::until(&clusters, CLUSTER, "is Degraded for the removal", Duration::from_secs(60), |c| {
        kafka_cluster::condition(c, "Degraded")
            .is_some_and(|d| d.status == "True" && d.message.contains(refused) && d.message.contains("Move its role"))
    })
    .await?;
    // A few passes later still nothing was replaced.
    tokio::time::sleep(Duration::from_secs(10)).await;
    ensure!(rolling::pod_uids(ns, CLUSTER).await? == before, "a pod was replaced for a refused spec");
    eprintln!("e2e: moving the inter-broker role and removing its listener at once was refused");
    Ok(())
}

/// The dedicated-controllers sample cut to two brokers and one controller, plaintext, Cruise
/// Control elsewhere.
fn plaintext_cluster() -> Result<Value> {
    let mut cluster = kafka_cluster::two_brokers_one_controller(2)?;
    let spec = &mut cluster["spec"];
    spec["cruiseControlConfig"]["cruiseControlEndpoint"] = json!(NO_CRUISE_CONTROL);
    Ok(cluster)
}

/// `cluster` with an SSL listener beside the others and the operator's CA.
fn tls_beside(cluster: &Value) -> Result<Value> {
    let mut cluster = cluster.clone();
    let config = &mut cluster["spec"]["listenersConfig"];
    config["internalListeners"].as_array_mut().context("internalListeners")?.push(json!({
        "type": "ssl", "name": TLS_LISTENER, "containerPort": TLS_PORT,
    }));
    config["sslSecrets"] = json!({"tlsSecretName": CA_SECRET, "create": true, "pkiBackend": "operator-ca"});
    Ok(cluster)
}

/// `cluster` with `usedForInnerBrokerCommunication` on `listener` only.
fn inter_broker_on(cluster: &Value, listener: &str) -> Result<Value> {
    let mut cluster = cluster.clone();
    let listeners = cluster["spec"]["listenersConfig"]["internalListeners"].as_array_mut().context("listeners")?;
    for each in listeners {
        let carries = each["name"] == listener;
        each["usedForInnerBrokerCommunication"] = json!(carries);
    }
    Ok(cluster)
}

fn without_listener(cluster: &Value, listener: &str) -> Result<Value> {
    let mut cluster = cluster.clone();
    let listeners = cluster["spec"]["listenersConfig"]["internalListeners"].as_array_mut().context("listeners")?;
    listeners.retain(|each| each["name"] != listener);
    Ok(cluster)
}
