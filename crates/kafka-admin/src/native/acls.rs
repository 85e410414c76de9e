//! CreateAcls, DescribeAcls and DeleteAcls. Kafka answers CreateAcls per binding and DeleteAcls
//! per filter, in request order and without naming them: answers are matched by position.

use std::ffi::CString;
use std::sync::Arc;

use rdkafka::bindings as rd;

use super::request::{AdminCall, Event, Pending, RequestFailure, submit};
use super::topics::answer;
use super::{ErrorText, OwnedList, c_string, owned_string, result_slice};
use crate::acl_binding::{
    AclBinding, AclBindingFilter, AclOperation, AclPatternFilter, AclPatternType, AclPermission, AclResourceType,
};
use crate::librdkafka_client::KafkaClient;
use crate::operation_error::OperationError;

/// Per binding, in request order.
pub(crate) type CreatedAcls = Vec<Result<(), OperationError>>;
/// Per filter, in request order: the bindings it deleted.
pub(crate) type DeletedAcls = Vec<Result<Vec<AclBinding>, OperationError>>;

pub(crate) fn create_acls(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    bindings: &[&AclBinding],
) -> Result<Pending<CreatedAcls>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_AclBinding_destroy, bindings.len());
    let mut error = ErrorText::new();
    for binding in bindings {
        let text = BindingText::new(Some(&binding.resource_name), Some(&binding.principal), Some(&binding.host))?;
        // SAFETY: the strings are NUL-terminated and copied by librdkafka; `error` is writable
        // for its capacity.
        let native = unsafe {
            rd::rd_kafka_AclBinding_new(
                resource_type(Some(binding.resource_type)),
                text.pointer(0),
                pattern_type(binding.pattern_type),
                text.pointer(1),
                text.pointer(2),
                operation(Some(binding.operation)),
                permission(Some(binding.permission)),
                error.as_mut_ptr(),
                error.capacity(),
            )
        };
        natives
            .adopt(native)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("acl binding {binding}: {}", error.text())))?;
    }
    submit(client, call, read_create_acls, |rk, options, queue| {
        // SAFETY: every pointer is live for the call, and librdkafka copies the bindings and
        // options before returning; the answer arrives on `queue`.
        unsafe { rd::rd_kafka_CreateAcls(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

/// DescribeAcls takes exactly one filter per request.
pub(crate) fn describe_acls(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    filter: &AclBindingFilter,
) -> Result<Pending<Vec<AclBinding>>, RequestFailure> {
    let mut natives = filters(&[filter])?;
    let native = natives.as_mut_ptr();
    submit(client, call, read_describe_acls, |rk, options, queue| {
        // SAFETY: as for CreateAcls; `native` points to the one filter `natives` owns.
        unsafe { rd::rd_kafka_DescribeAcls(rk, *native, options, queue) }
    })
}

pub(crate) fn delete_acls(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    filters_to_send: &[&AclBindingFilter],
) -> Result<Pending<DeletedAcls>, RequestFailure> {
    let mut natives = filters(filters_to_send)?;
    submit(client, call, read_delete_acls, |rk, options, queue| {
        // SAFETY: as for CreateAcls.
        unsafe { rd::rd_kafka_DeleteAcls(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

fn filters(filters: &[&AclBindingFilter]) -> Result<OwnedList<rd::rd_kafka_AclBinding_t>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_AclBinding_destroy, filters.len());
    let mut error = ErrorText::new();
    for filter in filters {
        let text =
            BindingText::new(filter.resource_name.as_deref(), filter.principal.as_deref(), filter.host.as_deref())?;
        // SAFETY: as in create_acls; NULL strings mean "any" in a filter.
        let native = unsafe {
            rd::rd_kafka_AclBindingFilter_new(
                resource_type(filter.resource_type),
                text.pointer(0),
                pattern_filter(filter.pattern_type),
                text.pointer(1),
                text.pointer(2),
                operation(filter.operation),
                permission(filter.permission),
                error.as_mut_ptr(),
                error.capacity(),
            )
        };
        natives
            .adopt(native)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("acl filter {filter:?}: {}", error.text())))?;
    }
    Ok(natives)
}

/// Resource name, principal and host as C strings; a missing one is NULL.
struct BindingText([Option<CString>; 3]);

impl BindingText {
    fn new(name: Option<&str>, principal: Option<&str>, host: Option<&str>) -> Result<Self, RequestFailure> {
        let convert = |text: Option<&str>| text.map(c_string).transpose();
        Ok(Self([convert(name)?, convert(principal)?, convert(host)?]))
    }

    fn pointer(&self, index: usize) -> *const std::ffi::c_char {
        self.0[index].as_ref().map_or(std::ptr::null(), |text| text.as_ptr())
    }
}

fn read_create_acls(event: &Event) -> Result<CreatedAcls, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not a CreateAcls result.
    let result = unsafe { rd::rd_kafka_event_CreateAcls_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("CreateAcls result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let results = unsafe { rd::rd_kafka_CreateAcls_result_acls(result, &mut count) };
    // SAFETY: `results` holds `count` results living as long as the event.
    let results = unsafe { result_slice(results.cast_const(), count) };
    // SAFETY: each result is live; its error (NULL for success) lives as long as it does.
    Ok(results.iter().map(|&result| unsafe { error_answer(rd::rd_kafka_acl_result_error(result)) }).collect())
}

fn read_describe_acls(event: &Event) -> Result<Vec<AclBinding>, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not a DescribeAcls result.
    let result = unsafe { rd::rd_kafka_event_DescribeAcls_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("DescribeAcls result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let bindings = unsafe { rd::rd_kafka_DescribeAcls_result_acls(result, &mut count) };
    // SAFETY: `bindings` holds `count` bindings living as long as the event.
    Ok(unsafe { read_bindings(bindings, count) })
}

fn read_delete_acls(event: &Event) -> Result<DeletedAcls, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not a DeleteAcls result.
    let result = unsafe { rd::rd_kafka_event_DeleteAcls_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("DeleteAcls result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let responses = unsafe { rd::rd_kafka_DeleteAcls_result_responses(result, &mut count) };
    // SAFETY: `responses` holds `count` responses living as long as the event.
    let responses = unsafe { result_slice(responses.cast_const(), count) };
    Ok(responses
        .iter()
        .map(|&response| {
            // SAFETY: each response is live for the event's lifetime, and so are its error and
            // its matching bindings.
            unsafe {
                error_answer(rd::rd_kafka_DeleteAcls_result_response_error(response))?;
                let mut matched = 0;
                let bindings = rd::rd_kafka_DeleteAcls_result_response_matching_acls(response, &mut matched);
                let failed = result_slice(bindings.cast_const(), matched)
                    .iter()
                    .find_map(|&binding| error_answer(rd::rd_kafka_AclBinding_error(binding)).err());
                // A matching binding with an error is one Kafka failed to delete.
                failed.map_or_else(|| Ok(read_bindings(bindings, matched)), Err)
            }
        })
        .collect())
}

/// The bindings librdkafka returned, as Rust values. One whose resource type, pattern type,
/// operation or permission this crate cannot name (a kind newer than librdkafka's) is left out
/// with a warning: callers manage the kinds they can name.
///
/// # Safety
/// `bindings` must be NULL or hold `count` bindings valid for the duration of the call.
unsafe fn read_bindings(bindings: *mut *const rd::rd_kafka_AclBinding_t, count: usize) -> Vec<AclBinding> {
    // SAFETY: by this function's contract.
    let bindings = unsafe { result_slice(bindings.cast_const(), count) };
    bindings
        .iter()
        .filter_map(|&binding| {
            // SAFETY: each binding is live; its strings are copied.
            let read = unsafe {
                (
                    rd::rd_kafka_AclBinding_restype(binding),
                    owned_string(rd::rd_kafka_AclBinding_name(binding)).unwrap_or_default(),
                    rd::rd_kafka_AclBinding_resource_pattern_type(binding),
                    owned_string(rd::rd_kafka_AclBinding_principal(binding)).unwrap_or_default(),
                    owned_string(rd::rd_kafka_AclBinding_host(binding)).unwrap_or_default(),
                    rd::rd_kafka_AclBinding_operation(binding),
                    rd::rd_kafka_AclBinding_permission_type(binding),
                )
            };
            let (kind, name, pattern, principal, host, op, perm) = read;
            let binding = (|| {
                Some(AclBinding {
                    resource_type: from_resource_type(kind)?,
                    resource_name: name.clone(),
                    pattern_type: from_pattern_type(pattern)?,
                    principal: principal.clone(),
                    host: host.clone(),
                    operation: from_operation(op)?,
                    permission: from_permission(perm)?,
                })
            })();
            if binding.is_none() {
                tracing::warn!(
                    ?kind, %name, ?pattern, %principal, %host, ?op, ?perm,
                    "an ACL binding of a kind librdkafka cannot name was left out"
                );
            }
            binding
        })
        .collect()
}

/// Kafka's answer in a `rd_kafka_error_t` (NULL for success).
///
/// # Safety
/// `error` must be NULL or a live error object.
pub(super) unsafe fn error_answer(error: *const rd::rd_kafka_error_t) -> Result<(), OperationError> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: by this function's contract; the string is copied.
    let (code, message) = unsafe { (rd::rd_kafka_error_code(error), owned_string(rd::rd_kafka_error_string(error))) };
    answer(code, message)
}

use rd::rd_kafka_AclOperation_t as Op;
use rd::rd_kafka_AclPermissionType_t as Perm;
use rd::rd_kafka_ResourcePatternType_t as Pattern;
use rd::rd_kafka_ResourceType_t as Kind;

const OPERATIONS: [(AclOperation, Op); 11] = [
    (AclOperation::All, Op::RD_KAFKA_ACL_OPERATION_ALL),
    (AclOperation::Read, Op::RD_KAFKA_ACL_OPERATION_READ),
    (AclOperation::Write, Op::RD_KAFKA_ACL_OPERATION_WRITE),
    (AclOperation::Create, Op::RD_KAFKA_ACL_OPERATION_CREATE),
    (AclOperation::Delete, Op::RD_KAFKA_ACL_OPERATION_DELETE),
    (AclOperation::Alter, Op::RD_KAFKA_ACL_OPERATION_ALTER),
    (AclOperation::Describe, Op::RD_KAFKA_ACL_OPERATION_DESCRIBE),
    (AclOperation::ClusterAction, Op::RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION),
    (AclOperation::DescribeConfigs, Op::RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS),
    (AclOperation::AlterConfigs, Op::RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS),
    (AclOperation::IdempotentWrite, Op::RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE),
];

/// Kafka's CLUSTER resource type is librdkafka's BROKER: both are 4 on the wire (librdkafka
/// names it after the config resource it also is).
const RESOURCE_TYPES: [(AclResourceType, Kind); 4] = [
    (AclResourceType::Topic, Kind::RD_KAFKA_RESOURCE_TOPIC),
    (AclResourceType::Group, Kind::RD_KAFKA_RESOURCE_GROUP),
    (AclResourceType::Cluster, Kind::RD_KAFKA_RESOURCE_BROKER),
    (AclResourceType::TransactionalId, Kind::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID),
];

fn resource_type(kind: Option<AclResourceType>) -> Kind {
    kind.and_then(|kind| RESOURCE_TYPES.iter().find(|(ours, _)| *ours == kind))
        .map_or(Kind::RD_KAFKA_RESOURCE_ANY, |p| p.1)
}

fn from_resource_type(kind: Kind) -> Option<AclResourceType> {
    RESOURCE_TYPES.iter().find(|(_, theirs)| *theirs == kind).map(|pair| pair.0)
}

fn operation(operation: Option<AclOperation>) -> Op {
    operation
        .and_then(|operation| OPERATIONS.iter().find(|(ours, _)| *ours == operation))
        .map_or(Op::RD_KAFKA_ACL_OPERATION_ANY, |pair| pair.1)
}

fn from_operation(operation: Op) -> Option<AclOperation> {
    OPERATIONS.iter().find(|(_, theirs)| *theirs == operation).map(|pair| pair.0)
}

fn permission(permission: Option<AclPermission>) -> Perm {
    match permission {
        None => Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
        Some(AclPermission::Allow) => Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
        Some(AclPermission::Deny) => Perm::RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
    }
}

fn from_permission(permission: Perm) -> Option<AclPermission> {
    match permission {
        Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW => Some(AclPermission::Allow),
        Perm::RD_KAFKA_ACL_PERMISSION_TYPE_DENY => Some(AclPermission::Deny),
        _ => None,
    }
}

fn pattern_type(pattern: AclPatternType) -> Pattern {
    match pattern {
        AclPatternType::Literal => Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        AclPatternType::Prefixed => Pattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
    }
}

fn pattern_filter(pattern: AclPatternFilter) -> Pattern {
    match pattern {
        AclPatternFilter::Any => Pattern::RD_KAFKA_RESOURCE_PATTERN_ANY,
        AclPatternFilter::Match => Pattern::RD_KAFKA_RESOURCE_PATTERN_MATCH,
        AclPatternFilter::Literal => Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        AclPatternFilter::Prefixed => Pattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
    }
}

fn from_pattern_type(pattern: Pattern) -> Option<AclPatternType> {
    match pattern {
        Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL => Some(AclPatternType::Literal),
        Pattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED => Some(AclPatternType::Prefixed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_maps_to_librdkafka_and_back() {
        for &kind in AclResourceType::ALL {
            assert_eq!(from_resource_type(resource_type(Some(kind))), Some(kind), "{kind}");
        }
        for &op in AclOperation::ALL {
            assert_eq!(from_operation(operation(Some(op))), Some(op), "{op}");
        }
        for &perm in AclPermission::ALL {
            assert_eq!(from_permission(permission(Some(perm))), Some(perm), "{perm}");
        }
        for &pattern in AclPatternType::ALL {
            assert_eq!(from_pattern_type(pattern_type(pattern)), Some(pattern), "{pattern}");
        }
        assert_eq!(resource_type(None), Kind::RD_KAFKA_RESOURCE_ANY);
        assert_eq!(operation(None), Op::RD_KAFKA_ACL_OPERATION_ANY);
    }

    /// The wire values are Kafka's (`org.apache.kafka.common.acl.AclOperation` and friends),
    /// which librdkafka's enums copy, except that its name for CLUSTER is BROKER.
    #[test]
    fn wire_values_are_kafkas() {
        assert_eq!(resource_type(Some(AclResourceType::Cluster)) as u32, 4);
        assert_eq!(resource_type(Some(AclResourceType::TransactionalId)) as u32, 5);
        assert_eq!(operation(Some(AclOperation::IdempotentWrite)) as u32, 12);
        assert_eq!(pattern_type(AclPatternType::Prefixed) as u32, 4);
        assert_eq!(permission(Some(AclPermission::Allow)) as u32, 3);
    }
}
