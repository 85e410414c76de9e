//! Kafka's wire protocol for the admin requests librdkafka does not have at all (client quotas,
//! KIP-546): the primitive types ([`Encoder`], [`Decoder`]), the two messages
//! ([`client_quotas`]), and one request-response exchange over TCP or TLS ([`connection`]).
//! Only non-flexible message versions (v0), which every Kafka since 2.6 (4.x included) answers,
//! so no tagged fields are needed.

pub mod client_quotas;
pub mod connection;

/// Why a response could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the response ends {missing} bytes early")]
    Truncated { missing: usize },
    #[error("the response has a negative length {length} where it may not")]
    NegativeLength { length: i32 },
    #[error("the response has a string that is not UTF-8")]
    NotUtf8,
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

    pub fn f64(&mut self, value: f64) -> &mut Self {
        self.0.extend(value.to_be_bytes());
        self
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

    #[cfg(test)]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.take::<1>().map(|[byte]| byte != 0)
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
        let length = length as usize;
        if self.bytes.len() < length {
            return Err(DecodeError::Truncated { missing: length - self.bytes.len() });
        }
        let (text, rest) = self.bytes.split_at(length);
        self.bytes = rest;
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
    fn a_broken_count_is_an_error_not_an_allocation() {
        let bytes = [0x7f, 0xff, 0xff, 0xff, 0, 1];
        assert!(Decoder::new(&bytes).array(Decoder::string).is_err());
    }
}
