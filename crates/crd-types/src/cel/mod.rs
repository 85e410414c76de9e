//! Admission rules: CEL `x-kubernetes-validations` the apiserver evaluates before a spec is stored.
//!
//! They live in one table instead of beside each field because most of them relate several
//! fields (a broker and the config group it names, listeners of both kinds), and because the
//! test-bed suite checks each one on a real apiserver by its `id`. Every message names the
//! field and says how to fix it.

pub mod rule_examples;

/// One CEL rule and where in a CRD's schema it is attached.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionRule {
    /// Stable name, used by tests and docs.
    pub id: &'static str,
    /// Kind whose CRD carries the rule.
    pub kind: &'static str,
    /// Path from `openAPIV3Schema` through `properties`; `[]` steps into array items.
    pub schema_path: &'static [&'static str],
    pub rule: &'static str,
    /// A static message: the apiserver's cost budget for `messageExpression` cannot afford
    /// iterating the brokers again to name the offending one.
    pub message: &'static str,
    /// JSON path, relative to the rule's object, of the field the error is reported on.
    pub field_path: Option<&'static str>,
}

/// `true` when the cluster runs in KRaft mode (the field defaults to false).
macro_rules! kraft {
    () => {
        "(has(self.kRaft) && self.kRaft)"
    };
}

/// `true` when broker `b` has process role `$role`, from its own brokerConfig or its group.
macro_rules! has_role {
    ($role:literal) => {
        concat!(
            "((has(b.brokerConfig) && has(b.brokerConfig.processRoles) && '", $role, "' in b.brokerConfig.processRoles)",
            " || (has(b.brokerConfigGroup) && has(self.brokerConfigGroups) && b.brokerConfigGroup in self.brokerConfigGroups",
            " && has(self.brokerConfigGroups[b.brokerConfigGroup].processRoles)",
            " && '", $role, "' in self.brokerConfigGroups[b.brokerConfigGroup].processRoles))"
        )
    };
}

/// `true` when broker `b` names a config group that does not exist.
macro_rules! unknown_group {
    () => {
        "(has(b.brokerConfigGroup) && b.brokerConfigGroup != '' && !(has(self.brokerConfigGroups) && b.brokerConfigGroup in self.brokerConfigGroups))"
    };
}

macro_rules! listener_flag {
    ($var:literal, $flag:literal) => {
        concat!("(has(", $var, ".", $flag, ") && ", $var, ".", $flag, ")")
    };
}

pub const ADMISSION_RULES: &[AdmissionRule] = &[
    // KafkaCluster
    AdmissionRule {
        id: "zookeeper-addresses-required",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(kraft!(), " || (has(self.zkAddresses) && size(self.zkAddresses) > 0)"),
        message: "spec.zkAddresses is required in ZooKeeper mode (spec.kRaft is false): list the ZooKeeper servers as host:port, or set spec.kRaft: true",
        field_path: Some(".zkAddresses"),
    },
    AdmissionRule {
        id: "broker-config-group-exists",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!("self.brokers.all(b, !", unknown_group!(), ")"),
        message: "every spec.brokers[].brokerConfigGroup must be a key of spec.brokerConfigGroups",
        field_path: Some(".brokers"),
    },
    AdmissionRule {
        id: "kraft-controller-required",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!("!", kraft!(), " || self.brokers.exists(b, ", has_role!("controller"), ")"),
        message: "in KRaft mode (spec.kRaft: true) at least one broker needs processRoles containing controller, in its brokerConfig or its brokerConfigGroup",
        field_path: Some(".brokers"),
    },
    AdmissionRule {
        id: "kraft-broker-required",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!("!", kraft!(), " || self.brokers.exists(b, ", has_role!("broker"), ")"),
        message: "in KRaft mode (spec.kRaft: true) at least one broker needs processRoles containing broker, or the cluster cannot serve clients",
        field_path: Some(".brokers"),
    },
    AdmissionRule {
        id: "kraft-process-roles-required",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!",
            kraft!(),
            " || self.brokers.all(b, ",
            has_role!("broker"),
            " || ",
            has_role!("controller"),
            ")"
        ),
        message: "in KRaft mode every broker needs processRoles (broker, controller or both) in its brokerConfig or its brokerConfigGroup",
        field_path: Some(".brokers"),
    },
    AdmissionRule {
        id: "kraft-controller-listener-required",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!",
            kraft!(),
            " || self.listenersConfig.internalListeners.exists(l, ",
            listener_flag!("l", "usedForControllerCommunication"),
            ")"
        ),
        message: "in KRaft mode one internal listener needs usedForControllerCommunication: true (the listener of the controller quorum)",
        field_path: Some(".listenersConfig.internalListeners"),
    },
    AdmissionRule {
        id: "kraft-controller-listener-separate",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!",
            kraft!(),
            " || !self.listenersConfig.internalListeners.exists(l, ",
            listener_flag!("l", "usedForControllerCommunication"),
            " && ",
            listener_flag!("l", "usedForInnerBrokerCommunication"),
            ")"
        ),
        message: "in KRaft mode the controller listener cannot also be the inter-broker listener: give usedForControllerCommunication and usedForInnerBrokerCommunication to different internal listeners",
        field_path: Some(".listenersConfig.internalListeners"),
    },
    AdmissionRule {
        id: "one-inter-broker-listener",
        kind: "KafkaCluster",
        schema_path: &["spec", "listenersConfig"],
        rule: concat!(
            "self.internalListeners.filter(l, ",
            listener_flag!("l", "usedForInnerBrokerCommunication"),
            ").size() == 1"
        ),
        message: "exactly one internal listener must have usedForInnerBrokerCommunication: true (the listener brokers replicate over)",
        field_path: Some(".internalListeners"),
    },
    AdmissionRule {
        id: "at-most-one-controller-listener",
        kind: "KafkaCluster",
        schema_path: &["spec", "listenersConfig"],
        rule: concat!(
            "self.internalListeners.filter(l, ",
            listener_flag!("l", "usedForControllerCommunication"),
            ").size() <= 1"
        ),
        message: "at most one internal listener may have usedForControllerCommunication: true",
        field_path: Some(".internalListeners"),
    },
    AdmissionRule {
        id: "unique-listener-names",
        kind: "KafkaCluster",
        schema_path: &["spec", "listenersConfig"],
        rule: "!has(self.externalListeners) || self.externalListeners.all(e, !self.internalListeners.exists(i, i.name == e.name))",
        message: "listener names must be unique across internalListeners and externalListeners",
        field_path: Some(".externalListeners"),
    },
    AdmissionRule {
        id: "unique-listener-ports",
        kind: "KafkaCluster",
        schema_path: &["spec", "listenersConfig"],
        rule: concat!(
            "self.internalListeners.all(i, self.internalListeners.exists_one(j, j.containerPort == i.containerPort))",
            " && (!has(self.externalListeners) || self.externalListeners.all(e,",
            " !self.internalListeners.exists(i, i.containerPort == e.containerPort)",
            " && self.externalListeners.exists_one(f, f.containerPort == e.containerPort)))"
        ),
        message: "every listener needs a containerPort of its own: two listeners cannot bind the same port",
        field_path: None,
    },
    AdmissionRule {
        id: "external-ports-in-range",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!has(self.listenersConfig.externalListeners) || self.listenersConfig.externalListeners.all(e, ",
            "e.externalStartingPort == -1",
            " || (e.externalStartingPort == 0 && has(e.accessMethod) && e.accessMethod == 'NodePort')",
            " || self.brokers.all(b, e.externalStartingPort + b.id >= 1 && e.externalStartingPort + b.id <= 65535))"
        ),
        message: "spec.listenersConfig.externalListeners[].externalStartingPort + broker id is each broker's external port and must lie in 1..65535 for every broker id: lower externalStartingPort (0 lets Kubernetes pick node ports, with accessMethod: NodePort only)",
        field_path: Some(".listenersConfig.externalListeners"),
    },
    AdmissionRule {
        id: "external-ports-clear-of-ingress-ports",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!has(self.listenersConfig.externalListeners) || self.listenersConfig.externalListeners.all(e, ",
            "e.externalStartingPort <= 0 || (has(e.accessMethod) && e.accessMethod != 'LoadBalancer')",
            " || self.brokers.all(b, !(e.externalStartingPort + b.id in [",
            "has(e.ingressControllerTargetPort) ? e.ingressControllerTargetPort : 29092, ",
            "has(e.anyCastPort) ? e.anyCastPort : 29092, ",
            "has(self.envoyConfig) && has(self.envoyConfig.adminPort) ? self.envoyConfig.adminPort : 8081, ",
            "has(self.envoyConfig) && has(self.envoyConfig.healthCheckPort) ? self.envoyConfig.healthCheckPort : 8080])))"
        ),
        message: "a LoadBalancer listener's broker ports (externalStartingPort + broker id) collide with a port the ingress listens on itself: anyCastPort, ingressControllerTargetPort (both 29092 unless set), envoyConfig.adminPort (8081) or envoyConfig.healthCheckPort (8080); move spec.listenersConfig.externalListeners[].externalStartingPort",
        field_path: Some(".listenersConfig.externalListeners"),
    },
    AdmissionRule {
        id: "envoy-admin-and-health-ports-differ",
        kind: "KafkaCluster",
        schema_path: &["spec"],
        rule: concat!(
            "!has(self.envoyConfig) || (has(self.envoyConfig.adminPort) ? self.envoyConfig.adminPort : 8081)",
            " != (has(self.envoyConfig.healthCheckPort) ? self.envoyConfig.healthCheckPort : 8080)"
        ),
        message: "spec.envoyConfig.adminPort and spec.envoyConfig.healthCheckPort must differ (defaults 8081 and 8080): Envoy cannot serve both on one port",
        field_path: Some(".envoyConfig"),
    },
    AdmissionRule {
        id: "storage-source-required",
        kind: "KafkaCluster",
        schema_path: &["spec", "brokers", "[]", "brokerConfig", "storageConfigs", "[]"],
        rule: "has(self.pvcSpec) || has(self.emptyDir)",
        message: "a storageConfigs entry needs pvcSpec (persistent) or emptyDir (data lost with the pod)",
        field_path: None,
    },
    AdmissionRule {
        id: "group-storage-source-required",
        kind: "KafkaCluster",
        schema_path: &["spec", "brokerConfigGroups", "*", "storageConfigs", "[]"],
        rule: "has(self.pvcSpec) || has(self.emptyDir)",
        message: "a storageConfigs entry needs pvcSpec (persistent) or emptyDir (data lost with the pod)",
        field_path: None,
    },
    // KafkaTopic
    AdmissionRule {
        id: "topic-name-not-dots",
        kind: "KafkaTopic",
        schema_path: &["spec", "name"],
        rule: "self != '.' && self != '..'",
        message: "spec.name: '.' and '..' are not valid Kafka topic names",
        field_path: None,
    },
    AdmissionRule {
        id: "topic-name-immutable",
        kind: "KafkaTopic",
        schema_path: &["spec", "name"],
        rule: "self == oldSelf",
        message: "spec.name is immutable: Kafka cannot rename a topic; create a new KafkaTopic instead",
        field_path: None,
    },
    AdmissionRule {
        id: "topic-partitions-positive",
        kind: "KafkaTopic",
        schema_path: &["spec", "partitions"],
        rule: "self != 0",
        message: "spec.partitions must be positive, or -1 for the broker default",
        field_path: None,
    },
    AdmissionRule {
        id: "topic-partitions-grow-only",
        kind: "KafkaTopic",
        schema_path: &["spec", "partitions"],
        rule: "oldSelf == -1 || (self != -1 && self >= oldSelf)",
        message: "spec.partitions can only grow: Kafka cannot remove partitions from a topic",
        field_path: None,
    },
    AdmissionRule {
        id: "topic-replication-factor-positive",
        kind: "KafkaTopic",
        schema_path: &["spec", "replicationFactor"],
        rule: "self != 0",
        message: "spec.replicationFactor must be positive, or -1 for the broker default",
        field_path: None,
    },
    AdmissionRule {
        id: "topic-replication-factor-immutable",
        kind: "KafkaTopic",
        schema_path: &["spec", "replicationFactor"],
        rule: "self == oldSelf",
        message: "spec.replicationFactor is immutable: change a topic's replicas by reassigning its partitions (Cruise Control) instead",
        field_path: None,
    },
    // KafkaUser
    AdmissionRule {
        id: "user-grant-topic-name",
        kind: "KafkaUser",
        schema_path: &["spec", "topicGrants", "[]"],
        rule: "self.topicName == '*' || self.topicName.matches('^[a-zA-Z0-9._-]+$')",
        message: "topicGrants[].topicName must be a Kafka topic name (letters, digits, '.', '_', '-'), a prefix of one, or * for all topics",
        field_path: Some(".topicName"),
    },
];

/// The rules attached to one kind's CRD.
pub fn rules_for(kind: &str) -> impl Iterator<Item = &'static AdmissionRule> + '_ {
    ADMISSION_RULES.iter().filter(move |rule| rule.kind == kind)
}
