use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::*;
use crate::build::tests::kraft_combined;
use crate::model::validate;
use crate::reconcile::decide::brokers::BrokerPhase;
use crate::reconcile::decide::rolling::RollWait;

fn draft(brokers: &[BrokerProgress]) -> StatusDraft {
    StatusDraft { brokers: brokers.to_vec(), cluster_id: Some("id".into()), ..Default::default() }
}

fn at(seconds: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("valid time"))
}

fn broker(id: i32, phase: BrokerPhase, running: Option<&str>) -> BrokerProgress {
    BrokerProgress {
        id,
        image: "ghcr.io/adobe/koperator/kafka:2.13-3.9.1".into(),
        kafka_version: "3.9.1".into(),
        desired_config_hash: "new".into(),
        running_config_hash: running.map(str::to_owned),
        phase,
        storage_pending: Vec::new(),
        made_elsewhere: false,
        runs_without_broker_role: false,
        tainted: false,
        renamed: false,
    }
}

fn status_of(brokers: &[BrokerProgress], previous: Option<&KafkaClusterStatus>, now: i64) -> KafkaClusterStatus {
    let cluster = validate(&kraft_combined()).expect("sample is valid");
    running_status(previous, &cluster, &draft(brokers), at(now))
}

fn condition<'a>(status: &'a KafkaClusterStatus, type_: &str) -> &'a Condition {
    status.conditions.iter().find(|c| c.type_ == type_).expect("condition set")
}

#[test]
fn a_starting_broker_is_named_with_its_reason() {
    let brokers = [
        broker(0, BrokerPhase::Ready { pod: "kafka-0-a".into() }, Some("new")),
        broker(1, BrokerPhase::Starting { pod: "kafka-1-b".into(), reason: "ContainersNotReady".into() }, Some("new")),
    ];
    let status = status_of(&brokers, None, 10);
    assert_eq!(status.state, Some(ClusterState::ClusterReconciling));
    assert_eq!(status.brokers_ready.as_deref(), Some("1/2"));
    let reconciling = condition(&status, RECONCILING);
    assert_eq!(reconciling.status, "True");
    assert!(reconciling.message.contains("broker 1: pod kafka-1-b not ready (ContainersNotReady)"));
}

#[test]
fn an_out_of_sync_broker_is_reported_and_the_same_inputs_give_the_same_status() {
    let brokers = [broker(0, BrokerPhase::Ready { pod: "kafka-0-a".into() }, Some("old"))];
    let first = status_of(&brokers, None, 10);
    assert_eq!(first.state, Some(ClusterState::ClusterRunning));
    assert_eq!(first.brokers_state["0"].configuration_state, Some(ConfigurationState::ConfigOutOfSync));
    assert!(condition(&first, RECONCILING).message.contains("the rolling restart replaces its pod"));
    // A later resync with nothing changed must not produce a different status (no write).
    assert_eq!(status_of(&brokers, Some(&first), 99), first);
}

#[test]
fn invalid_spec_degrades_and_keeps_what_was_known() {
    let previous = status_of(&[broker(0, BrokerPhase::Ready { pod: "p".into() }, Some("new"))], None, 10);
    let degraded = degraded_status(Some(&previous), Some(2), &["spec.x: bad; fix it".into()], at(20));
    assert_eq!(condition(&degraded, DEGRADED).status, "True");
    assert_eq!(condition(&degraded, DEGRADED).message, "spec.x: bad; fix it");
    assert_eq!(degraded.brokers_state, previous.brokers_state);
    assert_eq!(degraded.observed_generation, Some(2));
}

#[test]
fn graceful_states_backups_and_departing_brokers() {
    use crd_types::kafka_cluster::{CruiseControlState, GracefulActionState, VolumeState};
    use k8s_openapi::api::core::v1::LocalObjectReference;

    let cluster = validate(&kraft_combined()).expect("sample is valid");
    let mut previous = KafkaClusterStatus::default();
    let leaving = BrokerState { configuration_backup: Some("backup-of-5".into()), ..Default::default() };
    previous.brokers_state.insert("5".into(), leaving);
    let draining = GracefulActionState {
        cruise_control_state: Some(CruiseControlState::GracefulDownscaleRunning),
        cruise_control_operation_reference: Some(LocalObjectReference { name: "kafka-removebroker-x7k2p".into() }),
        volume_states: [("/kafka-logs".to_owned(), VolumeState::default())].into(),
    };
    let graceful = GracefulStatus {
        states: [
            (
                0,
                GracefulActionState {
                    cruise_control_state: Some(CruiseControlState::GracefulUpscaleSucceeded),
                    ..Default::default()
                },
            ),
            (5, draining.clone()),
        ]
        .into(),
        departing: [5].into(),
        backups: [(0, "backup-of-0".to_owned())].into(),
        waits: vec!["broker 5: Cruise Control moves its replicas away".into()],
    };
    let brokers = [broker(0, BrokerPhase::Ready { pod: "kafka-0-a".into() }, Some("new"))];
    let status = running_status(
        Some(&previous),
        &cluster,
        &StatusDraft { graceful: graceful.clone(), ..draft(&brokers) },
        at(10),
    );
    assert_eq!(status.brokers_state["0"].configuration_backup.as_deref(), Some("backup-of-0"));
    let five = &status.brokers_state["5"];
    assert_eq!(five.configuration_backup.as_deref(), Some("backup-of-5"), "a departing broker keeps its backup");
    assert_eq!(five.graceful_action_state.cruise_control_state, draining.cruise_control_state);
    assert_eq!(five.graceful_action_state, draining);
    // Every broker is ready, but a drain is in flight: the cluster is not settled.
    assert_eq!(status.state, Some(ClusterState::ClusterReconciling));
    assert!(condition(&status, GRACEFUL_ACTIONS).message.contains("broker 5"));
    assert!(condition(&status, RECONCILING).message.contains("broker 5"));

    let graceful = GracefulStatus { backups: graceful.backups.clone(), ..Default::default() };
    let done = running_status(Some(&status), &cluster, &StatusDraft { graceful, ..draft(&brokers) }, at(20));
    assert!(!done.brokers_state.contains_key("5"), "a gone broker's entry goes");
    assert!(done.conditions.iter().all(|c| c.type_ != GRACEFUL_ACTIONS));
    assert_eq!(done.state, Some(ClusterState::ClusterRunning));
}

#[test]
fn a_roll_is_rolling_upgrading_with_its_gate_and_records_its_success_when_done() {
    let cluster = validate(&kraft_combined()).expect("valid");
    let ready = |id: i32| broker(id, BrokerPhase::Ready { pod: format!("kafka-{id}-a") }, Some("new"));
    let brokers: Vec<BrokerProgress> = cluster.brokers.iter().map(|b| ready(b.id)).collect();
    let wait = RollWait::OverThreshold {
        next: 2,
        problems: 1,
        threshold: 1,
        details: vec!["broker 1: 3 partitions under-replicated".into()],
    };
    let roll = RollStatus { in_progress: true, report: Some(RollReport::Waiting(wait)), budget: None };
    let idle = RollStatus::default();
    let status = |previous: Option<&KafkaClusterStatus>, roll: &RollStatus, now| {
        running_status(previous, &cluster, &StatusDraft { roll: roll.clone(), ..draft(&brokers) }, at(now))
    };
    let rolling = status(None, &roll, 10);
    assert_eq!(rolling.state, Some(ClusterState::ClusterRollingUpgrading));
    let gate = condition(&rolling, ROLLING_UPGRADE);
    assert_eq!(gate.reason, "FailureThresholdReached");
    assert!(gate.message.contains("3 partitions under-replicated"), "{}", gate.message);
    assert!(rolling.rolling_upgrade_status.is_none());

    let done = status(Some(&rolling), &idle, 20);
    assert_eq!(done.state, Some(ClusterState::ClusterRunning));
    assert!(done.conditions.iter().all(|c| c.type_ != ROLLING_UPGRADE));
    let last_success = done.rolling_upgrade_status.as_ref().map(|r| r.last_success.clone()).unwrap_or_default();
    assert!(!last_success.is_empty());
    // Settled: the next pass changes nothing.
    assert_eq!(status(Some(&done), &idle, 30), done);
}

#[test]
fn certificates_that_wait_keep_the_cluster_reconciling_and_say_why() {
    use crate::reconcile::decide::certificates::{CERTIFICATES, CertificatesCondition, CertificatesReport};
    let cluster = validate(&kraft_combined()).expect("sample is valid");
    let brokers = [broker(0, BrokerPhase::Ready { pod: "kafka-0-a".into() }, Some("new"))];
    let wait = "waiting for cert-manager to issue the certificate of Secret kafka-server-certificate";
    let mut waiting = draft(&brokers);
    waiting.certificates = CertificatesReport {
        condition: Some(CertificatesCondition { ready: false, reason: "Waiting", message: wait.into() }),
        brokers_wait: Some(wait.into()),
        server_serial: None,
        trusted_ca_serials: None,
        operator_serial: None,
    };
    let status = running_status(None, &cluster, &waiting, at(10));
    assert_eq!(status.state, Some(ClusterState::ClusterReconciling), "a running broker's Secret is gone");
    assert_eq!(condition(&status, CERTIFICATES).status, "False");
    assert!(condition(&status, RECONCILING).message.contains(wait));

    let issued = "Secret kafka-server-certificate: serial 01, expires 2027-03-04T00:00:00Z";
    let mut ready = draft(&brokers);
    ready.certificates.condition =
        Some(CertificatesCondition { ready: true, reason: "Issued", message: issued.into() });
    let status = running_status(Some(&status), &cluster, &ready, at(20));
    assert_eq!(status.state, Some(ClusterState::ClusterRunning));
    let certificates = condition(&status, CERTIFICATES);
    assert_eq!((certificates.status.as_str(), certificates.message.as_str()), ("True", issued));
    let plain = running_status(Some(&status), &cluster, &draft(&brokers), at(30));
    assert!(plain.conditions.iter().all(|c| c.type_ != CERTIFICATES), "gone without certificates");
}
