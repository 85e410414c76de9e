//! Creating, growing and deleting topics: CreateTopics v5 (API key 19), CreatePartitions v2
//! (37) and DeleteTopics v4 (20), each the first flexible version, which every Kafka from 2.4 to
//! 4.x answers (4.0 dropped only older ones). Each answers per topic with an error code (and,
//! but for DeleteTopics v4, Kafka's message). Topics are named, never given by ID. Pure: bytes
//! in, bytes out.

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::changes::{NewTopicSpec, PartitionGrowth, TopicOutcome};

pub const CREATE_TOPICS: i16 = 19;
pub const CREATE_TOPICS_VERSION: i16 = 5;
pub const CREATE_PARTITIONS: i16 = 37;
pub const CREATE_PARTITIONS_VERSION: i16 = 2;
pub const DELETE_TOPICS: i16 = 20;
pub const DELETE_TOPICS_VERSION: i16 = 4;

/// CreateTopics v5 of `topics`, placed by Kafka (no manual assignment); -1 partitions or
/// replication factor asks for the broker default. `timeout_ms` is how long the controller may
/// take to create them before it answers `REQUEST_TIMED_OUT`.
pub fn create_request(topics: &[&NewTopicSpec], timeout_ms: i32, validate_only: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(topics, |e, topic| {
        // The protocol's replication factor is an int16; `checks` keeps it in range, and one out
        // of range is sent as a count Kafka refuses (INVALID_REPLICATION_FACTOR), never as -1.
        let replication_factor = i16::try_from(topic.replication_factor).unwrap_or(i16::MAX);
        e.compact_string(&topic.name).i32(topic.partitions).i16(replication_factor);
        // Assignments: none.
        e.compact_array(&[] as &[()], |_, ()| {});
        e.compact_array(&topic.config.iter().collect::<Vec<_>>(), |e, (name, value)| {
            e.compact_string(name).compact_nullable_string(Some(value)).no_tagged_fields();
        });
        e.no_tagged_fields();
    });
    encoder.i32(timeout_ms).bool(validate_only).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`create_request`], per topic. Besides the error, v5 describes each
/// created topic (partitions, replication factor, configs, or in a tagged field why the configs
/// could not be described): read past, the caller only wants to know whether it worked.
pub fn create_response(body: &[u8]) -> Result<Vec<TopicOutcome>, DecodeError> {
    per_topic(body, |d| {
        let topic = d.compact_string()?;
        let result = answer_error(d.i16()?, d.compact_nullable_string()?);
        let _num_partitions = d.i32()?;
        let _replication_factor = d.i16()?;
        let _configs = d.compact_array(|d| {
            let _name = d.compact_string()?;
            let _value = d.compact_nullable_string()?;
            let _read_only = d.bool()?;
            let _config_source = d.i8()?;
            let _is_sensitive = d.bool()?;
            d.skip_tagged_fields()
        })?;
        // Tag 0 is TopicConfigErrorCode: why Configs is missing (e.g. no DescribeConfigs
        // permission); the topic was created all the same.
        d.skip_tagged_fields()?;
        Ok(TopicOutcome { topic, result })
    })
}

/// CreatePartitions v2: grow each topic to its total, Kafka placing the new partitions
/// (a null assignment). `timeout_ms` as for [`create_request`].
pub fn create_partitions_request(growth: &[&PartitionGrowth], timeout_ms: i32, validate_only: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(growth, |e, growth| {
        e.compact_string(&growth.name).i32(growth.total_partitions);
        // Assignments: null.
        e.unsigned_varint(0).no_tagged_fields();
    });
    encoder.i32(timeout_ms).bool(validate_only).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`create_partitions_request`], per topic.
pub fn create_partitions_response(body: &[u8]) -> Result<Vec<TopicOutcome>, DecodeError> {
    per_topic(body, |d| {
        let topic = d.compact_string()?;
        let result = answer_error(d.i16()?, d.compact_nullable_string()?);
        d.skip_tagged_fields()?;
        Ok(TopicOutcome { topic, result })
    })
}

/// DeleteTopics v4 of the topics `names`. `timeout_ms` as for [`create_request`].
pub fn delete_request(names: &[&str], timeout_ms: i32) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(names, |e, name| {
        e.compact_string(name);
    });
    encoder.i32(timeout_ms).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`delete_request`], per topic. v4 carries no error message (v5 added
/// one), so an error is described by its name.
pub fn delete_response(body: &[u8]) -> Result<Vec<TopicOutcome>, DecodeError> {
    per_topic(body, |d| {
        let topic = d.compact_string()?;
        let result = answer_error(d.i16()?, None);
        d.skip_tagged_fields()?;
        Ok(TopicOutcome { topic, result })
    })
}

/// The answers' shared frame: a throttle time, one item per topic read by `topic`, and tagged
/// fields. None of these answers has an error for the request as a whole.
fn per_topic(
    body: &[u8],
    topic: impl FnMut(&mut Decoder<'_>) -> Result<TopicOutcome, DecodeError>,
) -> Result<Vec<TopicOutcome>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let outcomes = decoder.compact_array(topic)?;
    decoder.skip_tagged_fields()?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ErrorCode;

    fn codes(outcomes: &[TopicOutcome]) -> Vec<(&str, Option<ErrorCode>)> {
        outcomes.iter().map(|o| (o.topic.as_str(), o.result.as_ref().err().map(|e| e.code))).collect()
    }

    #[test]
    fn create_sends_counts_configs_timeout_and_validate_only() {
        let configured = NewTopicSpec {
            name: "orders".into(),
            partitions: 3,
            replication_factor: 2,
            config: BTreeMap::from([
                ("retention.ms".to_owned(), "3600000".to_owned()),
                ("cleanup.policy".to_owned(), "compact".to_owned()),
            ]),
        };
        let defaults =
            NewTopicSpec { name: "logs".into(), partitions: -1, replication_factor: -1, config: BTreeMap::new() };
        let body = create_request(&[&configured, &defaults], 30_000, true);

        let mut d = Decoder::new(&body);
        let config = |d: &mut Decoder<'_>| {
            let config = (d.compact_string()?, d.compact_nullable_string()?);
            d.skip_tagged_fields()?;
            Ok(config)
        };
        let topic = |d: &mut Decoder<'_>| {
            let head = (d.compact_string()?, d.i32()?, d.i16()?);
            let assignments = d.unsigned_varint()?;
            let configs = d.compact_array(config)?;
            d.skip_tagged_fields()?;
            Ok((head, assignments, configs))
        };
        let topics = d.compact_array(topic).unwrap();
        // An empty (not null) assignment list: the array's count + 1.
        assert_eq!(
            topics[0],
            (
                ("orders".into(), 3, 2),
                1,
                vec![
                    ("cleanup.policy".into(), Some("compact".into())),
                    ("retention.ms".into(), Some("3600000".into()))
                ]
            )
        );
        assert_eq!(topics[1], (("logs".into(), -1, -1), 1, vec![]));
        assert_eq!((d.i32(), d.bool(), d.skip_tagged_fields()), (Ok(30_000), Ok(true), Ok(())));
        assert_eq!(d.remaining(), 0);
    }

    /// One topic of a CreateTopics v5 answer: name, error code and message, partitions,
    /// replication factor, configs (name, value, source; None for null) and the tagged
    /// TopicConfigErrorCode.
    type Created<'a> = (&'a str, i16, Option<&'a str>, i32, i16, Option<&'a [(&'a str, &'a str, i8)]>, Option<i16>);

    /// A CreateTopics v5 answer: one topic created and described in full, one refused, which
    /// Kafka describes with -1 counts, null configs, and the tagged TopicConfigErrorCode.
    fn created() -> Vec<u8> {
        let topics: [Created<'_>; 2] = [
            (
                "orders",
                0,
                None,
                3,
                2,
                Some(&[("cleanup.policy", "compact", 1), ("segment.bytes", "1073741824", 5)]),
                None,
            ),
            ("logs", 36, Some("Topic 'logs' already exists."), -1, -1, None, Some(36)),
        ];
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&topics, |e, (name, code, message, partitions, replication_factor, configs, config_error)| {
            e.compact_string(name)
                .i16(*code)
                .compact_nullable_string(*message)
                .i32(*partitions)
                .i16(*replication_factor);
            match configs {
                Some(configs) => e.compact_array(configs, |e, (name, value, source)| {
                    e.compact_string(name).compact_nullable_string(Some(value)).bool(false).i8(*source).bool(false);
                    e.no_tagged_fields();
                }),
                None => e.unsigned_varint(0),
            };
            match config_error {
                // One tagged field: tag 0, two bytes.
                Some(code) => e.unsigned_varint(1).unsigned_varint(0).unsigned_varint(2).i16(*code),
                None => e.no_tagged_fields(),
            };
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn create_reads_each_topics_answer_past_its_description() {
        let outcomes = create_response(&created()).unwrap();
        assert_eq!(codes(&outcomes), [("orders", None), ("logs", Some(ErrorCode::TOPIC_ALREADY_EXISTS))]);
        let error = outcomes[1].result.as_ref().unwrap_err();
        assert_eq!(error.to_string(), "TOPIC_ALREADY_EXISTS: Topic 'logs' already exists.");
        let bytes = created();
        assert!(create_response(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn create_partitions_sends_totals_with_null_assignments() {
        let growth = PartitionGrowth { name: "orders".into(), total_partitions: 12 };
        let body = create_partitions_request(&[&growth], 5_000, false);
        let mut expected = vec![2, 7];
        expected.extend(b"orders");
        expected.extend(12i32.to_be_bytes());
        // Null assignments, the topic's tagged fields, timeout, validate_only, tagged fields.
        expected.extend([0, 0]);
        expected.extend(5_000i32.to_be_bytes());
        expected.extend([0, 0]);
        assert_eq!(body, expected);
    }

    #[test]
    fn create_partitions_reads_each_topics_answer() {
        let mut e = Encoder::default();
        e.i32(0);
        let answers = [
            ("orders", 0, None),
            ("logs", 37, Some("Topic currently has 3 partitions, which is higher than the requested 2.")),
        ];
        e.compact_array(&answers, |e, (topic, code, message)| {
            e.compact_string(topic).i16(*code).compact_nullable_string(*message).no_tagged_fields();
        });
        e.no_tagged_fields();
        let outcomes = create_partitions_response(&e.into_bytes()).unwrap();
        assert_eq!(codes(&outcomes), [("orders", None), ("logs", Some(ErrorCode::INVALID_PARTITIONS))]);
        assert_eq!(
            outcomes[1].result.as_ref().unwrap_err().message,
            "Topic currently has 3 partitions, which is higher than the requested 2."
        );
    }

    #[test]
    fn delete_sends_names_only() {
        let body = delete_request(&["orders", "logs"], 1_000);
        let mut expected = vec![3, 7];
        expected.extend(b"orders");
        expected.push(5);
        expected.extend(b"logs");
        expected.extend(1_000i32.to_be_bytes());
        expected.push(0);
        assert_eq!(body, expected);
    }

    #[test]
    fn delete_reads_each_topics_code_and_names_the_error() {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[("orders", 0), ("missing", 3)], |e, (topic, code)| {
            e.compact_string(topic).i16(*code).no_tagged_fields();
        });
        e.no_tagged_fields();
        let outcomes = delete_response(&e.into_bytes()).unwrap();
        assert_eq!(codes(&outcomes), [("orders", None), ("missing", Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION))]);
        assert_eq!(outcomes[1].result.as_ref().unwrap_err().message, "unknown topic or partition");
    }
}
