//! Kafka's feature flags (KIP-584), `metadata.version` among them: what a node supports and
//! what the cluster finalized (ApiVersions v3, API key 18, its tagged fields), and raising a
//! finalized level (UpdateFeatures v1, API key 57). Pure: bytes in, bytes out.

use std::collections::BTreeMap;

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::features::{FeatureLevels, FeatureRange};
use crate::operation_error::OperationError;

pub const API_VERSIONS: i16 = 18;
/// Version 4 lists features whose minimum level is 0 too (v3 leaves them out, KAFKA-17011);
/// Kafka before 3.9 answers it with UNSUPPORTED_VERSION, and v3 then serves.
pub const API_VERSIONS_VERSIONS: [i16; 2] = [4, 3];
pub const UPDATE_FEATURES: i16 = 57;
pub const UPDATE_FEATURES_VERSION: i16 = 1;

/// UpdateFeatures' upgrade type 1: raise only, never lower.
const UPGRADE: i8 = 1;

/// ApiVersions v3 and v4: the client's name and version, as Kafka's own clients send them.
pub fn api_versions_request(client_name: &str, client_version: &str) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_string(client_name).compact_string(client_version).no_tagged_fields();
    encoder.into_bytes()
}

/// The feature levels in an ApiVersions v3 or v4 answer: the node's supported ranges (tag 0)
/// and the cluster's finalized levels (tag 2); the API version ranges are skipped. An error
/// answer is read no further: Kafka writes it in version 0's layout.
pub fn api_versions_response(body: &[u8]) -> Result<Result<FeatureLevels, OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    if let Err(error) = answer_error(decoder.i16()?, None) {
        return Ok(Err(error));
    }
    decoder.compact_array(|d| {
        let (_key, _min, _max) = (d.i16()?, d.i16()?, d.i16()?);
        d.skip_tagged_fields()
    })?;
    let _throttle_time_ms = decoder.i32()?;
    let mut levels = FeatureLevels::default();
    decoder.tagged_fields(|tag, value| {
        match tag {
            0 => {
                levels.supported = value
                    .compact_array(|d| {
                        let name = d.compact_string()?;
                        let range = FeatureRange { min: d.i16()?, max: d.i16()? };
                        d.skip_tagged_fields()?;
                        Ok((name, range))
                    })?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>();
            }
            2 => {
                levels.finalized = value
                    .compact_array(|d| {
                        let name = d.compact_string()?;
                        let max = d.i16()?;
                        let _min = d.i16()?;
                        d.skip_tagged_fields()?;
                        Ok((name, max))
                    })?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>();
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(Ok(levels))
}

/// UpdateFeatures v1: raise `feature` to `level` (upgrade only), waiting up to `timeout_ms`.
pub fn upgrade_request(feature: &str, level: i16, timeout_ms: i32) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.i32(timeout_ms);
    encoder.compact_array(&[(feature, level)], |e, (feature, level)| {
        e.compact_string(feature).i16(*level).i8(UPGRADE).no_tagged_fields();
    });
    encoder.bool(false).no_tagged_fields();
    encoder.into_bytes()
}

/// The answer to [`upgrade_request`]: the top-level error, else the feature's own.
pub fn upgrade_response(body: &[u8]) -> Result<Result<(), OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let top = answer_error(decoder.i16()?, decoder.compact_nullable_string()?);
    let results = decoder.compact_array(|d| {
        let _feature = d.compact_string()?;
        let result = answer_error(d.i16()?, d.compact_nullable_string()?);
        d.skip_tagged_fields()?;
        Ok(result)
    })?;
    decoder.skip_tagged_fields()?;
    Ok(top.and_then(|()| results.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ApiVersions v3 answer: two API ranges, then metadata.version supported 7..=27 and
    /// finalized at 21, and an unknown tag 9.
    fn answer() -> Vec<u8> {
        let mut e = Encoder::default();
        e.i16(0);
        e.compact_array(&[(0i16, 0i16, 12i16), (55, 0, 2)], |e, (k, min, max)| {
            e.i16(*k).i16(*min).i16(*max).no_tagged_fields();
        });
        e.i32(0);
        let mut supported = Encoder::default();
        supported.compact_array(&[("metadata.version", 7i16, 27i16)], |e, (n, min, max)| {
            e.compact_string(n).i16(*min).i16(*max).no_tagged_fields();
        });
        let mut finalized = Encoder::default();
        finalized.compact_array(&[("metadata.version", 21i16, 21i16)], |e, (n, max, min)| {
            e.compact_string(n).i16(*max).i16(*min).no_tagged_fields();
        });
        let (supported, finalized) = (supported.into_bytes(), finalized.into_bytes());
        e.unsigned_varint(3);
        e.unsigned_varint(0).unsigned_varint(supported.len() as u32);
        for byte in supported {
            e.i8(byte as i8);
        }
        e.unsigned_varint(2).unsigned_varint(finalized.len() as u32);
        for byte in finalized {
            e.i8(byte as i8);
        }
        e.unsigned_varint(9).unsigned_varint(1).i8(1);
        e.into_bytes()
    }

    #[test]
    fn api_versions_yields_supported_and_finalized_levels() {
        let levels = api_versions_response(&answer()).unwrap().unwrap();
        assert_eq!(levels.supported["metadata.version"], FeatureRange { min: 7, max: 27 });
        assert_eq!(levels.finalized["metadata.version"], 21);
    }

    #[test]
    fn an_unsupported_version_answer_is_an_error_not_a_decode_failure() {
        // Version 0's layout: error 35, then an int32-counted array this decoder cannot read.
        let mut e = Encoder::default();
        e.i16(35).i32(1).i16(18).i16(0).i16(3);
        let error = api_versions_response(&e.into_bytes()).unwrap().unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::UNSUPPORTED_VERSION);
    }

    #[test]
    fn upgrade_request_raises_one_feature_only_upwards() {
        let body = upgrade_request("metadata.version", 27, 60_000);
        let mut d = Decoder::new(&body);
        assert_eq!(d.i32(), Ok(60_000));
        let updates = d.compact_array(|d| {
            let update = (d.compact_string()?, d.i16()?, d.i8()?);
            d.skip_tagged_fields()?;
            Ok(update)
        });
        assert_eq!(updates, Ok(vec![("metadata.version".into(), 27, UPGRADE)]));
        assert_eq!(d.bool(), Ok(false));
    }

    #[test]
    fn a_refused_upgrade_names_kafkas_reason() {
        let mut e = Encoder::default();
        e.i32(0).i16(0).compact_nullable_string(None);
        e.compact_array(&[()], |e, ()| {
            e.compact_string("metadata.version").i16(95).compact_nullable_string(Some("broker 3 does not support 27"));
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        let error = upgrade_response(&e.into_bytes()).unwrap().unwrap_err();
        assert!(error.to_string().contains("broker 3"), "{error}");
    }
}
