//! Exercises every topic call of `WireAdmin` (Kafka's protocol, no librdkafka) against a real
//! cluster, prints each answer and checks it: creating topics (with overrides, validate-only,
//! one that exists, one the cluster has too few brokers for), growing them (and an invalid
//! shrink), describing and altering their overrides, Metadata, and deleting them.
//!
//! Usage: `wire-topics <bootstrap> [all|keep|cleanup]`. `keep` stops before deleting the
//! topics, so that `kafka-topics.sh --describe` and `kafka-configs.sh --describe` can be
//! compared with what was printed; `cleanup` only deletes them. Topics are named `wire-topics-*`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kafka_admin::{
    BROKER_DEFAULT, ClusterMetadata, ConnectionSettings, ErrorCode, NewTopicSpec, PartitionGrowth, RequestCounter,
    TopicConfigChange, TopicOutcome, WireAdmin,
};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

const DEFAULTS: &str = "wire-topics-defaults";
const CONFIGURED: &str = "wire-topics-configured";
const BAD_CONFIG: &str = "wire-topics-bad-config";
const TOO_MANY_REPLICAS: &str = "wire-topics-three-replicas";
const VALIDATED: &str = "wire-topics-validate-only";
const MISSING: &str = "wire-topics-missing";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args.get(1).context("usage: wire-topics <bootstrap> [all|keep|cleanup]")?;
    let mode = args.get(2).map_or("all", String::as_str);
    let requests = RequestCounter::default();
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "wire-topics".into(),
        request_timeout: Duration::from_secs(10),
        tls: None,
    };
    let admin = WireAdmin::connect(&settings, requests.clone())?;

    if mode != "cleanup" {
        exercise(&admin).await?;
    }
    if mode != "keep" {
        let names = [DEFAULTS, CONFIGURED, MISSING].map(String::from);
        let outcomes = admin.delete_topics(&names).await?;
        show("delete_topics", &outcomes);
        expect_ok(&outcomes[..2])?;
        expect_code(&outcomes[2], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let gone = |metadata: &ClusterMetadata| !metadata.topics.keys().any(|name| name.starts_with("wire-topics-"));
        let metadata = settled(&admin, gone).await?;
        ensure!(gone(&metadata), "not deleted: {:?}", metadata.topics.keys().collect::<Vec<_>>());
        println!("deleted: no wire-topics-* topic left");
    }

    let mut registry = Registry::default();
    registry.register("kafka_admin_requests", "Requests sent to Kafka", requests);
    let mut text = String::new();
    encode(&mut text, &registry)?;
    println!("\n{}", text.lines().filter(|line| line.contains("_total{")).collect::<Vec<_>>().join("\n"));
    println!("all checks passed");
    Ok(())
}

async fn exercise(admin: &WireAdmin) -> Result<()> {
    let metadata = admin.cluster_metadata().await?;
    println!(
        "cluster_metadata: brokers {:?}, {} topics (internal ones left out)",
        metadata.broker_ids,
        metadata.topics.len()
    );
    ensure!(!metadata.topics.keys().any(|name| name.starts_with("__")), "internal topics listed");

    // Created, refused by Kafka (unknown config, too few brokers), and a repeat answered locally.
    let topics = vec![
        topic(DEFAULTS, BROKER_DEFAULT, BROKER_DEFAULT, &[]),
        topic(CONFIGURED, 3, 1, &[("retention.ms", "3600000"), ("cleanup.policy", "compact")]),
        topic(BAD_CONFIG, 1, 1, &[("foo.bar", "1")]),
        topic(TOO_MANY_REPLICAS, 1, 3, &[]),
        topic(CONFIGURED, 1, 1, &[]),
    ];
    let outcomes = admin.create_topics(&topics, false).await?;
    show("create_topics", &outcomes);
    expect_ok(&outcomes[..2])?;
    expect_code(&outcomes[2], ErrorCode::INVALID_CONFIG)?;
    expect_code(&outcomes[3], ErrorCode::INVALID_REPLICATION_FACTOR)?;
    expect_code(&outcomes[4], ErrorCode::INVALID_REQUEST)?;

    let outcomes = admin.create_topics(&[topic(VALIDATED, 2, 1, &[("retention.ms", "1000")])], true).await?;
    show("create_topics (validate_only)", &outcomes);
    expect_ok(&outcomes)?;

    let outcomes = admin.create_topics(&[topic(DEFAULTS, 1, 1, &[])], false).await?;
    show("create_topics (again)", &outcomes);
    expect_code(&outcomes[0], ErrorCode::TOPIC_ALREADY_EXISTS)?;

    let created = |metadata: &ClusterMetadata| {
        [DEFAULTS, CONFIGURED].iter().all(|name| metadata.topics.get(*name).is_some_and(|t| t.error.is_none()))
    };
    let metadata = settled(admin, created).await?;
    show_topics(&metadata);
    ensure!(!metadata.topics.contains_key(VALIDATED), "validate_only created the topic");
    ensure!(
        !metadata.topics.contains_key(BAD_CONFIG) && !metadata.topics.contains_key(TOO_MANY_REPLICAS),
        "refused topics exist"
    );
    let configured = &metadata.topics[CONFIGURED];
    ensure!((configured.partitions, configured.replication_factor) == (3, 1), "{configured:?}");
    let defaults = &metadata.topics[DEFAULTS];
    ensure!((defaults.partitions, defaults.replication_factor) == (1, 1), "broker defaults: {defaults:?}");

    let growth = |name: &str, total_partitions| PartitionGrowth { name: name.into(), total_partitions };
    let outcomes = admin.create_partitions(&[growth(CONFIGURED, 6)], true).await?;
    show("create_partitions (validate_only)", &outcomes);
    expect_ok(&outcomes)?;
    let outcomes =
        admin.create_partitions(&[growth(CONFIGURED, 6), growth(DEFAULTS, 0), growth(MISSING, 2)], false).await?;
    show("create_partitions", &outcomes);
    expect_ok(&outcomes[..1])?;
    expect_code(&outcomes[1], ErrorCode::INVALID_PARTITIONS)?;
    expect_code(&outcomes[2], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
    let outcomes = admin.create_partitions(&[growth(CONFIGURED, 2)], false).await?;
    show("create_partitions (shrink)", &outcomes);
    expect_code(&outcomes[0], ErrorCode::INVALID_PARTITIONS)?;
    let grown = |metadata: &ClusterMetadata| metadata.topics.get(CONFIGURED).is_some_and(|t| t.partitions == 6);
    ensure!(grown(&settled(admin, grown).await?), "not grown to 6 partitions");

    let names = [CONFIGURED, DEFAULTS, MISSING].map(String::from);
    let overrides = admin.topic_overrides(&names).await?;
    println!("topic_overrides: {overrides:#?}");
    let expected = BTreeMap::from([("cleanup.policy", "compact"), ("retention.ms", "3600000")]);
    ensure!(overrides[CONFIGURED].as_ref().is_ok_and(|o| same(o, &expected)), "overrides of {CONFIGURED}");
    ensure!(overrides[DEFAULTS].as_ref().is_ok_and(BTreeMap::is_empty), "overrides of {DEFAULTS}");
    let missing = overrides[MISSING].as_ref().map_err(|e| e.code);
    ensure!(missing == Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "{missing:?}");

    let validate = [change(DEFAULTS, &[("retention.ms", "1000")], &[])];
    let outcomes = admin.alter_topic_configs(&validate, true).await?;
    show("alter_topic_configs (validate_only)", &outcomes);
    expect_ok(&outcomes)?;
    let changes = [
        change(CONFIGURED, &[("retention.ms", "7200000"), ("segment.ms", "600000")], &["cleanup.policy"]),
        change(DEFAULTS, &[("foo.bar", "1")], &[]),
        change(MISSING, &[("retention.ms", "1000")], &[]),
    ];
    let outcomes = admin.alter_topic_configs(&changes, false).await?;
    show("alter_topic_configs", &outcomes);
    expect_ok(&outcomes[..1])?;
    expect_code(&outcomes[1], ErrorCode::INVALID_CONFIG)?;
    expect_code(&outcomes[2], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;

    let overrides = admin.topic_overrides(&names[..2]).await?;
    println!("topic_overrides (after the change): {overrides:#?}");
    let expected = BTreeMap::from([("retention.ms", "7200000"), ("segment.ms", "600000")]);
    ensure!(overrides[CONFIGURED].as_ref().is_ok_and(|o| same(o, &expected)), "overrides of {CONFIGURED}");
    ensure!(overrides[DEFAULTS].as_ref().is_ok_and(BTreeMap::is_empty), "validate_only changed {DEFAULTS}");

    let metadata = admin.cluster_metadata().await?;
    show_topics(&metadata);
    Ok(())
}

/// Metadata until `done` holds (new topics take a moment to get leaders), or 30 s.
async fn settled(admin: &WireAdmin, done: impl Fn(&ClusterMetadata) -> bool) -> Result<ClusterMetadata> {
    let start = Instant::now();
    loop {
        let metadata = admin.cluster_metadata().await?;
        if done(&metadata) || start.elapsed() > Duration::from_secs(30) {
            return Ok(metadata);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn topic(name: &str, partitions: i32, replication_factor: i32, config: &[(&str, &str)]) -> NewTopicSpec {
    let config = config.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
    NewTopicSpec { name: name.into(), partitions, replication_factor, config }
}

fn change(name: &str, set: &[(&str, &str)], delete: &[&str]) -> TopicConfigChange {
    TopicConfigChange {
        name: name.into(),
        set: set.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect(),
        delete: delete.iter().map(|key| (*key).to_owned()).collect(),
    }
}

fn same(actual: &BTreeMap<String, String>, expected: &BTreeMap<&str, &str>) -> bool {
    actual.len() == expected.len()
        && actual.iter().all(|(key, value)| expected.get(key.as_str()) == Some(&value.as_str()))
}

fn show(call: &str, outcomes: &[TopicOutcome]) {
    println!("{call}:");
    for outcome in outcomes {
        match &outcome.result {
            Ok(()) => println!("  {}: ok", outcome.topic),
            Err(error) => println!("  {}: {error}", outcome.topic),
        }
    }
}

fn show_topics(metadata: &ClusterMetadata) {
    println!("cluster_metadata: brokers {:?}", metadata.broker_ids);
    for (name, topic) in metadata.topics.iter().filter(|(name, _)| name.starts_with("wire-topics-")) {
        let error = topic.error.as_ref().map(ToString::to_string).unwrap_or_default();
        println!("  {name}: {} partitions, replication factor {} {error}", topic.partitions, topic.replication_factor);
    }
}

fn expect_ok(outcomes: &[TopicOutcome]) -> Result<()> {
    for outcome in outcomes {
        ensure!(outcome.result.is_ok(), "{}: {:?}", outcome.topic, outcome.result);
    }
    Ok(())
}

fn expect_code(outcome: &TopicOutcome, code: ErrorCode) -> Result<()> {
    let actual = outcome.result.as_ref().map_err(|error| error.code);
    ensure!(actual == Err(code), "{}: expected {code:?}, got {:?}", outcome.topic, outcome.result);
    Ok(())
}
