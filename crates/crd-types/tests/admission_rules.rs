//! Every admission rule rejects what it should, with its message, and accepts the samples.
//! Evaluated here with kube's client-side CEL; the test-bed suite checks the same rules on a
//! real apiserver.

mod support;

use kube::core::cel::Validator;
use serde_json::{Value, json};

use crd_types::cel::ADMISSION_RULES;
use support::{SAMPLES, manifest, schema_of};

const KRAFT: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
const ZOOKEEPER: &str = "deploy/samples/kafkacluster-zookeeper.yaml";
const TOPIC: &str = "deploy/samples/kafkatopic.yaml";
const USER: &str = "deploy/samples/kafkauser.yaml";

/// A spec that one rule must reject: `edit` turns a valid sample into it; `updated_from`
/// makes it an update of the unedited sample (for transition rules).
struct Case {
    rule_id: &'static str,
    sample: &'static str,
    edit: fn(&mut Value),
    update: bool,
    /// Text the rejection message must contain.
    expect: &'static str,
}

fn listener(spec: &mut Value, index: usize) -> &mut Value {
    &mut spec["spec"]["listenersConfig"]["internalListeners"][index]
}

const CASES: &[Case] = &[
    Case {
        rule_id: "zookeeper-addresses-required",
        sample: ZOOKEEPER,
        edit: |v| {
            v["spec"].as_object_mut().map(|spec| spec.remove("zkAddresses"));
        },
        update: false,
        expect: "spec.zkAddresses is required in ZooKeeper mode",
    },
    Case {
        rule_id: "broker-config-group-exists",
        sample: KRAFT,
        edit: |v| v["spec"]["brokers"][1]["brokerConfigGroup"] = json!("missing"),
        update: false,
        expect: "broker 1 references brokerConfigGroup \"missing\" which is not a key of spec.brokerConfigGroups",
    },
    Case {
        rule_id: "kraft-controller-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["processRoles"] = json!(["broker"]),
        update: false,
        expect: "at least one broker needs processRoles containing controller",
    },
    Case {
        rule_id: "kraft-broker-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["processRoles"] = json!(["controller"]),
        update: false,
        expect: "at least one broker needs processRoles containing broker",
    },
    Case {
        rule_id: "kraft-process-roles-required",
        sample: KRAFT,
        edit: |v| {
            v["spec"]["brokers"][2] = json!({"id": 2});
        },
        update: false,
        expect: "broker 2 has none",
    },
    Case {
        rule_id: "kraft-controller-listener-required",
        sample: KRAFT,
        edit: |v| {
            listener(v, 1).as_object_mut().map(|l| l.remove("usedForControllerCommunication"));
        },
        update: false,
        expect: "one internal listener needs usedForControllerCommunication: true",
    },
    Case {
        rule_id: "kraft-controller-listener-separate",
        sample: KRAFT,
        edit: |v| {
            listener(v, 0)["usedForControllerCommunication"] = json!(true);
            listener(v, 1)["usedForControllerCommunication"] = json!(false);
        },
        update: false,
        expect: "the controller listener cannot also be the inter-broker listener",
    },
    Case {
        rule_id: "one-inter-broker-listener",
        sample: KRAFT,
        edit: |v| listener(v, 0)["usedForInnerBrokerCommunication"] = json!(false),
        update: false,
        expect: "exactly one internal listener must have usedForInnerBrokerCommunication: true",
    },
    Case {
        rule_id: "at-most-one-controller-listener",
        sample: ZOOKEEPER,
        edit: |v| listener(v, 0)["usedForControllerCommunication"] = json!(true),
        update: false,
        expect: "at most one internal listener may have usedForControllerCommunication: true",
    },
    Case {
        rule_id: "unique-listener-names",
        sample: KRAFT,
        edit: |v| {
            v["spec"]["listenersConfig"]["externalListeners"] = json!([{
                "type": "plaintext", "name": "internal", "containerPort": 9094, "externalStartingPort": 19090
            }]);
        },
        update: false,
        expect: "listener names must be unique across internalListeners and externalListeners",
    },
    Case {
        rule_id: "unique-listener-ports",
        sample: KRAFT,
        edit: |v| listener(v, 1)["containerPort"] = json!(29092),
        update: false,
        expect: "every listener needs a containerPort of its own",
    },
    Case {
        rule_id: "storage-source-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokers"][0]["brokerConfig"] = json!({"storageConfigs": [{"mountPath": "/data"}]}),
        update: false,
        expect: "a storageConfigs entry needs pvcSpec",
    },
    Case {
        rule_id: "group-storage-source-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["storageConfigs"] = json!([{"mountPath": "/data"}]),
        update: false,
        expect: "a storageConfigs entry needs pvcSpec",
    },
    Case {
        rule_id: "topic-name-not-dots",
        sample: TOPIC,
        edit: |v| v["spec"]["name"] = json!(".."),
        update: false,
        expect: "are not valid Kafka topic names",
    },
    Case {
        rule_id: "topic-name-immutable",
        sample: TOPIC,
        edit: |v| v["spec"]["name"] = json!("renamed"),
        update: true,
        expect: "spec.name is immutable",
    },
    Case {
        rule_id: "topic-partitions-positive",
        sample: TOPIC,
        edit: |v| v["spec"]["partitions"] = json!(0),
        update: false,
        expect: "spec.partitions must be positive",
    },
    Case {
        rule_id: "topic-partitions-grow-only",
        sample: TOPIC,
        edit: |v| {
            // The sample has 1 partition: going to the broker default is not growth either.
            v["spec"]["partitions"] = json!(-1);
        },
        update: true,
        expect: "spec.partitions can only grow",
    },
    Case {
        rule_id: "topic-replication-factor-positive",
        sample: TOPIC,
        edit: |v| v["spec"]["replicationFactor"] = json!(0),
        update: false,
        expect: "spec.replicationFactor must be positive",
    },
    Case {
        rule_id: "topic-replication-factor-immutable",
        sample: TOPIC,
        edit: |v| v["spec"]["replicationFactor"] = json!(3),
        update: true,
        expect: "spec.replicationFactor is immutable",
    },
    Case {
        rule_id: "user-grant-topic-name",
        sample: USER,
        edit: |v| v["spec"]["topicGrants"][0]["topicName"] = json!("my topic"),
        update: false,
        expect: "topicGrants[].topicName must be a Kafka topic name",
    },
];

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
    for case in CASES {
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
    let missing: Vec<_> =
        ADMISSION_RULES.iter().filter(|rule| !CASES.iter().any(|case| case.rule_id == rule.id)).map(|r| r.id).collect();
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
