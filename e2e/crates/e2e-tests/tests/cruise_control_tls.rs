//! Cruise Control on a cluster whose listeners are all TLS (Koperator's combined KRaft sample
//! with `type: ssl` and certificates from the operator's own CA): the operator runs Cruise
//! Control with its client certificate mounted and no key in its ConfigMap, the cluster reports
//! CruiseControlAvailable and the metrics topic Ready; every broker's metrics reporter writes to
//! `__CruiseControlMetrics` over TLS with its own certificate (read back with kcat and the
//! operator's certificate); Cruise Control reads the cluster over TLS (`kafka_cluster_state`) and
//! moves replicas with remove_broker and add_broker; a new operator certificate restarts it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::cruise_control::{self, Answer, CruiseControl};
use e2e_tests::kafka_cluster;
use e2e_tests::kafka_topic as topics;
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{crds, host_command};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const CLUSTER: &str = "kafka";
/// A fixed port: this is the only test binary that uses it.
const GRPC_ADDRESS: &str = "127.0.0.1:19597";
const EXTERNAL_ENDPOINT: &str = "cruise-control.elsewhere:8090";
const METRICS_TOPIC: &str = "__CruiseControlMetrics";
/// The pod annotation naming the operator certificate Cruise Control started with.
const OPERATOR_CERTIFICATE_ANNOTATION: &str = "koperator-rs.io/operator-certificate-serial";
const MOVES: &str = "moves";
const TASK_TIMEOUT: Duration = Duration::from_secs(180);
const KCAT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a replica move may take to show: the official CI machine runs this next to other
/// scenarios and is about twice as slow as a developer's.
const MOVE_TIMEOUT: Duration = Duration::from_secs(150);

#[tokio::test]
async fn cruise_control_and_the_reporter_work_over_tls() -> Result<()> {
    namespace::run_isolated("cc-tls", async |ns| {
        crds::install(&ns.client).await?;
        let cluster_controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", GRPC_ADDRESS]).await?;
        let endpoint = format!("http://{GRPC_ADDRESS}");
        let topic_controller =
            ControllerProcess::start("topic-controller", &ns.name, &["--cluster-access-endpoint", &endpoint]).await?;

        let outcome = scenario(ns).await;
        let cruise_control_logs =
            if outcome.is_err() { cruise_control::log_tail(ns, CLUSTER, 40).await } else { String::new() };
        let logs = format!(
            "cluster controller log tail:\n{}\ntopic controller log tail:\n{}\n{cruise_control_logs}",
            cluster_controller.log_tail(30),
            topic_controller.log_tail(15)
        );
        // The KafkaTopics carry the topic controller's finalizer: they must go while both
        // controllers still run, or the namespace could not be deleted.
        let removed = remove_topics(ns).await;
        report_logs_on_failure(outcome, || logs)?;
        removed
    })
    .await
}

async fn scenario(ns: &TestNamespace) -> Result<()> {
    let started = std::time::Instant::now();
    let phase = |what: &str| eprintln!("e2e: {what} after {:.0?}", started.elapsed());
    kafka_cluster::apply(ns, &tls_cluster()?).await?;
    kafka_cluster::wait_running(ns, CLUSTER).await?;
    phase("ClusterRunning");

    cruise_control::wait_operator_deployment(ns, CLUSTER).await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    let config = config_maps.get("kafka-cruisecontrol-config").await?;
    let properties = config.data.unwrap_or_default().remove("cruisecontrol.properties").unwrap_or_default();
    ensure!(properties.contains("security.protocol=SSL\n"), "cruisecontrol.properties:\n{properties}");
    ensure!(!properties.contains("PRIVATE KEY"), "a key in cruisecontrol.properties:\n{properties}");

    cruise_control::wait_available_with_topic(ns, CLUSTER).await?;
    phase("CruiseControlAvailable and the metrics topic Ready");

    let tls = TlsClient::from_operator_secret(ns).await?;
    let bootstrap = kafka_cluster::bootstrap(ns, CLUSTER);
    every_reporter_writes(&tls, &bootstrap).await?;
    phase("every reporter wrote over TLS");

    let cc = CruiseControl::for_service(ns, "kafka-cruisecontrol-svc").await?;
    let state = cc.get("kafka_cluster_state", "").await?;
    let online = &state["KafkaBrokerState"]["OnlineLogDirsByBrokerId"];
    for id in ["0", "1", "2"] {
        ensure!(online.get(id).is_some(), "kafka_cluster_state (read over TLS) lacks broker {id}: {state}");
    }
    moves_replicas(ns, &cc, &tls, &bootstrap, phase).await?;
    a_new_operator_certificate_restarts_cruise_control(ns).await?;
    phase("Cruise Control restarted with the new operator certificate");
    Ok(())
}

/// The operator's client certificate issued again (its Secret deleted): Cruise Control's Kafka
/// clients read their key store once, so the operator restarts it with the new one, and it
/// reads the cluster over TLS again.
async fn a_new_operator_certificate_restarts_cruise_control(ns: &TestNamespace) -> Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    let deployment = format!("{CLUSTER}-cruisecontrol");
    let serial_of = |d: &Deployment| -> Option<String> {
        let template = d.spec.as_ref()?.template.metadata.as_ref()?;
        template.annotations.as_ref()?.get(OPERATOR_CERTIFICATE_ANNOTATION).cloned()
    };
    let before = serial_of(&deployments.get(&deployment).await?).context("Cruise Control names no certificate")?;
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    secrets.delete("kafka-controller", &DeleteParams::default()).await?;
    wait::until(&deployments, &deployment, "restarted with a new operator certificate", TASK_TIMEOUT, |d| {
        let status = d.status.as_ref();
        let current = status.and_then(|s| s.observed_generation) == d.metadata.generation;
        let available = status.and_then(|s| s.available_replicas) == Some(1);
        let replaced = status.and_then(|s| s.updated_replicas) == Some(1);
        serial_of(d).is_some_and(|serial| serial != before) && current && available && replaced
    })
    .await?;
    let cc = CruiseControl::for_service(ns, "kafka-cruisecontrol-svc").await?;
    wait::eventually("Cruise Control reads the cluster over TLS again", TASK_TIMEOUT, || async {
        let state = cc.get("kafka_cluster_state", "").await?;
        let online = &state["KafkaBrokerState"]["OnlineLogDirsByBrokerId"];
        let all = ["0", "1", "2"].iter().all(|id| online.get(id).is_some());
        Ok(if all { Check::Done(()) } else { Check::Pending(state.to_string()) })
    })
    .await
}

/// The combined KRaft sample with both listeners TLS and the operator's own CA.
fn tls_cluster() -> Result<Value> {
    let mut cluster = kafka_cluster::sample(SAMPLE)?;
    let spec = &mut cluster["spec"];
    for listener in spec["listenersConfig"]["internalListeners"].as_array_mut().context("internalListeners")? {
        listener["type"] = json!("ssl");
    }
    spec["listenersConfig"]["sslSecrets"] =
        json!({"tlsSecretName": "kafka-ca", "create": true, "pkiBackend": "operator-ca"});
    Ok(cluster)
}

/// Every broker's reporter wrote its record (keyed by its id) to the metrics topic: the only
/// listener is TLS with client authentication, so it did so with the broker's certificate.
async fn every_reporter_writes(tls: &TlsClient, bootstrap: &str) -> Result<()> {
    wait::eventually("every broker's reporter writes to the metrics topic", Duration::from_secs(120), || async {
        let args = ["-C", "-b", bootstrap, "-t", METRICS_TOPIC, "-o", "beginning", "-e", "-q", "-f", "%k %s\\n"];
        let output = tls.kcat(&args).await?;
        if !output.0 {
            return Ok(Check::Pending(output.1));
        }
        let reported: Vec<&str> = ["0", "1", "2"]
            .into_iter()
            .filter(|id| output.1.lines().any(|l| l.starts_with(&format!("{id} {{\"brokerId\":{id},"))))
            .collect();
        Ok(if reported.len() == 3 { Check::Done(()) } else { Check::Pending(format!("records from {reported:?}")) })
    })
    .await
}

/// remove_broker 2 empties broker 2 of a two-replica topic, add_broker 2 puts replicas back:
/// Cruise Control's AdminClient reassigns partitions over TLS.
async fn moves_replicas(
    ns: &TestNamespace,
    cc: &CruiseControl,
    tls: &TlsClient,
    bootstrap: &str,
    phase: impl Fn(&str),
) -> Result<()> {
    topics::apply(ns, &topics::manifest(MOVES, MOVES, 6, 2, &[])).await?;
    topics::wait_in_sync(ns, MOVES, Duration::from_secs(120)).await?;
    phase("KafkaTopic moves in sync");
    // Only "moves" may move: the metrics topic's three replicas have nowhere else to go.
    let only_moves = "excluded_topics=%28%3F%21moves%24%29.%2A";
    // The brokers' metadata may trail the topic's creation: wait until a dry run sees it.
    wait::eventually("Cruise Control sees replicas of moves on broker 2", MOVE_TIMEOUT, || async {
        let answers = cc.post_until_answered("remove_broker", &format!("brokerid=2&dryrun=true&{only_moves}")).await?;
        let last = answers.last().context("no answer")?;
        let moves = last.body["summary"]["numReplicaMovements"].as_i64().unwrap_or_default();
        Ok(if moves > 0 { Check::Done(()) } else { Check::Pending(format!("{} {}", last.status, last.body)) })
    })
    .await?;
    phase("a dry run of remove_broker 2 plans moves");
    final_answer(cc, "remove_broker", &format!("brokerid=2&dryrun=false&{only_moves}")).await?;
    phase("remove_broker 2 completed");
    wait::eventually("no replica of moves is left on broker 2", MOVE_TIMEOUT, || async {
        let on_2 = tls.replicas_on(bootstrap, 2).await?;
        Ok(if on_2 == 0 { Check::Done(()) } else { Check::Pending(format!("{on_2} replicas on broker 2")) })
    })
    .await?;
    final_answer(cc, "add_broker", &format!("brokerid=2&dryrun=false&{only_moves}")).await?;
    phase("add_broker 2 completed");
    wait::eventually("add_broker put replicas of moves on broker 2", MOVE_TIMEOUT, || async {
        let on_2 = tls.replicas_on(bootstrap, 2).await?;
        Ok(if on_2 > 0 { Check::Done(()) } else { Check::Pending("none on broker 2".to_owned()) })
    })
    .await
}

/// POSTs until the final answer, which must be 200, and waits for its task to complete.
async fn final_answer(cc: &CruiseControl, endpoint: &str, query: &str) -> Result<()> {
    let answers: Vec<Answer> = cc.post_until_answered(endpoint, query).await?;
    let last = answers.last().context("no answer")?;
    ensure!(last.status == 200, "{endpoint}: {} {}", last.status, last.body);
    let moved = last.body["summary"]["numReplicaMovements"].as_i64().unwrap_or_default();
    ensure!(moved > 0, "{endpoint} planned no move: {}", last.body);
    let task = answers.first().and_then(|a| a.task_id.clone()).context("no User-Task-ID")?;
    cc.wait_task(&task, "Completed", TASK_TIMEOUT).await?;
    Ok(())
}

/// kcat with the operator's client certificate (`kafka-controller`, a super user) and host name
/// verification.
struct TlsClient {
    dir: PathBuf,
}

impl TlsClient {
    async fn from_operator_secret(ns: &TestNamespace) -> Result<Self> {
        let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
        let secret = secrets.get("kafka-controller").await?;
        let data = secret.data.context("kafka-controller has no data")?;
        let dir = std::env::temp_dir().join(format!("e2e-{}-client", ns.name));
        std::fs::create_dir_all(&dir)?;
        for key in ["ca.crt", "tls.crt", "tls.key"] {
            let value = data.get(key).with_context(|| format!("kafka-controller lacks {key}"))?;
            std::fs::write(dir.join(key), &value.0)?;
        }
        Ok(Self { dir })
    }

    /// kcat with `args` and the TLS settings: (succeeded, stdout or stderr).
    async fn kcat(&self, args: &[&str]) -> Result<(bool, String)> {
        let file = |name: &str| self.dir.join(name).display().to_string();
        let (ca, certificate, key) = (file("ca.crt"), file("tls.crt"), file("tls.key"));
        let settings = [
            "security.protocol=ssl".to_owned(),
            format!("ssl.ca.location={ca}"),
            format!("ssl.certificate.location={certificate}"),
            format!("ssl.key.location={key}"),
            "ssl.endpoint.identification.algorithm=https".to_owned(),
        ];
        let mut command: Vec<&str> = vec!["kcat"];
        command.extend_from_slice(args);
        for setting in &settings {
            command.extend(["-X", setting.as_str()]);
        }
        let output = host_command::run(&command, None, KCAT_TIMEOUT).await?;
        Ok(if output.success { (true, output.stdout) } else { (false, format!("kcat: {}", output.stderr)) })
    }

    /// How many replicas of "moves" broker `id` holds, from `kcat -L`.
    async fn replicas_on(&self, bootstrap: &str, id: i64) -> Result<usize> {
        let (ok, text) = self.kcat(&["-L", "-J", "-b", bootstrap, "-t", MOVES]).await?;
        if !ok {
            bail!("{text}");
        }
        let metadata: Value = serde_json::from_str(&text).with_context(|| text.clone())?;
        let partitions = metadata["topics"][0]["partitions"].as_array().context("no partitions")?;
        Ok(partitions
            .iter()
            .flat_map(|p| p["replicas"].as_array().into_iter().flatten())
            .filter(|r| r["id"].as_i64() == Some(id))
            .count())
    }
}

impl Drop for TlsClient {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Names an external Cruise Control first, so that the cluster controller stops making the
/// metrics topic again, then deletes both KafkaTopics.
async fn remove_topics(ns: &TestNamespace) -> Result<()> {
    let external = json!({"spec": {"cruiseControlConfig": {"cruiseControlEndpoint": EXTERNAL_ENDPOINT}}});
    kafka_cluster::api(ns).patch(CLUSTER, &PatchParams::default(), &Patch::Merge(&external)).await?;
    let api = topics::api(ns);
    for name in ["kafka-cruise-control-topic", MOVES] {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => wait::until_deleted(&api, name, Duration::from_secs(60)).await?,
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
