//! Sets, describes and deletes users' SCRAM credentials on a real cluster over `WireAdmin`
//! (Kafka's protocol, no librdkafka), printing each answer: a manual check of the wire
//! requests against `kafka-configs.sh --describe --entity-type users`.
//!
//! Usage: `wire-scram <bootstrap> [keep | cleanup]`. Upserts SCRAM-SHA-256 and SCRAM-SHA-512
//! credentials for `wire-scram-alice` (one call each) and SCRAM-SHA-512 for `wire-scram-bob`
//! (with alice's first), describes them
//! and a user without any, deletes alice's SCRAM-SHA-256 one (twice: the second time Kafka has
//! none to delete), describes again, and deletes what is left unless `keep`. `cleanup` only
//! deletes.

use std::time::Duration;

use anyhow::{Result, bail};
use kafka_admin::{ConnectionSettings, RequestCounter, ScramAlteration, ScramMechanism, WireAdmin};

const ALICE: &str = "wire-scram-alice";
const BOB: &str = "wire-scram-bob";
const NOBODY: &str = "wire-scram-nobody";
/// Throwaway passwords, known so that the stored credential can be checked independently.
const PASSWORD: &str = "wire-scram-pencil";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bootstrap, mode) = match args.as_slice() {
        [bootstrap] => (bootstrap, None),
        [bootstrap, mode] if mode == "keep" || mode == "cleanup" => (bootstrap, Some(mode.as_str())),
        _ => bail!("usage: wire-scram <bootstrap> [keep | cleanup]"),
    };
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "wire-scram".into(),
        request_timeout: Duration::from_secs(30),
        tls: None,
    };
    let admin = WireAdmin::connect(&settings, RequestCounter::default())?;
    if mode != Some("cleanup") {
        let upsert = |user: &str, mechanism, iterations| ScramAlteration::Upsert {
            user: user.into(),
            mechanism,
            iterations,
            password: PASSWORD.into(),
        };
        // Kafka (KRaft) refuses two alterations of one user in one request, even of two
        // mechanisms (`DUPLICATE_RESOURCE`, kafka-configs.sh too): alice's second is a second call.
        let first = [upsert(ALICE, ScramMechanism::Sha256, 4096), upsert(BOB, ScramMechanism::Sha512, 4096)];
        alter(&admin, "upsert", &first).await?;
        alter(&admin, "upsert", &[upsert(ALICE, ScramMechanism::Sha512, 8192)]).await?;
        describe(&admin).await?;
        let delete = ScramAlteration::Delete { user: ALICE.into(), mechanism: ScramMechanism::Sha256 };
        alter(&admin, "delete", std::slice::from_ref(&delete)).await?;
        alter(&admin, "delete again", &[delete]).await?;
        describe(&admin).await?;
    }
    if mode != Some("keep") {
        let delete = |user: &str, mechanism| ScramAlteration::Delete { user: user.into(), mechanism };
        alter(&admin, "cleanup", &[delete(ALICE, ScramMechanism::Sha512), delete(BOB, ScramMechanism::Sha512)]).await?;
        describe(&admin).await?;
    }
    Ok(())
}

async fn alter(admin: &WireAdmin, what: &str, alterations: &[ScramAlteration]) -> Result<()> {
    let outcomes = admin.alter_user_scram_credentials(alterations).await?;
    for (alteration, outcome) in alterations.iter().zip(outcomes) {
        match outcome.result {
            Ok(()) => println!("{what} {alteration:?}: ok"),
            Err(error) => println!("{what} {alteration:?}: {error}"),
        }
    }
    Ok(())
}

async fn describe(admin: &WireAdmin) -> Result<()> {
    let users = [ALICE, BOB, NOBODY].map(String::from);
    for described in admin.describe_user_scram_credentials(&users).await? {
        match described.result {
            Ok(credentials) => {
                let shown: Vec<String> = credentials
                    .iter()
                    .map(|info| format!("{} iterations={}", info.mechanism.kafka_name(), info.iterations))
                    .collect();
                println!("describe {}: [{}]", described.user, shown.join(", "));
            }
            Err(error) => println!("describe {}: {error}", described.user),
        }
    }
    Ok(())
}
