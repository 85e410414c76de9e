//! Every admission rule rejects what it should, with its message, and accepts the samples.
//! Evaluated here with kube's client-side CEL; the test-bed suite checks the same rules on a
//! real apiserver.

mod support;

use kube::core::cel::Validator;
use serde_json::json;

use crd_types::cel::ADMISSION_RULES;
use crd_types::cel::rule_examples::{EXAMPLES, TOPIC};
use support::{SAMPLES, manifest, schema_of};

fn kind_of(sample: &str) -> &'static str {
    SAMPLES.iter().find(|(_, path)| *path == sample).map(|(kind, _)| *kind).expect("known sample")
}

fn messages(errors: &kube::core::cel::ValidationErrors) -> Vec<String> {
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn every_sample_passes_every_rule() {
    let validator = Validator::new();
    for (kind, path) in SAMPLES {
        let object = manifest(path);
        if let Err(errors) = validator.validate(&schema_of(kind), &object, None) {
            panic!("{path} rejected: {:?}", messages(&errors));
        }
        if let Err(errors) = validator.validate(&schema_of(kind), &object, Some(&object)) {
            panic!("{path} rejected as an unchanged update: {:?}", messages(&errors));
        }
    }
}

#[test]
fn every_rule_rejects_its_case_with_its_message() {
    let validator = Validator::new();
    for case in EXAMPLES {
        let original = manifest(case.sample);
        let mut edited = original.clone();
        (case.edit)(&mut edited);
        let old = case.update.then_some(&original);
        let schema = schema_of(kind_of(case.sample));
        let errors = validator
            .validate(&schema, &edited, old)
            .err()
            .unwrap_or_else(|| panic!("rule {} accepted its failing case", case.rule_id));
        let all = messages(&errors);
        assert!(
            all.iter().any(|m| m.contains(case.expect)),
            "rule {}: expected a message containing {:?}, got {all:?}",
            case.rule_id,
            case.expect
        );
    }
}

#[test]
fn every_rule_has_a_case() {
    let missing: Vec<_> = ADMISSION_RULES
        .iter()
        .filter(|rule| !EXAMPLES.iter().any(|case| case.rule_id == rule.id))
        .map(|r| r.id)
        .collect();
    assert!(missing.is_empty(), "admission rules without a test case: {missing:?}");
}

#[test]
fn partitions_may_grow_and_replication_factor_may_stay() {
    let validator = Validator::new();
    let original = manifest(TOPIC);
    let mut grown = original.clone();
    grown["spec"]["partitions"] = json!(6);
    assert!(validator.validate(&schema_of("KafkaTopic"), &grown, Some(&original)).is_ok());
}
