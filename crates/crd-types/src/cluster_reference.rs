//! How topics and users name the KafkaCluster they belong to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A KafkaCluster by name; the namespace defaults to the referring object's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub struct ClusterReference {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ClusterReference {
    /// The cluster's namespace, falling back to the namespace of the object that refers to it.
    pub fn namespace_or<'a>(&'a self, referrer_namespace: &'a str) -> &'a str {
        self.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(referrer_namespace)
    }
}
