//! ACL bindings: CreateAcls v2 (API key 30), DescribeAcls v2 (29) and DeleteAcls v2 (31), their
//! first flexible versions (KIP-482), which every Kafka from 2.8 to 4.x answers. Kafka answers
//! CreateAcls per binding and DeleteAcls per filter in request order without naming them, so
//! the answers are lists in request order. Pure: bytes in, bytes out.
//!
//! Resource types, pattern types, operations and permissions travel as the int8 codes of
//! Kafka's Java enums ([`AclResourceType::code`] and friends); a filter's "any" is `ANY` (1).

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::acl_binding::{AclBinding, AclBindingFilter, AclOperation, AclPatternType, AclPermission, AclResourceType};
use crate::operation_error::OperationError;

pub const CREATE_ACLS: i16 = 30;
pub const DESCRIBE_ACLS: i16 = 29;
pub const DELETE_ACLS: i16 = 31;
/// The same version of all three: v2 is where each became flexible.
pub const ACLS_VERSION: i16 = 2;

/// `ResourceType.ANY`, `AclOperation.ANY`, `AclPermissionType.ANY`: what a filter's `None` is.
const ANY: i8 = 1;

/// CreateAcls v2 of `bindings`, in the order given.
pub fn create_request(bindings: &[&AclBinding]) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(bindings, |e, binding| {
        e.i8(binding.resource_type.code())
            .compact_string(&binding.resource_name)
            .i8(binding.pattern_type.code())
            .compact_string(&binding.principal)
            .compact_string(&binding.host)
            .i8(binding.operation.code())
            .i8(binding.permission.code())
            .no_tagged_fields();
    });
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`create_request`]: per binding, in request order.
pub fn create_response(body: &[u8]) -> Result<Vec<Result<(), OperationError>>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let results = decoder.compact_array(|d| {
        let result = error(d)?;
        d.skip_tagged_fields()?;
        Ok(result)
    })?;
    decoder.skip_tagged_fields()?;
    Ok(results)
}

/// DescribeAcls v2: one filter per request, Kafka's own limit.
pub fn describe_request(filter: &AclBindingFilter) -> Vec<u8> {
    let mut encoder = Encoder::default();
    write_filter(&mut encoder, filter);
    encoder.into_bytes()
}

/// Kafka's answer to [`describe_request`]: the bindings, grouped by resource on the wire, or
/// Kafka's refusal of the whole request (`SECURITY_DISABLED` without an authorizer).
pub fn describe_response(body: &[u8]) -> Result<Result<Vec<AclBinding>, OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let refusal = error(&mut decoder)?;
    let resources = decoder.compact_array(|d| {
        let pattern = Pattern::read(d)?;
        let entries = d.compact_array(|d| {
            let entry = Entry::read(d)?;
            d.skip_tagged_fields()?;
            Ok(entry)
        })?;
        d.skip_tagged_fields()?;
        Ok((pattern, entries))
    })?;
    decoder.skip_tagged_fields()?;
    Ok(refusal.map(|()| {
        resources
            .into_iter()
            .flat_map(|(pattern, entries)| entries.into_iter().filter_map(move |entry| binding(&pattern, entry)))
            .collect()
    }))
}

/// DeleteAcls v2 of `filters`, in the order given.
pub fn delete_request(filters: &[&AclBindingFilter]) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(filters, |e, filter| write_filter(e, filter));
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`delete_request`]: per filter, in request order, the bindings it
/// deleted. A binding Kafka matched but failed to delete fails its filter's answer, as
/// librdkafka reports it, so that the caller tries again rather than taking it as gone.
pub fn delete_response(body: &[u8]) -> Result<Vec<Result<Vec<AclBinding>, OperationError>>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let results = decoder.compact_array(|d| {
        let refusal = error(d)?;
        let matching = d.compact_array(|d| {
            let deleted = error(d)?;
            let (pattern, entry) = (Pattern::read(d)?, Entry::read(d)?);
            d.skip_tagged_fields()?;
            Ok(deleted.map(|()| binding(&pattern, entry)))
        })?;
        d.skip_tagged_fields()?;
        Ok(refusal.and_then(|()| matching.into_iter().filter_map(Result::transpose).collect()))
    })?;
    decoder.skip_tagged_fields()?;
    Ok(results)
}

/// A filter as DescribeAcls and DeleteAcls carry it: a missing text is null, a missing kind `ANY`.
fn write_filter(encoder: &mut Encoder, filter: &AclBindingFilter) {
    encoder
        .i8(filter.resource_type.map_or(ANY, AclResourceType::code))
        .compact_nullable_string(filter.resource_name.as_deref())
        .i8(filter.pattern_type.code())
        .compact_nullable_string(filter.principal.as_deref())
        .compact_nullable_string(filter.host.as_deref())
        .i8(filter.operation.map_or(ANY, AclOperation::code))
        .i8(filter.permission.map_or(ANY, AclPermission::code))
        .no_tagged_fields();
}

/// An error code and nullable message, as every answer here carries them.
fn error(decoder: &mut Decoder<'_>) -> Result<Result<(), OperationError>, DecodeError> {
    Ok(answer_error(decoder.i16()?, decoder.compact_nullable_string()?))
}

/// A binding's resource pattern as Kafka sends it, its kinds still codes.
struct Pattern {
    kind: i8,
    name: String,
    pattern: i8,
}

impl Pattern {
    fn read(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self { kind: decoder.i8()?, name: decoder.compact_string()?, pattern: decoder.i8()? })
    }
}

/// A binding's entry as Kafka sends it, its kinds still codes.
struct Entry {
    principal: String,
    host: String,
    operation: i8,
    permission: i8,
}

impl Entry {
    fn read(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            principal: decoder.compact_string()?,
            host: decoder.compact_string()?,
            operation: decoder.i8()?,
            permission: decoder.i8()?,
        })
    }
}

/// The binding Kafka described. One of a kind this crate cannot name (a resource type, pattern
/// type, operation or permission newer than it, e.g. `USER` or `CREATE_TOKENS`) is left out
/// with a warning, as over librdkafka: callers manage the kinds they can name.
fn binding(pattern: &Pattern, entry: Entry) -> Option<AclBinding> {
    let Pattern { kind, ref name, pattern } = *pattern;
    let Entry { principal, host, operation, permission } = entry;
    let named = (
        AclResourceType::from_code(kind),
        AclPatternType::from_code(pattern),
        AclOperation::from_code(operation),
        AclPermission::from_code(permission),
    );
    let (Some(resource_type), Some(pattern_type), Some(operation), Some(permission)) = named else {
        tracing::warn!(
            kind, name, pattern, %principal, %host, operation, permission,
            "an ACL binding of a kind this client cannot name was left out"
        );
        return None;
    };
    Some(AclBinding {
        resource_type,
        resource_name: name.clone(),
        pattern_type,
        principal,
        host,
        operation,
        permission,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::acl_binding::{ANY_HOST, AclPatternFilter};

    /// [`ANY`] as a byte of a request.
    const A: u8 = ANY as u8;

    fn binding_of(kind: AclResourceType, name: &str, pattern: AclPatternType, host: &str) -> AclBinding {
        AclBinding {
            resource_type: kind,
            resource_name: name.into(),
            pattern_type: pattern,
            principal: "User:alice".into(),
            host: host.into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
        }
    }

    fn read_orders() -> AclBinding {
        binding_of(AclResourceType::Topic, "orders", AclPatternType::Literal, ANY_HOST)
    }

    /// Writes a binding's pattern fields then its entry fields, as both answers carry them.
    fn write_entry(e: &mut Encoder, principal: &str, host: &str, operation: i8, permission: i8) {
        e.compact_string(principal).compact_string(host).i8(operation).i8(permission);
    }

    #[test]
    fn create_sends_each_binding_as_kafkas_codes() {
        let deny = AclBinding {
            resource_type: AclResourceType::TransactionalId,
            resource_name: "tx-".into(),
            pattern_type: AclPatternType::Prefixed,
            principal: "User:bob".into(),
            host: "10.0.0.1".into(),
            operation: AclOperation::Write,
            permission: AclPermission::Deny,
        };
        let body = create_request(&[&read_orders(), &deny]);
        let mut expected = vec![3, 2, 7];
        expected.extend(b"orders");
        expected.extend([3, 11]);
        expected.extend(b"User:alice");
        expected.extend([2, b'*', 3, 3, 0]);
        expected.extend([5, 4]);
        expected.extend(b"tx-");
        expected.extend([4, 9]);
        expected.extend(b"User:bob");
        expected.extend([9]);
        expected.extend(b"10.0.0.1");
        expected.extend([4, 2, 0, 0]);
        assert_eq!(body, expected);
    }

    #[test]
    fn create_answers_per_binding_in_request_order() {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[(0i16, None), (42, Some("Invalid ACL principal name"))], |e, (code, message)| {
            e.i16(*code).compact_nullable_string(*message).no_tagged_fields();
        });
        e.no_tagged_fields();
        let answers = create_response(&e.into_bytes()).unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0], Ok(()));
        let error = answers[1].clone().unwrap_err();
        assert_eq!(error.code, ErrorCode::INVALID_REQUEST);
        assert_eq!(error.message, "Invalid ACL principal name");
    }

    #[test]
    fn an_any_filter_is_nulls_and_any_codes() {
        assert_eq!(describe_request(&AclBindingFilter::any()), vec![A, 0, A, 0, 0, A, A, 0]);
        let mut filter = read_orders().to_filter();
        filter.pattern_type = AclPatternFilter::Match;
        let body = describe_request(&filter);
        let mut d = Decoder::new(&body);
        assert_eq!(d.i8(), Ok(2));
        assert_eq!(d.compact_nullable_string(), Ok(Some("orders".into())));
        assert_eq!(d.i8(), Ok(2));
        assert_eq!(d.compact_nullable_string(), Ok(Some("User:alice".into())));
        assert_eq!(d.compact_nullable_string(), Ok(Some(ANY_HOST.into())));
        assert_eq!((d.i8(), d.i8()), (Ok(3), Ok(3)));
        assert_eq!(d.skip_tagged_fields(), Ok(()));
        assert_eq!(d.remaining(), 0);
    }

    /// A DescribeAcls v2 answer: a topic with two entries and a resource of a kind this crate
    /// does not name (USER, 7), whose entry is left out.
    fn described(code: i16, message: Option<&str>) -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0).i16(code).compact_nullable_string(message);
        e.compact_array(&[(2i8, "orders", 3i8), (7, "User:bob", 3)], |e, &(kind, name, pattern)| {
            e.i8(kind).compact_string(name).i8(pattern);
            e.compact_array(&[(8i8, 3i8), (4, 2)], |e, &(operation, permission)| {
                write_entry(e, "User:alice", "*", operation, permission);
                e.no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn describe_reads_every_binding_of_every_resource_it_can_name() {
        let bindings = describe_response(&described(0, None)).unwrap().unwrap();
        let mut describe = read_orders();
        describe.operation = AclOperation::Describe;
        let mut deny_write = read_orders();
        deny_write.operation = AclOperation::Write;
        deny_write.permission = AclPermission::Deny;
        assert_eq!(bindings, vec![describe, deny_write]);
    }

    #[test]
    fn describe_reads_kafkas_refusal() {
        let refusal = describe_response(&described(54, Some("No Authorizer is configured."))).unwrap().unwrap_err();
        assert_eq!(refusal.code, ErrorCode::SECURITY_DISABLED);
        assert_eq!(refusal.message, "No Authorizer is configured.");
    }

    #[test]
    fn delete_sends_each_filter_in_order() {
        let by_principal = AclBindingFilter::principal("User:bob");
        let body = delete_request(&[&by_principal, &AclBindingFilter::any()]);
        let mut expected = vec![3, A, 0, A, 9];
        expected.extend(b"User:bob");
        expected.extend([0, A, A, 0]);
        expected.extend([A, 0, A, 0, 0, A, A, 0]);
        expected.push(0);
        assert_eq!(body, expected);
    }

    /// Per filter: Kafka's refusal, or the bindings matched with each one's deletion error.
    type FilterAnswer<'a> = (i16, Option<&'a str>, &'a [(i16, i8, &'a str)]);

    fn deleted(filters: &[FilterAnswer<'_>]) -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(filters, |e, (code, message, matching)| {
            e.i16(*code).compact_nullable_string(*message);
            e.compact_array(matching, |e, &(code, kind, name)| {
                e.i16(code).compact_nullable_string(None).i8(kind).compact_string(name).i8(4);
                write_entry(e, "User:alice", "10.0.0.1", 3, 3);
                e.no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn delete_answers_per_filter_with_the_bindings_deleted() {
        let answers = deleted(&[
            (0, None, &[(0, 3, "payments-"), (0, 7, "User:bob")]),
            (0, None, &[]),
            (0, None, &[(0, 2, "orders-"), (-1, 2, "events-")]),
            (54, Some("No Authorizer is configured."), &[]),
        ]);
        let answers = delete_response(&answers).unwrap();
        assert_eq!(answers.len(), 4);
        let group = binding_of(AclResourceType::Group, "payments-", AclPatternType::Prefixed, "10.0.0.1");
        assert_eq!(answers[0], Ok(vec![group]), "the USER binding is left out");
        assert_eq!(answers[1], Ok(vec![]));
        assert_eq!(answers[2].as_ref().map_err(|e| e.code), Err(ErrorCode::UNKNOWN_SERVER_ERROR));
        assert_eq!(answers[3].as_ref().map_err(|e| e.code), Err(ErrorCode::SECURITY_DISABLED));
    }

    #[test]
    fn a_truncated_answer_is_a_decode_error() {
        let mut body = described(0, None);
        body.truncate(body.len() - 3);
        assert!(describe_response(&body).is_err());
        assert!(create_response(&[0, 0, 0]).is_err());
    }
}
