//! `spec.topicGrants` → ACL bindings, mapped as Koperator maps them (`pkg/kafkaclient/users.go`):
//! every grant allows DESCRIBE and DESCRIBE_CONFIGS on its topic pattern; `read` adds READ on it
//! and READ on every consumer group (the literal group `*`); `write` adds WRITE and CREATE.
//! Every binding allows, from any host.

use std::collections::BTreeSet;

use crd_types::kafka_user::{AccessType, PatternType, UserTopicGrant};
use kafka_admin::{ANY_HOST, AclBinding, AclOperation, AclPatternType, AclPermission, AclResourceType};

/// The consumer group name a read grant covers: every group (a literal wildcard).
const EVERY_GROUP: &str = "*";

/// A grant Kafka cannot turn into ACLs, named by its place in the spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "spec.topicGrants[{index}].patternType: `{pattern}` only selects existing ACLs, Kafka cannot \
     create one with it; use `literal` (the topic itself, or `*` for every topic) or `prefixed` \
     (every topic whose name starts with topicName)"
)]
pub struct GrantError {
    pub index: usize,
    pub pattern: &'static str,
}

/// The bindings `grants` stand for, for `principal`. Any invalid grant fails the whole set: the
/// caller then changes no ACL, so that a typo in one grant does not revoke what it granted
/// before (the diff would delete every binding not desired).
pub fn desired_bindings(principal: &str, grants: &[UserTopicGrant]) -> Result<BTreeSet<AclBinding>, Vec<GrantError>> {
    let mut bindings = BTreeSet::new();
    let mut errors = Vec::new();
    for (index, grant) in grants.iter().enumerate() {
        let pattern_type = match grant.pattern_type_or_default() {
            PatternType::Literal => AclPatternType::Literal,
            PatternType::Prefixed => AclPatternType::Prefixed,
            PatternType::Any => {
                errors.push(GrantError { index, pattern: "any" });
                continue;
            }
            PatternType::Match => {
                errors.push(GrantError { index, pattern: "match" });
                continue;
            }
        };
        let topic = |operation| allow(principal, AclResourceType::Topic, &grant.topic_name, pattern_type, operation);
        bindings.insert(topic(AclOperation::Describe));
        bindings.insert(topic(AclOperation::DescribeConfigs));
        match grant.access_type {
            AccessType::Read => {
                bindings.insert(topic(AclOperation::Read));
                bindings.insert(allow(
                    principal,
                    AclResourceType::Group,
                    EVERY_GROUP,
                    AclPatternType::Literal,
                    AclOperation::Read,
                ));
            }
            AccessType::Write => {
                bindings.insert(topic(AclOperation::Write));
                bindings.insert(topic(AclOperation::Create));
            }
        }
    }
    if errors.is_empty() { Ok(bindings) } else { Err(errors) }
}

fn allow(
    principal: &str,
    resource_type: AclResourceType,
    resource_name: &str,
    pattern_type: AclPatternType,
    operation: AclOperation,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: resource_name.to_owned(),
        pattern_type,
        principal: principal.to_owned(),
        host: ANY_HOST.to_owned(),
        operation,
        permission: AclPermission::Allow,
    }
}

/// `status.acls` in Koperator's notation, one string per binding:
/// `User:CN=alice,Topic,LITERAL,orders,Read,Allow,*` (principal, resource type, pattern type,
/// resource name, operation, permission, host).
pub fn status_acls<'a>(bindings: impl IntoIterator<Item = &'a AclBinding>) -> Vec<String> {
    bindings
        .into_iter()
        .map(|binding| {
            format!(
                "{},{},{},{},{},{},{}",
                binding.principal,
                camel_case(binding.resource_type.as_str()),
                binding.pattern_type,
                binding.resource_name,
                camel_case(binding.operation.as_str()),
                camel_case(binding.permission.as_str()),
                binding.host
            )
        })
        .collect()
}

/// `DESCRIBE_CONFIGS` → `DescribeConfigs`, as Koperator writes operations and resource types.
fn camel_case(kafka_name: &str) -> String {
    kafka_name
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().into_iter().chain(chars.flat_map(char::to_lowercase))
        })
        .collect()
}

#[cfg(test)]
#[path = "grants_tests.rs"]
mod tests;
