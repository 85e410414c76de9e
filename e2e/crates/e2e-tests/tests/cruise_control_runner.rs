//! The cruise-control-runner against the Cruise Control stand-in next to a real 3-broker KRaft
//! cluster (made by the cluster controller, Cruise Control deployed by hand as an external
//! endpoint, every POST answered 202 first so the asynchronous path is always taken):
//!
//! - add_broker runs and completes (summary from the polled result, finalizer gone, events);
//!   the runner owns the status fields it applies (server-side apply, its own field manager)
//!   next to the creator's `currentTask`, and passes over the finished operation write nothing;
//! - an error answer (add_broker 99) is retried with back-off: retryCount grows, failedTasks
//!   keep the attempts, the status says why and when, and a new attempt shows none of the
//!   failed one's fields (`errorMessage`, `finished`);
//! - `errorPolicy: ignore` is done after one failure, and `ttlSecondsAfterFinished` deletes it;
//! - the `pause` label holds an operation (status says so) until it is removed;
//! - a throttled, executing operation that is deleted is stopped in Cruise Control first
//!   (user task CompletedWithError, executor idle), then let go; meanwhile two queued
//!   operations wait, and the remove_broker created after the rebalance runs first.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use serde_json::json;

use crd_types::CruiseControlOperation;
use crd_types::cruise_control_operation::{
    CruiseControlTask, CruiseControlTaskOperation as Op, CruiseControlUserTaskState, ErrorPolicy,
};
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::cruise_control::{self, CruiseControl};
use e2e_tests::cruise_control_operation::{self as cco, NewOperation};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::kafka_topic::{self as topics, Metrics};
use e2e_tests::namespace::{self, TestNamespace};
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kcat};

const SAMPLE: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const CLUSTER: &str = "kafka";
const STANDIN: &str = "runner-cruisecontrol";
const FINALIZER: &str = "finalizer.cruisecontroloperations.kafka.banzaicloud.io";
const TASK_TIMEOUT: Duration = Duration::from_secs(180);
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);
/// Bytes per second for the throttled move: 8 MiB take over a minute.
const THROTTLE: &str = "100000";
/// Short, so that retries show within the test: 2 s, 4 s, 8 s, 8 s...
const RUNNER_ARGS: [&str; 6] = ["--poll-interval", "1s", "--retry-backoff", "2s", "--max-retry-backoff", "8s"];
/// The runner's API writes, counted by its client (`kind`, `verb`).
const WRITES: &str = "koperator_cruise_control_runner_writes_total";
/// The runner's passes, by `outcome`.
const RECONCILES: &str = "koperator_cruise_control_runner_reconciles_total";
/// The field manager of the runner's status applies.
const FIELD_MANAGER: &str = "koperator-rs-cruise-control-runner";

#[tokio::test]
async fn runner_carries_out_cruise_control_operations() -> Result<()> {
    namespace::run_isolated("cc-runner", async |ns| {
        let started = Instant::now();
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let bootstrap = bootstrap(ns, CLUSTER);
        let mut cluster = kafka_cluster::sample(SAMPLE)?;
        cluster["spec"]["cruiseControlConfig"]["cruiseControlEndpoint"] =
            json!(format!("{STANDIN}-svc.{}.svc.cluster.local:8090", ns.name));
        kafka_cluster::apply(ns, &cluster).await?;
        let properties = [format!("bootstrap.servers={bootstrap}"), "webserver.request.maxBlockTimeMs=1".into()];
        cruise_control::deploy(ns, STANDIN, &properties.iter().map(String::as_str).collect::<Vec<_>>()).await?;
        kafka_cluster::wait_running(ns, CLUSTER).await?;
        let cc = CruiseControl::for_service(ns, &format!("{STANDIN}-svc")).await?;
        let runner = ControllerProcess::start("cruise-control-runner", &ns.name, &RUNNER_ARGS).await?;
        let metrics = topics::metrics_address(&runner.log, Duration::from_secs(60)).await?;
        let log = |step: &str| eprintln!("[{:>5.1}s] {step}", started.elapsed().as_secs_f64());
        log("cluster running, runner started");

        let scenarios = async {
            add_broker_completes(ns, &cc, &bootstrap).await?;
            log("add_broker completed");
            the_runner_owns_its_status_fields_and_idle_passes_write_nothing(ns, &metrics).await?;
            log("status fields owned, idle passes wrote nothing");
            an_error_is_retried_with_back_off(ns).await?;
            log("add_broker 99 retried");
            ignore_is_done_after_one_failure(ns).await?;
            log("errorPolicy ignore done, TTL deleted it");
            pause_holds_an_operation(ns).await?;
            log("paused remove_broker ran once resumed");
            deleting_stops_the_execution_and_the_queue_keeps_priority(ns, &cc, &bootstrap).await?;
            log("deleted execution stopped, queue ran in priority order");
            anyhow::Ok(())
        }
        .await;
        // The runner must let go of every operation before it stops, or their finalizers hold
        // the namespace's deletion.
        let cleaned = cco::delete_all(ns, Duration::from_secs(60)).await;
        report_logs_on_failure(scenarios.and(cleaned), || format!("runner log tail:\n{}", runner.log_tail(40)))
    })
    .await
}

fn describe(operation: &CruiseControlOperation) -> String {
    serde_json::to_string(&operation.status).unwrap_or_default()
}

fn state(operation: &CruiseControlOperation) -> Option<CruiseControlUserTaskState> {
    cco::task(operation).and_then(|task| task.state)
}

async fn add_broker_completes(ns: &TestNamespace, cc: &CruiseControl, bootstrap: &str) -> Result<()> {
    // Six partitions on brokers 0 and 1 only: adding broker 2 has replicas to move.
    let create = [
        "kafka-topics",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        "moves",
        "--replica-assignment",
        "0:1,1:0,0:1,1:0,0:1,1:0",
    ];
    host_command::run_ok(&create, None, TOOL_TIMEOUT).await?;
    kcat::produce_numbered(bootstrap, "moves", 0..300).await?;

    cco::create(
        ns,
        &NewOperation { parameters: &[("brokerid", "2")], ..NewOperation::new("up", CLUSTER, Op::AddBroker) },
    )
    .await?;
    let done = cco::until(ns, "up", "is Completed", TASK_TIMEOUT, |op| cco::ready_reason(op) == "Completed").await?;
    let task = cco::task(&done).context("no current task")?;
    ensure!(state(&done) == Some(CruiseControlUserTaskState::Completed), "{}", describe(&done));
    ensure!(
        task.http_request.as_deref() == Some("POST /kafkacruisecontrol/add_broker?brokerid=2&dryrun=false&json=true"),
        "httpRequest: {}",
        describe(&done)
    );
    let moved: i64 = task.summary.get("Number of replica movements").and_then(|n| n.parse().ok()).unwrap_or_default();
    ensure!(
        moved > 0 && task.http_response_code == Some(200),
        "the polled result is not recorded: {}",
        describe(&done)
    );
    ensure!(task.started.is_some() && task.finished.is_some(), "{}", describe(&done));
    ensure!(!done.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER), "finalizer left on a finished task");
    let id = task.id.clone().context("no task id")?;
    let listed = cc.user_task(&id).await?;
    ensure!(listed["Status"] == "Completed", "Cruise Control's view of {id}: {listed}");

    let events: Api<Event> = Api::namespaced(ns.client.clone(), &ns.name);
    let reasons = wait::eventually("events for up", Duration::from_secs(30), || async {
        let listed = events.list(&ListParams::default().fields("involvedObject.name=up")).await?;
        let reasons: Vec<String> = listed.items.iter().filter_map(|e| e.reason.clone()).collect();
        Ok(if reasons.iter().any(|r| r == "TaskStarted") && reasons.iter().any(|r| r == "TaskCompleted") {
            Check::Done(reasons)
        } else {
            Check::Pending(format!("{reasons:?}"))
        })
    })
    .await?;
    eprintln!("add_broker 2: {moved} replica movements, events {reasons:?}");
    Ok(())
}

/// The runner applies the status as its own field manager; the creator's merge patch of
/// `currentTask` stays, and both own the fields they agree on. Then two passes over the
/// finished operation (woken by the pause label going on and off) write nothing.
async fn the_runner_owns_its_status_fields_and_idle_passes_write_nothing(
    ns: &TestNamespace,
    metrics: &str,
) -> Result<()> {
    let up = cco::api(ns).get("up").await?;
    let managers: Vec<String> = up
        .managed_fields()
        .iter()
        .map(|entry| format!("{:?} {:?} {:?}", entry.manager, entry.operation, entry.subresource))
        .collect();
    let owns = |entry: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry, field: &str| {
        entry.fields_v1.as_ref().is_some_and(|fields| fields.0.to_string().contains(field))
    };
    let runner = up
        .managed_fields()
        .iter()
        .find(|entry| entry.manager.as_deref() == Some(FIELD_MANAGER))
        .with_context(|| format!("no managedFields entry of {FIELD_MANAGER}: {managers:?}"))?;
    ensure!(
        runner.operation.as_deref() == Some("Apply") && runner.subresource.as_deref() == Some("status"),
        "the runner's status write is not an apply to the status subresource: {managers:?}"
    );
    for field in ["f:id", "f:state", "f:summary", "f:conditions"] {
        ensure!(owns(runner, field), "{FIELD_MANAGER} does not own {field}: {:?}", runner.fields_v1);
    }
    let creator = up
        .managed_fields()
        .iter()
        .find(|entry| entry.manager.as_deref() != Some(FIELD_MANAGER) && owns(entry, "f:currentTask"))
        .with_context(|| format!("the creator's currentTask is not in managedFields: {managers:?}"))?;
    ensure!(owns(creator, "f:operation"), "the creator lost currentTask.operation: {:?}", creator.fields_v1);

    let passes = |metrics: &Metrics| metrics.sum(RECONCILES, &[("outcome", "success")]);
    let before = topics::scrape(metrics).await?;
    for paused in [true, false] {
        cco::set_paused(ns, "up", paused).await?;
        let at_least = passes(&before) + if paused { 1.0 } else { 2.0 };
        wait::eventually("the runner passes over the finished operation", Duration::from_secs(30), || async {
            let now = passes(&topics::scrape(metrics).await?);
            Ok(if now >= at_least { Check::Done(()) } else { Check::Pending(format!("{now} passes")) })
        })
        .await?;
    }
    let after = topics::scrape(metrics).await?;
    let changes = before.changes(&after, WRITES);
    ensure!(changes.is_empty(), "writes during idle passes:\n{}", changes.join("\n"));
    ensure!(
        before.sum(WRITES, &[("kind", "cruisecontroloperations/status"), ("verb", "apply")]) > 0.0,
        "no status applied"
    );
    Ok(())
}

/// Every `currentTask` the operation `name` shows, from a watch.
struct TaskLog {
    seen: Arc<Mutex<Vec<(i32, CruiseControlTask)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TaskLog {
    fn start(ns: &TestNamespace, name: &str) -> Self {
        let seen: Arc<Mutex<Vec<(i32, CruiseControlTask)>>> = Arc::default();
        let record = seen.clone();
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let events = watcher(cco::api(ns), config).default_backoff().applied_objects();
        let task = tokio::spawn(events.for_each(move |operation| {
            if let Ok(operation) = operation
                && let Some(task) = cco::task(&operation)
            {
                let retry_count = cco::retry_count(&operation);
                record.lock().unwrap_or_else(PoisonError::into_inner).push((retry_count, task.clone()));
            }
            async {}
        }));
        Self { seen, task }
    }

    fn seen(&self) -> Vec<(i32, CruiseControlTask)> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for TaskLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn an_error_is_retried_with_back_off(ns: &TestNamespace) -> Result<()> {
    let tasks = TaskLog::start(ns, "bad");
    cco::create(
        ns,
        &NewOperation { parameters: &[("brokerid", "99")], ..NewOperation::new("bad", CLUSTER, Op::AddBroker) },
    )
    .await?;
    let retried = cco::until(ns, "bad", "is retried twice", Duration::from_secs(90), |op| {
        cco::retry_count(op) >= 2 && op.status.as_ref().is_some_and(|s| s.failed_tasks.len() >= 2)
    })
    .await?;
    // Every POST is answered 202 first: each retry shows a running attempt before it fails.
    // The apply drops what the failed attempt had and the new one has not.
    let running_retries: Vec<CruiseControlTask> = tasks
        .seen()
        .into_iter()
        .filter(|(retry_count, task)| *retry_count > 0 && task.state == Some(CruiseControlUserTaskState::Active))
        .map(|(_, task)| task)
        .collect();
    ensure!(!running_retries.is_empty(), "the watch saw no running retry: {:?}", tasks.seen());
    for task in &running_retries {
        ensure!(
            task.error_message.is_none() && task.finished.is_none(),
            "a new attempt kept the failed one's fields: {task:?}"
        );
    }
    let status = retried.status.as_ref().context("no status")?;
    let first = &status.failed_tasks[0];
    ensure!(
        first.state == Some(CruiseControlUserTaskState::CompletedWithError)
            && first.error_message.as_deref().is_some_and(|m| m.contains("99"))
            && first.http_response_code.is_some_and(|code| code >= 400),
        "the failed attempt is not recorded: {}",
        describe(&retried)
    );
    // Between attempts the status says why and when the next one comes.
    let backing_off =
        cco::until(ns, "bad", "says it backs off", Duration::from_secs(30), |op| cco::ready_reason(op) == "BackingOff")
            .await?;
    let message = cco::condition(&backing_off, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.contains("retrying at") && message.contains("99"), "BackingOff message: {message}");
    let degraded = cco::condition(&backing_off, "Degraded").context("no Degraded condition")?;
    ensure!(degraded.status == "True" && degraded.reason == "TaskFailed", "{}", describe(&backing_off));
    // Nothing runs while it backs off: no finalizer holds a deletion meanwhile.
    ensure!(!backing_off.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER), "finalizer while backing off");
    cco::delete(ns, "bad").await?;
    wait::until_deleted(&cco::api(ns), "bad", Duration::from_secs(30)).await
}

async fn ignore_is_done_after_one_failure(ns: &TestNamespace) -> Result<()> {
    let new = NewOperation {
        parameters: &[("brokerid", "98")],
        error_policy: Some(ErrorPolicy::Ignore),
        ttl_seconds_after_finished: Some(5),
        ..NewOperation::new("ignored", CLUSTER, Op::AddBroker)
    };
    cco::create(ns, &new).await?;
    let done = cco::until(ns, "ignored", "counts its failure as done", Duration::from_secs(60), |op| {
        cco::ready_reason(op) == "FailedIgnored"
    })
    .await?;
    ensure!(cco::retry_count(&done) == 0, "an ignored failure was retried: {}", describe(&done));
    ensure!(state(&done) == Some(CruiseControlUserTaskState::CompletedWithError), "{}", describe(&done));
    wait::until_deleted(&cco::api(ns), "ignored", Duration::from_secs(30)).await
}

async fn pause_holds_an_operation(ns: &TestNamespace) -> Result<()> {
    let new = NewOperation {
        parameters: &[("brokerid", "2")],
        paused: true,
        ..NewOperation::new("drain-paused", CLUSTER, Op::RemoveBroker)
    };
    cco::create(ns, &new).await?;
    let paused = cco::until(ns, "drain-paused", "says it is paused", Duration::from_secs(30), |op| {
        cco::ready_reason(op) == "Paused"
    })
    .await?;
    ensure!(cco::task(&paused).is_some_and(|t| t.id.is_none()), "a paused operation started: {}", describe(&paused));
    // Several passes later it still has not started.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still = cco::api(ns).get("drain-paused").await?;
    ensure!(cco::task(&still).is_some_and(|t| t.id.is_none()), "a paused operation started: {}", describe(&still));

    cco::set_paused(ns, "drain-paused", false).await?;
    cco::until(ns, "drain-paused", "is Completed", TASK_TIMEOUT, |op| cco::ready_reason(op) == "Completed").await?;
    Ok(())
}

async fn deleting_stops_the_execution_and_the_queue_keeps_priority(
    ns: &TestNamespace,
    cc: &CruiseControl,
    bootstrap: &str,
) -> Result<()> {
    // One partition on broker 0 with 8 MiB: moved at 100 kB/s it takes over a minute.
    let create =
        ["kafka-topics", "--bootstrap-server", bootstrap, "--create", "--topic", "slow", "--replica-assignment", "0"];
    host_command::run_ok(&create, None, TOOL_TIMEOUT).await?;
    let payload: String = (0..8192).map(|i| format!("{i:08}{}\n", "x".repeat(1016))).collect();
    let produce = ["kcat", "-P", "-b", bootstrap, "-t", "slow", "-p", "0"];
    host_command::run_ok(&produce, Some(payload.as_bytes()), TOOL_TIMEOUT).await?;

    let slow = NewOperation {
        parameters: &[("brokerid", "2"), ("excluded_topics", "(?!slow$).*"), ("replication_throttle", THROTTLE)],
        ..NewOperation::new("slow", CLUSTER, Op::AddBroker)
    };
    cco::create(ns, &slow).await?;
    let executing = cco::until(ns, "slow", "executes", Duration::from_secs(60), |op| {
        state(op) == Some(CruiseControlUserTaskState::InExecution)
    })
    .await?;
    ensure!(executing.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER), "no finalizer while executing");
    let slow_task = cco::task(&executing).and_then(|t| t.id.clone()).context("no task id")?;

    // Queued while Cruise Control executes: the rebalance first, the remove_broker after it.
    cco::create(ns, &NewOperation::new("rebalance", CLUSTER, Op::Rebalance)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cco::create(
        ns,
        &NewOperation { parameters: &[("brokerid", "2")], ..NewOperation::new("drain", CLUSTER, Op::RemoveBroker) },
    )
    .await?;
    cco::until(ns, "drain", "waits for slow", Duration::from_secs(30), |op| {
        cco::ready_reason(op) == "WaitingForOperation"
    })
    .await?;
    cco::until(ns, "rebalance", "is queued behind drain", Duration::from_secs(30), |op| {
        cco::ready_reason(op) == "Queued" && cco::condition(op, "Ready").is_some_and(|c| c.message.contains("drain"))
    })
    .await?;
    ensure!(cc.executor_state().await? == "INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS", "slow is not moving");

    cco::delete(ns, "slow").await?;
    wait::until_deleted(&cco::api(ns), "slow", Duration::from_secs(60)).await?;
    cc.wait_task(&slow_task, "CompletedWithError", Duration::from_secs(60)).await?;
    let tasks = cc.get("user_tasks", "").await?;
    let stops = tasks["userTasks"].as_array().map_or(0, |tasks| {
        tasks.iter().filter(|t| t["RequestURL"].as_str().is_some_and(|u| u.contains("stop_proposal_execution"))).count()
    });
    ensure!(stops >= 1, "no stop_proposal_execution in Cruise Control's user tasks: {tasks}");

    let drain =
        cco::until(ns, "drain", "is Completed", TASK_TIMEOUT, |op| cco::ready_reason(op) == "Completed").await?;
    let rebalance =
        cco::until(ns, "rebalance", "is Completed", TASK_TIMEOUT, |op| cco::ready_reason(op) == "Completed").await?;
    let time = |op: &CruiseControlOperation,
                pick: fn(&crd_types::cruise_control_operation::CruiseControlTask) -> Option<String>| {
        cco::task(op).and_then(pick).unwrap_or_default()
    };
    let drain_finished = time(&drain, |t| t.finished.clone());
    let rebalance_started = time(&rebalance, |t| t.started.clone());
    ensure!(
        !drain_finished.is_empty() && drain_finished <= rebalance_started,
        "the remove_broker (finished {drain_finished}) did not run before the older rebalance (started \
         {rebalance_started})"
    );
    ensure!(cc.executor_state().await? == "NO_TASK_IN_PROGRESS", "the executor is still busy");
    Ok(())
}
