//! What Kafka's ACLs should be for a KafkaUser, and what to change to get there (pure: no
//! client; the KafkaUser reconciler observes, calls these, and applies the result).
//!
//! - [`principal`]: the principal Kafka's brokers derive from the user's certificate.
//! - [`grants`]: the bindings `spec.topicGrants` stand for, the way Koperator maps them.
//! - [`diff`]: desired against observed bindings. Unlike Koperator, which only ever adds, the
//!   principal's bindings follow the spec both ways: a dropped grant's bindings are deleted, and
//!   a binding changed or added by hand is set back.

pub mod diff;
pub mod grants;
pub mod principal;
