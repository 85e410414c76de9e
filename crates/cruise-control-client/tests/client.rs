//! The client against recorded Cruise Control answers served over real HTTP: what it sends
//! (exact URLs and headers) and how it reads 200, 202 and error answers.

mod support;

use std::time::Duration;

use cruise_control_client::{
    ClientSettings, CruiseControlClient, CruiseControlEndpoint, Error, ExecutorStatus, TaskOptions, TaskRequest,
    UserTaskStatus,
};
use support::{FakeCruiseControl, Recorded, Reply};

const TASK: &str = "5e8b1a5c-7c4b-4f0f-9d6f-0f6d2a1c3b7e";

#[tokio::test]
async fn state_reads_executor_monitor_and_analyzer() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(200, "state_idle.json"),
        Reply::fixture(200, "state_executing.json"),
        Reply::fixture(200, "state_loading.json"),
    ])
    .await;

    let idle = cc.client.state().await.expect("idle state");
    assert!(idle.executor.state.is_idle());
    assert_eq!(idle.monitor.num_monitored_windows, 5);
    assert_eq!(idle.not_ready_reason(), None);

    let busy = cc.client.state().await.expect("busy state");
    assert_eq!(busy.executor.state, ExecutorStatus::InterBrokerReplicaMovementTaskInProgress);
    assert_eq!(busy.executor.triggered_user_task_id.as_deref(), Some(TASK));
    assert_eq!(busy.executor.busy_with(), format!("user task {TASK} (INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS)"));
    assert_eq!(busy.executor.progress().as_deref(), Some("3/28 partition movements done"));

    let loading = cc.client.state().await.expect("loading state");
    let reason = loading.not_ready_reason().expect("not ready while loading");
    assert!(reason.contains("LOADING"), "{reason}");

    assert_eq!(cc.sent(), vec!["GET /kafkacruisecontrol/state?substates=executor,monitor,analyzer&json=true"; 3]);
}

#[tokio::test]
async fn kafka_cluster_state_and_load_parse() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(200, "kafka_cluster_state.json"),
        Reply::fixture(200, "load.json"),
    ])
    .await;

    let cluster = cc.client.kafka_cluster_state().await.expect("cluster state");
    assert_eq!(cluster.brokers.broker_ids(), vec![0, 1, 2]);
    assert_eq!(cluster.brokers.online_log_dirs["2"], vec!["/kafka-logs/kafka", "/kafka-logs2/kafka"]);
    assert_eq!(cluster.brokers.is_controller.get("0"), Some(&true));
    assert_eq!(cluster.partitions.urp.len(), 1);
    assert_eq!(cluster.partitions.urp[0].out_of_sync, vec![2]);

    let load = cc.client.load().await.expect("load");
    assert_eq!(load.brokers.len(), 2);
    assert_eq!((load.brokers[1].broker, load.brokers[1].state.as_str()), (3, "NEW"));
    assert_eq!(load.brokers[0].disk_mb, 512.25);

    assert_eq!(
        cc.sent(),
        vec!["GET /kafkacruisecontrol/kafka_cluster_state?json=true", "GET /kafkacruisecontrol/load?json=true"]
    );
}

#[tokio::test]
async fn user_tasks_filters_by_id() {
    let cc = FakeCruiseControl::start(vec![Reply::fixture(200, "user_tasks.json")]).await;
    let tasks = cc.client.user_tasks(&[TASK, "0b7f9c2e-1111-4c8e-8e0e-6a1b2c3d4e5f"]).await.expect("user tasks");

    assert_eq!(
        cc.sent(),
        vec![format!(
            "GET /kafkacruisecontrol/user_tasks?json=true&user_task_ids={TASK},0b7f9c2e-1111-4c8e-8e0e-6a1b2c3d4e5f"
        )]
    );
    let statuses: Vec<_> = tasks.iter().map(|t| t.status.clone()).collect();
    assert_eq!(
        statuses,
        vec![UserTaskStatus::InExecution, UserTaskStatus::CompletedWithError, UserTaskStatus::Completed]
    );
    assert_eq!(tasks[0].start_ms, Some(1_714_557_600_000));
    assert_eq!(tasks[2].start_ms, Some(1_714_540_000_000), "StartMs as a number is read too");
    assert_eq!(tasks[0].request_url, "POST /kafkacruisecontrol/add_broker?brokerid=3&dryrun=false&json=true");
}

#[tokio::test]
async fn add_broker_answered_at_once_carries_the_result() {
    let cc = FakeCruiseControl::start(vec![Reply::fixture(200, "add_broker_200.json").with_task(TASK)]).await;
    let submitted = cc.client.add_broker(&[3], TaskOptions::default()).await.expect("submitted");

    assert_eq!(
        cc.recorded(),
        vec![Recorded {
            method: "POST".into(),
            path_and_query: "/kafkacruisecontrol/add_broker?brokerid=3&dryrun=false&json=true".into(),
            user_task_id: None,
        }]
    );
    assert_eq!((submitted.user_task_id.as_str(), submitted.http_status), (TASK, 200));
    let result = submitted.result.expect("a 200 carries the optimization result");
    assert_eq!(result.summary.num_replica_movements, 14);
    assert_eq!(result.summary.data_to_move_mb, 387);
    assert_eq!(result.summary.provision_status.as_deref(), Some("RIGHT_SIZED"));
    assert_eq!(result.goal_summary.len(), 2);
    assert_eq!(
        submitted.request.request_line(),
        "POST /kafkacruisecontrol/add_broker?brokerid=3&dryrun=false&json=true"
    );
}

#[tokio::test]
async fn a_202_is_polled_with_the_same_url_and_the_task_id() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(202, "add_broker_202.json").with_task(TASK),
        Reply::fixture(202, "add_broker_202.json").with_task(TASK),
        Reply::fixture(200, "add_broker_200.json").with_task(TASK),
    ])
    .await;
    let options = TaskOptions { replication_throttle: Some(10_000), ..TaskOptions::default() };
    let submitted = cc.client.add_broker(&[3, 4], options).await.expect("submitted");
    assert_eq!((submitted.http_status, submitted.result.is_none()), (202, true));
    let step = submitted.progress.as_ref().and_then(|p| p.latest_step()).expect("progress");
    assert!(step.starts_with("OPTIMIZING: Optimizing the cluster model. (35.0%)"), "{step}");

    let still = cc.client.poll(&submitted).await.expect("first poll");
    assert_eq!(still.http_status, 202);
    let done = cc.client.poll(&still).await.expect("second poll");
    assert_eq!(done.http_status, 200);
    assert_eq!(done.result.map(|r| r.summary.num_leader_movements), Some(5));

    let url = "/kafkacruisecontrol/add_broker?brokerid=3,4&replication_throttle=10000&dryrun=false&json=true";
    let recorded = cc.recorded();
    assert!(recorded.iter().all(|r| r.method == "POST" && r.path_and_query == url), "{recorded:?}");
    let headers: Vec<_> = recorded.iter().map(|r| r.user_task_id.as_deref()).collect();
    assert_eq!(headers, vec![None, Some(TASK), Some(TASK)]);
}

#[tokio::test]
async fn error_answers_carry_cruise_controls_message() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(500, "error_add_broker_unknown.json").with_task(TASK),
        Reply::fixture(500, "error_ongoing_execution.json"),
        Reply::raw(502, "<html><body>Bad gateway</body></html>"),
        Reply::raw(503, ""),
    ])
    .await;

    let error = cc.client.add_broker(&[99], TaskOptions::default()).await.expect_err("unknown broker");
    let Error::Status { status, message, user_task_id, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*status, message.as_str()), (500, "java.lang.IllegalArgumentException: Broker 99 does not exist."));
    assert_eq!(user_task_id.as_deref(), Some(TASK));
    assert!(!error.is_unreachable());

    let error = cc.client.rebalance(TaskOptions::default()).await.expect_err("ongoing execution");
    assert!(error.to_string().contains("Cannot start a new execution while there is an ongoing execution"), "{error}");

    let error = cc.client.state().await.expect_err("proxy error");
    assert!(
        matches!(&error, Error::Status { status: 502, message, .. } if message.contains("Bad gateway")),
        "{error:?}"
    );
    let error = cc.client.load().await.expect_err("empty error");
    assert!(matches!(&error, Error::Status { status: 503, message, .. } if message == "Service Unavailable"));
}

#[tokio::test]
async fn unparsable_and_headerless_answers_are_errors() {
    let cc =
        FakeCruiseControl::start(vec![Reply::raw(200, "not json"), Reply::fixture(200, "add_broker_200.json")]).await;
    assert!(matches!(cc.client.kafka_cluster_state().await, Err(Error::Parse { .. })));
    assert!(matches!(
        cc.client.remove_broker(&[2], TaskOptions::default()).await,
        Err(Error::MissingUserTaskId { .. })
    ));
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_missing_ones_default() {
    let cc = FakeCruiseControl::start(vec![
        Reply::raw(200, r#"{"ExecutorState":{"state":"SOME_FUTURE_STATE","extra":{"x":1}},"version":2}"#),
        Reply::raw(200, r#"{"summary":{"numReplicaMovements":"7"}}"#).with_task(TASK),
    ])
    .await;
    let state = cc.client.state().await.expect("lenient state");
    assert_eq!(state.executor.state, ExecutorStatus::Other("SOME_FUTURE_STATE".into()));
    assert!(!state.executor.state.is_idle());
    assert!(state.not_ready_reason().is_some(), "a state without a monitor is not ready");

    let submitted = cc.client.rebalance(TaskOptions::default()).await.expect("lenient result");
    assert_eq!(submitted.result.map(|r| r.summary.num_replica_movements), Some(7));
}

#[tokio::test]
async fn reads_answered_202_are_followed_up_with_the_task_id() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(202, "add_broker_202.json").with_task(TASK),
        Reply::fixture(200, "state_idle.json"),
    ])
    .await;
    assert!(cc.client.state().await.expect("state").executor.state.is_idle());
    let headers: Vec<_> = cc.recorded().into_iter().map(|r| r.user_task_id).collect();
    assert_eq!(headers, vec![None, Some(TASK.to_owned())]);

    let settings =
        ClientSettings { read_poll_attempts: 1, read_poll_interval: Duration::from_millis(1), ..Default::default() };
    let slow = FakeCruiseControl::start_with(
        vec![
            Reply::fixture(202, "add_broker_202.json").with_task(TASK),
            Reply::fixture(202, "add_broker_202.json").with_task(TASK),
        ],
        settings,
    )
    .await;
    assert!(matches!(slow.client.state().await, Err(Error::StillComputing { .. })));
}

#[tokio::test]
async fn other_task_endpoints_send_their_subjects() {
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(200, "add_broker_200.json").with_task(TASK),
        Reply::fixture(200, "add_broker_200.json").with_task(TASK),
        Reply::fixture(200, "stop_proposal_execution.json").with_task("7d3c9a10-3333-4c8e-8e0e-6a1b2c3d4e5f"),
    ])
    .await;
    cc.client.remove_disks(&[(1, "/kafka-logs2/kafka")], TaskOptions::default()).await.expect("remove disks");
    let excluded =
        TaskOptions { excluded_topics: Some("^__.*".into()), rebalance_disk: true, ..TaskOptions::default() };
    cc.client.submit(&TaskRequest::rebalance(excluded)).await.expect("rebalance");
    let stopped = cc.client.stop_proposal_execution().await.expect("stop");
    assert_eq!(stopped.message, "Proposal execution stopped.");
    assert_eq!(stopped.user_task_id.as_deref(), Some("7d3c9a10-3333-4c8e-8e0e-6a1b2c3d4e5f"));
    assert_eq!(
        cc.sent(),
        vec![
            "POST /kafkacruisecontrol/remove_disks?brokerid_and_logdirs=1-/kafka-logs2/kafka&dryrun=false&json=true",
            "POST /kafkacruisecontrol/rebalance?excluded_topics=%5E__.*&rebalance_disk=true&dryrun=false&json=true",
            "POST /kafkacruisecontrol/stop_proposal_execution?json=true",
        ]
    );
}

#[tokio::test]
async fn unreachable_and_slow_cruise_control_are_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let endpoint = CruiseControlEndpoint::parse(&address.to_string()).expect("endpoint");
    let client = CruiseControlClient::new(endpoint, ClientSettings::default()).expect("client");
    let error = client.state().await.expect_err("nothing listens");
    assert!(error.is_unreachable() && !error.is_timeout(), "{error:?}");

    let settings = ClientSettings { request_timeout: Duration::from_millis(200), ..Default::default() };
    let slow = FakeCruiseControl::start_with(
        vec![Reply::fixture(200, "state_idle.json").after(Duration::from_secs(5))],
        settings,
    )
    .await;
    let error = slow.client.state().await.expect_err("too slow");
    assert!(error.is_unreachable() && error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn a_stop_answered_202_is_followed_to_its_end() {
    let stop_task = "7d3c9a10-3333-4c8e-8e0e-6a1b2c3d4e5f";
    let cc = FakeCruiseControl::start(vec![
        Reply::fixture(202, "add_broker_202.json").with_task(stop_task),
        Reply::fixture(200, "stop_proposal_execution.json").with_task(stop_task),
    ])
    .await;
    let stopped = cc.client.stop_proposal_execution().await.expect("stop");
    assert_eq!(stopped.message, "Proposal execution stopped.");
    let recorded = cc.recorded();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| r.path_and_query == "/kafkacruisecontrol/stop_proposal_execution?json=true"));
    assert_eq!(recorded[1].user_task_id.as_deref(), Some(stop_task));
}
