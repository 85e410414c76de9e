//! SCRAM credentials Kafka keeps for its users (KIP-554): what to set or delete, and what a
//! user has. Passwords never appear in `Debug` output or errors.

use std::fmt;

use crate::operation_error::OperationError;

/// The SCRAM mechanisms Kafka knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    /// The name in `sasl.mechanism` and `sasl.enabled.mechanisms`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }
}

/// Kafka's minimum (and Kafka's tools' default) number of SCRAM iterations is 4,096.
pub const MIN_SCRAM_ITERATIONS: i32 = 4096;

/// Kafka's maximum: it refuses more (`UNACCEPTABLE_CREDENTIAL`), and the client would first
/// spend that many rounds of HMAC salting the password.
pub(crate) const MAX_SCRAM_ITERATIONS: i32 = 16384;

/// One change to a user's credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum ScramAlteration {
    /// Sets the user's credential for `mechanism` from `password` (a fresh random salt each
    /// time, so the stored credential changes even when the password does not).
    Upsert { user: String, mechanism: ScramMechanism, iterations: i32, password: String },
    /// Removes the user's credential for `mechanism`.
    Delete { user: String, mechanism: ScramMechanism },
}

impl ScramAlteration {
    pub fn user(&self) -> &str {
        match self {
            Self::Upsert { user, .. } | Self::Delete { user, .. } => user,
        }
    }
}

impl fmt::Debug for ScramAlteration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Upsert { user, mechanism, iterations, .. } => f
                .debug_struct("Upsert")
                .field("user", user)
                .field("mechanism", mechanism)
                .field("iterations", iterations)
                .field("password", &"<hidden>")
                .finish(),
            Self::Delete { user, mechanism } => {
                f.debug_struct("Delete").field("user", user).field("mechanism", mechanism).finish()
            }
        }
    }
}

/// Kafka's answer for one user of an AlterUserScramCredentials request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramAlterationOutcome {
    pub user: String,
    pub result: Result<(), OperationError>,
}

/// One credential a user has (Kafka never returns the salted password).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScramCredentialInfo {
    pub mechanism: ScramMechanism,
    pub iterations: i32,
}

/// A user's credentials; a user without any is Kafka's `RESOURCE_NOT_FOUND` error, read here
/// as an empty list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserScramCredentials {
    pub user: String,
    pub result: Result<Vec<ScramCredentialInfo>, OperationError>,
}

impl UserScramCredentials {
    /// Kafka's answer for `user`: its error, else the credentials it lists (sorted; those of a
    /// mechanism this crate does not know, `None`, left out: callers manage the ones they can
    /// name). `RESOURCE_NOT_FOUND` is Kafka's way of saying the user has none.
    pub(crate) fn from_answer(
        user: String,
        error: Result<(), OperationError>,
        infos: impl IntoIterator<Item = (Option<ScramMechanism>, i32)>,
    ) -> Self {
        let result = match error {
            Err(error) if error.code == crate::ErrorCode::RESOURCE_NOT_FOUND => Ok(Vec::new()),
            Err(error) => Err(error),
            Ok(()) => {
                let mut known: Vec<ScramCredentialInfo> = infos
                    .into_iter()
                    .filter_map(|(mechanism, iterations)| {
                        Some(ScramCredentialInfo { mechanism: mechanism?, iterations })
                    })
                    .collect();
                known.sort();
                Ok(known)
            }
        };
        Self { user, result }
    }
}
