//! Kafka admin operations the controllers need, over Kafka's protocol without librdkafka
//! ([`WireAdmin`]), and with the `librdkafka` feature the same calls over librdkafka
//! (`ClusterAdmin`), which no deployable or e2e test uses: the examples check one client's work
//! with the other. Without the feature nothing here compiles or links
//! librdkafka (C code, and OpenSSL for its TLS).
//!
//! Both take whole lists (the topic controller reconciles up to 10,000 topics), send them in
//! requests of at most [`MAX_TOPICS_PER_REQUEST`] topics one after the other, and answer per
//! topic in input order: a [`RequestError`] means a request failed as a whole, an
//! [`OperationError`] in a [`TopicOutcome`] is Kafka's answer for one topic. Every request sent
//! is counted in a [`RequestCounter`], so that "an idle resync writes nothing to Kafka" can be
//! checked. Both clients' codes are [`ErrorCode`]s, named as Kafka's protocol names them.
//!
//! ACLs follow the same shape: `create_acls` and `delete_acls` answer per [`AclBinding`] or
//! [`AclBindingFilter`] in input order, in requests of at most [`MAX_ACLS_PER_REQUEST`];
//! `describe_acls` lists what one filter selects. SCRAM credentials too:
//! `alter_user_scram_credentials` and `describe_user_scram_credentials` answer per user.
//!
//! [`WireAdmin`] ([`wire`]) opens a connection per request and keeps none: no thread or buffer
//! per broker between passes. It also has what librdkafka lacks: users' client quotas, the KRaft
//! quorum and feature levels. A `ClusterAdmin` hands out its own (`ClusterAdmin::wire`).

mod acl_binding;
mod admin;
mod batch;
mod changes;
mod checks;
mod client_quota;
mod connection_settings;
mod error_code;
mod features;
#[cfg(feature = "librdkafka")]
mod librdkafka_client;
mod metadata;
mod metrics;
// The one FFI module: admin requests rust-rdkafka does not wrap, or wraps losing Kafka's answer.
#[cfg(feature = "librdkafka")]
#[allow(unsafe_code)]
mod native;
mod operation_error;
mod overrides;
mod quorum;
mod request_error;
mod scram_credential;
mod wire;

pub use acl_binding::{
    ANY_HOST, AclBinding, AclBindingFilter, AclCreation, AclDeletion, AclOperation, AclPatternFilter, AclPatternType,
    AclPermission, AclResourceType, UnknownName,
};
#[cfg(feature = "librdkafka")]
pub use admin::ClusterAdmin;
pub use admin::{BrokerConfigs, MAX_ACLS_PER_REQUEST, MAX_SCRAM_USERS_PER_REQUEST, TopicOverrides, WireAdmin};
pub use batch::MAX_TOPICS_PER_REQUEST;
pub use changes::{BROKER_DEFAULT, NewTopicSpec, PartitionGrowth, TopicConfigChange, TopicOutcome};
pub use client_quota::{
    CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, UserQuotaChange, UserQuotaOutcome, UserQuotas,
};
pub use connection_settings::{ClientCertificate, ConnectionSettings, NoBootstrapServers, TlsSettings};
pub use error_code::ErrorCode;
pub use features::{FeatureLevels, FeatureRange, KRAFT_VERSION, METADATA_VERSION};
#[cfg(feature = "librdkafka")]
pub use librdkafka_client::ConnectError;
pub use metadata::{ClusterMetadata, INTERNAL_TOPICS, ReplicaHealth, TopicMetadata, is_internal_topic};
pub use metrics::{Operation, RequestCounter, RequestLabels};
pub use operation_error::OperationError;
pub use quorum::{DirectoryId, QuorumDescription, QuorumReplica, VoterEndpoint};
pub use request_error::RequestError;
pub use scram_credential::{
    MIN_SCRAM_ITERATIONS, ScramAlteration, ScramAlterationOutcome, ScramCredentialInfo, ScramMechanism,
    UserScramCredentials,
};
