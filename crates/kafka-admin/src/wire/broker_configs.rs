//! One broker's configuration: DescribeConfigs v4 (API key 32) and IncrementalAlterConfigs v1
//! (44), their first flexible versions, which every Kafka from 2.8 to 4.x answers. A broker
//! describes only its own resource, so these go to the broker named. The messages for any
//! resource type are here too, shared with topics' configs ([`super::topic_configs`]). Pure:
//! bytes in, bytes out.

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::operation_error::OperationError;

pub const DESCRIBE_CONFIGS: i16 = 32;
pub const DESCRIBE_CONFIGS_VERSION: i16 = 4;
pub const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
pub const INCREMENTAL_ALTER_CONFIGS_VERSION: i16 = 1;

/// Kafka's `ConfigResource.Type.BROKER`.
const BROKER_RESOURCE: i8 = 4;
/// `DescribeConfigsResponse.ConfigSource.DYNAMIC_TOPIC_CONFIG`: set on the topic itself.
pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
/// `DescribeConfigsResponse.ConfigSource.DYNAMIC_BROKER_CONFIG`: set on this broker itself.
pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
/// `AlterConfigOp.OpType` SET and DELETE.
const SET: i8 = 0;
const DELETE: i8 = 1;

/// One configuration entry as DescribeConfigs reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub source: i8,
    pub sensitive: bool,
}

/// DescribeConfigs v4 of broker `broker`: every key, no synonyms, no documentation.
pub fn describe_request(broker: i32) -> Vec<u8> {
    describe_resources(BROKER_RESOURCE, &[&broker.to_string()])
}

/// Kafka's answer to [`describe_request`]: the broker's entries, or its error.
pub fn describe_response(body: &[u8], broker: i32) -> Result<Result<Vec<ConfigEntry>, OperationError>, DecodeError> {
    described_resources(body).map(|answers| answer_for(answers, &broker.to_string()))
}

/// IncrementalAlterConfigs v1 of broker `broker`: sets and deletes exactly the keys named.
pub fn alter_request(broker: i32, set: &[(&str, &str)], delete: &[&str], validate_only: bool) -> Vec<u8> {
    let name = broker.to_string();
    let change = ResourceChange { name: &name, set: set.to_vec(), delete: delete.to_vec() };
    alter_resources(BROKER_RESOURCE, &[change], validate_only)
}

/// Kafka's answer to [`alter_request`].
pub fn alter_response(body: &[u8], broker: i32) -> Result<Result<(), OperationError>, DecodeError> {
    altered_resources(body).map(|answers| answer_for(answers, &broker.to_string()))
}

/// The keys of one resource to set and to delete.
pub(super) struct ResourceChange<'a> {
    pub name: &'a str,
    pub set: Vec<(&'a str, &'a str)>,
    pub delete: Vec<&'a str>,
}

/// DescribeConfigs v4 of the resources `names`, all of type `resource_type`: every key (a null
/// key list), no synonyms, no documentation (neither is read, and documentation would multiply
/// the answer's size).
pub(super) fn describe_resources(resource_type: i8, names: &[&str]) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(names, |e, name| {
        e.i8(resource_type).compact_string(name);
        // ConfigurationKeys: null for all.
        e.unsigned_varint(0).no_tagged_fields();
    });
    // IncludeSynonyms, IncludeDocumentation.
    encoder.bool(false).bool(false).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`describe_resources`]: per resource named in it, its entries or its error.
pub(super) fn described_resources(body: &[u8]) -> Result<Answers<Vec<ConfigEntry>>, DecodeError> {
    per_resource(body, |d| {
        d.compact_array(|d| {
            let entry = ConfigEntry {
                name: d.compact_string()?,
                value: d.compact_nullable_string()?,
                read_only: d.bool()?,
                source: d.i8()?,
                sensitive: d.bool()?,
            };
            let _synonyms = d.compact_array(|d| {
                let _name = d.compact_string()?;
                let _value = d.compact_nullable_string()?;
                let _source = d.i8()?;
                d.skip_tagged_fields()
            })?;
            let _config_type = d.i8()?;
            let _documentation = d.compact_nullable_string()?;
            d.skip_tagged_fields()?;
            Ok(entry)
        })
    })
}

/// IncrementalAlterConfigs v1 of `changes`, resources all of type `resource_type`: sets and
/// deletes exactly the keys named, so that keys not named stay as they are.
pub(super) fn alter_resources(resource_type: i8, changes: &[ResourceChange<'_>], validate_only: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(changes, |e, change| {
        e.i8(resource_type).compact_string(change.name);
        let operations: Vec<(&str, i8, Option<&str>)> = change
            .set
            .iter()
            .map(|(name, value)| (*name, SET, Some(*value)))
            .chain(change.delete.iter().map(|name| (*name, DELETE, None)))
            .collect();
        e.compact_array(&operations, |e, (name, operation, value)| {
            e.compact_string(name).i8(*operation).compact_nullable_string(*value).no_tagged_fields();
        });
        e.no_tagged_fields();
    });
    encoder.bool(validate_only).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`alter_resources`]: per resource named in it, success or its error.
pub(super) fn altered_resources(body: &[u8]) -> Result<Answers<()>, DecodeError> {
    per_resource(body, |_| Ok(()))
}

/// Per resource Kafka answered for: its name and its answer or error.
pub(super) type Answers<T> = Vec<(String, Result<T, OperationError>)>;

/// The answer for resource `name` among `answers`; an error if Kafka did not answer for it.
fn answer_for<T>(answers: Answers<T>, name: &str) -> Result<T, OperationError> {
    answers
        .into_iter()
        .find(|(answered, _)| answered == name)
        .map_or_else(|| Err(crate::batch::missing_answer()), |(_, result)| result)
}

/// Both answers: a throttle time, then per resource its error, type and name, what `read`
/// reads, and tagged fields.
fn per_resource<T>(
    body: &[u8],
    mut read: impl FnMut(&mut Decoder<'_>) -> Result<T, DecodeError>,
) -> Result<Answers<T>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let results = decoder.compact_array(|d| {
        let error = answer_error(d.i16()?, d.compact_nullable_string()?);
        let _resource_type = d.i8()?;
        let name = d.compact_string()?;
        let answer = read(d)?;
        d.skip_tagged_fields()?;
        Ok((name, error.map(|()| answer)))
    })?;
    decoder.skip_tagged_fields()?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// A DescribeConfigs v4 answer for broker 1 with two entries, one with a synonym.
    fn described() -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[()], |e, ()| {
            e.i16(0).compact_nullable_string(None).i8(BROKER_RESOURCE).compact_string("1");
            e.compact_array(
                &[("log.cleaner.threads", Some("2"), false, 2i8, false), ("broker.id", Some("1"), true, 4, false)],
                |e, (name, value, read_only, source, sensitive)| {
                    e.compact_string(name)
                        .compact_nullable_string(*value)
                        .bool(*read_only)
                        .i8(*source)
                        .bool(*sensitive);
                    e.compact_array(&[()], |e, ()| {
                        e.compact_string(name).compact_nullable_string(*value).i8(*source).no_tagged_fields();
                    });
                    e.i8(3).compact_nullable_string(None).no_tagged_fields();
                },
            );
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn describe_reads_each_entry_of_the_broker_asked() {
        let entries = describe_response(&described(), 1).unwrap().unwrap();
        assert_eq!(
            entries,
            vec![
                ConfigEntry {
                    name: "log.cleaner.threads".into(),
                    value: Some("2".into()),
                    read_only: false,
                    source: DYNAMIC_BROKER_CONFIG,
                    sensitive: false
                },
                ConfigEntry {
                    name: "broker.id".into(),
                    value: Some("1".into()),
                    read_only: true,
                    source: 4,
                    sensitive: false
                },
            ]
        );
        let other = describe_response(&described(), 2).unwrap();
        assert_eq!(other.map_err(|error| error.code), Err(ErrorCode::FAIL));
    }

    #[test]
    fn describe_asks_for_every_key_of_one_broker() {
        assert_eq!(describe_request(3), vec![2, BROKER_RESOURCE as u8, 2, b'3', 0, 0, 0, 0, 0]);
    }

    #[test]
    fn alter_sets_and_deletes_and_reads_the_brokers_error() {
        let body = alter_request(1, &[("log.cleaner.threads", "2")], &["num.io.threads"], true);
        let mut d = Decoder::new(&body);
        assert_eq!(d.unsigned_varint(), Ok(2));
        assert_eq!(d.i8(), Ok(BROKER_RESOURCE));
        assert_eq!(d.compact_string(), Ok("1".into()));
        let read = |d: &mut Decoder<'_>| {
            let op = (d.compact_string()?, d.i8()?, d.compact_nullable_string()?);
            d.skip_tagged_fields()?;
            Ok(op)
        };
        assert_eq!(
            d.compact_array(read),
            Ok(vec![("log.cleaner.threads".into(), SET, Some("2".into())), ("num.io.threads".into(), DELETE, None)])
        );
        assert_eq!(d.skip_tagged_fields(), Ok(()));
        assert_eq!(d.bool(), Ok(true));

        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[()], |e, ()| {
            e.i16(40).compact_nullable_string(Some("Cannot update these configs dynamically: [broker.id]"));
            e.i8(BROKER_RESOURCE).compact_string("1").no_tagged_fields();
        });
        e.no_tagged_fields();
        let error = alter_response(&e.into_bytes(), 1).unwrap().unwrap_err();
        assert_eq!(error.code, ErrorCode::INVALID_CONFIG);
        assert_eq!(error.message, "Cannot update these configs dynamically: [broker.id]");
    }
}
