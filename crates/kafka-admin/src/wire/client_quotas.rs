//! AlterClientQuotas (API key 49) and DescribeClientQuotas (48), version 0, for the `user`
//! entity only. Pure: bytes in, bytes out.

use std::collections::BTreeMap;

use super::{DecodeError, Decoder, Encoder, answer_error as error};
use crate::client_quota::{UserQuotaChange, UserQuotaOutcome, UserQuotas};
use crate::operation_error::OperationError;

pub const ALTER_CLIENT_QUOTAS: i16 = 49;
pub const DESCRIBE_CLIENT_QUOTAS: i16 = 48;
const USER: &str = "user";
/// DescribeClientQuotas match types: 2 = any named entity (not the default one).
const MATCH_ANY_NAMED: i8 = 2;

/// The request body of AlterClientQuotas v0: one entry per change, the user as its one entity.
pub fn alter_request(changes: &[UserQuotaChange], validate_only: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.array(changes, |e, change| {
        e.array(&[change.user.as_str()], |e, user| {
            e.string(USER).nullable_string(Some(user));
        });
        let ops: Vec<(&str, Option<f64>)> = change
            .set
            .iter()
            .map(|(key, value)| (key.as_str(), Some(*value)))
            .chain(change.remove.iter().map(|key| (key.as_str(), None)))
            .collect();
        e.array(&ops, |e, (key, value)| {
            e.string(key).f64(value.unwrap_or_default()).bool(value.is_none());
        });
    });
    encoder.bool(validate_only);
    encoder.into_bytes()
}

/// Kafka's answer per user of an AlterClientQuotas v0 response.
pub fn alter_response(body: &[u8]) -> Result<Vec<UserQuotaOutcome>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    decoder.array(|d| {
        let error = error(d.i16()?, d.nullable_string()?);
        let entity = d.array(|d| Ok((d.string()?, d.nullable_string()?)))?;
        let user = entity.into_iter().find(|(kind, _)| kind == USER).and_then(|(_, name)| name).unwrap_or_default();
        Ok(UserQuotaOutcome { user, result: error })
    })
}

/// The request body of DescribeClientQuotas v0: every named user's own quotas (`strict`: not
/// those of user and client-id pairs).
pub fn describe_request() -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.array(&[()], |e, ()| {
        e.string(USER).i8(MATCH_ANY_NAMED).nullable_string(None);
    });
    encoder.bool(true);
    encoder.into_bytes()
}

/// The users' quotas of a DescribeClientQuotas v0 response, or Kafka's error for the request.
pub fn describe_response(body: &[u8]) -> Result<Result<UserQuotas, OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    if let Err(error) = error(decoder.i16()?, decoder.nullable_string()?) {
        return Ok(Err(error));
    }
    let entries = decoder.nullable_array(|d| {
        let entity = d.array(|d| Ok((d.string()?, d.nullable_string()?)))?;
        let values = d.array(|d| Ok((d.string()?, d.f64()?)))?;
        Ok((entity, values))
    })?;
    let mut quotas = UserQuotas::new();
    for (entity, values) in entries.unwrap_or_default() {
        // strict: the entity is the user alone; a named user has a name.
        let [(kind, Some(user))] = entity.as_slice() else { continue };
        if kind == USER {
            quotas.insert(user.clone(), values.into_iter().collect::<BTreeMap<_, _>>());
        }
    }
    Ok(Ok(quotas))
}

/// Kafka's error code 0 is success; the others are [`ErrorCode`]s of the same number.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn change() -> UserQuotaChange {
        UserQuotaChange {
            user: "carol".into(),
            set: [("producer_byte_rate".to_owned(), 1024.0)].into(),
            remove: vec!["consumer_byte_rate".into()],
        }
    }

    #[test]
    fn alter_request_has_one_entry_per_user_and_one_op_per_key() {
        let bytes = alter_request(&[change()], false);
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.i32(), Ok(1), "entries");
        assert_eq!(d.i32(), Ok(1), "entity components");
        assert_eq!(d.string(), Ok("user".into()));
        assert_eq!(d.nullable_string(), Ok(Some("carol".into())));
        assert_eq!(d.i32(), Ok(2), "ops");
        assert_eq!(d.string(), Ok("producer_byte_rate".into()));
        assert_eq!(d.f64(), Ok(1024.0));
        assert_eq!(d.bool(), Ok(false), "set, not removed");
        assert_eq!(d.string(), Ok("consumer_byte_rate".into()));
        assert_eq!(d.f64(), Ok(0.0));
        assert_eq!(d.bool(), Ok(true), "removed");
        assert_eq!(d.bool(), Ok(false), "validate_only");
        assert_eq!(d.i16(), Err(DecodeError::Truncated { missing: 2 }), "nothing after");
    }

    #[test]
    fn alter_response_answers_per_user() {
        let mut e = Encoder::default();
        e.i32(0).i32(2);
        e.i16(0).nullable_string(None).array(&[()], |e, ()| {
            e.string("user").nullable_string(Some("carol"));
        });
        e.i16(42).nullable_string(Some("bad key")).array(&[()], |e, ()| {
            e.string("user").nullable_string(Some("dave"));
        });
        let answers = alter_response(&e.into_bytes()).expect("decodes");
        assert_eq!(answers[0], UserQuotaOutcome { user: "carol".into(), result: Ok(()) });
        assert_eq!(answers[1].user, "dave");
        let error = answers[1].result.as_ref().expect_err("error 42");
        assert_eq!(error.code, ErrorCode::INVALID_REQUEST);
        assert_eq!(error.message, "bad key");
    }

    #[test]
    fn describe_response_keeps_named_users_alone() {
        let mut e = Encoder::default();
        e.i32(0).i16(0).nullable_string(None).i32(2);
        e.array(&[()], |e, ()| {
            e.string("user").nullable_string(Some("carol"));
        })
        .array(&[("producer_byte_rate", 1024.0)], |e, (k, v)| {
            e.string(k).f64(*v);
        });
        e.array(&[("user", "dave"), ("client-id", "app")], |e, (k, v)| {
            e.string(k).nullable_string(Some(v));
        })
        .array(&[("consumer_byte_rate", 1.0)], |e, (k, v)| {
            e.string(k).f64(*v);
        });
        let quotas = describe_response(&e.into_bytes()).expect("decodes").expect("no error");
        assert_eq!(quotas.len(), 1);
        assert_eq!(quotas["carol"]["producer_byte_rate"], 1024.0);

        let mut e = Encoder::default();
        e.i32(0).i16(35).nullable_string(None).i32(-1);
        assert!(describe_response(&e.into_bytes()).expect("decodes").is_err());
    }
}
