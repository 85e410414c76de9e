//! DescribeConfigs and IncrementalAlterConfigs for topic and broker resources.

use std::sync::Arc;

use rdkafka::bindings as rd;

use super::request::{AdminCall, Event, Pending, RequestFailure, submit};
use super::topics::answer;
use super::{OwnedList, c_string, owned_string, result_slice};
use crate::changes::{TopicConfigChange, TopicOutcome};
use crate::librdkafka_client::KafkaClient;
use crate::operation_error::OperationError;
use crate::overrides::is_topic_override;
use crate::wire::broker_configs::ConfigEntry;

/// The override entries of each topic, or Kafka's error for that topic.
pub(crate) type DescribedTopics = Vec<(String, Result<Vec<ConfigEntry>, OperationError>)>;

// Brokers' resources go over `crate::wire` (the cluster controller links no librdkafka).
use rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC;

pub(crate) fn describe_topic_configs(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    names: &[&str],
) -> Result<Pending<DescribedTopics>, RequestFailure> {
    describe_configs(client, call, RD_KAFKA_RESOURCE_TOPIC, names, read_topic_configs)
}

fn describe_configs<T>(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    resource_type: rd::rd_kafka_ResourceType_t,
    names: &[&str],
    read: fn(&Event) -> Result<T, RequestFailure>,
) -> Result<Pending<T>, RequestFailure> {
    let mut resources = OwnedList::new(rd::rd_kafka_ConfigResource_destroy, names.len());
    for name in names {
        let name_c = c_string(name)?;
        // SAFETY: `name_c` is NUL-terminated and copied by librdkafka.
        let resource = unsafe { rd::rd_kafka_ConfigResource_new(resource_type, name_c.as_ptr()) };
        resources
            .adopt(resource)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("config resource {name:?}: rejected")))?;
    }
    submit(client, call, read, |rk, options, queue| {
        // SAFETY: every pointer is live for the call, and librdkafka copies the resources and
        // options before returning; the answer arrives on `queue`.
        unsafe { rd::rd_kafka_DescribeConfigs(rk, resources.as_mut_ptr(), resources.len(), options, queue) }
    })
}

pub(crate) fn alter_topic_configs(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    changes: &[&TopicConfigChange],
) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure> {
    alter_configs(client, call, RD_KAFKA_RESOURCE_TOPIC, changes)
}

fn alter_configs(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    resource_type: rd::rd_kafka_ResourceType_t,
    changes: &[&TopicConfigChange],
) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure> {
    use rd::rd_kafka_AlterConfigOpType_t::{RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE, RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET};

    let mut resources = OwnedList::new(rd::rd_kafka_ConfigResource_destroy, changes.len());
    for change in changes {
        let name = c_string(&change.name)?;
        // SAFETY: `name` is NUL-terminated and copied by librdkafka.
        let resource = unsafe { rd::rd_kafka_ConfigResource_new(resource_type, name.as_ptr()) };
        let resource = resources
            .adopt(resource)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("config resource {:?}: rejected", change.name)))?;
        let sets = change.set.iter().map(|(key, value)| (key, Some(value), RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET));
        let deletes = change.delete.iter().map(|key| (key, None, RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE));
        for (key, value, op) in sets.chain(deletes) {
            let key_c = c_string(key)?;
            let value_c = value.map(|value| c_string(value)).transpose()?;
            let value_ptr = value_c.as_ref().map_or(std::ptr::null(), |value| value.as_ptr());
            // SAFETY: `resource` is live (owned by `resources`); key and value (NULL for a
            // delete) are NUL-terminated and copied by librdkafka.
            let error =
                unsafe { rd::rd_kafka_ConfigResource_add_incremental_config(resource, key_c.as_ptr(), op, value_ptr) };
            if !error.is_null() {
                // SAFETY: a non-NULL error is ours: read its text, then destroy it once.
                let reason = unsafe {
                    let reason = owned_string(rd::rd_kafka_error_string(error));
                    rd::rd_kafka_error_destroy(error);
                    reason
                };
                let reason = reason.unwrap_or_default();
                return Err(RequestFailure::invalid_argument(format!(
                    "config resource {:?} config {key}: {reason}",
                    change.name
                )));
            }
        }
    }
    submit(client, call, read_incremental_alter_configs, |rk, options, queue| {
        // SAFETY: as for DescribeConfigs.
        unsafe { rd::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), resources.len(), options, queue) }
    })
}

fn read_topic_configs(event: &Event) -> Result<DescribedTopics, RequestFailure> {
    read_describe_configs(event, is_topic_override)
}

fn read_describe_configs(event: &Event, keep: fn(i8, bool) -> bool) -> Result<DescribedTopics, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not a DescribeConfigs result.
    let result = unsafe { rd::rd_kafka_event_DescribeConfigs_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("DescribeConfigs result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let resources = unsafe { rd::rd_kafka_DescribeConfigs_result_resources(result, &mut count) };
    // SAFETY: `resources` holds `count` resources living as long as the event.
    let resources = unsafe { result_slice(resources.cast_const(), count) };
    Ok(resources
        .iter()
        .map(|&resource| {
            // SAFETY: each resource is live for the event's lifetime.
            let (name, outcome) = unsafe { resource_outcome(resource) };
            // SAFETY: as above.
            (name, outcome.map(|()| unsafe { config_entries(resource, keep) }))
        })
        .collect())
}

fn read_incremental_alter_configs(event: &Event) -> Result<Vec<TopicOutcome>, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not an IncrementalAlterConfigs result.
    let result = unsafe { rd::rd_kafka_event_IncrementalAlterConfigs_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("IncrementalAlterConfigs result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let resources = unsafe { rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count) };
    // SAFETY: `resources` holds `count` resources living as long as the event.
    let resources = unsafe { result_slice(resources.cast_const(), count) };
    Ok(resources
        .iter()
        .map(|&resource| {
            // SAFETY: each resource is live for the event's lifetime.
            let (topic, result) = unsafe { resource_outcome(resource) };
            TopicOutcome { topic, result }
        })
        .collect())
}

/// # Safety
/// `resource` must be a live config resource from a result event.
unsafe fn resource_outcome(resource: *const rd::rd_kafka_ConfigResource_t) -> (String, Result<(), OperationError>) {
    // SAFETY: by this function's contract; the strings are copied.
    unsafe {
        let name = owned_string(rd::rd_kafka_ConfigResource_name(resource)).unwrap_or_default();
        let code = rd::rd_kafka_ConfigResource_error(resource);
        let message = owned_string(rd::rd_kafka_ConfigResource_error_string(resource));
        (name, answer(code, message))
    }
}

/// The resource's entries that `keep` keeps (by source and sensitivity); the others are not copied.
///
/// # Safety
/// `resource` must be a live config resource from a DescribeConfigs result event.
unsafe fn config_entries(
    resource: *const rd::rd_kafka_ConfigResource_t,
    keep: fn(i8, bool) -> bool,
) -> Vec<ConfigEntry> {
    let mut count = 0;
    // SAFETY: by this function's contract; librdkafka sets `count`.
    let entries = unsafe { rd::rd_kafka_ConfigResource_configs(resource, &mut count) };
    // SAFETY: `entries` holds `count` entries living as long as the resource.
    let entries = unsafe { result_slice(entries.cast_const(), count) };
    entries
        .iter()
        .filter_map(|&entry| {
            // SAFETY: each entry is live; its strings are copied.
            unsafe {
                // librdkafka's sources are numbered as Kafka's protocol numbers them.
                let source = rd::rd_kafka_ConfigEntry_source(entry) as i8;
                let sensitive = rd::rd_kafka_ConfigEntry_is_sensitive(entry) != 0;
                keep(source, sensitive).then(|| ConfigEntry {
                    name: owned_string(rd::rd_kafka_ConfigEntry_name(entry)).unwrap_or_default(),
                    value: owned_string(rd::rd_kafka_ConfigEntry_value(entry)),
                    read_only: rd::rd_kafka_ConfigEntry_is_read_only(entry) != 0,
                    source,
                    sensitive,
                })
            }
        })
        .collect()
}
