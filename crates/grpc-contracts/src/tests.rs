use std::pin::Pin;

use prost::Message;
use tokio_stream::{Stream, StreamExt, wrappers::TcpListenerStream};
use tonic::{Request, Response, Status, transport::Server};

use crate::actions_v1::{
    self, ActionOrigin, ActionResult, AddBrokerRequest, AddBrokerResponse, AddDiskRequest, AddDiskResponse,
    GrowDiskRequest, GrowDiskResponse, Outcome, RemoveBrokerRequest, RemoveBrokerResponse,
    add_broker_request::BrokerSettings,
    cluster_actions_client::ClusterActionsClient,
    cluster_actions_server::{ClusterActions, ClusterActionsServer},
};
use crate::cluster_v1::{
    self, ClusterAccessInfo, GetClusterAccessRequest, GetClusterAccessResponse, Listener, MetadataMode, NotReady,
    SecurityProtocol, WatchClusterAccessRequest, WatchClusterAccessResponse,
    cluster_access_client::ClusterAccessClient,
    cluster_access_server::{ClusterAccess, ClusterAccessServer},
    watch_cluster_access_response::State,
};

fn kafka_cluster() -> cluster_v1::ClusterRef {
    cluster_v1::ClusterRef { namespace: "kafka".into(), name: "kafka".into() }
}

fn plaintext_access() -> ClusterAccessInfo {
    ClusterAccessInfo {
        cluster: Some(kafka_cluster()),
        observed_generation: 3,
        listeners: vec![Listener {
            name: "internal".into(),
            bootstrap_servers: vec!["kafka-all-broker.kafka.svc:29092".into()],
            security_protocol: SecurityProtocol::Plaintext.into(),
            tls_enabled: false,
            credentials: None,
        }],
        preferred_listener: "internal".into(),
        kafka_version: "3.9.1".into(),
        metadata_mode: MetadataMode::Kraft.into(),
        broker_ids: vec![0, 1, 2],
    }
}

#[test]
fn cluster_access_round_trips_through_the_wire_format() {
    let original = GetClusterAccessResponse { access: Some(plaintext_access()) };
    let bytes = original.encode_to_vec();
    let decoded = GetClusterAccessResponse::decode(bytes.as_slice()).expect("valid encoding");
    assert_eq!(decoded, original);
    let access = decoded.access.expect("access is set");
    assert_eq!(access.metadata_mode(), MetadataMode::Kraft);
    assert_eq!(access.listeners[0].security_protocol(), SecurityProtocol::Plaintext);
}

#[test]
fn add_broker_request_round_trips_with_its_oneof() {
    let original = AddBrokerRequest {
        cluster: Some(actions_v1::ClusterRef { namespace: "kafka".into(), name: "kafka".into() }),
        origin: Some(ActionOrigin {
            idempotency_key: "fp-1234/2025-01-01T00:00:00Z".into(),
            reason: "alert BrokerOverLoaded firing".into(),
            alert_fingerprint: "fp-1234".into(),
        }),
        broker_settings: Some(BrokerSettings::BrokerConfigGroup("default".into())),
    };
    let decoded = AddBrokerRequest::decode(original.encode_to_vec().as_slice()).expect("valid");
    assert_eq!(decoded, original);
}

/// Refuses everything past a fixed broker count, like an upScaleLimit would.
struct FixedLimitActions;

fn refused(reason: &str) -> Option<ActionResult> {
    Some(ActionResult { outcome: Outcome::Refused.into(), reason: reason.into() })
}

#[tonic::async_trait]
impl ClusterActions for FixedLimitActions {
    async fn add_broker(&self, request: Request<AddBrokerRequest>) -> Result<Response<AddBrokerResponse>, Status> {
        let request = request.into_inner();
        let Some(origin) = request.origin.filter(|origin| !origin.idempotency_key.is_empty()) else {
            return Err(Status::invalid_argument("origin.idempotency_key is required"));
        };
        if origin.idempotency_key == "seen-before" {
            let result =
                ActionResult { outcome: Outcome::AlreadyDone.into(), reason: "broker 3 was added for this key".into() };
            return Ok(Response::new(AddBrokerResponse { result: Some(result), broker_id: Some(3) }));
        }
        Ok(Response::new(AddBrokerResponse { result: refused("upScaleLimit 5 reached"), broker_id: None }))
    }

    async fn remove_broker(
        &self,
        _request: Request<RemoveBrokerRequest>,
    ) -> Result<Response<RemoveBrokerResponse>, Status> {
        Err(Status::not_found("kafkacluster kafka/kafka not found"))
    }

    async fn add_disk(&self, _request: Request<AddDiskRequest>) -> Result<Response<AddDiskResponse>, Status> {
        Ok(Response::new(AddDiskResponse { result: refused("not implemented in this test") }))
    }

    async fn grow_disk(&self, _request: Request<GrowDiskRequest>) -> Result<Response<GrowDiskResponse>, Status> {
        Ok(Response::new(GrowDiskResponse { result: refused("not implemented in this test") }))
    }

    async fn report_rolling_upgrade_alerts(
        &self,
        _request: Request<actions_v1::ReportRollingUpgradeAlertsRequest>,
    ) -> Result<Response<actions_v1::ReportRollingUpgradeAlertsResponse>, Status> {
        Err(Status::unimplemented("not implemented in this test"))
    }
}

/// Reports the cluster as not ready, then ready, then ends the watch.
struct TwoStateAccess;

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchClusterAccessResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ClusterAccess for TwoStateAccess {
    async fn get_cluster_access(
        &self,
        request: Request<GetClusterAccessRequest>,
    ) -> Result<Response<GetClusterAccessResponse>, Status> {
        match request.into_inner().cluster {
            Some(cluster) if cluster == kafka_cluster() => {
                Err(Status::failed_precondition("cluster kafka/kafka is not ready: no brokers"))
            }
            _ => Err(Status::not_found("no such kafkacluster")),
        }
    }

    type WatchClusterAccessStream = WatchStream;

    async fn watch_cluster_access(
        &self,
        _request: Request<WatchClusterAccessRequest>,
    ) -> Result<Response<Self::WatchClusterAccessStream>, Status> {
        let not_ready = WatchClusterAccessResponse {
            state: Some(State::NotReady(NotReady { cluster: Some(kafka_cluster()), reason: "no brokers".into() })),
        };
        let ready = WatchClusterAccessResponse { state: Some(State::Ready(plaintext_access())) };
        Ok(Response::new(Box::pin(tokio_stream::iter([Ok(not_ready), Ok(ready)]))))
    }
}

#[tokio::test]
async fn in_process_server_answers_both_services() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let server = tokio::spawn(
        Server::builder()
            .add_service(ClusterActionsServer::new(FixedLimitActions))
            .add_service(ClusterAccessServer::new(TwoStateAccess))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let endpoint = format!("http://{address}");

    let mut actions = ClusterActionsClient::connect(endpoint.clone()).await.expect("connect");
    let origin = |key: &str| ActionOrigin {
        idempotency_key: key.into(),
        reason: "test".into(),
        alert_fingerprint: String::new(),
    };
    let refusal = actions
        .add_broker(AddBrokerRequest { origin: Some(origin("new")), ..Default::default() })
        .await
        .expect("refusal is an answer, not an error")
        .into_inner();
    let result = refusal.result.expect("result is set");
    assert_eq!(result.outcome(), Outcome::Refused);
    assert_eq!(result.reason, "upScaleLimit 5 reached");

    let repeat = actions
        .add_broker(AddBrokerRequest { origin: Some(origin("seen-before")), ..Default::default() })
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(repeat.result.expect("result").outcome(), Outcome::AlreadyDone);
    assert_eq!(repeat.broker_id, Some(3));

    let missing_key = actions.add_broker(AddBrokerRequest::default()).await.expect_err("key is required");
    assert_eq!(missing_key.code(), tonic::Code::InvalidArgument);

    let mut access = ClusterAccessClient::connect(endpoint).await.expect("connect");
    let not_ready = access
        .get_cluster_access(GetClusterAccessRequest { cluster: Some(kafka_cluster()) })
        .await
        .expect_err("cluster is not ready");
    assert_eq!(not_ready.code(), tonic::Code::FailedPrecondition);
    assert!(not_ready.message().contains("not ready"), "{}", not_ready.message());

    let states: Vec<_> = access
        .watch_cluster_access(WatchClusterAccessRequest { cluster: Some(kafka_cluster()) })
        .await
        .expect("watch starts")
        .into_inner()
        .map(|message| message.expect("no stream error").state.expect("state is set"))
        .collect()
        .await;
    assert!(matches!(states[0], State::NotReady(_)));
    assert!(matches!(&states[1], State::Ready(info) if info.broker_ids == [0, 1, 2]));

    server.abort();
}
