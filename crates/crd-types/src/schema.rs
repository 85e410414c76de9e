//! Hand-written schema fragments for fields whose Rust type says less than the API means.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object the apiserver must keep as written: Koperator accepts these fields but this
/// operator does not interpret them yet, and pruning would silently drop the user's settings.
pub fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A Kubernetes `metav1.Time` kept as its RFC 3339 string.
pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "format": "date-time",
    })
}
