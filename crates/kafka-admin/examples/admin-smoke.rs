//! Exercises every `ClusterAdmin` method against a real cluster and checks Kafka's answers.
//!
//! Usage: `admin-smoke <bootstrap> [all|keep|cleanup]` (run under `e2e/testbed exec --` so that
//! cluster DNS names resolve). `keep` stops before deleting the topics, so that Kafka's own
//! tools can inspect them; `cleanup` only deletes them. With `ADMIN_SMOKE_TLS_DIR` set, it
//! connects over TLS with the `ca.crt`, `tls.crt` and `tls.key` found there (a certificate
//! Secret's keys).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kafka_admin::{
    BROKER_DEFAULT, ClientCertificate, ClusterAdmin, ClusterMetadata, ConnectionSettings, ErrorCode, NewTopicSpec,
    PartitionGrowth, RequestCounter, TlsSettings, TopicConfigChange, TopicMetadata, TopicOutcome,
};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

const DEFAULTS: &str = "kadm-smoke-defaults";
const CONFIGURED: &str = "kadm-smoke-configured";
const BAD_CONFIG: &str = "kadm-smoke-bad-config";
const VALIDATED: &str = "kadm-smoke-validate-only";
const MISSING: &str = "kadm-smoke-missing";

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info,librdkafka=debug").init();
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args.get(1).context("usage: admin-smoke <bootstrap> [all|keep|cleanup]")?;
    let mode = args.get(2).map_or("all", String::as_str);

    let requests = RequestCounter::default();
    let before = process_status();
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "kafka-admin-smoke".into(),
        request_timeout: Duration::from_secs(10),
        tls: tls_from_env()?,
    };
    let admin = ClusterAdmin::connect(&settings, requests.clone())?;
    println!(
        "connected (lazily) to {:?}; before connect: {before}; after: {}",
        admin.wire().bootstrap_servers(),
        process_status()
    );

    if mode != "cleanup" {
        exercise(&admin).await?;
        println!("after the requests: {}", process_status());
    }
    if mode != "keep" {
        let names = [DEFAULTS, CONFIGURED, MISSING].map(String::from);
        let outcomes = timed("delete_topics", admin.delete_topics(&names)).await?;
        show(&outcomes);
        expect_ok(&outcomes[..2])?;
        expect_code(&outcomes[2], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let gone = |topics: &Topics| !topics.contains_key(DEFAULTS) && !topics.contains_key(CONFIGURED);
        let metadata = settled_metadata(&admin, gone).await?;
        ensure!(gone(&metadata.topics), "not deleted");
    }

    let mut registry = Registry::default();
    registry.register("kafka_admin_requests", "Requests sent to Kafka", requests);
    let mut text = String::new();
    encode(&mut text, &registry)?;
    println!("\n{text}");
    println!("all checks passed");
    Ok(())
}

async fn exercise(admin: &ClusterAdmin) -> Result<()> {
    let metadata = timed("cluster_metadata", admin.cluster_metadata()).await?;
    println!("brokers {:?}, {} topics (internal ones excluded)", metadata.broker_ids, metadata.topics.len());
    ensure!(!metadata.topics.keys().any(|name| name.starts_with("__")), "internal topics listed");

    let topics = vec![
        topic(DEFAULTS, BROKER_DEFAULT, BROKER_DEFAULT, &[]),
        topic(CONFIGURED, 3, 3, &[("retention.ms", "3600000"), ("cleanup.policy", "compact")]),
        topic(BAD_CONFIG, 1, 1, &[("foo.bar", "1")]),
    ];
    let outcomes = timed("create_topics", admin.create_topics(&topics, false)).await?;
    show(&outcomes);
    expect_ok(&outcomes[..2])?;
    let bad = expect_code(&outcomes[2], ErrorCode::INVALID_CONFIG)?;
    ensure!(bad.to_string().contains("foo.bar"), "the error does not name the key: {bad}");

    let again = timed("create_topics (again)", admin.create_topics(&topics[..1], false)).await?;
    show(&again);
    expect_code(&again[0], ErrorCode::TOPIC_ALREADY_EXISTS)?;

    let validate = vec![topic(VALIDATED, 2, 1, &[("retention.ms", "1000")])];
    let outcomes = timed("create_topics (validate_only)", admin.create_topics(&validate, true)).await?;
    show(&outcomes);
    expect_ok(&outcomes)?;

    // The controller has committed the topics; the broker answering Metadata learns of them
    // from the metadata log a moment later.
    let metadata =
        settled_metadata(admin, |topics| topics.contains_key(DEFAULTS) && topics.contains_key(CONFIGURED)).await?;
    for name in [DEFAULTS, CONFIGURED, BAD_CONFIG, VALIDATED] {
        println!("  {name}: {:?}", metadata.topics.get(name));
    }
    ensure!(!metadata.topics.contains_key(VALIDATED), "validate_only created the topic");
    ensure!(!metadata.topics.contains_key(BAD_CONFIG), "the topic with a bad config exists");
    let configured = metadata.topics.get(CONFIGURED).context("configured topic missing")?;
    ensure!((configured.partitions, configured.replication_factor) == (3, 3), "{configured:?}");
    let defaults = metadata.topics.get(DEFAULTS).context("defaults topic missing")?;
    println!("  broker defaults gave {} partitions x {} replicas", defaults.partitions, defaults.replication_factor);

    // Metadata came from one broker; DescribeConfigs may go to another that has not caught up.
    let names = [DEFAULTS, CONFIGURED, MISSING].map(String::from);
    let expected = config(&[("cleanup.policy", "compact"), ("retention.ms", "3600000")]);
    let read = async || Ok(admin.topic_overrides(&names).await?);
    let overrides = eventually("topic_overrides", read, |o| o[CONFIGURED].as_ref() == Ok(&expected)).await?;
    println!("  {overrides:#?}");
    ensure!(overrides[DEFAULTS].as_ref().is_ok_and(BTreeMap::is_empty), "defaults topic has overrides");
    ensure!(overrides[CONFIGURED].as_ref() == Ok(&expected), "wrong overrides");
    let missing = overrides[MISSING].as_ref().err().context("a missing topic has overrides")?;
    ensure!(missing.code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "{missing}");

    let change = TopicConfigChange {
        name: CONFIGURED.into(),
        set: config(&[("retention.ms", "7200000"), ("segment.ms", "600000")]),
        delete: vec!["cleanup.policy".into()],
    };
    let outcomes = timed("alter_topic_configs", admin.alter_topic_configs(&[change], false)).await?;
    show(&outcomes);
    expect_ok(&outcomes)?;
    // Validate only: one valid change (must not be applied), one unknown key, one missing topic.
    let validate = vec![
        TopicConfigChange { name: DEFAULTS.into(), set: config(&[("retention.ms", "1000")]), delete: vec![] },
        TopicConfigChange { name: CONFIGURED.into(), set: config(&[("foo.bar", "1")]), delete: vec![] },
        TopicConfigChange { name: MISSING.into(), set: config(&[("retention.ms", "1")]), delete: vec![] },
    ];
    let outcomes = timed("alter_topic_configs (validate_only)", admin.alter_topic_configs(&validate, true)).await?;
    show(&outcomes);
    expect_ok(&outcomes[..1])?;
    let unknown = expect_code(&outcomes[1], ErrorCode::INVALID_CONFIG)?;
    ensure!(unknown.to_string().contains("foo.bar"), "the error does not name the key: {unknown}");
    ensure!(outcomes[2].result.is_err(), "altering a missing topic worked");
    let names = [CONFIGURED, DEFAULTS].map(String::from);
    let expected = config(&[("retention.ms", "7200000"), ("segment.ms", "600000")]);
    let read = async || Ok(admin.topic_overrides(&names).await?);
    let overrides = eventually("topic_overrides", read, |o| o[CONFIGURED].as_ref() == Ok(&expected)).await?;
    ensure!(overrides[CONFIGURED].as_ref() == Ok(&expected), "overrides after alter: {overrides:?}");
    ensure!(overrides[DEFAULTS].as_ref().is_ok_and(BTreeMap::is_empty), "validate_only changed a topic: {overrides:?}");
    println!("  overrides after alter: {overrides:?}");

    let growth = |total_partitions| vec![PartitionGrowth { name: CONFIGURED.into(), total_partitions }];
    let outcomes = timed("create_partitions (validate_only)", admin.create_partitions(&growth(12), true)).await?;
    show(&outcomes);
    expect_ok(&outcomes)?;
    let outcomes = timed("create_partitions", admin.create_partitions(&growth(6), false)).await?;
    show(&outcomes);
    expect_ok(&outcomes)?;
    let outcomes = timed("create_partitions (shrink)", admin.create_partitions(&growth(2), false)).await?;
    show(&outcomes);
    expect_code(&outcomes[0], ErrorCode::INVALID_PARTITIONS)?;
    let metadata = settled_metadata(admin, |topics| topics.get(CONFIGURED).is_some_and(|t| t.partitions == 6)).await?;
    let partitions = metadata.topics.get(CONFIGURED).map(|topic| topic.partitions);
    ensure!(partitions == Some(6), "partitions after growth: {partitions:?}");
    println!("  {CONFIGURED} now has 6 partitions");
    Ok(())
}

type Topics = BTreeMap<String, TopicMetadata>;

/// Metadata once `settled` holds, or after 10 s.
async fn settled_metadata(admin: &ClusterAdmin, settled: impl Fn(&Topics) -> bool) -> Result<ClusterMetadata> {
    eventually("cluster_metadata", async || Ok(admin.cluster_metadata().await?), |m| settled(&m.topics)).await
}

/// In KRaft a write is committed by the controller and answered; the brokers, which answer
/// Metadata and DescribeConfigs, learn of it from the metadata log a moment later. So reads
/// right after a write are retried here until they show it (or 10 s passed).
async fn eventually<T>(what: &str, mut read: impl AsyncFnMut() -> Result<T>, done: impl Fn(&T) -> bool) -> Result<T> {
    let started = Instant::now();
    let mut requests = 0;
    loop {
        let answer = read().await?;
        requests += 1;
        if done(&answer) || started.elapsed() > Duration::from_secs(10) {
            println!("{what}: settled after {requests} request(s), {:?}", started.elapsed());
            return Ok(answer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn topic(name: &str, partitions: i32, replication_factor: i32, entries: &[(&str, &str)]) -> NewTopicSpec {
    NewTopicSpec { name: name.into(), partitions, replication_factor, config: config(entries) }
}

fn config(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

async fn timed<T>(what: &str, request: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let answer = request.await;
    println!("{what}: {:?}", started.elapsed());
    answer
}

fn show(outcomes: &[TopicOutcome]) {
    for outcome in outcomes {
        match &outcome.result {
            Ok(()) => println!("  {}: ok", outcome.topic),
            Err(error) => println!("  {}: {error}", outcome.topic),
        }
    }
}

fn expect_ok(outcomes: &[TopicOutcome]) -> Result<()> {
    match outcomes.iter().find(|outcome| outcome.result.is_err()) {
        Some(failed) => bail!("{} failed: {:?}", failed.topic, failed.result),
        None => Ok(()),
    }
}

fn expect_code(outcome: &TopicOutcome, code: ErrorCode) -> Result<&kafka_admin::OperationError> {
    match &outcome.result {
        Err(error) if error.code == code => Ok(error),
        other => bail!("{}: expected {code:?}, got {other:?}", outcome.topic),
    }
}

/// Resident memory and thread count of this process, from /proc.
fn process_status() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field =
        |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim).unwrap_or("?").to_owned();
    format!("VmRSS {}, threads {}", field("VmRSS:"), field("Threads:"))
}

/// TLS material from `ADMIN_SMOKE_TLS_DIR`, if set.
fn tls_from_env() -> Result<Option<TlsSettings>> {
    let Ok(dir) = std::env::var("ADMIN_SMOKE_TLS_DIR") else {
        return Ok(None);
    };
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).with_context(|| format!("{dir}/{name}"));
    Ok(Some(TlsSettings {
        ca_pem: read("ca.crt")?,
        client: Some(ClientCertificate { certificate_pem: read("tls.crt")?, private_key_pem: read("tls.key")? }),
    }))
}
