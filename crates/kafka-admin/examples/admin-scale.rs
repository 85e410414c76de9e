//! Runs every bulk `ClusterAdmin` call over many topics, to see the batching at work: request
//! counts, time, and the process's memory and threads.
//!
//! Usage: `admin-scale <bootstrap> [topics]` (default 2,000; run under `e2e/testbed exec --`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kafka_admin::{ClusterAdmin, ConnectionSettings, NewTopicSpec, RequestCounter, TopicConfigChange};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args.get(1).context("usage: admin-scale <bootstrap> [topics]")?;
    let count: usize = args.get(2).map_or(Ok(2_000), |n| n.parse())?;

    let requests = RequestCounter::default();
    println!("before connect: {}", process_status());
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "kafka-admin-scale".into(),
        request_timeout: Duration::from_secs(30),
        tls: None,
    };
    let admin = ClusterAdmin::connect(&settings, requests.clone())?;
    println!("after connect: {}", process_status());

    let names: Vec<String> = (0..count).map(|i| format!("kadm-scale-{i:05}")).collect();
    let retention = |ms: &str| BTreeMap::from([("retention.ms".to_owned(), ms.to_owned())]);
    let topics: Vec<NewTopicSpec> = names
        .iter()
        .map(|name| NewTopicSpec {
            name: name.clone(),
            partitions: 1,
            replication_factor: 1,
            config: retention("3600000"),
        })
        .collect();

    let started = Instant::now();
    let created = admin.create_topics(&topics, false).await?;
    let failed = created.iter().filter(|outcome| outcome.result.is_err()).count();
    println!("create_topics x{count}: {:?}, {failed} failed; {}", started.elapsed(), process_status());
    ensure!(created.iter().zip(&names).all(|(outcome, name)| &outcome.topic == name), "answers out of order");
    ensure!(failed == 0, "{:?}", created.iter().find(|outcome| outcome.result.is_err()));

    // The brokers learn of the new topics from the controller's metadata log a little later.
    let started = Instant::now();
    loop {
        let metadata = admin.cluster_metadata().await?;
        let ours = metadata.topics.keys().filter(|name| name.starts_with("kadm-scale-")).count();
        println!("cluster_metadata at +{:?}: {ours} of our topics listed; {}", started.elapsed(), process_status());
        if ours == count || started.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Repeated, to tell memory kept by the allocator (flat) from a leak (growing).
    for _ in 0..3 {
        let started = Instant::now();
        let overrides = admin.topic_overrides(&names).await?;
        let expected = retention("3600000");
        let matching = overrides.values().filter(|answer| answer.as_ref() == Ok(&expected)).count();
        println!("topic_overrides x{count}: {:?}, {matching} as created; {}", started.elapsed(), process_status());
    }

    let changes: Vec<TopicConfigChange> = names
        .iter()
        .map(|name| TopicConfigChange { name: name.clone(), set: retention("7200000"), delete: vec![] })
        .collect();
    let started = Instant::now();
    let altered = admin.alter_topic_configs(&changes, false).await?;
    let failed = altered.iter().filter(|outcome| outcome.result.is_err()).count();
    println!("alter_topic_configs x{count}: {:?}, {failed} failed; {}", started.elapsed(), process_status());

    let started = Instant::now();
    let deleted = admin.delete_topics(&names).await?;
    let failed = deleted.iter().filter(|outcome| outcome.result.is_err()).count();
    println!("delete_topics x{count}: {:?}, {failed} failed; {}", started.elapsed(), process_status());

    let mut registry = Registry::default();
    registry.register("kafka_admin_requests", "Requests sent to Kafka", requests);
    let mut text = String::new();
    encode(&mut text, &registry)?;
    println!("\n{text}");
    println!("threads: {}", thread_names());
    drop(admin);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    println!("1.5 s after dropping the ClusterAdmin: {}; threads: {}", process_status(), thread_names());
    Ok(())
}

/// Resident memory and thread count of this process, from /proc.
fn process_status() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field =
        |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim).unwrap_or("?").to_owned();
    format!("VmRSS {}, VmHWM {}, threads {}", field("VmRSS:"), field("VmHWM:"), field("Threads:"))
}

fn thread_names() -> String {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    names.sort();
    names.join(", ")
}
