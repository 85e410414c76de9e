//! Kafka's feature flags (KIP-584) as one node reports them: `metadata.version`, `kraft.version`
//! and the others, the range the node's software supports and the level the cluster finalized.

use std::collections::BTreeMap;

/// The levels of feature `METADATA_VERSION` are Kafka's metadata versions (e.g. 27 = 4.1-IV1).
pub const METADATA_VERSION: &str = "metadata.version";
/// Level 1 is a dynamic quorum (KIP-853), 0 a static one.
pub const KRAFT_VERSION: &str = "kraft.version";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureRange {
    pub min: i16,
    pub max: i16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureLevels {
    /// What the answering node's software can run, by feature name.
    pub supported: BTreeMap<String, FeatureRange>,
    /// The cluster's finalized level by feature name, as the answering node last heard it.
    pub finalized: BTreeMap<String, i16>,
}
