//! The real ClusterActions service against a scripted apiserver: every request it makes is
//! recorded, and each test answers them as the apiserver would (here a conflict, there a
//! ledger that already holds the key).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Method, Response};
use kube::client::Body;
use serde_json::{Value, json};

use super::*;
use crate::actions::ledger;

/// One request as the apiserver saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    body: Value,
}

type Answer = Box<dyn Fn(&Seen, &[Seen]) -> (u16, Value) + Send + Sync>;

/// A client whose apiserver is `answer` (given the request and the ones before it).
fn scripted(answer: Answer) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let record = Arc::clone(&seen);
    let answer = Arc::new(answer);
    let service = tower::service_fn(move |request: http::Request<Body>| {
        let record = Arc::clone(&record);
        let answer = Arc::clone(&answer);
        async move {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("a request body");
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let path = parts.uri.path().to_owned();
            let request = Seen { method: parts.method, path, body };
            let earlier = {
                let mut seen = record.lock().expect("not poisoned");
                let earlier = seen.clone();
                seen.push(request.clone());
                earlier
            };
            let (code, reply) = answer(&request, &earlier);
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&reply).expect("json")))
                .expect("a response");
            Ok::<_, Infallible>(response)
        }
    });
    (Client::new(service, "kafka"), seen)
}

/// Three brokers and a KRaft controller, as the alert e2e test's sample, in `state`.
fn cluster(state: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "kafka.banzaicloud.io/v1beta1", "kind": "KafkaCluster",
        "metadata": {"name": "kafka", "namespace": "kafka", "uid": "u", "resourceVersion": "7", "annotations": annotations},
        "spec": {
            "kRaft": true, "headlessServiceEnabled": true, "oneBrokerPerNode": false,
            "clusterImage": "ghcr.io/adobe/koperator/kafka:2.13-3.9.1",
            "brokerConfigGroups": {
                "broker": {"processRoles": ["broker"], "storageConfigs": [{"mountPath": "/kafka-logs",
                    "pvcSpec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
                "controller": {"processRoles": ["controller"], "storageConfigs": [{"mountPath": "/kafka-logs",
                    "pvcSpec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
            },
            "brokers": [{"id": 0, "brokerConfigGroup": "broker"}, {"id": 1, "brokerConfigGroup": "broker"},
                        {"id": 2, "brokerConfigGroup": "broker"}, {"id": 10, "brokerConfigGroup": "controller"}],
            "rollingUpgradeConfig": {"failureThreshold": 1},
            "listenersConfig": {"internalListeners": [
                {"type": "plaintext", "name": "internal", "containerPort": 29092, "usedForInnerBrokerCommunication": true},
                {"type": "plaintext", "name": "controller", "containerPort": 29093,
                 "usedForInnerBrokerCommunication": false, "usedForControllerCommunication": true}]},
            "cruiseControlConfig": {}
        },
        "status": {"state": state}
    })
}

fn ledger_with(key: &str) -> Value {
    let mut object: KafkaCluster = serde_json::from_value(cluster("ClusterRunning", json!({}))).expect("cluster");
    let mut entries = ledger::Ledger::of(&object);
    entries.record(key, "added broker 11", Some(11));
    object.annotations_mut().insert(ledger::ANNOTATION.into(), entries.to_annotation());
    json!({ledger::ANNOTATION: object.annotations()[ledger::ANNOTATION]})
}

fn service(client: Client, leading: bool) -> ClusterActionsService {
    let reporter = Reporter { controller: "cluster-controller".into(), instance: None };
    ClusterActionsService::new(client, Arc::new(AtomicBool::new(leading)), reporter)
}

fn add_broker(key: &str) -> Request<AddBrokerRequest> {
    Request::new(AddBrokerRequest {
        cluster: Some(ClusterRef { namespace: "kafka".into(), name: "kafka".into() }),
        origin: Some(ActionOrigin {
            idempotency_key: key.into(),
            reason: "alert upScale".into(),
            ..Default::default()
        }),
        broker_settings: None,
    })
}

fn empty_list() -> Value {
    json!({"apiVersion": "kafka.banzaicloud.io/v1alpha1", "kind": "CruiseControlOperationList", "metadata": {}, "items": []})
}

fn conflict() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"})
}

fn patches(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    seen.lock().expect("not poisoned").iter().filter(|s| s.method == Method::PATCH).cloned().collect()
}

#[tokio::test]
async fn a_replica_that_does_not_lead_answers_unavailable_without_a_request() {
    let (client, seen) = scripted(Box::new(|_, _| panic!("no request expected")));
    let error = service(client, false).add_broker(add_broker("k")).await.expect_err("not leading");
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert!(seen.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn an_allowed_upscale_adds_the_next_broker_and_its_key_in_one_guarded_patch() {
    let (client, seen) = scripted(Box::new(|request, _| match (request.method.clone(), request.path.as_str()) {
        (Method::GET, path) if path.ends_with("/kafkaclusters/kafka") => (200, cluster("ClusterRunning", json!({}))),
        (Method::GET, path) if path.ends_with("/cruisecontroloperations") => (200, empty_list()),
        (Method::PATCH, _) => (200, cluster("ClusterRunning", json!({}))),
        (Method::POST, path) if path.ends_with("/events") => (201, request.body.clone()),
        other => panic!("unexpected request {other:?}"),
    }));
    let answer = service(client, true).add_broker(add_broker("fp/1/upScale")).await.expect("answered").into_inner();
    let result = answer.result.expect("result");
    assert_eq!(result.outcome, Outcome::Accepted as i32, "{}", result.reason);
    assert_eq!(answer.broker_id, Some(11), "the next free id above every broker");
    let patches = patches(&seen);
    assert_eq!(patches.len(), 1);
    let patch = &patches[0].body;
    assert_eq!(patch["metadata"]["resourceVersion"], "7", "guarded by what was read");
    assert!(patch["metadata"]["annotations"][ledger::ANNOTATION].as_str().is_some_and(|l| l.contains("fp/1/upScale")));
    assert!(patch["spec"]["brokers"].as_array().is_some_and(|b| b.iter().any(|b| b["id"] == 11)));
}

fn patched_before(earlier: &[Seen]) -> bool {
    earlier.iter().any(|s| s.method == Method::PATCH)
}

#[tokio::test]
async fn a_conflicting_write_is_read_again_and_another_replicas_action_is_not_repeated() {
    let key = "fp/2/upScale";
    let with_ledger = ledger_with(key);
    let (client, seen) =
        scripted(Box::new(move |request, earlier| match (request.method.clone(), request.path.as_str()) {
            // After the conflict, the other replica's write is what the apiserver holds.
            (Method::GET, path) if path.ends_with("/kafkaclusters/kafka") && patched_before(earlier) => {
                (200, cluster("ClusterRunning", with_ledger.clone()))
            }
            (Method::GET, path) if path.ends_with("/kafkaclusters/kafka") => {
                (200, cluster("ClusterRunning", json!({})))
            }
            (Method::GET, path) if path.ends_with("/cruisecontroloperations") => (200, empty_list()),
            (Method::PATCH, _) => (409, conflict()),
            (Method::POST, path) if path.ends_with("/events") => (201, request.body.clone()),
            other => panic!("unexpected request {other:?}"),
        }));
    let answer = service(client, true).add_broker(add_broker(key)).await.expect("answered").into_inner();
    let result = answer.result.expect("result");
    assert_eq!(result.outcome, Outcome::AlreadyDone as i32, "{}", result.reason);
    assert_eq!(answer.broker_id, Some(11), "the broker the other replica added");
    assert_eq!(patches(&seen).len(), 1, "no second write after reading the ledger");
}

#[tokio::test]
async fn a_key_in_the_ledger_is_answered_without_deciding_again() {
    let key = "fp/3/upScale";
    let with_ledger = ledger_with(key);
    let (client, seen) = scripted(Box::new(move |request, _| match (request.method.clone(), request.path.as_str()) {
        (Method::GET, path) if path.ends_with("/kafkaclusters/kafka") => {
            (200, cluster("ClusterRunning", with_ledger.clone()))
        }
        other => panic!("unexpected request {other:?}"),
    }));
    let answer = service(client, true).add_broker(add_broker(key)).await.expect("answered").into_inner();
    assert_eq!(answer.result.expect("result").outcome, Outcome::AlreadyDone as i32);
    assert_eq!(seen.lock().expect("not poisoned").len(), 1, "one read, nothing else");
}

#[tokio::test]
async fn a_cluster_that_is_not_running_refuses_with_a_warning_event_and_writes_nothing() {
    let (client, seen) = scripted(Box::new(|request, _| match (request.method.clone(), request.path.as_str()) {
        (Method::GET, path) if path.ends_with("/kafkaclusters/kafka") => {
            (200, cluster("ClusterReconciling", json!({})))
        }
        (Method::GET, path) if path.ends_with("/cruisecontroloperations") => (200, empty_list()),
        (Method::POST, path) if path.ends_with("/events") => (201, request.body.clone()),
        other => panic!("unexpected request {other:?}"),
    }));
    let answer = service(client, true).add_broker(add_broker("fp/4/upScale")).await.expect("answered").into_inner();
    let result = answer.result.expect("result");
    assert_eq!(result.outcome, Outcome::Refused as i32);
    assert!(result.reason.contains("the cluster is not running"), "{}", result.reason);
    assert!(patches(&seen).is_empty());
    let events: Vec<Seen> =
        seen.lock().expect("not poisoned").iter().filter(|s| s.path.ends_with("/events")).cloned().collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body["type"], "Warning");
    assert_eq!(events[0].body["reason"], "AlertActionRefused");
}
