//! The test bed's Cruise Control stand-in (run for `ghcr.io/banzaicloud/cruise-control:2.5.123`)
//! moves real replicas, checked with Kafka's own tools: next to a running 3-broker cluster (the
//! cluster controller's KRaft sample) and deployed by hand with a ConfigMap pointing at the
//! cluster, it answers add_broker with 202 + User-Task-ID, then the final 200, and the replicas
//! land on the new broker (the data still reads back exactly once); remove_broker empties the
//! broker; an unknown broker gets an error JSON; a throttled move is really throttled, a second
//! execution is refused, and stop_proposal_execution cancels the move, leaving the task
//! CompletedWithError, the executor idle and the throttles removed.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::cruise_control::{self, Answer, CruiseControl, replicas};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace;
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kcat};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const STANDIN: &str = "standin-cruisecontrol";
const TASK_TIMEOUT: Duration = Duration::from_secs(120);
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);
/// How long Kafka's tools may lag behind a finished move.
const ORACLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes per second for the throttled move: ~1 MiB per 10 s, so 8 MiB take over a minute.
const THROTTLE: &str = "100000";

#[tokio::test]
async fn cruise_control_standin_moves_real_replicas() -> Result<()> {
    namespace::run_isolated("cc-standin", async |ns| {
        let started = Instant::now();
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let bootstrap = bootstrap(ns, "kafka");
        let mut cluster = kafka_cluster::sample(SAMPLE)?;
        // An external Cruise Control: the operator deploys none of its own next to ours.
        cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] =
            json!(format!("{STANDIN}-svc.{}.svc.cluster.local:8090", ns.name));
        kafka_cluster::apply(ns, &cluster).await?;
        // maxBlockTimeMs=1: every POST is answered 202 first, so the async path is always taken.
        let properties = [format!("bootstrap.servers={bootstrap}"), "webserver.request.maxBlockTimeMs=1".into()];
        cruise_control::deploy(ns, STANDIN, &properties.iter().map(String::as_str).collect::<Vec<_>>()).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;
        let cc = CruiseControl::for_service(ns, &format!("{STANDIN}-svc")).await?;
        wait::eventually("the stand-in answers GET state", Duration::from_secs(120), || async {
            let state = cc.get("state", "").await?;
            Ok(match state["MonitorState"]["state"].as_str() {
                Some("RUNNING") => Check::Done(()),
                _ => Check::Pending(state.to_string()),
            })
        })
        .await?;
        eprintln!("[{:>5.1}s] cluster running, stand-in answering", started.elapsed().as_secs_f64());

        // Six partitions on brokers 0 and 1 only (broker 2 holds nothing of them), and one
        // partition on broker 0 with 8 MiB: far more than one replica fetch (1 MiB) carries.
        let (moves, slow) = tokio::join!(
            create_topic(&bootstrap, "moves", "0:1,1:0,0:1,1:0,0:1,1:0"),
            create_topic(&bootstrap, "slow", "0")
        );
        moves?;
        slow?;
        kcat::produce_numbered(&bootstrap, "moves", 0..600).await?;
        let payload: String = (0..8192).map(|i| format!("{i:08}{}\n", "x".repeat(1016))).collect();
        let produce = ["kcat", "-P", "-b", &bootstrap, "-t", "slow", "-p", "0"];
        host_command::run_ok(&produce, Some(payload.as_bytes()), TOOL_TIMEOUT).await?;
        eprintln!("[{:>5.1}s] topics moves and slow written", started.elapsed().as_secs_f64());

        add_broker_moves_replicas_onto_it(&cc, &bootstrap).await?;
        eprintln!("[{:>5.1}s] add_broker 2 done", started.elapsed().as_secs_f64());
        remove_broker_empties_it(&cc, &bootstrap).await?;
        eprintln!("[{:>5.1}s] remove_broker 2 done", started.elapsed().as_secs_f64());
        unknown_broker_is_an_error(&cc).await?;
        throttled_move_stops(&cc, &bootstrap).await?;
        eprintln!("[{:>5.1}s] throttled move stopped", started.elapsed().as_secs_f64());
        Ok(())
    })
    .await
}

/// The first answer (202 + progress + User-Task-ID) and the final one (same task id). A task
/// that finished within maxBlockTimeMs (1 ms) is answered at once, as Cruise Control answers
/// it: then the first answer is the final one (seen once in CI, a proposal computed that fast).
fn first_and_final(answers: &[Answer]) -> Result<(&Answer, &Answer, String)> {
    let first = answers.first().context("no answer")?;
    let last = answers.last().context("no answer")?;
    let task = first.task_id.clone().context("the first answer has no User-Task-ID header")?;
    match first.status {
        202 => {
            ensure!(first.body["progress"][0]["operationProgress"].is_array(), "202 without progress: {}", first.body);
        }
        200 => ensure!(answers.len() == 1, "a 200 first answer, yet more answers followed: {answers:?}"),
        other => anyhow::bail!("the first answer is {other}: {}", first.body),
    }
    ensure!(last.task_id.as_deref() == Some(task.as_str()), "the final answer names another task: {last:?}");
    Ok((first, last, task))
}

async fn create_topic(bootstrap: &str, topic: &str, assignment: &str) -> Result<()> {
    let create = [
        "kafka-topics",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        topic,
        "--replica-assignment",
        assignment,
    ];
    host_command::run_ok(&create, None, TOOL_TIMEOUT).await.map(drop)
}

async fn add_broker_moves_replicas_onto_it(cc: &CruiseControl, bootstrap: &str) -> Result<()> {
    // "slow" is kept for the throttled move below.
    let answers = cc.post_until_answered("add_broker", "brokerid=2&dryrun=false&excluded_topics=slow").await?;
    let (_, last, task) = first_and_final(&answers)?;
    ensure!(last.status == 200, "add_broker: {} {}", last.status, last.body);
    let moved = last.body["summary"]["numReplicaMovements"].as_i64().unwrap_or_default();
    ensure!(moved > 0, "add_broker planned no move: {}", last.body);
    ensure!(last.body["summary"]["excludedTopics"] == json!(["slow"]), "excludedTopics: {}", last.body);
    cc.wait_task(&task, "Completed", TASK_TIMEOUT).await?;

    // Kafka's tools read a broker's metadata cache, which may trail the controller briefly.
    let placement = wait::eventually("Kafka shows moves on broker 2", ORACLE_TIMEOUT, || async {
        let placement = replicas(bootstrap, "moves").await?;
        let on_2 = placement.values().filter(|r| r.contains(&2)).count();
        let well_formed = placement.values().all(|r| {
            let mut distinct = r.clone();
            distinct.sort_unstable();
            distinct.dedup();
            r.len() == 2 && distinct.len() == 2
        });
        Ok(if on_2 > 0 && well_formed { Check::Done(placement) } else { Check::Pending(format!("{placement:?}")) })
    })
    .await?;
    eprintln!("add_broker 2: {moved} replicas moved, moves is now {placement:?}");
    kcat::expect_exactly(bootstrap, "moves", 0..600).await?;
    ensure!(cc.executor_state().await? == "NO_TASK_IN_PROGRESS", "the executor is still busy");
    let load = cc.get("load", "").await?;
    let alive = load["brokers"].as_array().map_or(0, |b| b.iter().filter(|b| b["BrokerState"] == "ALIVE").count());
    ensure!(alive == 3, "load does not list 3 ALIVE brokers: {load}");
    Ok(())
}

async fn remove_broker_empties_it(cc: &CruiseControl, bootstrap: &str) -> Result<()> {
    let answers = cc.post_until_answered("remove_broker", "brokerid=2&dryrun=false").await?;
    let (_, last, task) = first_and_final(&answers)?;
    ensure!(last.status == 200, "remove_broker: {} {}", last.status, last.body);
    cc.wait_task(&task, "Completed", TASK_TIMEOUT).await?;
    wait::eventually("no replica is left on broker 2", ORACLE_TIMEOUT, || async {
        let metadata = kcat::metadata(bootstrap, None).await?;
        let left: Vec<String> = metadata
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(_, p)| p.replicas.iter().any(|r| r.id == 2))
            .map(|(t, p)| format!("{}-{}", t.topic, p.partition))
            .collect();
        Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("on broker 2: {left:?}")) })
    })
    .await?;
    kcat::expect_exactly(bootstrap, "moves", 0..600).await?;
    Ok(())
}

async fn unknown_broker_is_an_error(cc: &CruiseControl) -> Result<()> {
    let answers = cc.post_until_answered("add_broker", "brokerid=99&dryrun=false").await?;
    let (_, last, task) = first_and_final(&answers)?;
    let message = last.body["errorMessage"].as_str().unwrap_or_default();
    ensure!(last.status >= 400 && message.contains("99"), "add_broker 99: {} {}", last.status, last.body);
    let listed = cc.user_task(&task).await?;
    ensure!(listed["Status"] == "CompletedWithError", "add_broker 99's task: {listed}");
    Ok(())
}

async fn throttled_move_stops(cc: &CruiseControl, bootstrap: &str) -> Result<()> {
    // Only "slow" may move (a regex excluding every other topic): its replica goes to broker 2.
    let query =
        format!("brokerid=2&dryrun=false&excluded_topics=%28%3F%21slow%24%29.%2A&replication_throttle={THROTTLE}");
    let answers = cc.post_until_answered("add_broker", &query).await?;
    let (_, last, task) = first_and_final(&answers)?;
    ensure!(last.status == 200, "throttled add_broker: {} {}", last.status, last.body);
    ensure!(last.body["summary"]["numReplicaMovements"] == 1, "expected one move: {}", last.body);
    wait::eventually("the executor moves replicas", Duration::from_secs(60), || async {
        let state = cc.executor_state().await?;
        Ok(if state == "INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS" {
            Check::Done(())
        } else {
            Check::Pending(state)
        })
    })
    .await?;
    let listed = cc.user_task(&task).await?;
    ensure!(listed["Status"] == "InExecution", "a moving task is not InExecution: {listed}");
    let configs = cruise_control::broker_configs(bootstrap, 0).await?;
    ensure!(
        configs.contains(&format!("leader.replication.throttled.rate={THROTTLE}")),
        "broker 0 is not throttled during the move:\n{configs}"
    );
    let during = replicas(bootstrap, "slow").await?;
    ensure!(during.get(&0).is_some_and(|r| r.contains(&2)), "slow is not being moved to broker 2: {during:?}");

    let refused = cc.post_until_answered("rebalance", "dryrun=false").await?;
    let refused = refused.last().context("no answer")?;
    let message = refused.body["errorMessage"].as_str().unwrap_or_default();
    ensure!(refused.status == 500 && message.contains("ongoing execution"), "a second execution: {refused:?}");

    let stop = cc.post_until_answered("stop_proposal_execution", "").await?;
    let stop = stop.last().context("no answer")?;
    ensure!(stop.status == 200 && stop.task_id.is_some(), "stop_proposal_execution: {stop:?}");
    cc.wait_task(&task, "CompletedWithError", TASK_TIMEOUT).await?;
    wait::eventually("the executor is idle", Duration::from_secs(60), || async {
        let state = cc.executor_state().await?;
        Ok(if state == "NO_TASK_IN_PROGRESS" { Check::Done(()) } else { Check::Pending(state) })
    })
    .await?;
    wait::eventually("the stopped move is rolled back", ORACLE_TIMEOUT, || async {
        let after = replicas(bootstrap, "slow").await?;
        Ok(if after.get(&0) == Some(&vec![0]) { Check::Done(()) } else { Check::Pending(format!("{after:?}")) })
    })
    .await?;
    let configs = cruise_control::broker_configs(bootstrap, 0).await?;
    ensure!(!configs.contains("replication.throttled.rate"), "the throttle outlived the move:\n{configs}");
    Ok(())
}
