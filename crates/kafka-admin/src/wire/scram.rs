//! Users' SCRAM credentials (KIP-554): DescribeUserScramCredentials (API key 50) and
//! AlterUserScramCredentials (51), version 0, their only one, flexible, which every Kafka
//! from 2.7 answers. As Kafka's Java admin client does, this client salts and hashes the
//! password itself: the request carries the salt and the salted password, Kafka derives its
//! stored and server keys from them, and the password never leaves this process. Pure but for
//! the random salt: bytes in, bytes out.

use std::fmt;
use std::num::NonZeroU32;

use ring::pbkdf2;
use ring::rand::SecureRandom;

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::operation_error::OperationError;
use crate::scram_credential::{ScramAlteration, ScramAlterationOutcome, ScramMechanism, UserScramCredentials};

pub const DESCRIBE_USER_SCRAM_CREDENTIALS: i16 = 50;
pub const ALTER_USER_SCRAM_CREDENTIALS: i16 = 51;
pub const VERSION: i16 = 0;

/// Bytes of random salt per credential, as librdkafka sends (Kafka's Java client sends the
/// base-36 text of a 130-bit random number). Any length works: Kafka keeps the salt as given
/// and hands it to the client at login.
const SALT_LEN: usize = 64;

/// Kafka's `ScramMechanism` type codes.
const SCRAM_SHA_256: i8 = 1;
const SCRAM_SHA_512: i8 = 2;

fn mechanism_type(mechanism: ScramMechanism) -> i8 {
    match mechanism {
        ScramMechanism::Sha256 => SCRAM_SHA_256,
        ScramMechanism::Sha512 => SCRAM_SHA_512,
    }
}

/// None for a mechanism newer than this crate knows (and Kafka's UNKNOWN, 0).
fn mechanism_of(kafka_type: i8) -> Option<ScramMechanism> {
    match kafka_type {
        SCRAM_SHA_256 => Some(ScramMechanism::Sha256),
        SCRAM_SHA_512 => Some(ScramMechanism::Sha512),
        _ => None,
    }
}

/// Why an AlterUserScramCredentials request could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("SCRAM iterations must be positive, not {0}")]
    Iterations(i32),
    #[error("the system's random number generator failed to make a salt")]
    Random,
}

/// One credential as Kafka takes it: what Kafka needs to check a SCRAM login, not the password.
/// `Debug` hides the salted password: it is as good as the password for logging in.
#[derive(Clone, PartialEq, Eq)]
pub struct Upsertion {
    pub user: String,
    pub mechanism: ScramMechanism,
    pub iterations: NonZeroU32,
    pub salt: Vec<u8>,
    pub salted_password: Vec<u8>,
}

impl Upsertion {
    /// Salts and hashes `password` with `salt`.
    pub fn new(user: &str, mechanism: ScramMechanism, iterations: NonZeroU32, password: &str, salt: Vec<u8>) -> Self {
        let salted_password = salted_password(mechanism, password, &salt, iterations);
        Self { user: user.to_owned(), mechanism, iterations, salt, salted_password }
    }
}

impl fmt::Debug for Upsertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upsertion")
            .field("user", &self.user)
            .field("mechanism", &self.mechanism)
            .field("iterations", &self.iterations)
            .field("salted_password", &"<hidden>")
            .finish_non_exhaustive()
    }
}

/// SCRAM's `SaltedPassword := Hi(Normalize(password), salt, i)` (RFC 5802 §3), which is
/// PBKDF2 (RFC 8018) with the mechanism's HMAC and one hash length of output. Normalize is
/// the UTF-8 bytes, as Kafka's `ScramFormatter` has it (no SASLprep), so that the password
/// matches what Kafka's clients send at login.
pub fn salted_password(mechanism: ScramMechanism, password: &str, salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
    let (algorithm, length) = match mechanism {
        ScramMechanism::Sha256 => (pbkdf2::PBKDF2_HMAC_SHA256, 32),
        ScramMechanism::Sha512 => (pbkdf2::PBKDF2_HMAC_SHA512, 64),
    };
    let mut out = vec![0; length];
    pbkdf2::derive(algorithm, iterations, salt, password.as_bytes(), &mut out);
    out
}

/// A fresh salt from `random` for each credential set, so the stored credential changes even
/// when the password does not.
pub fn random_salt(random: &dyn SecureRandom) -> Result<Vec<u8>, CredentialError> {
    let mut salt = vec![0; SALT_LEN];
    random.fill(&mut salt).map_err(|_| CredentialError::Random)?;
    Ok(salt)
}

/// AlterUserScramCredentials v0 for `alterations`: deletions as they are, upsertions salted
/// with a random salt each and hashed here.
pub fn alter_request(alterations: &[ScramAlteration], random: &dyn SecureRandom) -> Result<Vec<u8>, CredentialError> {
    let mut deletions = Vec::new();
    let mut upsertions = Vec::new();
    for alteration in alterations {
        match alteration {
            ScramAlteration::Delete { user, mechanism } => deletions.push((user.as_str(), *mechanism)),
            ScramAlteration::Upsert { user, mechanism, iterations, password } => {
                let rounds = u32::try_from(*iterations)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .ok_or(CredentialError::Iterations(*iterations))?;
                upsertions.push(Upsertion::new(user, *mechanism, rounds, password, random_salt(random)?));
            }
        }
    }
    Ok(encode_alter(&deletions, &upsertions))
}

/// The request body: Deletions (name, mechanism), then Upsertions (name, mechanism,
/// iterations, salt, salted password), each with its tagged fields.
pub fn encode_alter(deletions: &[(&str, ScramMechanism)], upsertions: &[Upsertion]) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(deletions, |e, (user, mechanism)| {
        e.compact_string(user).i8(mechanism_type(*mechanism)).no_tagged_fields();
    });
    encoder.compact_array(upsertions, |e, upsertion| {
        // NonZeroU32 from a positive i32: never above i32::MAX.
        let iterations = i32::try_from(upsertion.iterations.get()).unwrap_or(i32::MAX);
        e.compact_string(&upsertion.user).i8(mechanism_type(upsertion.mechanism)).i32(iterations);
        e.compact_bytes(&upsertion.salt).compact_bytes(&upsertion.salted_password).no_tagged_fields();
    });
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answers to [`alter_request`]: one per user, naming the user.
pub fn alter_response(body: &[u8]) -> Result<Vec<ScramAlterationOutcome>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let outcomes = decoder.compact_array(|d| {
        let user = d.compact_string()?;
        let result = answer_error(d.i16()?, d.compact_nullable_string()?);
        d.skip_tagged_fields()?;
        Ok(ScramAlterationOutcome { user, result })
    })?;
    decoder.skip_tagged_fields()?;
    Ok(outcomes)
}

/// DescribeUserScramCredentials v0 of the users named. Never empty in practice: an empty (or
/// null) list asks Kafka for every user.
pub fn describe_request(users: &[&str]) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(users, |e, user| {
        e.compact_string(user).no_tagged_fields();
    });
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`describe_request`]: per user its credentials (none for Kafka's
/// `RESOURCE_NOT_FOUND`), or Kafka's error for the whole request (not authorized, say).
pub fn describe_response(body: &[u8]) -> Result<Result<Vec<UserScramCredentials>, OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let error = answer_error(decoder.i16()?, decoder.compact_nullable_string()?);
    let described = decoder.compact_array(|d| {
        let user = d.compact_string()?;
        let error = answer_error(d.i16()?, d.compact_nullable_string()?);
        let infos = d.compact_array(|d| {
            let info = (mechanism_of(d.i8()?), d.i32()?);
            d.skip_tagged_fields()?;
            Ok(info)
        })?;
        d.skip_tagged_fields()?;
        Ok(UserScramCredentials::from_answer(user, error, infos))
    })?;
    decoder.skip_tagged_fields()?;
    Ok(error.map(|()| described))
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;

    use super::*;
    use crate::ErrorCode;
    use crate::scram_credential::ScramCredentialInfo;

    fn rounds(iterations: u32) -> NonZeroU32 {
        NonZeroU32::new(iterations).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// RFC 7914 §11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1; SCRAM takes the
    /// first block (one hash length) of its 64 bytes.
    #[test]
    fn the_salted_password_is_pbkdf2_of_rfc_7914() {
        let salted = salted_password(ScramMechanism::Sha256, "passwd", b"salt", rounds(1));
        assert_eq!(hex(&salted), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    }

    /// Kafka's minimum iterations, both mechanisms, as Python's
    /// `hashlib.pbkdf2_hmac(name, b"pencil", b"salt-of-the-earth", 4096)` and Kafka's own
    /// `ScramFormatter.hi` compute them.
    #[test]
    fn the_salted_password_matches_python_and_kafka_at_4096_iterations() {
        let salted = salted_password(ScramMechanism::Sha256, "pencil", b"salt-of-the-earth", rounds(4096));
        assert_eq!(hex(&salted), "eeb5fdad1eef364b075caf09e073ad27fd132de47001abdee6d486cc208b3551");
        let salted = salted_password(ScramMechanism::Sha512, "pencil", b"salt-of-the-earth", rounds(4096));
        assert_eq!(
            hex(&salted),
            "00560889040d8e7f0e12975e05c66ca9478de129e73ed399b8edffbb812ffcb6\
             cffd76dae178c55c09531c3d5f53acd660e6345315f5babd00af4ffd168311ba"
        );
    }

    #[test]
    fn alter_carries_deletions_then_upsertions_as_the_schema_orders_them() {
        let upsertion = Upsertion::new("bob", ScramMechanism::Sha256, rounds(4096), "pencil", b"salty".to_vec());
        let body = encode_alter(&[("alice", ScramMechanism::Sha512)], std::slice::from_ref(&upsertion));
        let mut expected = vec![2, 6, b'a', b'l', b'i', b'c', b'e', 2, 0];
        expected.extend([2, 4, b'b', b'o', b'b', 1, 0, 0, 0x10, 0, 6, b's', b'a', b'l', b't', b'y', 33]);
        expected.extend(&upsertion.salted_password);
        expected.extend([0, 0]);
        assert_eq!(body, expected);
        let debug = format!("{upsertion:?}");
        assert!(debug.contains("<hidden>") && !debug.contains("salted_password: ["), "{debug}");
    }

    /// What the caller hands over becomes a deletion or an upsertion with a fresh random salt
    /// and the salted password of exactly that salt.
    #[test]
    fn alter_salts_each_upsertion_afresh_and_hashes_with_that_salt() {
        let upsert = |mechanism| ScramAlteration::Upsert {
            user: "carol".into(),
            mechanism,
            iterations: 4096,
            password: "pencil".into(),
        };
        let alterations = [
            upsert(ScramMechanism::Sha512),
            ScramAlteration::Delete { user: "dave".into(), mechanism: ScramMechanism::Sha256 },
            upsert(ScramMechanism::Sha512),
        ];
        let body = alter_request(&alterations, &SystemRandom::new()).unwrap();
        let mut d = Decoder::new(&body);
        let deletions = d
            .compact_array(|d| {
                let deletion = (d.compact_string()?, d.i8()?);
                d.skip_tagged_fields()?;
                Ok(deletion)
            })
            .unwrap();
        assert_eq!(deletions, [("dave".to_owned(), SCRAM_SHA_256)]);
        let upsertions = d
            .compact_array(|d| {
                let upsertion = (d.compact_string()?, d.i8()?, d.i32()?, d.compact_bytes()?, d.compact_bytes()?);
                d.skip_tagged_fields()?;
                Ok(upsertion)
            })
            .unwrap();
        assert_eq!(d.skip_tagged_fields(), Ok(()));
        assert_eq!(d.remaining(), 0);
        assert_eq!(upsertions.len(), 2);
        for (user, mechanism, iterations, salt, salted) in &upsertions {
            assert_eq!((user.as_str(), *mechanism, *iterations, salt.len()), ("carol", SCRAM_SHA_512, 4096, SALT_LEN));
            assert_eq!(salted, &salted_password(ScramMechanism::Sha512, "pencil", salt, rounds(4096)));
        }
        assert_ne!(upsertions[0].3, upsertions[1].3, "each upsertion has its own salt");
        assert!(!body.windows(6).any(|window| window == b"pencil"), "the password itself is never sent");
    }

    #[test]
    fn alter_refuses_iterations_that_are_not_positive() {
        let alteration = ScramAlteration::Upsert {
            user: "erin".into(),
            mechanism: ScramMechanism::Sha256,
            iterations: -1,
            password: "pencil".into(),
        };
        assert_eq!(alter_request(&[alteration], &SystemRandom::new()), Err(CredentialError::Iterations(-1)));
    }

    #[test]
    fn alter_reads_one_answer_per_user() {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[("alice", 0i16, None), ("bob", 93, Some("Too few iterations"))], |e, (user, code, text)| {
            e.compact_string(user).i16(*code).compact_nullable_string(*text).no_tagged_fields();
        });
        e.no_tagged_fields();
        let outcomes = alter_response(&e.into_bytes()).unwrap();
        assert_eq!(outcomes[0], ScramAlterationOutcome { user: "alice".into(), result: Ok(()) });
        assert_eq!(outcomes[1].user, "bob");
        let error = outcomes[1].result.as_ref().unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (ErrorCode::UNACCEPTABLE_CREDENTIAL, "Too few iterations"));
    }

    #[test]
    fn describe_names_each_user() {
        assert_eq!(describe_request(&["ab", "c"]), vec![3, 3, b'a', b'b', 0, 2, b'c', 0, 0]);
    }

    /// A user's name, error code and (mechanism, iterations) pairs in an answer.
    type Described<'a> = (&'a str, i16, &'a [(i8, i32)]);

    /// A DescribeUserScramCredentials answer: top-level error, then per user its error and
    /// credentials.
    fn described(code: i16, users: &[Described<'_>]) -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0).i16(code).compact_nullable_string(None);
        e.compact_array(users, |e, (user, code, infos)| {
            e.compact_string(user).i16(*code).compact_nullable_string(None);
            e.compact_array(infos, |e, (mechanism, iterations)| {
                e.i8(*mechanism).i32(*iterations).no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn describe_reads_credentials_and_a_user_without_any_has_none() {
        // 91 RESOURCE_NOT_FOUND: no credentials; 3 is a mechanism this crate does not know.
        let body =
            described(0, &[("alice", 0, &[(SCRAM_SHA_512, 8192), (3, 4096), (SCRAM_SHA_256, 4096)]), ("bob", 91, &[])]);
        let users = describe_response(&body).unwrap().unwrap();
        let alice = [
            ScramCredentialInfo { mechanism: ScramMechanism::Sha256, iterations: 4096 },
            ScramCredentialInfo { mechanism: ScramMechanism::Sha512, iterations: 8192 },
        ];
        assert_eq!(users[0], UserScramCredentials { user: "alice".into(), result: Ok(alice.to_vec()) });
        assert_eq!(users[1], UserScramCredentials { user: "bob".into(), result: Ok(Vec::new()) });
    }

    #[test]
    fn describe_reads_a_users_error_and_the_requests_error() {
        // 31 CLUSTER_AUTHORIZATION_FAILED for the request; 92 DUPLICATE_RESOURCE for a user.
        let refused = describe_response(&described(31, &[])).unwrap().unwrap_err();
        assert_eq!(refused.code, ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
        assert_eq!(refused.message, "cluster authorization failed");
        let users = describe_response(&described(0, &[("alice", 92, &[])])).unwrap().unwrap();
        assert_eq!(users[0].result.as_ref().map_err(|error| error.code), Err(ErrorCode::DUPLICATE_RESOURCE));
    }
}
