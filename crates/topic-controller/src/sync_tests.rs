//! How a TLS cluster's missing or unreadable material shows in a pass and in the KafkaTopics' status.

use crd_types::conditions::READY;
use kube::core::Status;

use super::*;
use crate::plan::tests::request;
use crate::tls_material::MaterialError;

fn cluster() -> ClusterKey {
    ClusterKey { namespace: "kafka".into(), name: "kafka".into() }
}

fn controller_secret() -> SecretName {
    SecretName { namespace: "kafka".into(), name: "kafka-controller".into() }
}

/// The Ready condition every KafkaTopic of the cluster gets for `unavailable`.
fn ready_condition(unavailable: &Unavailable) -> (String, String, bool) {
    let orders = request("orders", "orders");
    let plan = unavailable_plan(&[&orders], unavailable);
    let outcome = plan.outcomes.get(&orders.resource).expect("an outcome for the topic");
    let status = status::desired_status(&orders, outcome, &Time(Timestamp::now()));
    let ready = status.conditions.iter().find(|c| c.type_ == READY).expect("Ready condition");
    (ready.reason.clone(), ready.message.clone(), outcome.retry_soon())
}

#[test]
fn a_missing_key_is_waited_for_and_named_in_the_status() {
    let missing = MaterialError::KeyMissing {
        secret: controller_secret(),
        key: "tls.key".into(),
        purpose: "the operator's client key",
    };
    let unavailable = waiting_for_tls(&cluster(), tls_secrets::Error::Missing(missing));
    assert!(unavailable.failure.is_none(), "not a failure: the certificate backend writes it soon");
    let (reason, message, retry_soon) = ready_condition(&unavailable);
    assert_eq!(reason, "WaitingForCluster");
    assert!(message.contains("waiting for key tls.key"), "{message}");
    assert!(message.contains("Secret kafka/kafka-controller"), "{message}");
    assert!(retry_soon);
}

#[test]
fn a_refused_read_fails_the_pass_and_says_why() {
    let forbidden = kube::Error::Api(Box::new(
        Status::failure("secrets \"kafka-controller\" is forbidden", "Forbidden").with_code(403),
    ));
    let read = tls_secrets::Error::Read { secret: controller_secret(), source: forbidden };
    let unavailable = waiting_for_tls(&cluster(), read);
    let failure = unavailable.failure.as_deref().expect("a failure of the pass");
    assert!(matches!(failure, PassError::ReadSecret { .. }), "{failure:?}");
    assert!(!failure.class().is_transient(), "RBAC does not fix itself");
    let (_, message, _) = ready_condition(&unavailable);
    assert!(message.starts_with("failed to read Secret kafka/kafka-controller"), "{message}");
    assert!(message.contains("is forbidden"), "{message}");
}
