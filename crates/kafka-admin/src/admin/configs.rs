//! What both clients' `topic_overrides` share: the answer's type and the names to describe.

use std::collections::BTreeMap;

use crate::batch::unique_names;
use crate::checks;
use crate::operation_error::OperationError;

/// Per topic: its config overrides, or Kafka's error for it (`UNKNOWN_TOPIC_OR_PARTITION`).
pub type TopicOverrides = BTreeMap<String, Result<BTreeMap<String, String>, OperationError>>;

/// What both clients' `topic_overrides` start with: each topic once, a malformed name answered
/// here, the rest to describe.
pub(super) fn names_to_describe(topics: &[String]) -> (TopicOverrides, Vec<&str>) {
    let mut answers = TopicOverrides::new();
    let mut to_send = Vec::with_capacity(topics.len());
    for name in unique_names(topics) {
        match checks::check_name(name) {
            Ok(()) => to_send.push(name),
            Err(error) => drop(answers.insert(name.to_owned(), Err(error))),
        }
    }
    (answers, to_send)
}
