//! Asks a real cluster what the cluster controller asks, over `WireAdmin` (Kafka's protocol, no
//! librdkafka): its KRaft quorum and feature levels, and changes them; replica health; one
//! broker's configuration, and changes it. The probe behind the quorum e2e tests and a manual
//! check of the wire requests.
//!
//! Usage: `quorum-probe <bootstrap> describe | features | add <id> <directory-id> <listener>
//! <host> <port> | remove <id> <directory-id> | upgrade <feature> <level> | health |
//! broker-configs <id> | alter-broker <id> <key>=<value>|<key>= [validate]` (an empty value
//! deletes the key).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kafka_admin::{ConnectionSettings, DirectoryId, RequestCounter, VoterEndpoint, WireAdmin};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, command, rest @ ..] = args.as_slice() else {
        bail!(
            "usage: quorum-probe <bootstrap> describe|features|add|remove|upgrade|health|broker-configs|alter-broker ..."
        );
    };
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "quorum-probe".into(),
        request_timeout: Duration::from_secs(30),
        tls: None,
    };
    let admin = WireAdmin::connect(&settings, RequestCounter::default())?;
    let directory = |text: &str| DirectoryId::parse(text).with_context(|| format!("{text} is no directory id"));
    match (command.as_str(), rest) {
        ("describe", []) => {
            let quorum = admin.describe_quorum().await?;
            println!(
                "leader {:?} epoch {} high watermark {}",
                quorum.leader_id, quorum.leader_epoch, quorum.high_watermark
            );
            for (role, replicas) in [("voter", &quorum.voters), ("observer", &quorum.observers)] {
                for replica in replicas {
                    println!(
                        "{role} {} directory {} log end {} lag {:?}",
                        replica.id,
                        replica.directory_id,
                        replica.log_end_offset,
                        quorum.lag_of(replica.id)
                    );
                }
            }
            for (id, endpoints) in &quorum.endpoints {
                println!("endpoints {id}: {endpoints:?}");
            }
        }
        ("features", []) => {
            let levels = admin.feature_levels().await?;
            for (name, range) in &levels.supported {
                println!("supported {name} {}..={}", range.min, range.max);
            }
            for (name, level) in &levels.finalized {
                println!("finalized {name} {level}");
            }
        }
        ("add", [id, dir, listener, host, port]) => {
            let endpoint = VoterEndpoint { listener: listener.clone(), host: host.clone(), port: port.parse()? };
            admin.add_raft_voter(id.parse()?, directory(dir)?, &[endpoint], Duration::from_secs(30)).await?;
            println!("added voter {id}");
        }
        ("remove", [id, dir]) => {
            admin.remove_raft_voter(id.parse()?, directory(dir)?).await?;
            println!("removed voter {id}");
        }
        ("upgrade", [feature, level]) => {
            admin.upgrade_feature(feature, level.parse()?).await?;
            println!("{feature} finalized at {level}");
        }
        ("health", []) => {
            let health = admin.replica_health().await?;
            println!("brokers {:?}", health.broker_ids);
            println!("offline {:?}", health.offline_partitions);
            println!("out of sync {:?}", health.out_of_sync);
            println!("partitions with several replicas {}", health.replica_sets.len());
        }
        ("broker-configs", [id]) => {
            let configs = admin.broker_configs(id.parse()?).await??;
            for (name, value) in &configs.dynamic {
                println!("dynamic {name}={}", value.as_deref().unwrap_or("(sensitive)"));
            }
            println!("read-only {}", configs.read_only.len());
        }
        ("alter-broker", [id, change, mode @ ..]) => {
            let (key, value) = change.split_once('=').context("a change is <key>=<value>")?;
            let validate_only = matches!(mode, [flag] if flag == "validate");
            let (set, delete) = if value.is_empty() {
                (Default::default(), vec![key.to_owned()])
            } else {
                (std::collections::BTreeMap::from([(key.to_owned(), value.to_owned())]), Vec::new())
            };
            admin.alter_broker_configs(id.parse()?, &set, &delete, validate_only).await??;
            println!("broker {id}: {change} {}", if validate_only { "valid" } else { "applied" });
        }
        _ => bail!("unknown command or arguments: {command} {rest:?}"),
    }
    Ok(())
}
