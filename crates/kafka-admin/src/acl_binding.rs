//! ACL bindings as Kafka knows them: a resource pattern (type, name, pattern type) and an entry
//! (principal, host, operation, permission). Bindings are what CreateAcls writes and what
//! DescribeAcls returns; filters select bindings for DescribeAcls and DeleteAcls.
//!
//! The types make Kafka's rules unrepresentable rather than checked: a binding cannot carry
//! `ANY` or `MATCH`, which Kafka only accepts in filters (librdkafka refuses the whole request
//! for one such binding). Names and `Display` are Kafka's (`TOPIC`, `LITERAL`, `READ`, `ALLOW`),
//! as `kafka-acls --list` prints them.

use std::fmt;
use std::str::FromStr;

use crate::operation_error::OperationError;

/// Defines a Kafka enum with its protocol names, parsed case-insensitively, and its protocol
/// codes (the `code` of Kafka's Java enums), which Kafka's ACL requests carry as int8.
macro_rules! kafka_names {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Kafka's name, as `kafka-acls --list` prints it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Kafka's protocol code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code),+ }
            }

            /// The value with Kafka's protocol code `code`; `None` for a code this type does
            /// not name (`UNKNOWN`, a filter's `ANY` in a binding's types, kinds Kafka added
            /// since).
            pub fn from_code(code: i8) -> Option<Self> {
                $name::ALL.iter().copied().find(|value| value.code() == code)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(text))
                    .ok_or_else(|| UnknownName { kind: stringify!($name), text: text.to_owned() })
            }
        }
    };
}

kafka_names! {
    /// The kind of resource an ACL is about.
    AclResourceType {
        Topic => "TOPIC" = 2,
        Group => "GROUP" = 3,
        Cluster => "CLUSTER" = 4,
        TransactionalId => "TRANSACTIONAL_ID" = 5,
    }
}

kafka_names! {
    /// How a binding's resource name matches resources: the name itself (`*` meaning every
    /// resource), or every resource starting with it.
    AclPatternType {
        Literal => "LITERAL" = 3,
        Prefixed => "PREFIXED" = 4,
    }
}

kafka_names! {
    /// How a filter's resource name selects bindings: `Match` selects every binding that
    /// applies to the named resource (literal, wildcard and prefixes of it), `Any` every pattern.
    AclPatternFilter {
        Any => "ANY" = 1,
        Match => "MATCH" = 2,
        Literal => "LITERAL" = 3,
        Prefixed => "PREFIXED" = 4,
    }
}

kafka_names! {
    AclOperation {
        All => "ALL" = 2,
        Read => "READ" = 3,
        Write => "WRITE" = 4,
        Create => "CREATE" = 5,
        Delete => "DELETE" = 6,
        Alter => "ALTER" = 7,
        Describe => "DESCRIBE" = 8,
        ClusterAction => "CLUSTER_ACTION" = 9,
        DescribeConfigs => "DESCRIBE_CONFIGS" = 10,
        AlterConfigs => "ALTER_CONFIGS" = 11,
        IdempotentWrite => "IDEMPOTENT_WRITE" = 12,
    }
}

kafka_names! {
    AclPermission {
        Allow => "ALLOW" = 3,
        Deny => "DENY" = 2,
    }
}

/// A text that names none of a Kafka enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {kind}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub text: String,
}

/// The host Kafka's tools write when no host is given: every host.
pub const ANY_HOST: &str = "*";

/// One ACL. Ordered field by field, so sets of bindings diff and print in a stable order.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: AclResourceType,
    pub resource_name: String,
    pub pattern_type: AclPatternType,
    /// `User:<name>` with Kafka's default principal builder (`User:CN=alice` for a certificate).
    pub principal: String,
    /// The client address the entry applies to, [`ANY_HOST`] for every host.
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

impl AclBinding {
    /// A filter selecting exactly this binding.
    pub fn to_filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: Some(self.resource_type),
            resource_name: Some(self.resource_name.clone()),
            pattern_type: match self.pattern_type {
                AclPatternType::Literal => AclPatternFilter::Literal,
                AclPatternType::Prefixed => AclPatternFilter::Prefixed,
            },
            principal: Some(self.principal.clone()),
            host: Some(self.host.clone()),
            operation: Some(self.operation),
            permission: Some(self.permission),
        }
    }
}

/// Kafka's own rendering (`AclBinding.toString()` in its Java client).
impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(pattern=ResourcePattern(resourceType={}, name={}, patternType={}), \
             entry=(principal={}, host={}, operation={}, permissionType={}))",
            self.resource_type,
            self.resource_name,
            self.pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission
        )
    }
}

/// Selects bindings: every `None` matches anything.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: Option<AclResourceType>,
    pub resource_name: Option<String>,
    pub pattern_type: AclPatternFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<AclOperation>,
    pub permission: Option<AclPermission>,
}

impl AclBindingFilter {
    /// Every binding of the cluster.
    pub fn any() -> Self {
        Self {
            resource_type: None,
            resource_name: None,
            pattern_type: AclPatternFilter::Any,
            principal: None,
            host: None,
            operation: None,
            permission: None,
        }
    }

    /// Every binding of one principal.
    pub fn principal(principal: &str) -> Self {
        Self { principal: Some(principal.to_owned()), ..Self::any() }
    }
}

/// Kafka's answer for one binding of a CreateAcls request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclCreation {
    pub binding: AclBinding,
    pub result: Result<(), OperationError>,
}

/// Kafka's answer for one filter of a DeleteAcls request: the bindings it deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclDeletion {
    pub filter: AclBindingFilter,
    pub result: Result<Vec<AclBinding>, OperationError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_orders() -> AclBinding {
        AclBinding {
            resource_type: AclResourceType::Topic,
            resource_name: "orders".into(),
            pattern_type: AclPatternType::Literal,
            principal: "User:CN=alice".into(),
            host: ANY_HOST.into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
        }
    }

    #[test]
    fn names_are_kafkas_and_parse_back_in_any_case() {
        assert_eq!(AclOperation::DescribeConfigs.to_string(), "DESCRIBE_CONFIGS");
        assert_eq!(AclResourceType::TransactionalId.as_str(), "TRANSACTIONAL_ID");
        for &operation in AclOperation::ALL {
            assert_eq!(operation.as_str().parse(), Ok(operation));
        }
        assert_eq!("describe_configs".parse(), Ok(AclOperation::DescribeConfigs));
        assert_eq!("Prefixed".parse(), Ok(AclPatternType::Prefixed));
        let error = "MATCH".parse::<AclPatternType>().expect_err("a filter's pattern, not a binding's");
        assert_eq!(error.to_string(), r#""MATCH" is not a AclPatternType"#);
    }

    /// The codes of Kafka's `ResourceType`, `PatternType`, `AclOperation` and
    /// `AclPermissionType`, which ACL requests carry.
    #[test]
    fn codes_are_kafkas_and_read_back() {
        assert_eq!(AclResourceType::ALL.iter().map(|kind| kind.code()).collect::<Vec<_>>(), [2, 3, 4, 5]);
        assert_eq!(AclPatternFilter::ALL.iter().map(|pattern| pattern.code()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(AclPatternType::Literal.code(), AclPatternFilter::Literal.code());
        assert_eq!(AclPatternType::Prefixed.code(), AclPatternFilter::Prefixed.code());
        assert_eq!(AclOperation::ALL.iter().map(|op| op.code()).collect::<Vec<_>>(), (2..=12).collect::<Vec<_>>());
        assert_eq!((AclPermission::Deny.code(), AclPermission::Allow.code()), (2, 3));
        for &operation in AclOperation::ALL {
            assert_eq!(AclOperation::from_code(operation.code()), Some(operation));
        }
        // UNKNOWN, ANY, and kinds this crate does not name: USER (7), CREATE_TOKENS (13).
        assert_eq!(AclResourceType::from_code(1), None);
        assert_eq!(AclResourceType::from_code(7), None);
        assert_eq!(AclOperation::from_code(13), None);
        assert_eq!(AclPermission::from_code(0), None);
        assert_eq!(AclPatternType::from_code(2), None);
    }

    #[test]
    fn displays_as_kafka_does() {
        assert_eq!(
            read_orders().to_string(),
            "(pattern=ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL), \
             entry=(principal=User:CN=alice, host=*, operation=READ, permissionType=ALLOW))"
        );
    }

    #[test]
    fn a_bindings_filter_names_every_field() {
        let filter = read_orders().to_filter();
        assert_eq!(filter.pattern_type, AclPatternFilter::Literal);
        assert_eq!(filter.principal.as_deref(), Some("User:CN=alice"));
        assert_eq!(filter.operation, Some(AclOperation::Read));
        assert_eq!(AclBindingFilter::principal("User:CN=bob").resource_type, None);
    }
}
