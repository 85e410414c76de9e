//! Asks a real cluster about its KRaft quorum and feature levels, and changes them, through
//! `ClusterAdmin`'s quorum calls: the probe behind the quorum e2e tests and a manual check.
//!
//! Usage: `quorum-probe <bootstrap> describe | features | add <id> <directory-id> <listener>
//! <host> <port> | remove <id> <directory-id> | upgrade <feature> <level>`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kafka_admin::{ClusterAdmin, ConnectionSettings, DirectoryId, RequestCounter, VoterEndpoint};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, command, rest @ ..] = args.as_slice() else {
        bail!("usage: quorum-probe <bootstrap> describe|features|add|remove|upgrade ...");
    };
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "quorum-probe".into(),
        request_timeout: Duration::from_secs(30),
        tls: None,
    };
    let admin = ClusterAdmin::connect(&settings, RequestCounter::default())?;
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
        _ => bail!("unknown command or arguments: {command} {rest:?}"),
    }
    Ok(())
}
