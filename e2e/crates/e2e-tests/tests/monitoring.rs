//! The shipped monitoring on a real cluster: the chart's PodMonitors, PrometheusRule and
//! dashboards, a real Prometheus scraping what they describe, a real Alertmanager posting to
//! the alert receiver, and a real Jaeger receiving the deployables' traces. One KRaft cluster of
//! three combined nodes with Cruise Control serves every case:
//!
//! - The chart's monitoring objects pass the API server's strict validation against the
//!   Prometheus Operator's own CRDs (server-side dry run).
//! - Prometheus, scraping what the PodMonitors select with their labels (`app`, `kafka_cr`,
//!   `brokerId` from pod labels), plus the kubelets' volume stats and the deployables' own
//!   /metrics, has every kafka_*, koperator_*, jvm_* and kubelet_* metric the shipped rules
//!   and dashboards use.
//! - The shipped disk-space rule (its free-space threshold raised to 100%, since a test-bed
//!   volume is a directory on the host's disk) grows a broker's claim through Alertmanager and
//!   the alert receiver (resizePvc), and that one webhook is one trace in Jaeger with spans
//!   from the alert receiver and the cluster controller.
//! - A stopped broker (its JVM paused) fires KafkaBrokerDown and
//!   KafkaUnderReplicatedPartitions within their `for` windows.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crd_types::cruise_control_operation::{CruiseControlTaskOperation, CruiseControlUserTaskState};
use e2e_tests::alerting::{self, Monitoring, Receiver, Webhook};
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::cruise_control_operation::{self, NewOperation};
use e2e_tests::helm;
use e2e_tests::jaeger::Jaeger;
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::testbed::{kubeconfig_path, repo_root};
use e2e_tests::wait::{self, Check};
use e2e_tests::{kafka_cluster, kafka_topic};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const RULES: &str = "deploy/monitoring/prometheus-rules.yaml";
const DASHBOARDS: &str = "charts/koperator-rs/files/dashboards";
/// Counters that have a series only after their first failure (prometheus-client exports no
/// family without one); printed when missing.
const AFTER_A_FAILURE: [&str; 3] = [
    "koperator_cluster_controller_reconcile_failures_total",
    "koperator_topic_controller_reconcile_failures_total",
    "koperator_cruise_control_runner_reconcile_failures_total",
];

#[tokio::test]
async fn shipped_monitoring_watches_a_real_cluster() -> Result<()> {
    namespace::run_isolated("monitoring", async |ns| {
        let started = Instant::now();
        shipped_objects_validate(ns).await?;
        let jaeger = Jaeger::start(&ns.name).await?;
        let grpc = format!("127.0.0.1:{}", alerting::free_port()?);
        let mut metrics = Vec::new();
        let mut metrics_addr = |name: &str| -> Result<String> {
            let address = format!("127.0.0.1:{}", alerting::free_port()?);
            metrics.push((name.to_owned(), address.clone()));
            Ok(address)
        };
        let otlp = jaeger.otlp_endpoint();
        let controller = ControllerProcess::start_with(
            "cluster-controller",
            &ns.name,
            &["--metrics-addr", &metrics_addr("cluster-controller")?, "--grpc-addr", &grpc, "--otlp-endpoint", &otlp],
        )
        .await?;
        let endpoint = format!("http://{grpc}");
        let _topics = ControllerProcess::start_with(
            "topic-controller",
            &ns.name,
            &["--metrics-addr", &metrics_addr("topic-controller")?, "--cluster-access-endpoint", &endpoint],
        )
        .await?;
        let _runner = ControllerProcess::start_with(
            "cruise-control-runner",
            &ns.name,
            &["--metrics-addr", &metrics_addr("cruise-control-runner")?],
        )
        .await?;
        let (token_file, token) = alerting::write_token(&ns.name)?;
        let receiver_metrics = metrics_addr("alert-receiver")?;
        let receiver = Receiver::start_with_args(
            &ns.name,
            &grpc,
            &token_file,
            &token,
            &["--metrics-addr", &receiver_metrics, "--otlp-endpoint", &otlp],
        )
        .await?;

        kafka_cluster::apply(ns, &cluster()?).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;
        eprintln!("e2e: cluster running after {:?}", started.elapsed());
        let webhooks = [Webhook { url: receiver.url.clone(), token_file: Some(token_file.clone()) }];
        let monitoring = Monitoring::start_with(&ns.name, &scrape_configs(ns, &metrics).await?, &webhooks, &[]).await?;
        let outcome = cases(ns, &monitoring, &jaeger, started).await;
        // Cruise Control's KafkaTopic (the cluster controller's) carries the topic controller's
        // finalizer: it must go while both run, or the namespace could not be deleted.
        let outcome = outcome.and(remove_topics(ns).await);
        report_logs_on_failure(outcome, || {
            format!(
                "{}\ncluster controller:\n{}\nreceiver:\n{}\njaeger:\n{}",
                monitoring.log_tails(),
                controller.log_tail(30),
                receiver.process.log_tail(20),
                jaeger.log_tail(20)
            )
        })
    })
    .await
}

/// The combined sample on `local-path` volumes: `local` PersistentVolumes, whose usage the
/// kubelet reports (the default class's hostPath volumes have none); with certificates from the
/// operator's CA (on plaintext listeners), whose expiry the cluster controller publishes.
fn cluster() -> Result<Value> {
    let mut cluster = kafka_cluster::sample(SAMPLE)?;
    cluster["spec"]["listenersConfig"]["sslSecrets"] =
        json!({"tlsSecretName": "monitoring-ca", "create": true, "pkiBackend": "operator-ca"});
    for group in cluster["spec"]["brokerConfigGroups"].as_object_mut().context("no brokerConfigGroups")?.values_mut() {
        for storage in group["storageConfigs"].as_array_mut().into_iter().flatten() {
            storage["pvcSpec"]["storageClassName"] = json!("local-path");
        }
    }
    Ok(cluster)
}

/// Deletes the cluster; the topic controller then lets go of the KafkaTopics it leaves.
async fn remove_topics(ns: &TestNamespace) -> Result<()> {
    kafka_cluster::api(ns).delete("kafka", &DeleteParams::default()).await?;
    let topics = kafka_topic::api(ns);
    wait::eventually("every KafkaTopic is gone", Duration::from_secs(120), || async {
        let left = topics.list(&ListParams::default()).await?.items.len();
        Ok(if left == 0 { Check::Done(()) } else { Check::Pending(format!("{left} left")) })
    })
    .await
}

async fn cases(ns: &TestNamespace, monitoring: &Monitoring, jaeger: &Jaeger, started: Instant) -> Result<()> {
    // A rebalance through the runner: its task, request and write counters get their series.
    let rebalance = NewOperation::new("monitoring-rebalance", "kafka", CruiseControlTaskOperation::Rebalance);
    cruise_control_operation::create(ns, &rebalance).await?;
    cruise_control_operation::until(ns, rebalance.name, "completes", Duration::from_secs(240), |operation| {
        cruise_control_operation::task(operation).and_then(|task| task.state)
            == Some(CruiseControlUserTaskState::Completed)
    })
    .await?;
    eprintln!("e2e: a rebalance completed after {:?}", started.elapsed());
    // The claims as they are before the rules can fire.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);
    let kafka_claims = claims.list(&ListParams::default().labels("app=kafka,kafka_cr=kafka")).await?.items;
    let first = kafka_claims.first().context("no Kafka claims")?;
    let before = (first.name_any(), request(first)?);
    monitoring.set_rule_file(&rules_for_the_test_bed(&ns.name).await?).await?;
    every_used_metric_is_scraped(monitoring).await?;
    eprintln!("e2e: every metric the rules and dashboards use is scraped, after {:?}", started.elapsed());
    disk_alert_grows_a_claim_in_one_trace(ns, jaeger, before).await?;
    eprintln!("e2e: the disk alert grew a claim in one trace, after {:?}", started.elapsed());
    a_stopped_broker_fires_its_alerts(ns, monitoring).await?;
    eprintln!("e2e: a stopped broker fired its alerts, after {:?}", started.elapsed());
    Ok(())
}

/// Every monitoring object the chart renders, applied as a dry run with strict field
/// validation, after the Prometheus Operator's CRDs (the bootstrap fetches them) are installed.
async fn shipped_objects_validate(ns: &TestNamespace) -> Result<()> {
    let crds = helm::tool("PROMETHEUS_OPERATOR_CRDS")?.display().to_string();
    helm::kubectl(&["apply", "--server-side", "--force-conflicts", "-f", &crds], None).await?;
    for crd in ["podmonitors", "prometheusrules"] {
        let name = format!("crd/{crd}.monitoring.coreos.com");
        helm::kubectl(&["wait", "--for=condition=Established", "--timeout=60s", &name], None).await?;
    }
    let rendered = helm::template_text(
        "koperator-rs",
        &ns.name,
        &[
            "monitoring.podMonitors.enabled=true",
            "monitoring.prometheusRule.enabled=true",
            "monitoring.dashboards.enabled=true",
            "monitoring.prometheusRule.selfHealing.upScale.enabled=true",
            "monitoring.prometheusRule.selfHealing.downScale.enabled=true",
        ],
    )
    .await?;
    let monitoring_only: Vec<&str> = rendered
        .split("\n---")
        .filter(|document| document.contains("# Source: koperator-rs/templates/monitoring/"))
        .collect();
    ensure!(monitoring_only.len() >= 3, "expected PodMonitors, a PrometheusRule and dashboards:\n{rendered}");
    let text = monitoring_only.join("\n---");
    let answer = helm::kubectl(
        &["apply", "--dry-run=server", "--validate=strict", "--server-side", "-n", &ns.name, "-f", "-"],
        Some(text.as_bytes()),
    )
    .await?;
    eprintln!("e2e: the API server accepts the shipped monitoring objects:\n{answer}");
    Ok(())
}

/// The shipped rules as `make manifests` renders them, but from the chart with the disk
/// rule's threshold at 100% free and no `for` window, and 1Gi increments: a volume here is a
/// directory on the host's file system, whose free share the test cannot choose.
async fn rules_for_the_test_bed(namespace: &str) -> Result<String> {
    let objects = helm::template(
        "koperator-rs",
        namespace,
        &[
            "monitoring.prometheusRule.enabled=true",
            "monitoring.prometheusRule.selfHealing.diskSpaceLow.availableRatio=1",
            "monitoring.prometheusRule.selfHealing.diskSpaceLow.for=0s",
            "monitoring.prometheusRule.selfHealing.diskSpaceLow.incrementBy=1Gi",
        ],
    )
    .await?;
    let rule = helm::find(&objects, "PrometheusRule", "koperator-rs-kafka-alerts").context("no PrometheusRule")?;
    // Every other rule is the shipped one: the file `make manifests` renders differs only there.
    let shipped: Value = serde_yaml::from_str(&std::fs::read_to_string(repo_root().join(RULES))?)?;
    let ours = &rule["spec"]["groups"];
    ensure!(ours[0] == shipped["groups"][0], "the health rules differ from {RULES}");
    Ok(serde_yaml::to_string(&json!({"groups": ours}))?)
}

/// Prometheus' scrape jobs: what the PodMonitors ask the Prometheus Operator for (pods with a
/// `metrics` port, `app` kafka or cruisecontrol and a `kafka_cr` label, with those labels), the
/// kubelets' volume stats through the API server's node proxy, and each deployable's /metrics.
/// Debian's Prometheus is built without Kubernetes discovery, so the test discovers the pods
/// and nodes itself, once the cluster runs (the pause below changes no pod).
async fn scrape_configs(ns: &TestNamespace, deployables: &[(String, String)]) -> Result<Value> {
    // Cruise Control's pod may still be starting when the cluster runs.
    let kafka =
        wait::eventually("three Kafka nodes and Cruise Control to scrape", Duration::from_secs(120), || async {
            let targets = kafka_targets(ns).await?;
            Ok(if targets.len() == 4 { Check::Done(targets) } else { Check::Pending(format!("{targets:?}")) })
        })
        .await?;
    let kubeconfig = kubeconfig_path();
    let pki = kubeconfig.parent().map(|dir| dir.join("pki")).unwrap_or_default();
    let tls = json!({
        "ca_file": pki.join("ca.crt"), "cert_file": pki.join("admin.crt"), "key_file": pki.join("admin.key"),
    });
    let api_server = api_server_url(&kubeconfig)?;
    let nodes: Api<Node> = Api::all(ns.client.clone());
    let kubelets: Vec<Value> = nodes
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|node| {
            let path = format!("/api/v1/nodes/{}/proxy/metrics", node.name_any());
            json!({"targets": [api_server.trim_start_matches("https://")], "labels": {"__metrics_path__": path}})
        })
        .collect();
    let mut jobs = vec![
        json!({"job_name": "kafka", "scrape_interval": "15s", "scrape_timeout": "14s", "static_configs": kafka}),
        json!({
            "job_name": "kubelet", "scheme": "https", "tls_config": tls, "static_configs": kubelets,
            "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "kubelet_volume_stats_.+", "action": "keep"}],
        }),
    ];
    for (name, address) in deployables {
        jobs.push(json!({
            "job_name": format!("koperator-rs-{name}"),
            "static_configs": [{"targets": [address], "labels": {"namespace": ns.name, "pod": name}}],
        }));
    }
    Ok(Value::Array(jobs))
}

/// Static targets for the pods the PodMonitors select (with an address), labelled as they label.
async fn kafka_targets(ns: &TestNamespace) -> Result<Vec<Value>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let mut kafka = Vec::new();
    for pod in pods.list(&ListParams::default().labels("app in (kafka, cruisecontrol), kafka_cr")).await?.items {
        let labels = pod.labels();
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else { continue };
        let containers = pod.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
        let ports = containers.iter().flat_map(|c| c.ports.clone().unwrap_or_default());
        for port in ports.filter(|p| p.name.as_deref() == Some("metrics")) {
            let mut target_labels = json!({"namespace": ns.name, "pod": pod.name_any(), "app": labels["app"],
                "kafka_cr": labels["kafka_cr"]});
            if let Some(id) = labels.get("brokerId") {
                target_labels["brokerId"] = json!(id);
            }
            kafka.push(json!({"targets": [format!("{ip}:{}", port.container_port)], "labels": target_labels}));
        }
    }
    Ok(kafka)
}

fn api_server_url(kubeconfig: &std::path::Path) -> Result<String> {
    let config: Value = serde_yaml::from_str(&std::fs::read_to_string(kubeconfig)?)?;
    config["clusters"][0]["cluster"]["server"].as_str().map(str::to_owned).context("no server in the kubeconfig")
}

/// Metric names in PromQL text: the families this project's rules and dashboards read.
/// Strings, grouping clauses (`by (...)`, `on (...)`, ...) and label matchers name labels,
/// not metrics, and are skipped.
fn metric_names(promql: &str) -> BTreeSet<String> {
    let text = without_label_values_label(&without_strings(promql));
    let words = words(&text);
    let mut names = BTreeSet::new();
    let mut skip_group = false;
    for (word, next) in &words {
        if skip_group {
            skip_group = *next != ')';
            continue;
        }
        let grouping = ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(&word.as_str());
        if grouping && *next == '(' {
            skip_group = true;
            continue;
        }
        let prefixed = ["kafka_", "koperator_", "jvm_", "java_lang_", "kubelet_volume_stats_", "process_"]
            .iter()
            .any(|prefix| word.starts_with(prefix) && word.len() > prefix.len() && !word.ends_with('_'));
        if prefixed && !matches!(next, '=' | '!' | '~') {
            names.insert(word.clone());
        }
    }
    names
}

/// Identifiers (not `$variables`) with the next non-space character after each.
fn words(text: &str) -> Vec<(String, char)> {
    let chars: Vec<char> = text.chars().collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '$') {
            let end = (i..chars.len()).find(|&j| !is_ident(chars[j])).unwrap_or(chars.len());
            let next = chars[end..].iter().copied().find(|c| !c.is_whitespace()).unwrap_or(' ');
            words.push((chars[i..end].iter().collect(), next));
            i = end;
        } else {
            i += 1;
        }
    }
    words
}

/// Grafana's `label_values(metric, label)` without its second argument, a label name.
fn without_label_values_label(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("label_values(") {
        let (before, call) = rest.split_at(start);
        out.push_str(before);
        let nesting = nesting(call);
        let Some(end) = nesting.iter().find(|(_, c, depth)| *c == ')' && *depth == 0).map(|(i, ..)| *i) else {
            break;
        };
        // The last comma at the call's own depth starts the label.
        let comma = nesting.iter().rev().find(|(i, c, depth)| *i < end && *c == ',' && *depth == 1).map(|(i, ..)| *i);
        out.push_str(&call[..comma.unwrap_or(end)]);
        out.push(')');
        rest = &call[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Each character's byte index with the bracket depth after it.
fn nesting(text: &str) -> Vec<(usize, char, i32)> {
    let mut depth = 0;
    text.char_indices()
        .map(|(i, c)| {
            match c {
                '(' | '{' => depth += 1,
                ')' | '}' => depth -= 1,
                _ => {}
            }
            (i, c, depth)
        })
        .collect()
}

fn without_strings(promql: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in promql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' || c == '`' => {
                quote = Some(c);
                out.push_str("\"\"");
            }
            None => out.push(c),
        }
    }
    out
}

/// Every expression of the shipped rule file and dashboards.
fn used_metrics() -> Result<BTreeSet<String>> {
    let rules: Value = serde_yaml::from_str(&std::fs::read_to_string(repo_root().join(RULES))?)?;
    let mut names = BTreeSet::new();
    for group in rules["groups"].as_array().context("no groups")? {
        for rule in group["rules"].as_array().context("no rules")? {
            names.extend(metric_names(rule["expr"].as_str().unwrap_or_default()));
        }
    }
    let mut dashboards = 0;
    for entry in std::fs::read_dir(repo_root().join(DASHBOARDS))? {
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(entry?.path())?)?;
        dashboards += 1;
        collect_exprs(&dashboard, &mut names);
    }
    ensure!(dashboards >= 6, "expected six dashboards in {DASHBOARDS}, found {dashboards}");
    Ok(names)
}

fn collect_exprs(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query" | "definition", Value::String(promql)) => names.extend(metric_names(promql)),
                    ("query", Value::Object(query)) => {
                        names.extend(metric_names(query.get("query").and_then(Value::as_str).unwrap_or_default()))
                    }
                    _ => collect_exprs(value, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_exprs(item, names)),
        _ => {}
    }
}

/// A name is scraped when Prometheus has its family (OpenMetrics names a counter's family
/// without `_total`, a histogram's without `_bucket`/`_sum`/`_count`).
fn is_scraped(name: &str, families: &BTreeSet<String>) -> bool {
    let base = ["_total", "_bucket", "_sum", "_count", "_created"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    families.contains(name) || families.contains(base)
}

async fn every_used_metric_is_scraped(monitoring: &Monitoring) -> Result<()> {
    let used = used_metrics()?;
    eprintln!("e2e: the rules and dashboards use {} metrics", used.len());
    wait::eventually("Prometheus has every metric the rules and dashboards use", Duration::from_secs(240), || async {
        let mut families = monitoring.metric_families().await?;
        let series = monitoring
            .query(r#"group by (__name__) ({__name__=~"(kafka|koperator|jvm|java_lang|kubelet)_.+"})"#)
            .await?;
        families.extend(series.iter().filter_map(|s| s["metric"]["__name__"].as_str().map(str::to_owned)));
        let (not_yet, missing): (Vec<&String>, Vec<&String>) = used
            .iter()
            .filter(|name| !is_scraped(name, &families))
            .partition(|name| AFTER_A_FAILURE.contains(&name.as_str()));
        Ok(if missing.is_empty() {
            eprintln!("e2e: without a series until their first failure: {not_yet:?}");
            Check::Done(())
        } else {
            let targets = monitoring.target_health().await?;
            Check::Pending(format!("missing {missing:?}; targets: {targets:?}"))
        })
    })
    .await
}

/// The disk rule fires for every Kafka claim (the threshold is 100%); each claim grows by
/// 1Gi once, and Jaeger holds a trace with the receiver's and the cluster controller's spans.
async fn disk_alert_grows_a_claim_in_one_trace(
    ns: &TestNamespace,
    jaeger: &Jaeger,
    (name, before): (String, String),
) -> Result<()> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::eventually(&format!("the disk alert grows claim {name} from {before}"), Duration::from_secs(240), || async {
        let now = request(&claims.get(&name).await?)?;
        Ok(if now != before { Check::Done(()) } else { Check::Pending(now) })
    })
    .await?;
    let grown = request(&claims.get(&name).await?)?;
    let expected = format!("{}Gi", before.trim_end_matches("Gi").parse::<u32>()? + 1);
    ensure!(grown == expected, "claim {name} went from {before} to {grown}, not {expected}");

    wait::eventually("Jaeger holds one trace from both deployables", Duration::from_secs(60), || async {
        let traces = jaeger.traces("alert-receiver").await?;
        let joint: Vec<&Value> = traces
            .iter()
            .filter(|trace| {
                let services = Jaeger::services(trace);
                services.contains("alert-receiver") && services.contains("cluster-controller")
            })
            .collect();
        Ok(match joint.first() {
            Some(trace) => {
                eprintln!("e2e: one trace: {:?}", Jaeger::span_names(trace));
                Check::Done(())
            }
            None => {
                Check::Pending(format!("{} traces of alert-receiver, none with cluster-controller spans", traces.len()))
            }
        })
    })
    .await
}

fn request(claim: &PersistentVolumeClaim) -> Result<String> {
    let requests = claim.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref());
    Ok(requests.and_then(|r| r.get("storage")).context("no storage request")?.0.clone())
}

/// Pauses broker 1's JVM (SIGSTOP from the host: a container's PID 1 ignores it from inside)
/// and times KafkaBrokerDown and KafkaUnderReplicatedPartitions from pause to firing; each
/// must fire within its `for` window plus a scrape and a rule evaluation.
async fn a_stopped_broker_fires_its_alerts(ns: &TestNamespace, monitoring: &Monitoring) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let pod = pods.list(&ListParams::default().labels("app=kafka,brokerId=1")).await?.items;
    let pod = pod.first().context("no pod of broker 1")?;
    let uid = pod.uid().context("pod without uid")?;
    let pids = jvm_pids_of(&uid)?;
    ensure!(!pids.is_empty(), "no JVM of pod {} on this host", pod.name_any());
    signal(&pids, "STOP")?;
    let paused = Instant::now();
    let outcome = wait_firing(monitoring, paused).await;
    signal(&pids, "CONT")?;
    let fired = outcome?;
    for (alert, window) in [("KafkaBrokerDown", 60), ("KafkaUnderReplicatedPartitions", 120)] {
        let after = fired.iter().find(|(name, _)| name == alert).map(|(_, after)| *after).context("not fired")?;
        eprintln!("e2e: {alert} fired {after:?} after the pause (for: {window}s)");
        // A failed scrape takes up to 15 s + 14 s; a replica leaves the ISR after
        // replica.lag.time.max.ms (30 s); evaluations are every second.
        ensure!(after <= Duration::from_secs(window + 60), "{alert} fired only after {after:?}");
    }
    Ok(())
}

async fn wait_firing(monitoring: &Monitoring, since: Instant) -> Result<Vec<(String, Duration)>> {
    // When each alert was first seen firing, kept across the wait's polls.
    let fired: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());
    wait::eventually("KafkaBrokerDown and KafkaUnderReplicatedPartitions fire", Duration::from_secs(300), || async {
        let alerts = monitoring.alerts().await?;
        let mut fired = fired.lock().unwrap_or_else(PoisonError::into_inner);
        for alert in alerts {
            let name = alert["labels"]["alertname"].as_str().unwrap_or_default().to_owned();
            if alert["state"] == "firing" && !fired.iter().any(|(n, _)| *n == name) {
                fired.push((name, since.elapsed()));
            }
        }
        let has = |name: &str| fired.iter().any(|(n, _)| n == name);
        Ok(if has("KafkaBrokerDown") && has("KafkaUnderReplicatedPartitions") {
            Check::Done(())
        } else {
            Check::Pending(format!("fired so far: {fired:?}"))
        })
    })
    .await?;
    Ok(fired.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Host PIDs of the Java processes in the pod whose UID is `uid` (from their cgroup path).
fn jvm_pids_of(uid: &str) -> Result<Vec<u32>> {
    let mut pids = Vec::new();
    let in_cgroup = [uid.to_owned(), uid.replace('-', "_")];
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "java" && in_cgroup.iter().any(|id| cgroup.contains(id.as_str())) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

fn signal(pids: &[u32], signal: &str) -> Result<()> {
    for pid in pids {
        let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status()?;
        ensure!(status.success(), "kill -{signal} {pid} failed");
    }
    Ok(())
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = metric_names(
        r#"sum by (namespace, kafka_cr) (rate(kafka_server_brokertopicmetrics_bytesin_total{kafka_cr="$kafka_cr", kafka_x!="a"}[5m])) / on(kafka_cr) koperator_x_total or {__name__=~"koperator_.+_reconciles_total"} - $kafka_version + label_values(kafka_y{a="b"}, kafka_cr) + label_values(kafka_z)"#,
    );
    let expected: BTreeSet<String> =
        ["kafka_server_brokertopicmetrics_bytesin_total", "koperator_x_total", "kafka_y", "kafka_z"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(names, expected);
    let families: BTreeSet<String> = ["kafka_server_brokertopicmetrics_bytesin".to_owned()].into();
    assert!(is_scraped("kafka_server_brokertopicmetrics_bytesin_total", &families));
    assert!(!is_scraped("kafka_server_brokertopicmetrics_bytesout_total", &families));
}
