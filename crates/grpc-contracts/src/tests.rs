//! The contracts' wire format: messages round-trip through protobuf encoding. (The services
//! themselves are tested where they are implemented, e.g. the cluster controller's
//! ClusterActions against a scripted apiserver.)

use prost::Message;

use crate::actions_v1::{self, ActionOrigin, AddBrokerRequest, add_broker_request::BrokerSettings};
use crate::cluster_v1::{self, ClusterAccessInfo, GetClusterAccessResponse, Listener, MetadataMode, SecurityProtocol};

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
        user_certificate_issuer: None,
        user_ca_certificate: None,
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
