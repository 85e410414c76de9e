//! Fixtures and schema access shared by the integration tests of this crate.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A YAML manifest (a sample under deploy/samples or a fixture under tests/fixtures) as JSON.
pub fn manifest(relative_to_repo: &str) -> Value {
    let path = repo_root().join(relative_to_repo);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The openAPIV3Schema of `kind` exactly as the apiserver receives it.
pub fn schema_of(kind: &str) -> Value {
    let crd = crd_types::crds::all()
        .expect("CRDs generate")
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let schema = crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).expect("schema");
    serde_json::to_value(schema).expect("schema serializes")
}

pub const SAMPLES: &[(&str, &str)] = &[
    ("KafkaCluster", "deploy/samples/kafkacluster-kraft-combined.yaml"),
    ("KafkaCluster", "deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml"),
    ("KafkaCluster", "deploy/samples/kafkacluster-zookeeper.yaml"),
    ("KafkaCluster", "crates/crd-types/tests/fixtures/kafkacluster-every-field-group.yaml"),
    ("KafkaTopic", "deploy/samples/kafkatopic.yaml"),
    ("KafkaUser", "deploy/samples/kafkauser.yaml"),
    ("CruiseControlOperation", "deploy/samples/cruisecontroloperation.yaml"),
];

/// Fields of `value` the schema does not declare (strict decoding refuses them, pruning drops
/// them), values of the wrong JSON type, and required fields that are missing.
pub fn schema_problems(value: &Value, schema: &Value, path: &str, found: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    let expected_type = schema.get("type").and_then(Value::as_str);
    let type_ok = match (expected_type, value) {
        (Some("object"), Value::Object(_)) | (Some("array"), Value::Array(_)) => true,
        (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Some("number"), Value::Number(_)) => true,
        (Some(_), Value::Null) => schema.get("nullable") == Some(&Value::Bool(true)),
        (Some(_), _) => false,
        (None, _) => true,
    };
    if !type_ok {
        found.push(format!("{path}: not of type {}", expected_type.unwrap_or("?")));
        return;
    }
    match value {
        Value::Object(fields) => {
            let required = schema.get("required").and_then(Value::as_array).into_iter().flatten();
            for name in required.filter_map(Value::as_str).filter(|name| !fields.contains_key(*name)) {
                found.push(format!("{path}.{name}: required"));
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, child) in fields {
                match (properties.and_then(|p| p.get(name)), additional) {
                    (Some(child_schema), _) | (None, Some(child_schema)) => {
                        schema_problems(child, child_schema, &format!("{path}.{name}"), found)
                    }
                    (None, None) => found.push(format!("{path}.{name}: unknown field")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    schema_problems(item, item_schema, &format!("{path}[{index}]"), found);
                }
            }
        }
        _ => {}
    }
}
