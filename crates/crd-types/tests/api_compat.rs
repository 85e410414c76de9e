//! Koperator manifests go through our types and our CRD schemas without losing a field.

mod support;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crd_types::cruise_control_operation::CruiseControlTaskOperation;
use crd_types::kafka_cluster::{ConfigurationState, CruiseControlState, KafkaClusterStatus};
use crd_types::{
    CruiseControlOperation, CruiseControlOperationStatus, KafkaCluster, KafkaTopic, KafkaTopicStatus, KafkaUser,
    KafkaUserStatus,
};
use support::{SAMPLES, manifest, schema_of, schema_problems};

fn round_trip<T: DeserializeOwned + Serialize>(original: &Value) -> Value {
    let typed: T = serde_json::from_value(original.clone()).expect("manifest deserializes");
    serde_json::to_value(&typed).expect("typed value serializes")
}

#[test]
fn every_sample_round_trips_without_losing_a_field() {
    for (kind, path) in SAMPLES {
        let original = manifest(path);
        let again = match *kind {
            "KafkaCluster" => round_trip::<KafkaCluster>(&original),
            "KafkaTopic" => round_trip::<KafkaTopic>(&original),
            "KafkaUser" => round_trip::<KafkaUser>(&original),
            "CruiseControlOperation" => round_trip::<CruiseControlOperation>(&original),
            other => panic!("no type for {other}"),
        };
        assert_eq!(again, original, "{path} changed in a round trip through the {kind} type");
    }
}

#[test]
fn koperator_status_round_trips() {
    let original = manifest("crates/crd-types/tests/fixtures/kafkacluster-status.yaml");
    assert_eq!(round_trip::<KafkaClusterStatus>(&original), original);
}

#[test]
fn generated_schemas_know_every_field_of_every_sample() {
    for (kind, path) in SAMPLES {
        let object = manifest(path);
        let schema = schema_of(kind);
        let mut pruned = Vec::new();
        for part in ["spec", "status"] {
            if let Some(value) = object.get(part) {
                schema_problems(value, &schema["properties"][part], part, &mut pruned);
            }
        }
        assert!(pruned.is_empty(), "{path}: the {kind} schema would prune {pruned:?}");
    }
}

#[test]
fn generated_schema_knows_every_status_field() {
    let status = manifest("crates/crd-types/tests/fixtures/kafkacluster-status.yaml");
    let mut pruned = Vec::new();
    schema_problems(&status, &schema_of("KafkaCluster")["properties"]["status"], "status", &mut pruned);
    assert!(pruned.is_empty(), "the KafkaCluster schema would prune {pruned:?}");
}

#[test]
fn the_every_field_fixture_sets_every_top_level_spec_field() {
    // Guards the fixture itself: a field added to the API must be added to the fixture too,
    // or the round-trip tests above would not cover it.
    let fixture = manifest("crates/crd-types/tests/fixtures/kafkacluster-every-field-group.yaml");
    let schema = schema_of("KafkaCluster");
    let declared = schema["properties"]["spec"]["properties"].as_object().expect("spec properties");
    let missing: Vec<_> = declared.keys().filter(|name| fixture["spec"].get(name.as_str()).is_none()).collect();
    assert!(missing.is_empty(), "fixture lacks spec fields {missing:?}");
}

/// Paths in `value` whose string is not one of the values the schema's `enum` lists.
fn enum_violations(value: &Value, schema: &Value, path: &str, found: &mut Vec<String>) {
    if let (Some(allowed), Value::String(_)) = (schema.get("enum").and_then(Value::as_array), value)
        && !allowed.contains(value)
    {
        found.push(format!("{path} = {value}"));
    }
    match value {
        Value::Object(fields) => {
            for (name, child) in fields {
                let child_schema = schema
                    .get("properties")
                    .and_then(|p| p.get(name))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(child_schema) = child_schema {
                    enum_violations(child, child_schema, &format!("{path}.{name}"), found);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    enum_violations(item, item_schema, &format!("{path}[{index}]"), found);
                }
            }
        }
        _ => {}
    }
}

const KOPERATOR_STATUSES: &[(&str, &str)] = &[
    ("KafkaCluster", "crates/crd-types/tests/fixtures/koperator/status-kafkacluster.yaml"),
    ("KafkaTopic", "crates/crd-types/tests/fixtures/koperator/status-kafkatopic.yaml"),
    ("KafkaUser", "crates/crd-types/tests/fixtures/koperator/status-kafkauser.yaml"),
    ("CruiseControlOperation", "crates/crd-types/tests/fixtures/koperator/status-cruisecontroloperation.yaml"),
];

#[test]
fn koperator_zero_value_statuses_are_admitted_and_read_as_unset() {
    for (kind, path) in KOPERATOR_STATUSES {
        let status = manifest(path);
        let schema = &schema_of(kind)["properties"]["status"];
        let (mut pruned, mut refused) = (Vec::new(), Vec::new());
        schema_problems(&status, schema, "status", &mut pruned);
        enum_violations(&status, schema, "status", &mut refused);
        assert!(pruned.is_empty(), "{path}: the {kind} schema would prune {pruned:?}");
        assert!(refused.is_empty(), "{path}: the {kind} schema refuses {refused:?}");
    }
    let cluster: KafkaClusterStatus = serde_json::from_value(manifest(KOPERATOR_STATUSES[0].1)).expect("deserializes");
    assert_eq!(cluster.state, None);
    assert_eq!(cluster.cruise_control_topic_status, None);
    let undecided = &cluster.brokers_state["0"];
    assert_eq!(undecided.configuration_state, None);
    assert_eq!(undecided.graceful_action_state.cruise_control_state, None);
    assert_eq!(undecided.graceful_action_state.volume_states["/kafka-logs"].cruise_control_volume_state, None);
    let decided = &cluster.brokers_state["1"];
    assert_eq!(decided.configuration_state, Some(ConfigurationState::ConfigOutOfSync));
    assert_eq!(decided.graceful_action_state.cruise_control_state, Some(CruiseControlState::GracefulUpscaleRequired));

    let topic: KafkaTopicStatus = serde_json::from_value(manifest(KOPERATOR_STATUSES[1].1)).expect("deserializes");
    assert_eq!((topic.state, topic.managed_by.as_deref()), (None, Some("")));
    let user: KafkaUserStatus = serde_json::from_value(manifest(KOPERATOR_STATUSES[2].1)).expect("deserializes");
    assert_eq!(user.state, None);
    let operation: CruiseControlOperationStatus =
        serde_json::from_value(manifest(KOPERATOR_STATUSES[3].1)).expect("deserializes");
    assert_eq!(operation.error_policy, None);
    let task = operation.current_task.expect("current task");
    assert_eq!((task.operation, task.state), (CruiseControlTaskOperation::AddBroker, None));
}

#[test]
fn an_unknown_status_value_is_still_refused() {
    let schema = &schema_of("KafkaCluster")["properties"]["status"];
    let mut refused = Vec::new();
    enum_violations(&serde_json::json!({"state": "ClusterExploding"}), schema, "status", &mut refused);
    assert_eq!(refused, ["status.state = \"ClusterExploding\""]);
    let operation = &schema_of("CruiseControlOperation")["properties"]["status"];
    enum_violations(&serde_json::json!({"currentTask": {"operation": ""}}), operation, "status", &mut refused);
    assert_eq!(refused.len(), 2, "an empty operation is refused: {refused:?}");
}
