//! Splits a call into requests of at most [`MAX_TOPICS_PER_REQUEST`] topics and puts the
//! answers back in the caller's order. Requests are sent one after the other: a 10,000-topic
//! resync then holds one request's worth of native objects and response at a time, and the
//! controller never has more than one request of a call in flight against a cluster.

use std::collections::{BTreeSet, HashMap};

use crate::changes::TopicOutcome;
use crate::checks;
use crate::error_code::ErrorCode;
use crate::operation_error::OperationError;

/// Large enough that 10,000 topics take 20 requests, small enough that one response (a
/// DescribeConfigs answer carries every config of every topic, ~40 entries each) stays a few MB.
pub const MAX_TOPICS_PER_REQUEST: usize = 500;

/// The answers of one write call, in input order, filled in request by request.
#[derive(Debug)]
pub(crate) struct TopicBatch<'a> {
    names: Vec<&'a str>,
    answers: Vec<Option<Result<(), OperationError>>>,
    to_send: Vec<usize>,
}

impl<'a> TopicBatch<'a> {
    /// Answers locally the items `check` rejects and every repeat of a topic name; the rest
    /// are to be sent.
    pub(crate) fn new<T>(
        items: &'a [T],
        name: impl Fn(&'a T) -> &'a str,
        check: impl Fn(&T) -> Result<(), OperationError>,
    ) -> Self {
        let mut seen = BTreeSet::new();
        let mut batch = Self { names: Vec::with_capacity(items.len()), answers: Vec::new(), to_send: Vec::new() };
        for (index, item) in items.iter().enumerate() {
            let topic = name(item);
            let local_answer = match check(item) {
                Err(error) => Some(Err(error)),
                Ok(()) if !seen.insert(topic) => Some(Err(checks::duplicate(topic))),
                Ok(()) => None,
            };
            if local_answer.is_none() {
                batch.to_send.push(index);
            }
            batch.names.push(topic);
            batch.answers.push(local_answer);
        }
        batch
    }

    /// Indices of the items to send, one slice per request. Taken once; the batch keeps
    /// collecting answers while the caller walks the requests.
    pub(crate) fn take_requests(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.to_send)
    }

    /// Records Kafka's answers for the request made of `sent`. A topic Kafka did not answer
    /// for (it should always answer) gets an error rather than a silent success.
    pub(crate) fn record(&mut self, sent: &[usize], answers: Vec<TopicOutcome>) {
        let mut by_topic: HashMap<String, Result<(), OperationError>> =
            answers.into_iter().map(|answer| (answer.topic, answer.result)).collect();
        for &index in sent {
            let answer = by_topic.remove(self.names[index]).unwrap_or_else(|| Err(missing_answer()));
            self.answers[index] = Some(answer);
        }
    }

    pub(crate) fn finish(self) -> Vec<TopicOutcome> {
        self.names
            .into_iter()
            .zip(self.answers)
            .map(|(topic, answer)| TopicOutcome {
                topic: topic.to_owned(),
                result: answer.unwrap_or_else(|| Err(missing_answer())),
            })
            .collect()
    }
}

pub(crate) fn missing_answer() -> OperationError {
    OperationError::new(ErrorCode::FAIL, "kafka's response had no answer for this topic")
}

/// Topic names in first-seen order without repeats: a read needs each topic once.
pub(crate) fn unique_names(names: &[String]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    names.iter().map(String::as_str).filter(|name| seen.insert(*name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(topic: &str) -> TopicOutcome {
        TopicOutcome { topic: topic.into(), result: Ok(()) }
    }

    #[test]
    fn sends_in_requests_of_at_most_500_and_answers_in_input_order() {
        let names: Vec<String> = (0..1_201).map(|i| format!("topic-{i}")).collect();
        let mut batch = TopicBatch::new(&names, String::as_str, |_| Ok(()));
        let to_send = batch.take_requests();
        let sizes: Vec<usize> = to_send.chunks(MAX_TOPICS_PER_REQUEST).map(<[usize]>::len).collect();
        assert_eq!(sizes, [500, 500, 201]);
        // Kafka answers in any order; the batch puts answers back where their topic was.
        for request in to_send.chunks(MAX_TOPICS_PER_REQUEST).rev() {
            let answers = request.iter().rev().map(|&i| ok(&names[i])).collect();
            batch.record(request, answers);
        }
        let outcomes = batch.finish();
        assert_eq!(outcomes.len(), 1_201);
        assert!(outcomes.iter().zip(&names).all(|(outcome, name)| &outcome.topic == name && outcome.result.is_ok()));
    }

    #[test]
    fn rejected_and_repeated_items_are_answered_without_being_sent() {
        let names: Vec<String> = ["a", "", "b", "a"].map(String::from).into();
        let mut batch = TopicBatch::new(&names, String::as_str, |name| checks::check_name(name));
        let to_send = batch.take_requests();
        assert_eq!(to_send, [0, 2]);
        batch.record(&to_send, vec![ok("b")]);
        let codes: Vec<Option<ErrorCode>> =
            batch.finish().into_iter().map(|outcome| outcome.result.err().map(|e| e.code)).collect();
        assert_eq!(
            codes,
            [
                Some(ErrorCode::FAIL), // Kafka did not answer for "a"
                Some(ErrorCode::INVALID_TOPIC_EXCEPTION),
                None,
                Some(ErrorCode::INVALID_REQUEST),
            ]
        );
    }

    #[test]
    fn empty_input_makes_no_request() {
        let names: Vec<String> = Vec::new();
        let mut batch = TopicBatch::new(&names, String::as_str, |_| Ok(()));
        assert!(batch.take_requests().is_empty());
        assert!(batch.finish().is_empty());
    }

    #[test]
    fn reads_ask_for_each_topic_once() {
        let names: Vec<String> = ["b", "a", "b"].map(String::from).into();
        assert_eq!(unique_names(&names), ["b", "a"]);
    }
}
