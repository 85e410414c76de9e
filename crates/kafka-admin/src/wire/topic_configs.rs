//! Topics' config overrides: DescribeConfigs v4 (API key 32) and IncrementalAlterConfigs v1
//! (44), the messages of [`super::broker_configs`] for TOPIC resources, many topics to a
//! request. Unlike a broker's configuration, any broker answers for any topic. Pure: bytes in,
//! bytes out.

use std::collections::BTreeMap;

use super::DecodeError;
use super::broker_configs::{self, ResourceChange};
use crate::changes::{TopicConfigChange, TopicOutcome};
use crate::operation_error::OperationError;
use crate::overrides::topic_overrides;

pub use super::broker_configs::{
    DESCRIBE_CONFIGS, DESCRIBE_CONFIGS_VERSION, INCREMENTAL_ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS_VERSION,
};

/// Kafka's `ConfigResource.Type.TOPIC`.
const TOPIC_RESOURCE: i8 = 2;

/// Per topic Kafka answered for: its overrides, or Kafka's error for it.
pub type DescribedTopics = Vec<(String, Result<BTreeMap<String, String>, OperationError>)>;

/// DescribeConfigs v4 of `topics`: every key (Kafka has no way to ask for overrides only).
pub fn describe_request(topics: &[&str]) -> Vec<u8> {
    broker_configs::describe_resources(TOPIC_RESOURCE, topics)
}

/// Kafka's answer to [`describe_request`], per topic only its overrides ([`topic_overrides`]):
/// most of a topic's ~40 entries are broker defaults nobody here looks at, so they are dropped
/// as each topic is read.
pub fn describe_response(body: &[u8]) -> Result<DescribedTopics, DecodeError> {
    let described = broker_configs::described_resources(body)?;
    Ok(described.into_iter().map(|(topic, entries)| (topic, entries.map(topic_overrides))).collect())
}

/// IncrementalAlterConfigs v1 of `changes`: sets and deletes exactly the overrides named and
/// leaves the others alone. With `validate_only` Kafka checks and changes nothing.
pub fn alter_request(changes: &[&TopicConfigChange], validate_only: bool) -> Vec<u8> {
    let resources: Vec<ResourceChange<'_>> = changes
        .iter()
        .map(|change| ResourceChange {
            name: &change.name,
            set: change.set.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect(),
            delete: change.delete.iter().map(String::as_str).collect(),
        })
        .collect();
    broker_configs::alter_resources(TOPIC_RESOURCE, &resources, validate_only)
}

/// Kafka's answer to [`alter_request`], per topic it answered for.
pub fn alter_response(body: &[u8]) -> Result<Vec<TopicOutcome>, DecodeError> {
    let altered = broker_configs::altered_resources(body)?;
    Ok(altered.into_iter().map(|(topic, result)| TopicOutcome { topic, result }).collect())
}

#[cfg(test)]
mod tests {
    use super::super::broker_configs::DYNAMIC_TOPIC_CONFIG;
    use super::super::{Decoder, Encoder};
    use super::*;
    use crate::ErrorCode;

    /// One DescribeConfigs v4 entry: name, value, read-only, source, sensitive.
    type Entry<'a> = (&'a str, Option<&'a str>, bool, i8, bool);

    /// A DescribeConfigs v4 answer: per topic its error code and message, and its entries.
    fn described(topics: &[(&str, i16, Option<&str>, &[Entry<'_>])]) -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(topics, |e, (topic, code, message, entries)| {
            e.i16(*code).compact_nullable_string(*message).i8(TOPIC_RESOURCE).compact_string(topic);
            e.compact_array(entries, |e, (name, value, read_only, source, sensitive)| {
                e.compact_string(name).compact_nullable_string(*value).bool(*read_only).i8(*source).bool(*sensitive);
                // Synonyms (none asked for, but read past), config type, documentation.
                e.compact_array(&[()], |e, ()| {
                    e.compact_string(name).compact_nullable_string(*value).i8(*source).no_tagged_fields();
                });
                e.i8(2).compact_nullable_string(None).no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn describe_asks_for_every_key_of_each_topic() {
        let body = describe_request(&["orders", "payments"]);
        let mut d = Decoder::new(&body);
        let resource = |d: &mut Decoder<'_>| {
            let resource = (d.i8()?, d.compact_string()?);
            // A null key list: every key.
            assert_eq!(d.unsigned_varint()?, 0);
            d.skip_tagged_fields()?;
            Ok(resource)
        };
        assert_eq!(
            d.compact_array(resource),
            Ok(vec![(TOPIC_RESOURCE, "orders".into()), (TOPIC_RESOURCE, "payments".into())])
        );
        // No synonyms, no documentation, no tagged fields.
        assert_eq!((d.bool(), d.bool(), d.skip_tagged_fields()), (Ok(false), Ok(false), Ok(())));
        assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn describe_keeps_only_each_topics_own_non_sensitive_values() {
        // Sources: 1 DYNAMIC_TOPIC_CONFIG, 2 DYNAMIC_BROKER_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
        let entries: &[Entry<'_>] = &[
            ("retention.ms", Some("3600000"), false, DYNAMIC_TOPIC_CONFIG, false),
            ("cleanup.policy", Some("compact"), false, DYNAMIC_TOPIC_CONFIG, false),
            ("min.insync.replicas", Some("2"), false, 4, false),
            ("segment.bytes", Some("1073741824"), false, 5, false),
            ("max.message.bytes", Some("2000000"), false, 2, false),
            ("some.secret", None, false, DYNAMIC_TOPIC_CONFIG, true),
            ("weird.null", None, false, DYNAMIC_TOPIC_CONFIG, false),
        ];
        let missing = "This server does not host this topic-partition.";
        let body = described(&[("orders", 0, None, entries), ("gone", 3, Some(missing), &[])]);
        let answers = describe_response(&body).unwrap();
        let expected = BTreeMap::from([
            ("cleanup.policy".to_owned(), "compact".to_owned()),
            ("retention.ms".to_owned(), "3600000".to_owned()),
        ]);
        assert_eq!(answers[0], ("orders".to_owned(), Ok(expected)));
        let (topic, error) = &answers[1];
        assert_eq!(topic, "gone");
        let error = error.as_ref().unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, missing));
    }

    #[test]
    fn describe_of_a_truncated_answer_is_an_error() {
        let body = described(&[("orders", 0, None, &[("retention.ms", Some("1"), false, 1, false)])]);
        assert!(describe_response(&body[..body.len() - 4]).is_err());
    }

    #[test]
    fn alter_sets_and_deletes_each_topics_keys() {
        let mut orders = TopicConfigChange { name: "orders".into(), ..TopicConfigChange::default() };
        orders.set.insert("retention.ms".into(), "1000".into());
        orders.set.insert("cleanup.policy".into(), "compact".into());
        orders.delete = vec!["segment.ms".into()];
        let payments =
            TopicConfigChange { name: "payments".into(), set: BTreeMap::new(), delete: vec!["retention.ms".into()] };
        let body = alter_request(&[&orders, &payments], true);

        let mut d = Decoder::new(&body);
        let operation = |d: &mut Decoder<'_>| {
            let op = (d.compact_string()?, d.i8()?, d.compact_nullable_string()?);
            d.skip_tagged_fields()?;
            Ok(op)
        };
        let resource = |d: &mut Decoder<'_>| {
            let resource = (d.i8()?, d.compact_string()?, d.compact_array(operation)?);
            d.skip_tagged_fields()?;
            Ok(resource)
        };
        let (set, delete) = (0, 1);
        assert_eq!(
            d.compact_array(resource),
            Ok(vec![
                (
                    TOPIC_RESOURCE,
                    "orders".into(),
                    vec![
                        ("cleanup.policy".into(), set, Some("compact".into())),
                        ("retention.ms".into(), set, Some("1000".into())),
                        ("segment.ms".into(), delete, None),
                    ]
                ),
                (TOPIC_RESOURCE, "payments".into(), vec![("retention.ms".into(), delete, None)]),
            ])
        );
        // ValidateOnly, then no tagged fields.
        assert_eq!((d.bool(), d.skip_tagged_fields()), (Ok(true), Ok(())));
        assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn alter_reads_each_topics_answer() {
        let mut e = Encoder::default();
        e.i32(0);
        let answers = [(0, None, "orders"), (40, Some("Unknown topic config name: foo"), "payments")];
        e.compact_array(&answers, |e, (code, message, topic)| {
            e.i16(*code).compact_nullable_string(*message).i8(TOPIC_RESOURCE).compact_string(topic);
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        let outcomes = alter_response(&e.into_bytes()).unwrap();
        assert_eq!(outcomes[0], TopicOutcome { topic: "orders".into(), result: Ok(()) });
        assert_eq!(outcomes[1].topic, "payments");
        assert_eq!(
            outcomes[1].result.as_ref().unwrap_err().to_string(),
            "INVALID_CONFIG: Unknown topic config name: foo"
        );
    }
}
