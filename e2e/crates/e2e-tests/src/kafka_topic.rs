//! KafkaTopic scenarios: applying KafkaTopics, waiting for their conditions, their events, the
//! topic controller's metrics, and what Kafka itself says about a topic. Kafka's answers come
//! from its own tools only (`kafka-topics --describe`, `kafka-configs --describe`, kcat), never
//! from the operator's crates, so they are an independent oracle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crd_types::KafkaTopic;

use crate::namespace::TestNamespace;
use crate::wait::{self, Check};
use crate::{host_command, kcat, manifests};

/// Koperator's quick-start KafkaTopic, applied unchanged.
pub const QUICK_START: &str = "deploy/samples/kafkatopic.yaml";
/// Koperator's finalizer name, which the topic controller uses too.
pub const FINALIZER: &str = "finalizer.kafkatopics.kafka.banzaicloud.io";
/// Koperator's adoption annotation (`managedBy: koperator`).
pub const MANAGED_BY_ANNOTATION: &str = "managedBy";
/// Keeps the Kafka topic when its KafkaTopic is deleted.
pub const KEEP_ON_DELETE_ANNOTATION: &str = "koperator-rs.io/keep-topic-on-delete";

/// How long a JVM tool of Kafka may take (start-up is seconds on two busy cores).
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one KafkaTopic may take to reach a state once nothing outside it blocks it.
pub const CONDITION_TIMEOUT: Duration = Duration::from_secs(90);

pub fn api(ns: &TestNamespace) -> Api<KafkaTopic> {
    Api::namespaced(ns.client.clone(), &ns.name)
}

/// The quick-start sample as JSON, exactly as the file has it.
pub fn quick_start() -> Result<Value> {
    let mut documents = manifests::read_documents(QUICK_START)?;
    documents.pop().with_context(|| format!("{QUICK_START} is empty"))
}

/// A KafkaTopic of the cluster `kafka` named `name` for Kafka topic `topic`. An empty `config`
/// is left out: server-side apply turns an emptied `config: {}` into null, which the schema
/// refuses.
pub fn manifest(name: &str, topic: &str, partitions: i32, replication_factor: i32, config: &[(&str, &str)]) -> Value {
    let mut manifest = json!({
        "apiVersion": "kafka.banzaicloud.io/v1alpha1",
        "kind": "KafkaTopic",
        "metadata": {"name": name},
        "spec": {
            "clusterRef": {"name": "kafka"},
            "name": topic,
            "partitions": partitions,
            "replicationFactor": replication_factor,
        },
    });
    if !config.is_empty() {
        let config: serde_json::Map<String, Value> = config.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        manifest["spec"]["config"] = Value::Object(config);
    }
    manifest
}

/// Sets annotation `key` on a manifest.
pub fn annotate(manifest: &mut Value, key: &str, value: &str) {
    manifest["metadata"]["annotations"][key] = json!(value);
}

/// Server-side applies a KafkaTopic manifest; returns it as stored.
pub async fn apply(ns: &TestNamespace, manifest: &Value) -> Result<KafkaTopic> {
    let applied = manifests::apply_object(&ns.client, &ns.name, manifest).await?;
    Ok(serde_json::from_value(serde_json::to_value(applied)?)?)
}

pub fn condition<'a>(topic: &'a KafkaTopic, type_: &str) -> Option<&'a Condition> {
    topic.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether condition `type_` has `status` and `reason` and was written for the current
/// generation (status and condition), so that a stale answer never passes.
pub fn has_condition(topic: &KafkaTopic, type_: &str, status: &str, reason: &str) -> bool {
    let generation = topic.metadata.generation;
    let current = topic.status.as_ref().is_some_and(|s| s.observed_generation == generation);
    current
        && condition(topic, type_)
            .is_some_and(|c| c.status == status && c.reason == reason && c.observed_generation == generation)
}

/// Waits until condition `type_` of KafkaTopic `name` is `status` with `reason` for the
/// current generation; returns the KafkaTopic.
pub async fn wait_condition(
    ns: &TestNamespace,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
    timeout: Duration,
) -> Result<KafkaTopic> {
    let what = format!("has {type_}={status} reason {reason} for its current generation");
    wait::until(&api(ns), name, &what, timeout, |topic| has_condition(topic, type_, status, reason)).await
}

/// Ready True (`InSync`), Degraded False, state created, managed by koperator.
pub async fn wait_in_sync(ns: &TestNamespace, name: &str, timeout: Duration) -> Result<KafkaTopic> {
    let topic = wait_condition(ns, name, "Ready", "True", "InSync", timeout).await?;
    check_in_sync(&topic)?;
    Ok(topic)
}

/// The rest of what an in-sync KafkaTopic shows once Ready is True.
pub fn check_in_sync(topic: &KafkaTopic) -> Result<()> {
    let status = topic.status.clone().unwrap_or_default();
    let name = topic.name_any();
    let state = serde_json::to_value(status.state)?;
    if state != json!("created") || status.managed_by.as_deref() != Some("koperator") {
        bail!("KafkaTopic {name} is Ready but state {state} managedBy {:?}", status.managed_by);
    }
    if !has_condition(topic, "Degraded", "False", "AsExpected") {
        bail!("KafkaTopic {name} is Ready but Degraded is {:?}", condition(topic, "Degraded"));
    }
    if !topic.finalizers().iter().any(|f| f == FINALIZER) {
        bail!("KafkaTopic {name} manages a topic without the finalizer: {:?}", topic.finalizers());
    }
    Ok(())
}

/// Waits for Degraded True with `reason` (current generation); returns the KafkaTopic.
pub async fn wait_degraded(ns: &TestNamespace, name: &str, reason: &str, timeout: Duration) -> Result<KafkaTopic> {
    wait_condition(ns, name, "Degraded", "True", reason, timeout).await
}

/// `status.state` as the API shows it (`created`, `creating`, `failed`), or "" when unset.
pub fn state(topic: &KafkaTopic) -> String {
    let state = topic.status.as_ref().and_then(|s| s.state);
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The KafkaTopic's status as YAML, for failure messages.
pub fn show(topic: &KafkaTopic) -> String {
    wait::to_yaml_without_managed_fields(topic)
}

// --- Events -----------------------------------------------------------------------------------

/// An event about a KafkaTopic, as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicEvent {
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub message: String,
}

/// Every event about the object with `uid` (a re-created KafkaTopic of the same name has
/// another uid, and a deleted one's events stay listed).
pub async fn events(ns: &TestNamespace, uid: &str) -> Result<Vec<TopicEvent>> {
    let api: Api<Event> = Api::namespaced(ns.client.clone(), &ns.name);
    let list = api.list(&ListParams::default().fields(&format!("involvedObject.uid={uid}"))).await?;
    Ok(list
        .items
        .into_iter()
        .map(|e| TopicEvent {
            type_: e.type_.unwrap_or_default(),
            reason: e.reason.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
        })
        .collect())
}

/// Waits for an event with `reason` about the object with `uid`; returns it.
pub async fn wait_event(ns: &TestNamespace, uid: &str, reason: &str, timeout: Duration) -> Result<TopicEvent> {
    wait::eventually(&format!("an event {reason} about object {uid}"), timeout, || async {
        let events = events(ns, uid).await?;
        Ok(match events.iter().find(|e| e.reason == reason) {
            Some(event) => Check::Done(event.clone()),
            None => Check::Pending(format!("events: {events:#?}")),
        })
    })
    .await
}

// --- Kafka, through its own tools -----------------------------------------------------------

/// A topic as `kafka-topics --describe` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    pub partitions: i32,
    pub replication_factor: i32,
}

/// `kafka-topics --describe --topic <topic>`: None when the topic does not exist.
pub async fn describe(bootstrap: &str, topic: &str) -> Result<Option<TopicDescription>> {
    let args = ["kafka-topics", "--bootstrap-server", bootstrap, "--describe", "--if-exists", "--topic", topic];
    let stdout = host_command::run_ok(&args, None, TOOL_TIMEOUT).await?;
    parse_describe(&stdout, topic)
}

/// The summary line of `kafka-topics --describe`:
/// `Topic: t<TAB>TopicId: ..<TAB>PartitionCount: 3<TAB>ReplicationFactor: 1<TAB>Configs: ...`.
pub fn parse_describe(output: &str, topic: &str) -> Result<Option<TopicDescription>> {
    let Some(line) =
        output.lines().find(|line| line.contains("PartitionCount:") && field(line, "Topic").as_deref() == Some(topic))
    else {
        return Ok(None);
    };
    let number = |key: &str| -> Result<i32> {
        field(line, key)
            .with_context(|| format!("no {key} in {line:?}"))?
            .parse()
            .with_context(|| format!("{key} in {line:?}"))
    };
    Ok(Some(TopicDescription {
        partitions: number("PartitionCount")?,
        replication_factor: number("ReplicationFactor")?,
    }))
}

fn field(line: &str, key: &str) -> Option<String> {
    line.split('\t')
        .map(str::trim)
        .find_map(|part| part.strip_prefix(key)?.strip_prefix(':').map(|v| v.trim().to_owned()))
}

/// The topic's own configuration overrides (`kafka-configs --describe`: dynamic topic configs).
pub async fn overrides(bootstrap: &str, topic: &str) -> Result<BTreeMap<String, String>> {
    let args = [
        "kafka-configs",
        "--bootstrap-server",
        bootstrap,
        "--describe",
        "--entity-type",
        "topics",
        "--entity-name",
        topic,
    ];
    let stdout = host_command::run_ok(&args, None, TOOL_TIMEOUT).await?;
    parse_overrides(&stdout).with_context(|| format!("kafka-configs --describe of {topic}:\n{stdout}"))
}

/// `Dynamic configs for topic t are:` followed by `  key=value sensitive=false synonyms={...}`.
pub fn parse_overrides(output: &str) -> Result<BTreeMap<String, String>> {
    if !output.contains("Dynamic configs for topic") {
        bail!("not a kafka-configs topic description");
    }
    let mut overrides = BTreeMap::new();
    for line in output.lines().filter(|line| line.starts_with(' ') || line.starts_with('\t')) {
        let entry = line.trim();
        let entry = entry.split_once(" sensitive=").map_or(entry, |(entry, _)| entry);
        if let Some((key, value)) = entry.split_once('=') {
            overrides.insert(key.to_owned(), value.to_owned());
        }
    }
    Ok(overrides)
}

/// `kafka-configs --alter --add-config <settings>` (e.g. `retention.ms=1000`): a change made
/// behind the operator's back.
pub async fn alter_config(bootstrap: &str, topic: &str, settings: &str) -> Result<()> {
    let args = [
        "kafka-configs",
        "--bootstrap-server",
        bootstrap,
        "--alter",
        "--entity-type",
        "topics",
        "--entity-name",
        topic,
        "--add-config",
        settings,
    ];
    host_command::run_ok(&args, None, TOOL_TIMEOUT).await.map(drop)
}

/// `kafka-topics --create`, as a user who does not know about the operator would.
pub async fn create_with_kafka_tool(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication_factor: i32,
    config: &[(&str, &str)],
) -> Result<()> {
    create_with_kafka_tool_configured(bootstrap, None, topic, partitions, replication_factor, config).await
}

/// [`create_with_kafka_tool`] with a client properties file (`--command-config`), e.g. for TLS.
pub async fn create_with_kafka_tool_configured(
    bootstrap: &str,
    command_config: Option<&Path>,
    topic: &str,
    partitions: i32,
    replication_factor: i32,
    config: &[(&str, &str)],
) -> Result<()> {
    let (partitions, replication_factor) = (partitions.to_string(), replication_factor.to_string());
    let command_config = command_config.map(|path| path.to_string_lossy().into_owned());
    let mut args = vec!["kafka-topics", "--bootstrap-server", bootstrap];
    if let Some(path) = &command_config {
        args.extend(["--command-config", path.as_str()]);
    }
    args.extend([
        "--create",
        "--topic",
        topic,
        "--partitions",
        &partitions,
        "--replication-factor",
        &replication_factor,
    ]);
    let settings: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for setting in &settings {
        args.extend(["--config", setting]);
    }
    match host_command::run_ok(&args, None, TOOL_TIMEOUT).await {
        // The tool's JVM starved on a busy machine (seen beside three clusters starting): once
        // more, accepting the topic the first attempt may have created.
        Err(error) if error.chain().any(|cause| cause.is::<tokio::time::error::Elapsed>()) => {
            args.push("--if-not-exists");
            host_command::run_ok(&args, None, TOOL_TIMEOUT).await.map(drop)
        }
        result => result.map(drop),
    }
}

/// The names of the topics the cluster has (kcat's metadata, internal topics included).
pub async fn topic_names(bootstrap: &str) -> Result<BTreeSet<String>> {
    let metadata = kcat::metadata(bootstrap, None).await?;
    Ok(metadata.topics.into_iter().filter(|t| t.error.is_none()).map(|t| t.topic).collect())
}

/// Waits until Kafka (kcat) lists `topic` (`present`) or no longer lists it.
pub async fn wait_topic_presence(bootstrap: &str, topic: &str, present: bool, timeout: Duration) -> Result<()> {
    let what = format!("Kafka {} topic {topic}", if present { "has" } else { "no longer has" });
    wait::eventually(&what, timeout, || async {
        let names = topic_names(bootstrap).await?;
        Ok(if names.contains(topic) == present { Check::Done(()) } else { Check::Pending(format!("topics {names:?}")) })
    })
    .await
}

/// Waits until the topic's overrides (kafka-configs) are exactly `expected`; returns them.
pub async fn wait_overrides(
    bootstrap: &str,
    topic: &str,
    expected: &[(&str, &str)],
    timeout: Duration,
) -> Result<BTreeMap<String, String>> {
    let expected: BTreeMap<String, String> = expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    wait::eventually(&format!("topic {topic} has exactly the overrides {expected:?}"), timeout, || async {
        let actual = overrides(bootstrap, topic).await?;
        Ok(if actual == expected { Check::Done(actual) } else { Check::Pending(format!("overrides {actual:?}")) })
    })
    .await
}

// --- The controller's metrics ------------------------------------------------------------------

/// The address the controller's /metrics server bound (it is started on port 0), from the
/// `serving /metrics` line of its log.
pub async fn metrics_address(log: &Path, timeout: Duration) -> Result<String> {
    wait::eventually("the controller logs its /metrics address", timeout, || async {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        Ok(match parse_metrics_address(&text) {
            Some(address) => Check::Done(address),
            None => Check::Pending(text.lines().rev().take(20).collect::<Vec<_>>().join("\n")),
        })
    })
    .await
}

/// `... serving /metrics, /healthz and /readyz address=127.0.0.1:41235` (colours stripped).
pub fn parse_metrics_address(log: &str) -> Option<String> {
    let line = log.lines().map(strip_ansi).find(|line| line.contains("serving /metrics"))?;
    let address = line.split("address=").nth(1)?.split_whitespace().next()?;
    Some(address.to_owned())
}

fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters... final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// One sample of a text exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of one /metrics scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub samples: Vec<Sample>,
}

/// The topic controller's API writes, counted by its client: `kind` the resource
/// (`kafkatopics` for finalizers, `kafkatopics/status`, `events`), `verb` create, update,
/// patch, apply or delete.
pub const WRITES: &str = "koperator_topic_controller_writes_total";
/// The topic controller's Kafka requests (`operation`, `validate_only`).
pub const KAFKA_REQUESTS: &str = "koperator_topic_controller_kafka_requests_total";
/// The Kafka operations that change something (the others only read).
pub const KAFKA_WRITE_OPERATIONS: [&str; 4] =
    ["CreateTopics", "CreatePartitions", "IncrementalAlterConfigs", "DeleteTopics"];

impl Metrics {
    /// The sum of `name` over the samples whose labels include every pair of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    pub fn matching<'a>(&'a self, name: &'a str, labels: &'a [(&str, &str)]) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| {
            s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// Kafka requests of the operations that change something, validate-only ones included.
    pub fn kafka_writes(&self) -> f64 {
        KAFKA_WRITE_OPERATIONS.iter().map(|op| self.sum(KAFKA_REQUESTS, &[("operation", op)])).sum()
    }

    /// Every sample of `name` with a value different in `later`, as `labels: before -> after`.
    pub fn changes(&self, later: &Metrics, name: &str) -> Vec<String> {
        let mut keys: BTreeSet<&BTreeMap<String, String>> = BTreeSet::new();
        keys.extend(self.matching(name, &[]).map(|s| &s.labels));
        keys.extend(later.matching(name, &[]).map(|s| &s.labels));
        let value = |metrics: &Metrics, labels: &BTreeMap<String, String>| {
            metrics.matching(name, &[]).find(|s| &s.labels == labels).map_or(0.0, |s| s.value)
        };
        keys.into_iter()
            .filter(|labels| value(self, labels) != value(later, labels))
            .map(|labels| format!("{labels:?}: {} -> {}", value(self, labels), value(later, labels)))
            .collect()
    }
}

/// GET /metrics of the controller at `address`.
pub async fn scrape(address: &str) -> Result<Metrics> {
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", &format!("http://{address}/metrics")])
        .output()
        .await
        .context("failed to run curl")?;
    if !output.status.success() {
        bail!("curl http://{address}/metrics failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_metrics(&String::from_utf8_lossy(&output.stdout))
}

/// A Prometheus/OpenMetrics text exposition: `name{a="x",b="y"} value` lines.
pub fn parse_metrics(text: &str) -> Result<Metrics> {
    let mut samples = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, rest) = match line.find('{') {
            Some(_) => {
                let close = line.rfind('}').with_context(|| format!("unbalanced braces in {line:?}"))?;
                (&line[..close + 1], &line[close + 1..])
            }
            None => line.split_once(' ').with_context(|| format!("no value in {line:?}"))?,
        };
        let value = rest.split_whitespace().next().with_context(|| format!("no value in {line:?}"))?;
        let value: f64 = value.parse().with_context(|| format!("value of {line:?}"))?;
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))?),
            None => (series, BTreeMap::new()),
        };
        samples.push(Sample { name: name.to_owned(), labels, value });
    }
    Ok(Metrics { samples })
}

fn parse_labels(text: &str) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").with_context(|| format!("bad labels {text:?}"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = Some(index);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.with_context(|| format!("unterminated label value in {text:?}"))?;
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    Ok(labels)
}

/// Deletes every KafkaTopic the test made and waits until they are gone (the controller removes
/// their topics and finalizers), then deletes the KafkaCluster, whose own KafkaTopic (Cruise
/// Control's metrics topic) the garbage collector takes along and the topic controller lets go
/// of (the cluster is gone). Whatever is left after that loses its finalizers, so that the
/// namespace can go.
pub async fn remove_all(ns: &TestNamespace, cluster: &str) -> Result<()> {
    let api = api(ns);
    let owned_by_cluster =
        |topic: &KafkaTopic| topic.owner_references().iter().any(|owner| owner.kind == "KafkaCluster");
    for topic in api.list(&ListParams::default()).await?.items.iter().filter(|t| !owned_by_cluster(t)) {
        api.delete(&topic.name_any(), &DeleteParams::default()).await?;
    }
    let left = |of_the_test_only: bool| {
        let api = api.clone();
        async move {
            let topics = api.list(&ListParams::default()).await?.items;
            let left: Vec<String> =
                topics.iter().filter(|t| !of_the_test_only || !owned_by_cluster(t)).map(|t| t.name_any()).collect();
            anyhow::Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("left: {left:?}")) })
        }
    };
    let mut gone =
        wait::eventually("every KafkaTopic of the test is deleted", Duration::from_secs(60), || left(true)).await;
    if gone.is_ok() {
        crate::kafka_cluster::api(ns).delete(cluster, &DeleteParams::default()).await?;
        gone =
            wait::eventually("the cluster's KafkaTopic goes with the cluster", Duration::from_secs(90), || left(false))
                .await;
    }
    if gone.is_err() {
        for topic in api.list(&ListParams::default()).await?.items {
            let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
            api.patch(&topic.name_any(), &PatchParams::default(), &patch).await?;
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_reads_the_summary_line_of_the_named_topic() -> Result<()> {
        let output = "Topic: my-topic\tTopicId: 9nQ\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=1\n\
                      \tTopic: my-topic\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A\n";
        assert_eq!(
            parse_describe(output, "my-topic")?,
            Some(TopicDescription { partitions: 3, replication_factor: 1 })
        );
        assert_eq!(parse_describe(output, "my")?, None);
        assert_eq!(parse_describe("", "my-topic")?, None);
        Ok(())
    }

    #[test]
    fn overrides_are_the_dynamic_topic_configs() -> Result<()> {
        let output = "Dynamic configs for topic my-topic are:\n  \
                      cleanup.policy=delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=delete, \
                      DEFAULT_CONFIG:log.cleanup.policy=delete}\n  \
                      retention.ms=604800000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=604800000}\n";
        let overrides = parse_overrides(output)?;
        assert_eq!(overrides.len(), 2);
        assert_eq!(overrides["cleanup.policy"], "delete");
        assert_eq!(overrides["retention.ms"], "604800000");
        assert!(parse_overrides("Dynamic configs for topic t are:\n")?.is_empty());
        assert!(parse_overrides("Error while executing config command").is_err());
        Ok(())
    }

    #[test]
    fn metrics_address_is_read_from_a_coloured_log() {
        let log = "\u{1b}[2m2026-11-22T05:51:38Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m serving /metrics, /healthz and \
                   /readyz \u{1b}[3maddress\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:36715\n";
        assert_eq!(parse_metrics_address(log).as_deref(), Some("127.0.0.1:36715"));
        assert_eq!(parse_metrics_address("nothing yet"), None);
    }

    #[test]
    fn metrics_are_parsed_and_compared() -> Result<()> {
        let before = parse_metrics(
            "# TYPE koperator_topic_controller_writes counter\n\
             koperator_topic_controller_writes_total{kind=\"kafkatopics/status\",verb=\"apply\"} 3\n\
             koperator_topic_controller_kafka_requests_total{operation=\"Metadata\",validate_only=\"false\"} 7\n\
             koperator_topic_controller_kafka_requests_total{operation=\"CreateTopics\",validate_only=\"false\"} 2\n\
             koperator_up 1\n# EOF\n",
        )?;
        assert_eq!(before.sum(WRITES, &[]), 3.0);
        assert_eq!(before.sum(KAFKA_REQUESTS, &[("operation", "Metadata")]), 7.0);
        assert_eq!(before.kafka_writes(), 2.0);
        assert_eq!(before.sum("koperator_up", &[]), 1.0);
        let after = parse_metrics(
            "koperator_topic_controller_writes_total{kind=\"kafkatopics/status\",verb=\"apply\"} 3\n\
             koperator_topic_controller_writes_total{kind=\"events\",verb=\"create\"} 1\n",
        )?;
        let changes = before.changes(&after, WRITES);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].contains("events") && changes[0].contains("0 -> 1"), "{changes:?}");
        Ok(())
    }

    #[test]
    fn label_values_may_hold_commas_and_escaped_quotes() -> Result<()> {
        let metrics = parse_metrics("m{a=\"x,y\",b=\"say \\\"hi\\\"\"} 2.5\n")?;
        assert_eq!(metrics.samples[0].labels["a"], "x,y");
        assert_eq!(metrics.samples[0].labels["b"], "say \"hi\"");
        assert_eq!(metrics.samples[0].value, 2.5);
        Ok(())
    }

    #[test]
    fn manifests_name_the_cluster_kafka() {
        let mut topic = manifest("orders-a", "orders", 3, 1, &[("retention.ms", "1000")]);
        annotate(&mut topic, MANAGED_BY_ANNOTATION, "koperator");
        assert_eq!(topic["spec"]["clusterRef"]["name"], "kafka");
        assert_eq!(topic["spec"]["config"]["retention.ms"], "1000");
        assert_eq!(topic["metadata"]["annotations"]["managedBy"], "koperator");
        assert!(manifest("t", "t", 1, 1, &[])["spec"].get("config").is_none());
    }
}
