//! Talking to Kafka with kcat through `e2e/testbed exec`: cluster metadata, producing numbered
//! messages with acks=all, consuming a topic from the beginning. Each has a `_with` form that
//! passes librdkafka settings (`-X key=value`), for a listener with TLS (`crate::pki`).

use std::ops::Range;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::host_command::{self, Via};
use crate::message_accounting::{self, Accounting};

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);
const PRODUCE_TIMEOUT: Duration = Duration::from_secs(90);
const CONSUME_TIMEOUT: Duration = Duration::from_secs(90);
/// How long [`metadata`] keeps retrying a bootstrap address that does not answer yet.
const BOOTSTRAP_RETRY_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub brokers: Vec<Broker>,
    #[serde(default)]
    pub topics: Vec<Topic>,
}

#[derive(Debug, Deserialize)]
pub struct Broker {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Topic {
    pub topic: String,
    #[serde(default)]
    pub partitions: Vec<Partition>,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Partition {
    pub partition: i32,
    pub leader: i32,
    #[serde(default)]
    pub replicas: Vec<ReplicaId>,
    #[serde(default)]
    pub isrs: Vec<ReplicaId>,
}

#[derive(Debug, Deserialize)]
pub struct ReplicaId {
    pub id: i32,
}

impl Metadata {
    pub fn broker_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.brokers.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        ids
    }

    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.topic == name)
    }
}

/// `kcat -L`: the brokers and topics the cluster reports (optionally only `topic`).
pub async fn metadata(bootstrap: &str, topic: Option<&str>) -> Result<Metadata> {
    metadata_with(bootstrap, topic, &[]).await
}

/// [`metadata`] with librdkafka `settings` (`key=value`).
pub async fn metadata_with(bootstrap: &str, topic: Option<&str>, settings: &[String]) -> Result<Metadata> {
    metadata_via(Via::TestBed, bootstrap, topic, settings).await
}

/// [`metadata`], where `via` says (e.g. a client on the host with its own names).
pub async fn metadata_via(via: Via<'_>, bootstrap: &str, topic: Option<&str>, settings: &[String]) -> Result<Metadata> {
    let mut args = vec!["kcat", "-L", "-J", "-b", bootstrap, "-m", "10"];
    if let Some(topic) = topic {
        args.extend(["-t", topic]);
    }
    add_settings(&mut args, settings);
    let started = tokio::time::Instant::now();
    let stdout = loop {
        match host_command::run_ok_via(via, &args, None, METADATA_TIMEOUT).await {
            Ok(stdout) => break stdout,
            // A Service routes to a pod once kube-proxy has caught up with its endpoints, which
            // under load lags the pod's readiness (and so ClusterRunning) by seconds; a client
            // retries its bootstrap, so kcat does too, for a bounded time.
            Err(error) if unreachable(&error) && started.elapsed() < BOOTSTRAP_RETRY_FOR => {
                eprintln!(
                    "kcat: {bootstrap} not reachable yet ({:?} after the first try); retrying",
                    started.elapsed()
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) => return Err(error),
        }
    };
    serde_json::from_str(&stdout).with_context(|| format!("unexpected kcat -L output: {stdout}"))
}

/// kcat found no broker it could talk to (connection refused or unroutable), as opposed to an
/// answer it did not expect.
fn unreachable(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("Failed to acquire metadata: Local: Broker transport failure")
}

/// Waits until every broker `bootstrap` names reports `topic` with `partitions` partitions, each
/// with a leader. A topic is created once the controller wrote it; brokers learn of it a moment
/// later, and a producer asking a broker that has not yet drops the partitions it had.
pub async fn wait_known_to_every_broker(
    bootstrap: &str,
    topic: &str,
    partitions: usize,
    settings: &[String],
    timeout: Duration,
) -> Result<()> {
    crate::wait::eventually(&format!("every broker knows {topic}"), timeout, || async {
        let brokers = metadata_with(bootstrap, None, settings).await?.brokers;
        let mut unaware = Vec::new();
        for broker in &brokers {
            let seen = metadata_with(&broker.name, Some(topic), settings).await?;
            let ready = seen.topic(topic).is_some_and(|t| {
                t.error.is_none() && t.partitions.len() == partitions && t.partitions.iter().all(|p| p.leader >= 0)
            });
            if !ready {
                unaware.push(broker.id);
            }
        }
        Ok(if unaware.is_empty() && !brokers.is_empty() {
            crate::wait::Check::Done(())
        } else {
            crate::wait::Check::Pending(format!("brokers {unaware:?} of {} do not know it yet", brokers.len()))
        })
    })
    .await
}

/// Produces messages `numbers` to `topic` with acks=all and idempotence; fails if kcat
/// reports any message undelivered.
pub async fn produce_numbered(bootstrap: &str, topic: &str, numbers: Range<u32>) -> Result<()> {
    produce_numbered_with(bootstrap, topic, numbers, &[]).await
}

/// [`produce_numbered`] with librdkafka `settings` (`key=value`).
pub async fn produce_numbered_with(
    bootstrap: &str,
    topic: &str,
    numbers: Range<u32>,
    settings: &[String],
) -> Result<()> {
    produce_via(Via::TestBed, bootstrap, topic, numbers, settings).await
}

/// [`produce_numbered_with`], where `via` says (e.g. a client on the host with its own names).
pub async fn produce_via(
    via: Via<'_>,
    bootstrap: &str,
    topic: &str,
    numbers: Range<u32>,
    settings: &[String],
) -> Result<()> {
    let input = message_accounting::lines(numbers.clone());
    let mut args = vec![
        "kcat",
        "-P",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-X",
        "acks=all",
        "-X",
        "enable.idempotence=true",
        "-X",
        "message.timeout.ms=60000",
    ];
    add_settings(&mut args, settings);
    let output = host_command::run_via(via, &args, Some(input.as_bytes()), PRODUCE_TIMEOUT).await?;
    // kcat logs each failed delivery ("Delivery failed for message: ...") and exits non-zero.
    if !output.success || output.stderr.contains("Delivery failed") {
        bail!("producing messages {numbers:?} to {topic} failed ({:?}):\n{}", output.code, output.stderr);
    }
    Ok(())
}

/// Every payload of `topic`, from the beginning of each partition to its end.
pub async fn consume_all(bootstrap: &str, topic: &str) -> Result<Vec<String>> {
    consume_all_with(bootstrap, topic, &[]).await
}

/// [`consume_all`] with librdkafka `settings` (`key=value`).
pub async fn consume_all_with(bootstrap: &str, topic: &str, settings: &[String]) -> Result<Vec<String>> {
    consume_via(Via::TestBed, bootstrap, topic, settings).await
}

/// [`consume_all_with`], where `via` says (e.g. a client on the host with its own names).
pub async fn consume_via(via: Via<'_>, bootstrap: &str, topic: &str, settings: &[String]) -> Result<Vec<String>> {
    let mut args = vec!["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n"];
    add_settings(&mut args, settings);
    let stdout = host_command::run_ok_via(via, &args, None, CONSUME_TIMEOUT).await?;
    Ok(stdout.lines().map(str::to_string).collect())
}

/// Consumes `topic` and fails unless it holds exactly the messages `numbers`, once each.
pub async fn expect_exactly(bootstrap: &str, topic: &str, numbers: Range<u32>) -> Result<Accounting> {
    expect_exactly_with(bootstrap, topic, numbers, &[]).await
}

/// [`expect_exactly`] with librdkafka `settings` (`key=value`).
pub async fn expect_exactly_with(
    bootstrap: &str,
    topic: &str,
    numbers: Range<u32>,
    settings: &[String],
) -> Result<Accounting> {
    expect_via(Via::TestBed, bootstrap, topic, numbers, settings).await
}

/// [`expect_exactly_with`], where `via` says (e.g. a client on the host with its own names).
pub async fn expect_via(
    via: Via<'_>,
    bootstrap: &str,
    topic: &str,
    numbers: Range<u32>,
    settings: &[String],
) -> Result<Accounting> {
    let received = consume_via(via, bootstrap, topic, settings).await?;
    let accounting = Accounting::of(numbers, &received);
    if !accounting.is_exact() {
        bail!("topic {topic}: {accounting}");
    }
    Ok(accounting)
}

/// `-X key=value` for each setting.
fn add_settings<'a>(args: &mut Vec<&'a str>, settings: &'a [String]) {
    for setting in settings {
        args.extend(["-X", setting.as_str()]);
    }
}

/// kcat as a client outside the cluster runs it: on the host, without `e2e/testbed exec`, so
/// with the host's DNS and only the addresses the cluster advertises to the outside.
pub mod from_host {
    use super::*;

    /// [`super::metadata`] from the host.
    pub async fn metadata(bootstrap: &str) -> Result<Metadata> {
        metadata_via(Via::Host, bootstrap, None, &[]).await
    }

    /// [`super::produce_numbered`] from the host.
    pub async fn produce_numbered(bootstrap: &str, topic: &str, numbers: Range<u32>) -> Result<()> {
        produce_via(Via::Host, bootstrap, topic, numbers, &[]).await
    }

    /// [`super::expect_exactly`] from the host.
    pub async fn expect_exactly(bootstrap: &str, topic: &str, numbers: Range<u32>) -> Result<Accounting> {
        expect_via(Via::Host, bootstrap, topic, numbers, &[]).await
    }

    /// [`metadata`] with librdkafka `settings` (`key=value`), e.g. TLS.
    pub async fn metadata_with(bootstrap: &str, settings: &[String]) -> Result<Metadata> {
        metadata_via(Via::Host, bootstrap, None, settings).await
    }

    /// [`produce_numbered`] with librdkafka `settings`.
    pub async fn produce_numbered_with(
        bootstrap: &str,
        topic: &str,
        numbers: Range<u32>,
        settings: &[String],
    ) -> Result<()> {
        produce_via(Via::Host, bootstrap, topic, numbers, settings).await
    }

    /// [`expect_exactly`] with librdkafka `settings`.
    pub async fn expect_exactly_with(
        bootstrap: &str,
        topic: &str,
        numbers: Range<u32>,
        settings: &[String],
    ) -> Result<Accounting> {
        expect_via(Via::Host, bootstrap, topic, numbers, settings).await
    }
}
