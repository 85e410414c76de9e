//! Kafka's wire protocol: every admin request the controllers send, so that none of them links
//! librdkafka. Metadata, topics (CreateTopics, CreatePartitions, DeleteTopics), configs of
//! topics and brokers (DescribeConfigs, IncrementalAlterConfigs), ACLs, SCRAM credentials
//! (KIP-554), client quotas (KIP-546, non-flexible v0, which every Kafka since 2.6 answers) and
//! the KRaft quorum (KIP-853: DescribeQuorum, AddRaftVoter, RemoveRaftVoter; KIP-584:
//! ApiVersions' features and UpdateFeatures). All but client quotas in their first flexible
//! versions (compact strings and arrays, tagged fields), which Kafka 2.8 to 4.x answer. The primitive types
//! ([`Encoder`], [`Decoder`]), the messages, and one request-response exchange over TCP or TLS
//! ([`connection`]).

pub mod acls;
pub mod broker_configs;
pub mod client_quotas;
pub mod connection;
pub mod features;
pub mod metadata;
pub mod quorum;
pub mod scram;
pub mod topic_configs;
pub mod topics;

use crate::error_code::ErrorCode;
use crate::operation_error::OperationError;

/// An error code and message of an answer: Ok for code 0, else the error under Kafka's name (a
/// code newer than [`ErrorCode`]'s table keeps its number: `UNKNOWN_ERROR_CODE_<n>`). Without a
/// message from Kafka, the name in words: not librdkafka's text, which would link librdkafka
/// into a deployable that speaks only this protocol.
pub(crate) fn answer_error(code: i16, message: Option<String>) -> Result<(), OperationError> {
    if code == 0 {
        return Ok(());
    }
    let code = ErrorCode::from_kafka(code);
    let message = message.filter(|m| !m.is_empty()).unwrap_or_else(|| code.name().to_lowercase().replace('_', " "));
    Err(OperationError::new(code, message))
}

/// Why a response could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the response ends {missing} bytes early")]
    Truncated { missing: usize },
    #[error("the response has a negative length {length} where it may not")]
    NegativeLength { length: i32 },
    #[error("the response has a string that is not UTF-8")]
    NotUtf8,
    #[error("the response has a variable-length integer longer than five bytes")]
    VarintTooLong,
}

/// Writes big-endian primitives, as Kafka's protocol wants them.
#[derive(Default)]
pub struct Encoder(Vec<u8>);

impl Encoder {
    pub fn i8(&mut self, value: i8) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn i16(&mut self, value: i16) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn i32(&mut self, value: i32) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    #[cfg(test)]
    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn f64(&mut self, value: f64) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    /// UUID: sixteen bytes, most significant first.
    pub fn uuid(&mut self, value: [u8; 16]) -> &mut Self {
        self.0.extend(value);
        self
    }

    /// UNSIGNED_VARINT: seven bits per byte, least significant group first.
    pub fn unsigned_varint(&mut self, mut value: u32) -> &mut Self {
        while value >= 0x80 {
            self.0.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
        self
    }

    /// COMPACT_NULLABLE_STRING: length + 1 as an unsigned varint (0 for null), then UTF-8.
    pub fn compact_nullable_string(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            None => self.unsigned_varint(0),
            Some(value) => {
                self.unsigned_varint(value.len() as u32 + 1);
                self.0.extend(value.as_bytes());
                self
            }
        }
    }

    pub fn compact_string(&mut self, value: &str) -> &mut Self {
        self.compact_nullable_string(Some(value))
    }

    /// COMPACT_BYTES: length + 1 as an unsigned varint, then the bytes.
    pub fn compact_bytes(&mut self, value: &[u8]) -> &mut Self {
        self.unsigned_varint(value.len() as u32 + 1);
        self.0.extend(value);
        self
    }

    /// COMPACT_ARRAY: count + 1 as an unsigned varint, then each item written by `item`.
    pub fn compact_array<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.unsigned_varint(items.len() as u32 + 1);
        for each in items {
            item(self, each);
        }
        self
    }

    /// The tagged-field section of a flexible structure; this client sends none.
    pub fn no_tagged_fields(&mut self) -> &mut Self {
        self.unsigned_varint(0)
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.0.push(u8::from(value));
        self
    }

    /// STRING: int16 length, then UTF-8. Longer strings are cut at the limit (names Kafka
    /// accepts are far shorter).
    pub fn string(&mut self, value: &str) -> &mut Self {
        let bytes = &value.as_bytes()[..value.len().min(i16::MAX as usize)];
        self.i16(bytes.len() as i16);
        self.0.extend(bytes);
        self
    }

    /// NULLABLE_STRING: length -1 for null.
    pub fn nullable_string(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.string(value),
            None => self.i16(-1),
        }
    }

    /// ARRAY: int32 count, then each item written by `item`.
    pub fn array<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.i32(items.len() as i32);
        for each in items {
            item(self, each);
        }
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads big-endian primitives from a response body.
pub struct Decoder<'a> {
    bytes: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or_else(|| DecodeError::Truncated { missing: N - self.bytes.len() })?;
        self.bytes = rest;
        Ok(*head)
    }

    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        self.take().map(i16::from_be_bytes)
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.take::<1>().map(|[byte]| byte != 0)
    }

    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        self.take().map(i8::from_be_bytes)
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.take().map(u16::from_be_bytes)
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.take().map(i64::from_be_bytes)
    }

    pub fn uuid(&mut self) -> Result<[u8; 16], DecodeError> {
        self.take()
    }

    fn bytes(&mut self, length: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < length {
            return Err(DecodeError::Truncated { missing: length - self.bytes.len() });
        }
        let (head, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(head)
    }

    pub fn unsigned_varint(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for group in 0..5 {
            let [byte] = self.take::<1>()?;
            value |= u32::from(byte & 0x7f) << (7 * group);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintTooLong)
    }

    pub fn compact_nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let Some(length) = self.unsigned_varint()?.checked_sub(1) else {
            return Ok(None);
        };
        let text = self.bytes(length as usize)?;
        String::from_utf8(text.to_vec()).map(Some).map_err(|_| DecodeError::NotUtf8)
    }

    /// COMPACT_BYTES; null reads as empty.
    #[cfg(test)]
    pub fn compact_bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let length = self.unsigned_varint()?.saturating_sub(1);
        self.bytes(length as usize).map(<[u8]>::to_vec)
    }

    pub fn compact_string(&mut self) -> Result<String, DecodeError> {
        self.compact_nullable_string()?.ok_or(DecodeError::NegativeLength { length: -1 })
    }

    /// COMPACT_ARRAY; a null array (count 0) reads as empty.
    pub fn compact_array<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.unsigned_varint()?.saturating_sub(1) as usize;
        let mut items = Vec::with_capacity(count.min(self.bytes.len()));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// Reads a tagged-field section, handing each field's tag and bytes to `field` (which may
    /// ignore it: unknown tags are how newer Kafka versions add fields).
    pub fn tagged_fields(
        &mut self,
        mut field: impl FnMut(u32, &mut Decoder<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.unsigned_varint()?;
        for _ in 0..count {
            let tag = self.unsigned_varint()?;
            let size = self.unsigned_varint()? as usize;
            let mut value = Decoder::new(self.bytes(size)?);
            field(tag, &mut value)?;
        }
        Ok(())
    }

    /// Skips a tagged-field section whose fields this client does not read.
    pub fn skip_tagged_fields(&mut self) -> Result<(), DecodeError> {
        self.tagged_fields(|_, _| Ok(()))
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.take().map(i32::from_be_bytes)
    }

    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.take().map(f64::from_be_bytes)
    }

    pub fn nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let length = self.i16()?;
        if length < 0 {
            return Ok(None);
        }
        let text = self.bytes(length as usize)?;
        String::from_utf8(text.to_vec()).map(Some).map_err(|_| DecodeError::NotUtf8)
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.nullable_string()?.ok_or(DecodeError::NegativeLength { length: -1 })
    }

    /// NULLABLE ARRAY: `None` for length -1.
    pub fn nullable_array<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        let count = self.i32()?;
        if count < 0 {
            return Ok(None);
        }
        // Each item takes at least a byte: a count beyond what is left is a broken response,
        // not a reason to reserve gigabytes.
        let mut items = Vec::with_capacity((count as usize).min(self.bytes.len()));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(Some(items))
    }

    pub fn array<T>(&mut self, item: impl FnMut(&mut Self) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
        self.nullable_array(item)?.ok_or(DecodeError::NegativeLength { length: -1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip_big_endian() {
        let mut encoder = Encoder::default();
        encoder.i16(-2).i32(7).f64(1.5).string("user").nullable_string(None);
        encoder.array(&["a", "bc"], |e, s| {
            e.string(s);
        });
        let bytes = encoder.into_bytes();
        assert_eq!(&bytes[..6], &[0xff, 0xfe, 0, 0, 0, 7]);
        let mut decoder = Decoder::new(&bytes);
        assert_eq!(decoder.i16(), Ok(-2));
        assert_eq!(decoder.i32(), Ok(7));
        assert_eq!(decoder.f64(), Ok(1.5));
        assert_eq!(decoder.string(), Ok("user".into()));
        assert_eq!(decoder.nullable_string(), Ok(None));
        assert_eq!(decoder.array(Decoder::string), Ok(vec!["a".into(), "bc".into()]));
        assert_eq!(decoder.i16(), Err(DecodeError::Truncated { missing: 2 }));
    }

    #[test]
    fn compact_types_round_trip() {
        let mut encoder = Encoder::default();
        encoder.unsigned_varint(300).compact_string("controller").compact_nullable_string(None);
        encoder.compact_array(&[7i64, -1], |e, v| {
            e.i64(*v);
        });
        encoder.uuid([9; 16]).u16(9093).no_tagged_fields();
        let bytes = encoder.into_bytes();
        // 300 = 0b10_0101100: low group 0x2c with the continuation bit, then 0x02.
        assert_eq!(&bytes[..2], &[0xac, 0x02]);
        let mut decoder = Decoder::new(&bytes);
        assert_eq!(decoder.unsigned_varint(), Ok(300));
        assert_eq!(decoder.compact_string(), Ok("controller".into()));
        assert_eq!(decoder.compact_nullable_string(), Ok(None));
        assert_eq!(decoder.compact_array(Decoder::i64), Ok(vec![7, -1]));
        assert_eq!(decoder.uuid(), Ok([9; 16]));
        assert_eq!(decoder.u16(), Ok(9093));
        assert_eq!(decoder.skip_tagged_fields(), Ok(()));
        assert_eq!(decoder.i8(), Err(DecodeError::Truncated { missing: 1 }));
    }

    #[test]
    fn tagged_fields_hand_over_their_bytes_and_unknown_ones_are_skipped() {
        // Two fields: tag 1 holding an i16, tag 9 (unknown) holding three bytes.
        let bytes = [2, 1, 2, 0, 5, 9, 3, 1, 2, 3, 0x7f];
        let mut decoder = Decoder::new(&bytes);
        let mut seen = Vec::new();
        decoder
            .tagged_fields(|tag, value| {
                if tag == 1 {
                    seen.push(value.i16()?);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![5]);
        assert_eq!(decoder.i8(), Ok(0x7f));
    }

    #[test]
    fn a_varint_longer_than_five_bytes_is_refused() {
        let bytes = [0xff; 6];
        assert_eq!(Decoder::new(&bytes).unsigned_varint(), Err(DecodeError::VarintTooLong));
    }

    #[test]
    fn a_broken_count_is_an_error_not_an_allocation() {
        let bytes = [0x7f, 0xff, 0xff, 0xff, 0, 1];
        assert!(Decoder::new(&bytes).array(Decoder::string).is_err());
    }
}
