//! Exercises `WireAdmin`'s ACL requests (Kafka's protocol, no librdkafka) against a real cluster
//! with an authorizer, checks Kafka's answers, and compares what it lists with what
//! `ClusterAdmin` (librdkafka) lists.
//!
//! Usage: `wire-acls <bootstrap> [all|keep|cleanup]`. `keep` stops before deleting, so that
//! `kafka-acls.sh --bootstrap-server <bootstrap> --list` can be compared with what it printed;
//! `cleanup` only deletes. Every binding it creates has a `User:wire-acls-*` principal.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kafka_admin::{
    ANY_HOST, AclBinding, AclBindingFilter, AclOperation, AclPatternFilter, AclPatternType, AclPermission,
    AclResourceType, ClusterAdmin, ConnectionSettings, ErrorCode, RequestCounter, WireAdmin,
};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

const ALICE: &str = "User:wire-acls-alice";
const BOB: &str = "User:wire-acls-bob";
/// Kafka cannot parse a principal without a type: it refuses this binding on its own.
const UNTYPED: &str = "wire-acls-untyped";
const ORDERS: &str = "wire-acls-orders";

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args.get(1).context("usage: wire-acls <bootstrap> [all|keep|cleanup]")?;
    let mode = args.get(2).map_or("all", String::as_str);
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "kafka-admin-wire-acls".into(),
        request_timeout: Duration::from_secs(10),
        tls: None,
    };
    let requests = RequestCounter::default();
    let admin = WireAdmin::connect(&settings, requests.clone())?;

    if mode != "cleanup" {
        create(&admin).await?;
        describe(&admin).await?;
        compare_with_librdkafka(&admin, &settings).await?;
    }
    if mode != "keep" {
        delete(&admin).await?;
    }

    let mut registry = Registry::default();
    registry.register("kafka_admin_requests", "Requests sent to Kafka", requests);
    let mut text = String::new();
    encode(&mut text, &registry)?;
    println!("\n{text}");
    println!("all checks passed");
    Ok(())
}

fn binding(
    resource_type: AclResourceType,
    name: &str,
    pattern_type: AclPatternType,
    principal: &str,
    host: &str,
    operation: AclOperation,
    permission: AclPermission,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: host.into(),
        operation,
        permission,
    }
}

/// What `create` makes: topics literal and prefixed, a group, the cluster, a transactional id
/// prefix; allow and deny; every host and a specific one.
fn bindings() -> Vec<AclBinding> {
    use AclOperation as Op;
    use AclPatternType::{Literal, Prefixed};
    use AclPermission::{Allow, Deny};
    use AclResourceType as Kind;
    vec![
        binding(Kind::Topic, ORDERS, Literal, ALICE, ANY_HOST, Op::Read, Allow),
        binding(Kind::Topic, "wire-acls-", Prefixed, ALICE, ANY_HOST, Op::Write, Allow),
        binding(Kind::Group, "wire-acls-group", Literal, ALICE, ANY_HOST, Op::Read, Allow),
        binding(Kind::Cluster, "kafka-cluster", Literal, BOB, ANY_HOST, Op::IdempotentWrite, Allow),
        binding(Kind::TransactionalId, "wire-acls-tx-", Prefixed, BOB, "10.0.0.7", Op::Write, Deny),
        binding(Kind::Topic, ORDERS, Literal, BOB, "192.168.1.9", Op::Describe, Deny),
    ]
}

async fn create(admin: &WireAdmin) -> Result<()> {
    let mut asked = bindings();
    // Answered here without sending (a NUL byte), and by Kafka alone (no principal type).
    let mut with_nul = asked[0].clone();
    with_nul.principal = "User:wire-acls-a\0b".into();
    let mut untyped = asked[0].clone();
    untyped.principal = UNTYPED.into();
    asked.extend([with_nul, untyped]);
    // The first again: creating a binding that exists succeeds.
    asked.push(asked[0].clone());

    let created = admin.create_acls(&asked).await?;
    println!("create_acls: {} answers", created.len());
    for creation in &created {
        println!("  {} -> {:?}", creation.binding, creation.result.as_ref().map_err(ToString::to_string));
    }
    ensure!(created.len() == asked.len(), "one answer per binding");
    ensure!(created.iter().zip(&asked).all(|(c, a)| &c.binding == a), "answers in input order");
    let n = bindings().len();
    ensure!(created[..n].iter().all(|c| c.result.is_ok()), "the well-formed bindings are created");
    ensure!(
        created[n].result.as_ref().is_err_and(|e| e.code == ErrorCode::INVALID_REQUEST),
        "the NUL byte is refused locally"
    );
    ensure!(created[n + 1].result.is_err(), "Kafka refuses a principal without a type");
    ensure!(created[n + 2].result.is_ok(), "creating an existing binding succeeds");
    Ok(())
}

/// Waits until a broker lists exactly `expected` of our bindings: in KRaft mode Kafka applies
/// ACL writes on the controller, and a broker's DescribeAcls sees them once it has replayed
/// them from the metadata log, a few milliseconds later.
async fn settled(admin: &WireAdmin, expected: &[AclBinding]) -> Result<()> {
    let started = Instant::now();
    loop {
        let listed = ours(&admin.describe_acls(&AclBindingFilter::any()).await?);
        if listed == expected {
            println!("(listed after {:?})", started.elapsed());
            return Ok(());
        }
        ensure!(started.elapsed() < Duration::from_secs(10), "still listed after 10 s: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn describe(admin: &WireAdmin) -> Result<()> {
    let mut expected = bindings();
    expected.sort();
    settled(admin, &expected).await?;
    let alice = show("principal alice", admin.describe_acls(&AclBindingFilter::principal(ALICE)).await?);
    ensure!(alice.len() == 3, "alice has 3 bindings");
    ensure!(alice.is_sorted(), "sorted");

    let orders = AclBindingFilter {
        resource_type: Some(AclResourceType::Topic),
        resource_name: Some(ORDERS.into()),
        pattern_type: AclPatternFilter::Match,
        ..AclBindingFilter::any()
    };
    let matching = show("topic wire-acls-orders, MATCH", admin.describe_acls(&orders).await?);
    ensure!(matching.len() == 3, "the two literal bindings and the prefixed one apply to the topic");

    let deny_at_host = AclBindingFilter {
        host: Some("10.0.0.7".into()),
        permission: Some(AclPermission::Deny),
        ..AclBindingFilter::any()
    };
    let denied = show("deny at host 10.0.0.7", admin.describe_acls(&deny_at_host).await?);
    ensure!(denied == [bindings()[4].clone()], "the transactional id binding");

    let all = admin.describe_acls(&AclBindingFilter::any()).await?;
    let ours = show("any() (User:wire-acls-* only)", ours(&all));
    ensure!(ours == expected, "any() lists exactly what was created");
    ensure!(all.iter().all(|b| b.principal != UNTYPED), "Kafka created nothing for the refused binding");
    Ok(())
}

/// The same cluster's bindings as librdkafka reads them.
async fn compare_with_librdkafka(admin: &WireAdmin, settings: &ConnectionSettings) -> Result<()> {
    let native = ClusterAdmin::connect(settings, RequestCounter::default())?;
    let over_librdkafka = native.describe_acls(&AclBindingFilter::any()).await?;
    let over_wire = admin.describe_acls(&AclBindingFilter::any()).await?;
    println!("\nany(): {} bindings over the wire, {} over librdkafka", over_wire.len(), over_librdkafka.len());
    ensure!(over_wire == over_librdkafka, "both clients list the same bindings");
    Ok(())
}

async fn delete(admin: &WireAdmin) -> Result<()> {
    let bobs_denials = AclBindingFilter { permission: Some(AclPermission::Deny), ..AclBindingFilter::principal(BOB) };
    let nothing = AclBindingFilter::principal("User:wire-acls-nobody");
    let filters = [
        bobs_denials,
        AclBindingFilter::principal(ALICE),
        nothing,
        AclBindingFilter::principal(BOB),
        // In case Kafka ever accepted it.
        AclBindingFilter::principal(UNTYPED),
    ];
    let deleted = admin.delete_acls(&filters).await?;
    println!("\ndelete_acls: {} answers", deleted.len());
    for deletion in &deleted {
        let filter = &deletion.filter;
        let who = filter.principal.as_deref().unwrap_or("any");
        match &deletion.result {
            Ok(bindings) => {
                println!("  principal {who}, permission {:?}: {} deleted", filter.permission, bindings.len());
                for binding in bindings {
                    println!("    {binding}");
                }
            }
            Err(error) => println!("  principal {who}: {error}"),
        }
    }
    let counts: Vec<Option<usize>> = deleted.iter().map(|d| d.result.as_ref().ok().map(Vec::len)).collect();
    // Kafka matches every filter of a request against the bindings as they were before it:
    // bob's two denials count under the first filter and again under the fourth.
    if counts != [Some(2), Some(3), Some(0), Some(3), Some(0)] {
        println!("  (counts {counts:?}: a partial earlier run, or `cleanup` alone)");
    }
    ensure!(deleted.iter().all(|d| d.result.is_ok()), "every filter answered");
    for deletion in &deleted {
        let sorted = deletion.result.as_ref().is_ok_and(|bindings| bindings.is_sorted());
        ensure!(sorted, "each filter's deleted bindings are sorted");
    }

    settled(admin, &[]).await?;
    println!("no User:wire-acls-* binding left");
    Ok(())
}

fn ours(bindings: &[AclBinding]) -> Vec<AclBinding> {
    bindings.iter().filter(|b| b.principal.starts_with("User:wire-acls-")).cloned().collect()
}

fn show(what: &str, bindings: Vec<AclBinding>) -> Vec<AclBinding> {
    println!("\ndescribe_acls({what}): {}", bindings.len());
    for binding in &bindings {
        println!("  {binding}");
    }
    bindings
}
