//! For every admission rule, an object it rejects and the message it gives: the unit tests
//! check them with client-side CEL, the test-bed suite against a real apiserver, and they show
//! a reader what each rule is for.

use serde_json::{Value, json};

/// Valid samples the examples start from (repository paths).
pub const KRAFT: &str = "deploy/samples/kafkacluster-kraft-combined.yaml";
pub const ZOOKEEPER: &str = "deploy/samples/kafkacluster-zookeeper.yaml";
pub const TOPIC: &str = "deploy/samples/kafkatopic.yaml";
pub const USER: &str = "deploy/samples/kafkauser.yaml";

/// An object one rule must reject.
pub struct RejectedExample {
    pub rule_id: &'static str,
    /// Repository path of the valid sample the example starts from.
    pub sample: &'static str,
    /// Turns the sample into the rejected object.
    pub edit: fn(&mut Value),
    /// Whether the edit is an update of the unedited sample (for transition rules).
    pub update: bool,
    /// Text the rejection message contains.
    pub expect: &'static str,
}

fn listener(spec: &mut Value, index: usize) -> &mut Value {
    &mut spec["spec"]["listenersConfig"]["internalListeners"][index]
}

pub const EXAMPLES: &[RejectedExample] = &[
    RejectedExample {
        rule_id: "zookeeper-addresses-required",
        sample: ZOOKEEPER,
        edit: |v| {
            v["spec"].as_object_mut().map(|spec| spec.remove("zkAddresses"));
        },
        update: false,
        expect: "spec.zkAddresses is required in ZooKeeper mode",
    },
    RejectedExample {
        rule_id: "broker-config-group-exists",
        sample: KRAFT,
        edit: |v| v["spec"]["brokers"][1]["brokerConfigGroup"] = json!("missing"),
        update: false,
        expect: "every spec.brokers[].brokerConfigGroup must be a key of spec.brokerConfigGroups",
    },
    RejectedExample {
        rule_id: "kraft-controller-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["processRoles"] = json!(["broker"]),
        update: false,
        expect: "at least one broker needs processRoles containing controller",
    },
    RejectedExample {
        rule_id: "kraft-broker-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["processRoles"] = json!(["controller"]),
        update: false,
        expect: "at least one broker needs processRoles containing broker",
    },
    RejectedExample {
        rule_id: "kraft-process-roles-required",
        sample: KRAFT,
        edit: |v| {
            v["spec"]["brokers"][2] = json!({"id": 2});
        },
        update: false,
        expect: "in KRaft mode every broker needs processRoles",
    },
    RejectedExample {
        rule_id: "kraft-controller-listener-required",
        sample: KRAFT,
        edit: |v| {
            listener(v, 1).as_object_mut().map(|l| l.remove("usedForControllerCommunication"));
        },
        update: false,
        expect: "one internal listener needs usedForControllerCommunication: true",
    },
    RejectedExample {
        rule_id: "kraft-controller-listener-separate",
        sample: KRAFT,
        edit: |v| {
            listener(v, 0)["usedForControllerCommunication"] = json!(true);
            listener(v, 1)["usedForControllerCommunication"] = json!(false);
        },
        update: false,
        expect: "the controller listener cannot also be the inter-broker listener",
    },
    RejectedExample {
        rule_id: "one-inter-broker-listener",
        sample: KRAFT,
        edit: |v| listener(v, 0)["usedForInnerBrokerCommunication"] = json!(false),
        update: false,
        expect: "exactly one internal listener must have usedForInnerBrokerCommunication: true",
    },
    RejectedExample {
        rule_id: "at-most-one-controller-listener",
        sample: ZOOKEEPER,
        edit: |v| listener(v, 0)["usedForControllerCommunication"] = json!(true),
        update: false,
        expect: "at most one internal listener may have usedForControllerCommunication: true",
    },
    RejectedExample {
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
    RejectedExample {
        rule_id: "unique-listener-ports",
        sample: KRAFT,
        edit: |v| listener(v, 1)["containerPort"] = json!(29092),
        update: false,
        expect: "every listener needs a containerPort of its own",
    },
    RejectedExample {
        rule_id: "external-ports-in-range",
        sample: KRAFT,
        edit: |v| {
            v["spec"]["listenersConfig"]["externalListeners"] = json!([{
                "type": "plaintext", "name": "external", "containerPort": 9094, "externalStartingPort": 65534
            }]);
        },
        update: false,
        expect: "must lie in 1..65535 for every broker id",
    },
    RejectedExample {
        rule_id: "external-ports-clear-of-ingress-ports",
        sample: KRAFT,
        edit: |v| {
            v["spec"]["listenersConfig"]["externalListeners"] = json!([{
                "type": "plaintext", "name": "external", "containerPort": 9094, "externalStartingPort": 8079
            }]);
        },
        update: false,
        expect: "collide with a port the ingress listens on itself",
    },
    RejectedExample {
        rule_id: "envoy-admin-and-health-ports-differ",
        sample: KRAFT,
        edit: |v| v["spec"]["envoyConfig"] = json!({"adminPort": 8080}),
        update: false,
        expect: "spec.envoyConfig.adminPort and spec.envoyConfig.healthCheckPort must differ",
    },
    RejectedExample {
        rule_id: "storage-source-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokers"][0]["brokerConfig"] = json!({"storageConfigs": [{"mountPath": "/data"}]}),
        update: false,
        expect: "a storageConfigs entry needs pvcSpec",
    },
    RejectedExample {
        rule_id: "group-storage-source-required",
        sample: KRAFT,
        edit: |v| v["spec"]["brokerConfigGroups"]["default"]["storageConfigs"] = json!([{"mountPath": "/data"}]),
        update: false,
        expect: "a storageConfigs entry needs pvcSpec",
    },
    RejectedExample {
        rule_id: "topic-name-not-dots",
        sample: TOPIC,
        edit: |v| v["spec"]["name"] = json!(".."),
        update: false,
        expect: "are not valid Kafka topic names",
    },
    RejectedExample {
        rule_id: "topic-name-immutable",
        sample: TOPIC,
        edit: |v| v["spec"]["name"] = json!("renamed"),
        update: true,
        expect: "spec.name is immutable",
    },
    RejectedExample {
        rule_id: "topic-partitions-positive",
        sample: TOPIC,
        edit: |v| v["spec"]["partitions"] = json!(0),
        update: false,
        expect: "spec.partitions must be positive",
    },
    RejectedExample {
        rule_id: "topic-partitions-grow-only",
        sample: TOPIC,
        edit: |v| {
            // The sample has 1 partition: going to the broker default is not growth either.
            v["spec"]["partitions"] = json!(-1);
        },
        update: true,
        expect: "spec.partitions can only grow",
    },
    RejectedExample {
        rule_id: "topic-replication-factor-positive",
        sample: TOPIC,
        edit: |v| v["spec"]["replicationFactor"] = json!(0),
        update: false,
        expect: "spec.replicationFactor must be positive",
    },
    RejectedExample {
        rule_id: "topic-replication-factor-immutable",
        sample: TOPIC,
        edit: |v| v["spec"]["replicationFactor"] = json!(3),
        update: true,
        expect: "spec.replicationFactor is immutable",
    },
    RejectedExample {
        rule_id: "user-grant-topic-name",
        sample: USER,
        edit: |v| v["spec"]["topicGrants"][0]["topicName"] = json!("my topic"),
        update: false,
        expect: "topicGrants[].topicName must be a Kafka topic name",
    },
];
