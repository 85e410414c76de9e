//! Kafka admin operations the controllers need: batched over one shared librdkafka client per
//! cluster ([`ClusterAdmin`]), or over Kafka's protocol without librdkafka ([`WireAdmin`]).
//!
//! [`ClusterAdmin`] holds one librdkafka client for one cluster. Its methods take whole lists
//! (the topic controller reconciles up to 10,000 topics), send them in requests of at most
//! [`MAX_TOPICS_PER_REQUEST`] topics one after the other, and answer per topic in input order:
//! a [`RequestError`] means a request failed as a whole, an [`OperationError`] in a
//! [`TopicOutcome`] is Kafka's answer for one topic. Every request sent is counted in a
//! [`RequestCounter`], so that "an idle resync writes nothing to Kafka" can be checked.
//!
//! ACLs follow the same shape: [`ClusterAdmin::create_acls`] and [`ClusterAdmin::delete_acls`]
//! answer per [`AclBinding`] or [`AclBindingFilter`] in input order, in requests of at most
//! [`MAX_ACLS_PER_REQUEST`]; [`ClusterAdmin::describe_acls`] lists what one filter selects.
//! SCRAM credentials too: [`ClusterAdmin::alter_user_scram_credentials`] and
//! [`ClusterAdmin::describe_user_scram_credentials`] answer per user.
//!
//! [`WireAdmin`] speaks Kafka's protocol itself ([`wire`]), a connection per request, no
//! librdkafka: what the cluster controller asks (replica health from Metadata, one broker's
//! configuration and changes to it, the KRaft quorum and feature levels), so that it links no
//! librdkafka, and users' client quotas, which librdkafka cannot set. A [`ClusterAdmin`] hands
//! out its own ([`ClusterAdmin::wire`]).

mod acl_binding;
mod admin;
mod batch;
mod changes;
mod checks;
mod client;
mod client_quota;
mod features;
mod metadata;
mod metrics;
// The one FFI module: admin requests rust-rdkafka does not wrap, or wraps losing Kafka's answer.
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
pub use admin::{
    BrokerConfigs, ClusterAdmin, MAX_ACLS_PER_REQUEST, MAX_SCRAM_USERS_PER_REQUEST, TopicOverrides, WireAdmin,
};
pub use batch::MAX_TOPICS_PER_REQUEST;
pub use changes::{BROKER_DEFAULT, NewTopicSpec, PartitionGrowth, TopicConfigChange, TopicOutcome};
pub use client::{ClientCertificate, ConnectError, ConnectionSettings, NoBootstrapServers, TlsSettings};
pub use client_quota::{
    CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, UserQuotaChange, UserQuotaOutcome, UserQuotas,
};
pub use features::{FeatureLevels, FeatureRange, KRAFT_VERSION, METADATA_VERSION};
pub use metadata::{ClusterMetadata, INTERNAL_TOPICS, ReplicaHealth, TopicMetadata, is_internal_topic};
pub use metrics::{Operation, RequestCounter, RequestLabels};
pub use operation_error::{OperationError, kafka_error_name};
pub use quorum::{DirectoryId, QuorumDescription, QuorumReplica, VoterEndpoint};
/// rust-rdkafka's error codes, as found in [`OperationError::code`] and [`RequestError::code`].
pub use rdkafka::types::RDKafkaErrorCode;
pub use request_error::RequestError;
pub use scram_credential::{
    MIN_SCRAM_ITERATIONS, ScramAlteration, ScramAlterationOutcome, ScramCredentialInfo, ScramMechanism,
    UserScramCredentials,
};
