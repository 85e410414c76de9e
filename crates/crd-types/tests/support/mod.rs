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
