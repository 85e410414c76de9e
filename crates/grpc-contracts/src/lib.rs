//! Versioned gRPC contracts between koperator-rs deployables, generated from `proto/`.
//!
//! Each protobuf package is a module with the same path (`koperator.cluster.v1` is
//! [`koperator::cluster::v1`]); a service `Foo` comes with `foo_client::FooClient` and
//! `foo_server::{Foo, FooServer}`. See `proto/README.md` for the versioning rules.

/// Generated code, one module per protobuf package.
pub mod koperator {
    /// Contracts about reaching a KafkaCluster.
    pub mod cluster {
        /// Version 1: additive changes only.
        pub mod v1 {
            #![allow(clippy::all, missing_docs)]
            tonic::include_proto!("koperator.cluster.v1");
        }
    }

    /// Contracts about scaling actions on a KafkaCluster.
    pub mod actions {
        /// Version 1: additive changes only.
        pub mod v1 {
            #![allow(clippy::all, missing_docs)]
            tonic::include_proto!("koperator.actions.v1");
        }
    }
}

pub use koperator::actions::v1 as actions_v1;
pub use koperator::cluster::v1 as cluster_v1;

#[cfg(test)]
mod tests;
