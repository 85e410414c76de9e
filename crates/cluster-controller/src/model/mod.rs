//! The validated model of a KafkaCluster: built once per reconcile from the raw spec, so the
//! builders never re-parse it. Pure: no client, no I/O.
//!
//! INTERFACE (owned by the lead; the builders' author fills in the bodies): the reconciler
//! calls [`validate`] and hands the result to `crate::build`.

mod authorizer;
mod cruise_control;
pub mod external;
mod kafka_version;
mod merge;
mod properties;
pub mod tainted;
mod tls;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

use crd_types::kafka_cluster::{BrokerConfig, KafkaClusterSpec, ProcessRole};
use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};

pub use cruise_control::{
    CruiseControlModel, CruiseControlPlan, DeploySettings, METRICS_TOPIC_AUTO_CREATE, UserCapacity,
};
pub use kafka_version::KAFKA_VERSION_ANNOTATION;
pub use properties::{Properties, parse_properties, render_properties};
pub use tls::{PkiSource, has_certificates, pki_source, user_certificates};

/// Kafka image used when neither the broker, its group nor the cluster names one (Koperator's).
pub const DEFAULT_KAFKA_IMAGE: &str = "ghcr.io/adobe/koperator/kafka:2.13-3.9.1";
/// `KAFKA_HEAP_OPTS` unless `kafkaHeapOpts` says otherwise.
pub const DEFAULT_HEAP_OPTS: &str = "-Xmx2G -Xms2G";
/// `KAFKA_JVM_PERFORMANCE_OPTS` unless `kafkaJvmPerfOpts` says otherwise (Koperator's).
pub const DEFAULT_JVM_PERFORMANCE_OPTS: &str = "-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
     -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
     -Dsun.net.inetaddr.ttl=60";
/// Seconds Kafka gets to move leadership away before the pod is killed.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 120;
/// Where the JMX exporter init container puts the agent jar inside the broker pod.
pub const JMX_AGENT_JAR_IN_POD: &str = "/opt/jmx-exporter/jmx_prometheus.jar";
/// Port the JMX exporter serves Prometheus metrics on.
pub const METRICS_PORT: i32 = 9020;
/// Where the broker pod gets extra jars (the Cruise Control metrics reporter), Koperator's path;
/// `CLASSPATH` names it so Kafka loads them.
pub const KAFKA_EXTENSIONS_DIR: &str = "/opt/kafka/libs/extensions";

/// A KafkaCluster that passed the checks admission cannot do (image versions, storage...).
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedCluster {
    pub name: String,
    pub namespace: String,
    /// For owner references on every object the operator creates.
    pub uid: String,
    pub generation: Option<i64>,
    /// The KafkaCluster's own labels: Koperator copies them onto its headless Services.
    pub labels: BTreeMap<String, String>,
    pub mode: MetadataMode,
    /// How KRaft nodes find the controller quorum: static from validation; the decision makes
    /// it dynamic for a cluster whose status says its quorum was formed so (`decide::kraft`).
    pub quorum: QuorumConfig,
    /// `spec.kubernetesClusterDomain`, default `cluster.local`.
    pub cluster_domain: String,
    /// Brokers sorted by id, each with its effective configuration.
    pub brokers: Vec<BrokerModel>,
    /// The raw spec, for the fields the model does not restate.
    pub spec: KafkaClusterSpec,
    /// Whether and how the operator runs Cruise Control, and what brokers need for it.
    pub cruise_control: CruiseControlModel,
    /// The external listeners the operator serves (Envoy or NodePort), Koperator's defaults
    /// filled in; the others are among `unsupported_fields`.
    pub external_listeners: Vec<external::ExternalListener>,
    /// `spec.envoyConfig` with Koperator's defaults.
    pub envoy: external::EnvoySettings,
    /// Fields accepted for Koperator compatibility that this operator does not act on yet,
    /// as JSON paths (e.g. `spec.istioIngressConfig`); reported in status, never dropped.
    pub unsupported_fields: Vec<String>,
    /// Settings that work but are probably not what the user wants (e.g. an even number of
    /// KRaft controllers); for events and status, never blocking.
    pub warnings: Vec<String>,
}

impl ValidatedCluster {
    /// `spec.clusterWideConfig`: the dynamic defaults every broker falls back to.
    pub fn cluster_wide_config(&self) -> Properties {
        self.spec.cluster_wide_config.as_deref().map(parse_properties).unwrap_or_default()
    }

    pub fn is_kraft(&self) -> bool {
        self.mode == MetadataMode::Kraft
    }
}

/// How brokers find cluster metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataMode {
    Kraft,
    /// `zookeeper.connect`, chroot included.
    ZooKeeper {
        connect: String,
    },
}

/// How KRaft nodes find the controller quorum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum QuorumConfig {
    /// `controller.quorum.voters` lists the controllers; Kafka cannot change such a quorum.
    /// Every ZooKeeper-mode cluster has this (unused) value.
    #[default]
    Static,
    /// `controller.quorum.bootstrap.servers` lists where to find the quorum (KIP-853); its
    /// voters are changed through Kafka.
    Dynamic {
        /// Until the quorum has formed: the initial controllers and their log directories,
        /// which those nodes format their storage with (`--initial-controllers`).
        initial: Option<Vec<(i32, kafka_admin::DirectoryId)>>,
    },
}

/// One Kafka node with everything merged: cluster → config group → broker.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerModel {
    pub id: i32,
    /// KRaft roles; `{Broker}` in ZooKeeper mode.
    pub roles: BTreeSet<ProcessRole>,
    /// The group's configuration merged under the broker's own (broker wins; slices append;
    /// storageConfigs de-duplicated by mountPath; envs cluster → group → broker).
    pub config: BrokerConfig,
    pub image: String,
    pub kafka_version: KafkaVersion,
    /// server.properties lines: cluster readOnlyConfig then the broker's (broker wins per key).
    pub read_only_config: String,
    /// The Kafka container's final environment: operator defaults (`KAFKA_OPTS` with the JMX
    /// agent), then the merged `envs` with `+NAME`/`NAME+` resolved, then heap and JVM options.
    pub env: Vec<EnvVar>,
    /// Requests and limits of the Kafka container (Koperator's defaults when unset).
    pub resources: ResourceRequirements,
    /// Image the Cruise Control metrics reporter jar is copied from; None for nodes that do not
    /// load it (KRaft controller-only nodes, or a listener the reporter cannot use yet).
    pub metrics_reporter_image: Option<String>,
    pub termination_grace_period_seconds: i64,
}

impl BrokerModel {
    /// The dynamic configuration Kafka should hold for this broker: `clusterWideConfig`
    /// is the cluster default (see [`ValidatedCluster::cluster_wide_config`]); this is the
    /// merged `brokerConfig.config`, set on the broker itself.
    pub fn per_broker_config(&self) -> Properties {
        self.config.config.as_deref().map(parse_properties).unwrap_or_default()
    }

    pub fn is_broker(&self) -> bool {
        self.roles.contains(&ProcessRole::Broker)
    }

    pub fn is_controller(&self) -> bool {
        self.roles.contains(&ProcessRole::Controller)
    }

    pub fn is_controller_only(&self) -> bool {
        self.is_controller() && !self.is_broker()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KafkaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Why a spec that passed admission cannot run; each names the field and the fix.
/// Display: `<field path>: <what is wrong>; <how to fix>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(
        "spec.brokers[id={broker_id}]: cannot tell the Kafka version of image {image:?}; use a tag that \
         carries it (e.g. `2.13-3.9.1` or `3.9.1`) or annotate the KafkaCluster with \
         {annotation}: \"<major.minor.patch>\"",
        annotation = KAFKA_VERSION_ANNOTATION
    )]
    UnknownKafkaVersion { broker_id: i32, image: String },
    #[error(
        "metadata.annotations[{annotation}]: {value:?} is not a Kafka version; write it as \
         major.minor.patch, e.g. \"3.9.1\"",
        annotation = KAFKA_VERSION_ANNOTATION
    )]
    InvalidKafkaVersionAnnotation { value: String },
    #[error(
        "spec.kRaft: broker {broker_id} runs Kafka {version} (image {image:?}), and Kafka 4 has no \
         ZooKeeper mode; set spec.kRaft: true (a new cluster) or use a Kafka 3.x image"
    )]
    ZooKeeperModeWithKafka4 { broker_id: i32, image: String, version: KafkaVersion },
    #[error(
        "spec.brokers[id={broker_id}].brokerConfig.storageConfigs: the broker has no storage, so Kafka \
         has nowhere to keep its log; add a storageConfigs entry (pvcSpec or emptyDir) to the broker \
         or its brokerConfigGroup"
    )]
    NoStorage { broker_id: i32 },
    #[error(
        "spec.brokers[id={broker_id}].brokerConfig.storageConfigs[mountPath={mount_path}].pvcSpec: \
         requests no storage size; set resources.requests.storage (e.g. 10Gi)"
    )]
    PvcWithoutStorageRequest { broker_id: i32, mount_path: String },
    #[error(
        "spec.brokers[id={broker_id}].brokerConfigGroup: {group:?} is not a key of \
         spec.brokerConfigGroups; add the group or fix the name"
    )]
    UnknownConfigGroup { broker_id: i32, group: String },
    #[error(
        "spec.brokers[id={broker_id}].brokerConfig.processRoles: a KRaft node needs at least one \
         role; set processRoles to [broker], [controller] or both, on the broker or its group"
    )]
    NoProcessRoles { broker_id: i32 },
    #[error(
        "spec.brokers: no broker has the {role} role, and a KRaft cluster needs at least one; \
         give at least one broker processRoles containing {role}"
    )]
    MissingRole { role: &'static str },
    #[error(
        "spec.listenersConfig.internalListeners: no listener has usedForControllerCommunication: true, \
         and KRaft controllers need one; mark a dedicated internal listener as the controller listener"
    )]
    NoControllerListener,
    #[error(
        "spec.listenersConfig.internalListeners: no listener has usedForInnerBrokerCommunication: true; \
         mark exactly one internal listener as the inter-broker listener"
    )]
    NoInterBrokerListener,
    #[error(
        "spec.zkAddresses: ZooKeeper mode needs at least one ZooKeeper address; list the ensemble's \
         host:port entries or set spec.kRaft: true"
    )]
    NoZooKeeperAddresses,
    #[error(
        "spec.listenersConfig.internalListeners[name={name}].name: the container port name \
         \"tcp-{name}\" exceeds Kubernetes' 15 characters; use a listener name of at most 11 characters"
    )]
    ListenerNameTooLong { name: String },
    #[error(
        "spec.listenersConfig.internalListeners[name={name}].type: ssl needs certificates; set \
         spec.listenersConfig.sslSecrets to {{tlsSecretName: <secret for the CA>, create: true}} (cert-manager, or \
         add pkiBackend: operator-ca for the operator's own CA), or to {{tlsSecretName: <your Secret>, create: false}} \
         with your own certificates (keys caCert, peerCert, peerKey, clientCert, clientKey)"
    )]
    TlsWithoutCertificates { name: String },
    #[error(
        "spec.listenersConfig.internalListeners[name={name}].serverSSLCertSecret: a listener's own JKS \
         certificate needs the rest of the user's certificates too (the operator's client certificate and \
         the CA its clients trust); set spec.listenersConfig.sslSecrets.create: false with tlsSecretName naming \
         your Secret, or remove serverSSLCertSecret for certificates the operator makes"
    )]
    UserServerCertificate { name: String },
    #[error(
        "spec.listenersConfig.sslSecrets.tlsSecretName: with create: false it names the Secret of your \
         certificates (keys caCert, peerCert, peerKey, clientCert, clientKey); set it"
    )]
    UserCertificatesUnnamed,
    #[error(
        "spec.clientSSLCertSecret ({name}): the operator's Kafka clients read PEM, not the JKS \
         key store this Secret holds in Koperator's layout; remove it and put the client certificate and key as \
         PEM in clientCert and clientKey of spec.listenersConfig.sslSecrets.tlsSecretName (create: false), \
         signed by a CA the listeners' trust stores trust"
    )]
    ClientCertificateSecret { name: String },
    #[error(
        "spec.listenersConfig.sslSecrets.pkiBackend: {backend} is not supported; leave it unset \
         (cert-manager) or set operator-ca (the operator's own CA)"
    )]
    UnsupportedPkiBackend { backend: &'static str },
    #[error(
        "spec.listenersConfig.internalListeners[name={name}].type: plaintext, but spec.readOnlyConfig turns \
         an authorizer on: the nodes talk to each other on this listener as User:ANONYMOUS, which the \
         authorizer refuses, so the cluster would never form. Use type: ssl here (the nodes then act as the \
         brokers' certificate, which the operator keeps in super.users), or add User:ANONYMOUS to super.users \
         (every plaintext client then bypasses the ACLs)"
    )]
    AnonymousNodes { name: String },
    #[error(
        "spec.readOnlyConfig: authorizer.class.name={class} keeps its ACLs in {store}, which this \
         cluster does not use, and its nodes would not start; set authorizer.class.name={fix}"
    )]
    AuthorizerForOtherMode { class: String, store: &'static str, fix: &'static str },
    #[error(
        "spec.listenersConfig.internalListeners[name={name}].type: {protocol} (SASL) is not supported \
         on a listener the nodes talk to each other on (usedForInnerBrokerCommunication or \
         usedForControllerCommunication) yet; use ssl or plaintext there, and {protocol} on a listener \
         of its own for clients"
    )]
    SaslListener { name: String, protocol: &'static str },
}

/// Validates and merges a KafkaCluster into the model the builders use.
pub fn validate(cluster: &crd_types::KafkaCluster) -> Result<ValidatedCluster, Vec<ValidationError>> {
    validate::validate_cluster(cluster)
}
