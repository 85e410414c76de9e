//! Checks made before sending, so that one malformed item is answered on its own instead of
//! failing the request for the up to 499 other topics sent with it. librdkafka refuses a whole
//! request for a duplicate resource, a NUL byte, or a count out of its ranges; Kafka itself
//! answers everything else per topic. The error codes are the ones Kafka would have answered.

use std::collections::BTreeSet;

use crate::acl_binding::{AclBinding, AclBindingFilter};
use crate::changes::{BROKER_DEFAULT, NewTopicSpec, PartitionGrowth, TopicConfigChange};
use crate::error_code::ErrorCode;
use crate::operation_error::OperationError;

/// librdkafka's upper bounds (`RD_KAFKAP_PARTITIONS_MAX`, `RD_KAFKAP_BROKERS_MAX`).
const MAX_PARTITIONS: i32 = 100_000;
const MAX_REPLICATION_FACTOR: i32 = 10_000;

pub(crate) fn check_new_topic(topic: &NewTopicSpec) -> Result<(), OperationError> {
    check_name(&topic.name)?;
    if !(topic.partitions == BROKER_DEFAULT || (0..=MAX_PARTITIONS).contains(&topic.partitions)) {
        return Err(rejected(
            ErrorCode::INVALID_PARTITIONS,
            format!("partitions must be -1 (broker default) or 0..={MAX_PARTITIONS}, not {}", topic.partitions),
        ));
    }
    if !(topic.replication_factor == BROKER_DEFAULT || (0..=MAX_REPLICATION_FACTOR).contains(&topic.replication_factor))
    {
        return Err(rejected(
            ErrorCode::INVALID_REPLICATION_FACTOR,
            format!(
                "replication factor must be -1 (broker default) or 0..={MAX_REPLICATION_FACTOR}, not {}",
                topic.replication_factor
            ),
        ));
    }
    topic.config.iter().try_for_each(|(key, value)| check_config_text(key).and(check_config_text(value)))
}

pub(crate) fn check_growth(growth: &PartitionGrowth) -> Result<(), OperationError> {
    check_name(&growth.name)?;
    if !(1..=MAX_PARTITIONS).contains(&growth.total_partitions) {
        return Err(rejected(
            ErrorCode::INVALID_PARTITIONS,
            format!("total partitions must be 1..={MAX_PARTITIONS}, not {}", growth.total_partitions),
        ));
    }
    Ok(())
}

pub(crate) fn check_config_change(change: &TopicConfigChange) -> Result<(), OperationError> {
    check_name(&change.name)?;
    change.set.iter().try_for_each(|(key, value)| check_config_text(key).and(check_config_text(value)))?;
    let mut deleted = BTreeSet::new();
    for key in &change.delete {
        check_config_text(key)?;
        if change.set.contains_key(key) {
            return Err(rejected(ErrorCode::INVALID_REQUEST, format!("config {key} is both set and deleted")));
        }
        if !deleted.insert(key) {
            return Err(rejected(ErrorCode::INVALID_REQUEST, format!("config {key} is deleted twice")));
        }
    }
    Ok(())
}

pub(crate) fn check_name(name: &str) -> Result<(), OperationError> {
    if name.is_empty() || name.contains('\0') {
        return Err(rejected(ErrorCode::INVALID_TOPIC_EXCEPTION, format!("invalid topic name {name:?}")));
    }
    Ok(())
}

/// librdkafka would refuse the whole request for one NUL byte; Kafka answers the rest.
pub(crate) fn check_acl_binding(binding: &AclBinding) -> Result<(), OperationError> {
    [&binding.resource_name, &binding.principal, &binding.host].into_iter().try_for_each(|text| check_acl_text(text))
}

pub(crate) fn check_acl_filter(filter: &AclBindingFilter) -> Result<(), OperationError> {
    [&filter.resource_name, &filter.principal, &filter.host]
        .into_iter()
        .flatten()
        .try_for_each(|text| check_acl_text(text))
}

fn check_acl_text(text: &str) -> Result<(), OperationError> {
    if text.contains('\0') {
        return Err(rejected(ErrorCode::INVALID_REQUEST, format!("acl text {text:?} contains a NUL byte")));
    }
    Ok(())
}

pub(crate) fn duplicate(name: &str) -> OperationError {
    rejected(ErrorCode::INVALID_REQUEST, format!("topic {name} appears more than once in the request"))
}

fn check_config_text(text: &str) -> Result<(), OperationError> {
    if text.contains('\0') {
        return Err(rejected(ErrorCode::INVALID_CONFIG, format!("config text {text:?} contains a NUL byte")));
    }
    Ok(())
}

fn rejected(code: ErrorCode, reason: String) -> OperationError {
    OperationError::new(code, format!("not sent: {reason}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn new_topic(partitions: i32, replication_factor: i32) -> NewTopicSpec {
        NewTopicSpec { name: "orders".into(), partitions, replication_factor, config: BTreeMap::new() }
    }

    #[test]
    fn new_topics_allow_broker_defaults_and_leave_zero_to_kafka() {
        assert_eq!(check_new_topic(&new_topic(-1, -1)), Ok(()));
        assert_eq!(check_new_topic(&new_topic(0, 0)), Ok(()));
        assert_eq!(check_new_topic(&new_topic(-2, 3)).map_err(|e| e.code), Err(ErrorCode::INVALID_PARTITIONS));
        assert_eq!(
            check_new_topic(&new_topic(3, 10_001)).map_err(|e| e.code),
            Err(ErrorCode::INVALID_REPLICATION_FACTOR)
        );
        let mut with_nul = new_topic(1, 1);
        with_nul.config.insert("cleanup.policy".into(), "com\0pact".into());
        assert_eq!(check_new_topic(&with_nul).map_err(|e| e.code), Err(ErrorCode::INVALID_CONFIG));
    }

    #[test]
    fn names_must_be_non_empty_c_strings() {
        assert!(check_name("").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name("a.b-c_d").is_ok());
    }

    #[test]
    fn growth_needs_a_positive_total() {
        let growth = |total_partitions| PartitionGrowth { name: "orders".into(), total_partitions };
        assert!(check_growth(&growth(0)).is_err());
        assert!(check_growth(&growth(-1)).is_err());
        assert!(check_growth(&growth(12)).is_ok());
    }

    #[test]
    fn a_config_is_either_set_or_deleted_once() {
        let mut change = TopicConfigChange { name: "orders".into(), ..TopicConfigChange::default() };
        change.set.insert("retention.ms".into(), "1000".into());
        change.delete = vec!["cleanup.policy".into()];
        assert_eq!(check_config_change(&change), Ok(()));

        change.delete.push("retention.ms".into());
        let error = check_config_change(&change).expect_err("set and deleted");
        assert_eq!(error.to_string(), "INVALID_REQUEST: not sent: config retention.ms is both set and deleted");

        change.delete = vec!["cleanup.policy".into(), "cleanup.policy".into()];
        assert!(check_config_change(&change).is_err());
    }
}
