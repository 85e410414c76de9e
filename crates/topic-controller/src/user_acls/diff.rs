//! Desired against observed bindings of one principal: what to create and what to delete.
//!
//! The observed side is every binding Kafka has for the principal (one DescribeAcls of the
//! whole cluster per pass, grouped by [`bindings_by_principal`]): the principal belongs to the
//! KafkaUser, so a binding the spec does not ask for is deleted whoever made it, and one the
//! spec asks for that is missing is created again.

use std::collections::{BTreeMap, BTreeSet};

use kafka_admin::{AclBinding, AclBindingFilter};

/// What to ask of Kafka for one principal; nothing when it already matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclChanges {
    /// CreateAcls. Apply these before the deletions: a grant that changes shape (a literal
    /// topic becoming a prefix) keeps working throughout.
    pub create: Vec<AclBinding>,
    /// DeleteAcls, each binding named exactly ([`AclChanges::delete_filters`]).
    pub delete: Vec<AclBinding>,
}

impl AclChanges {
    /// `desired` is empty when the KafkaUser is being deleted: every binding goes.
    pub fn between(desired: &BTreeSet<AclBinding>, observed: &BTreeSet<AclBinding>) -> Self {
        Self {
            create: desired.difference(observed).cloned().collect(),
            delete: observed.difference(desired).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty()
    }

    /// One filter per binding to delete, matching that binding only (a filter with any field
    /// left open could take a binding the spec still wants).
    pub fn delete_filters(&self) -> Vec<AclBindingFilter> {
        self.delete.iter().map(AclBinding::to_filter).collect()
    }
}

/// A whole cluster's bindings (one DescribeAcls) by principal.
pub fn bindings_by_principal(bindings: impl IntoIterator<Item = AclBinding>) -> BTreeMap<String, BTreeSet<AclBinding>> {
    let mut by_principal: BTreeMap<String, BTreeSet<AclBinding>> = BTreeMap::new();
    for binding in bindings {
        by_principal.entry(binding.principal.clone()).or_default().insert(binding);
    }
    by_principal
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
