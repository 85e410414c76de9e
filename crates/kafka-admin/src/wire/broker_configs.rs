//! One broker's configuration: DescribeConfigs v4 (API key 32) and IncrementalAlterConfigs v1
//! (44), their first flexible versions, which every Kafka from 2.8 to 4.x answers. A broker
//! describes only its own resource, so these go to the broker named. Pure: bytes in, bytes out.

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::operation_error::OperationError;

pub const DESCRIBE_CONFIGS: i16 = 32;
pub const DESCRIBE_CONFIGS_VERSION: i16 = 4;
pub const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
pub const INCREMENTAL_ALTER_CONFIGS_VERSION: i16 = 1;

/// Kafka's `ConfigResource.Type.BROKER`.
const BROKER_RESOURCE: i8 = 4;
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
    let mut encoder = Encoder::default();
    encoder.compact_array(&[broker], |e, broker| {
        e.i8(BROKER_RESOURCE).compact_string(&broker.to_string());
        // ConfigurationKeys: null for all.
        e.unsigned_varint(0).no_tagged_fields();
    });
    // IncludeSynonyms, IncludeDocumentation.
    encoder.bool(false).bool(false).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`describe_request`]: the broker's entries, or its error.
pub fn describe_response(body: &[u8], broker: i32) -> Result<Result<Vec<ConfigEntry>, OperationError>, DecodeError> {
    per_resource(body, broker, |d| {
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

/// IncrementalAlterConfigs v1 of broker `broker`: sets and deletes exactly the keys named.
pub fn alter_request(broker: i32, set: &[(&str, &str)], delete: &[&str], validate_only: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(&[broker], |e, broker| {
        e.i8(BROKER_RESOURCE).compact_string(&broker.to_string());
        let operations: Vec<(&str, i8, Option<&str>)> = set
            .iter()
            .map(|(name, value)| (*name, SET, Some(*value)))
            .chain(delete.iter().map(|name| (*name, DELETE, None)))
            .collect();
        e.compact_array(&operations, |e, (name, operation, value)| {
            e.compact_string(name).i8(*operation).compact_nullable_string(*value).no_tagged_fields();
        });
        e.no_tagged_fields();
    });
    encoder.bool(validate_only).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`alter_request`].
pub fn alter_response(body: &[u8], broker: i32) -> Result<Result<(), OperationError>, DecodeError> {
    per_resource(body, broker, |_| Ok(()))
}

/// Both answers: a throttle time, then per resource its error, type and name, what `read`
/// reads, and tagged fields. The answer for `broker`'s resource, or Kafka's error for it.
fn per_resource<T>(
    body: &[u8],
    broker: i32,
    mut read: impl FnMut(&mut Decoder<'_>) -> Result<T, DecodeError>,
) -> Result<Result<T, OperationError>, DecodeError> {
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
    let name = broker.to_string();
    Ok(results
        .into_iter()
        .find(|(answered, _)| *answered == name)
        .map_or_else(|| Err(crate::batch::missing_answer()), |(_, result)| result))
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaErrorCode;

    use super::*;

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
        assert_eq!(other.map_err(|error| error.code), Err(RDKafkaErrorCode::Fail));
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
        assert_eq!(error.code, RDKafkaErrorCode::InvalidConfig);
        assert_eq!(error.message, "Cannot update these configs dynamically: [broker.id]");
    }
}
