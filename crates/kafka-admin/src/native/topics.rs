//! CreateTopics, CreatePartitions and DeleteTopics, which all answer with one result per topic.

use std::sync::Arc;

use rdkafka::bindings as rd;

use super::request::{AdminCall, Event, Pending, RequestFailure, submit};
use super::{ErrorText, OwnedList, c_string, error_description, owned_string, result_slice};
use crate::changes::{NewTopicSpec, PartitionGrowth, TopicOutcome};
use crate::error_code::ErrorCode;
use crate::librdkafka_client::KafkaClient;
use crate::operation_error::OperationError;

pub(crate) fn create_topics(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    topics: &[&NewTopicSpec],
) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_NewTopic_destroy, topics.len());
    let mut error = ErrorText::new();
    for topic in topics {
        let name = c_string(&topic.name)?;
        // SAFETY: `name` is NUL-terminated and copied by librdkafka; `error` is writable for its
        // capacity. -1 for partitions or replication factor means the broker default.
        let native = unsafe {
            rd::rd_kafka_NewTopic_new(
                name.as_ptr(),
                topic.partitions,
                topic.replication_factor,
                error.as_mut_ptr(),
                error.capacity(),
            )
        };
        let native = natives
            .adopt(native)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("topic {}: {}", topic.name, error.text())))?;
        for (key, value) in &topic.config {
            let (key_c, value_c) = (c_string(key)?, c_string(value)?);
            // SAFETY: `native` is live (owned by `natives`); librdkafka copies key and value.
            let code = unsafe { rd::rd_kafka_NewTopic_set_config(native, key_c.as_ptr(), value_c.as_ptr()) };
            if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let reason = error_description(code.into());
                return Err(RequestFailure::invalid_argument(format!("topic {} config {key}: {reason}", topic.name)));
            }
        }
    }
    submit(client, call, read_create_topics, |rk, options, queue| {
        // SAFETY: every pointer is live for the call, and librdkafka copies the topics and
        // options before returning; the answer arrives on `queue`.
        unsafe { rd::rd_kafka_CreateTopics(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

pub(crate) fn create_partitions(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    growth: &[&PartitionGrowth],
) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_NewPartitions_destroy, growth.len());
    let mut error = ErrorText::new();
    for topic in growth {
        let name = c_string(&topic.name)?;
        let total = usize::try_from(topic.total_partitions).unwrap_or(0);
        // SAFETY: `name` is NUL-terminated and copied; `error` is writable for its capacity.
        let native =
            unsafe { rd::rd_kafka_NewPartitions_new(name.as_ptr(), total, error.as_mut_ptr(), error.capacity()) };
        natives
            .adopt(native)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("topic {}: {}", topic.name, error.text())))?;
    }
    submit(client, call, read_create_partitions, |rk, options, queue| {
        // SAFETY: as for CreateTopics.
        unsafe { rd::rd_kafka_CreatePartitions(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

pub(crate) fn delete_topics(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    names: &[&String],
) -> Result<Pending<Vec<TopicOutcome>>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_DeleteTopic_destroy, names.len());
    for name in names {
        let name_c = c_string(name)?;
        // SAFETY: `name_c` is NUL-terminated and copied by librdkafka.
        let native = unsafe { rd::rd_kafka_DeleteTopic_new(name_c.as_ptr()) };
        natives.adopt(native).ok_or_else(|| RequestFailure::invalid_argument(format!("topic {name}: rejected")))?;
    }
    submit(client, call, read_delete_topics, |rk, options, queue| {
        // SAFETY: as for CreateTopics.
        unsafe { rd::rd_kafka_DeleteTopics(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

fn read_create_topics(event: &Event) -> Result<Vec<TopicOutcome>, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not a CreateTopics result.
    let result = unsafe { rd::rd_kafka_event_CreateTopics_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("CreateTopics result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let topics = unsafe { rd::rd_kafka_CreateTopics_result_topics(result, &mut count) };
    // SAFETY: `topics` holds `count` results living as long as the event.
    Ok(unsafe { topic_outcomes(topics, count) })
}

fn read_create_partitions(event: &Event) -> Result<Vec<TopicOutcome>, RequestFailure> {
    // SAFETY: as in read_create_topics.
    let result = unsafe { rd::rd_kafka_event_CreatePartitions_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("CreatePartitions result"));
    }
    let mut count = 0;
    // SAFETY: as in read_create_topics.
    let topics = unsafe { rd::rd_kafka_CreatePartitions_result_topics(result, &mut count) };
    // SAFETY: as in read_create_topics.
    Ok(unsafe { topic_outcomes(topics, count) })
}

fn read_delete_topics(event: &Event) -> Result<Vec<TopicOutcome>, RequestFailure> {
    // SAFETY: as in read_create_topics.
    let result = unsafe { rd::rd_kafka_event_DeleteTopics_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("DeleteTopics result"));
    }
    let mut count = 0;
    // SAFETY: as in read_create_topics.
    let topics = unsafe { rd::rd_kafka_DeleteTopics_result_topics(result, &mut count) };
    // SAFETY: as in read_create_topics.
    Ok(unsafe { topic_outcomes(topics, count) })
}

/// # Safety
/// `topics` must be NULL or hold `count` topic results valid for the duration of the call.
unsafe fn topic_outcomes(topics: *mut *const rd::rd_kafka_topic_result_t, count: usize) -> Vec<TopicOutcome> {
    // SAFETY: by this function's contract.
    let topics = unsafe { result_slice(topics.cast_const(), count) };
    topics
        .iter()
        .map(|&topic| {
            // SAFETY: each result is live; its strings live as long as it does and are copied.
            let (name, code, message) = unsafe {
                (
                    owned_string(rd::rd_kafka_topic_result_name(topic)).unwrap_or_default(),
                    rd::rd_kafka_topic_result_error(topic),
                    owned_string(rd::rd_kafka_topic_result_error_string(topic)),
                )
            };
            TopicOutcome { topic: name, result: answer(code, message) }
        })
        .collect()
}

/// Kafka's answer for one item: success, or its error with Kafka's message when it sent one.
pub(super) fn answer(code: rd::rd_kafka_resp_err_t, message: Option<String>) -> Result<(), OperationError> {
    if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    let code = ErrorCode::from(code);
    let message = message.filter(|message| !message.is_empty()).unwrap_or_else(|| error_description(code));
    Err(OperationError::new(code, message))
}
