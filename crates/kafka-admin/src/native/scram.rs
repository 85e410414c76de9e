//! AlterUserScramCredentials and DescribeUserScramCredentials. librdkafka salts and hashes the
//! password on the client (so the password itself never travels to Kafka); Kafka answers per
//! user, naming the user.

use std::ffi::CString;
use std::sync::Arc;

use rdkafka::bindings as rd;

use super::acls::error_answer;
use super::request::{AdminCall, Event, Pending, RequestFailure, submit};
use super::{OwnedList, c_string, owned_string, result_slice};
use crate::error_code::ErrorCode;
use crate::librdkafka_client::KafkaClient;
use crate::scram_credential::{
    ScramAlteration, ScramAlterationOutcome, ScramCredentialInfo, ScramMechanism, UserScramCredentials,
};

use rd::rd_kafka_ScramMechanism_t as Mechanism;

pub(crate) fn alter_user_scram_credentials(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    alterations: &[&ScramAlteration],
) -> Result<Pending<Vec<ScramAlterationOutcome>>, RequestFailure> {
    let mut natives = OwnedList::new(rd::rd_kafka_UserScramCredentialAlteration_destroy, alterations.len());
    for alteration in alterations {
        let user = c_string(alteration.user())?;
        let native = match alteration {
            ScramAlteration::Upsert { mechanism, iterations, password, .. } => {
                // SAFETY: the user name is NUL-terminated and the password `len` bytes long;
                // librdkafka copies both. A NULL salt asks librdkafka for a random one.
                unsafe {
                    rd::rd_kafka_UserScramCredentialUpsertion_new(
                        user.as_ptr(),
                        native_mechanism(*mechanism),
                        *iterations,
                        password.as_ptr(),
                        password.len(),
                        std::ptr::null(),
                        0,
                    )
                }
            }
            ScramAlteration::Delete { mechanism, .. } => {
                // SAFETY: as above.
                unsafe { rd::rd_kafka_UserScramCredentialDeletion_new(user.as_ptr(), native_mechanism(*mechanism)) }
            }
        };
        natives.adopt(native).ok_or_else(|| {
            RequestFailure::invalid_argument(format!("scram credential alteration for {}", alteration.user()))
        })?;
    }
    submit(client, call, read_alter, |rk, options, queue| {
        // SAFETY: every pointer is live for the call; librdkafka copies the alterations and
        // options before returning; the answer arrives on `queue`.
        unsafe { rd::rd_kafka_AlterUserScramCredentials(rk, natives.as_mut_ptr(), natives.len(), options, queue) }
    })
}

pub(crate) fn describe_user_scram_credentials(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    users: &[&str],
) -> Result<Pending<Vec<UserScramCredentials>>, RequestFailure> {
    let names: Vec<CString> = users.iter().map(|user| c_string(user)).collect::<Result<_, _>>()?;
    let mut pointers: Vec<*const std::ffi::c_char> = names.iter().map(|name| name.as_ptr()).collect();
    submit(client, call, read_describe, |rk, options, queue| {
        // SAFETY: `pointers` holds `len` NUL-terminated names that `names` keeps alive for the
        // call; librdkafka copies them.
        unsafe { rd::rd_kafka_DescribeUserScramCredentials(rk, pointers.as_mut_ptr(), pointers.len(), options, queue) }
    })
}

fn read_alter(event: &Event) -> Result<Vec<ScramAlterationOutcome>, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not this result.
    let result = unsafe { rd::rd_kafka_event_AlterUserScramCredentials_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("AlterUserScramCredentials result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let responses = unsafe { rd::rd_kafka_AlterUserScramCredentials_result_responses(result, &mut count) };
    // SAFETY: `responses` holds `count` responses living as long as the event.
    let responses = unsafe { result_slice(responses.cast_const(), count) };
    Ok(responses
        .iter()
        .map(|&response| {
            // SAFETY: each response, its user name and its error live as long as the event.
            unsafe {
                ScramAlterationOutcome {
                    user: owned_string(rd::rd_kafka_AlterUserScramCredentials_result_response_user(response))
                        .unwrap_or_default(),
                    result: error_answer(rd::rd_kafka_AlterUserScramCredentials_result_response_error(response)),
                }
            }
        })
        .collect())
}

fn read_describe(event: &Event) -> Result<Vec<UserScramCredentials>, RequestFailure> {
    // SAFETY: the event is live; NULL if it is not this result.
    let result = unsafe { rd::rd_kafka_event_DescribeUserScramCredentials_result(event.as_ptr()) };
    if result.is_null() {
        return Err(event.wrong_type("DescribeUserScramCredentials result"));
    }
    let mut count = 0;
    // SAFETY: `result` lives as long as the event; librdkafka sets `count`.
    let descriptions = unsafe { rd::rd_kafka_DescribeUserScramCredentials_result_descriptions(result, &mut count) };
    // SAFETY: `descriptions` holds `count` descriptions living as long as the event.
    let descriptions = unsafe { result_slice(descriptions.cast_const(), count) };
    Ok(descriptions
        .iter()
        .map(|&description| {
            // SAFETY: each description, its user, error and credential infos live as long as
            // the event.
            unsafe {
                let user =
                    owned_string(rd::rd_kafka_UserScramCredentialsDescription_user(description)).unwrap_or_default();
                let result = match error_answer(rd::rd_kafka_UserScramCredentialsDescription_error(description)) {
                    Err(error) if error.code == ErrorCode::RESOURCE_NOT_FOUND => Ok(Vec::new()),
                    Err(error) => Err(error),
                    Ok(()) => {
                        let infos = rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count(description);
                        let mut read: Vec<ScramCredentialInfo> = (0..infos)
                            .filter_map(|index| {
                                let info = rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo(
                                    description,
                                    index,
                                );
                                let mechanism = rust_mechanism(rd::rd_kafka_ScramCredentialInfo_mechanism(info))?;
                                let iterations = rd::rd_kafka_ScramCredentialInfo_iterations(info);
                                Some(ScramCredentialInfo { mechanism, iterations })
                            })
                            .collect();
                        read.sort();
                        Ok(read)
                    }
                };
                UserScramCredentials { user, result }
            }
        })
        .collect())
}

fn native_mechanism(mechanism: ScramMechanism) -> Mechanism {
    match mechanism {
        ScramMechanism::Sha256 => Mechanism::RD_KAFKA_SCRAM_MECHANISM_SHA_256,
        ScramMechanism::Sha512 => Mechanism::RD_KAFKA_SCRAM_MECHANISM_SHA_512,
    }
}

/// None for a mechanism newer than this crate knows: callers manage the ones they can name.
fn rust_mechanism(mechanism: Mechanism) -> Option<ScramMechanism> {
    match mechanism {
        Mechanism::RD_KAFKA_SCRAM_MECHANISM_SHA_256 => Some(ScramMechanism::Sha256),
        Mechanism::RD_KAFKA_SCRAM_MECHANISM_SHA_512 => Some(ScramMechanism::Sha512),
        _ => None,
    }
}
