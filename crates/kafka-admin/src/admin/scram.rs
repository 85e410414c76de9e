//! What both clients' SCRAM credential requests share: the local checks, requests of at most
//! [`MAX_SCRAM_USERS_PER_REQUEST`] one after the other, and answers per user in input order.

use crate::batch::missing_answer;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;
use crate::scram_credential::{
    MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, ScramAlteration, ScramAlterationOutcome, UserScramCredentials,
};

/// Alterations (users) per request: one request per 500 users stays far under Kafka's request
/// size limit and answers within the request timeout.
pub const MAX_SCRAM_USERS_PER_REQUEST: usize = 500;

/// AlterUserScramCredentials over any transport: answers here what [`check`] refuses, hands
/// the rest to `send` in requests of at most [`MAX_SCRAM_USERS_PER_REQUEST`] one after the
/// other, and answers per alteration in input order. Kafka answers per user, naming the user;
/// each user's answer goes to every alteration of that user in the request, and an alteration
/// whose user Kafka did not name gets an error rather than a silent success.
pub(super) async fn alter_in_requests<'a, F, Answer>(
    alterations: &'a [ScramAlteration],
    mut send: F,
) -> Result<Vec<ScramAlterationOutcome>, RequestError>
where
    F: FnMut(Vec<&'a ScramAlteration>) -> Answer,
    Answer: Future<Output = Result<Vec<ScramAlterationOutcome>, RequestError>>,
{
    let mut answers: Vec<Option<Result<(), OperationError>>> =
        alterations.iter().map(|alteration| check(alteration).err().map(Err)).collect();
    let to_send: Vec<usize> = (0..alterations.len()).filter(|&index| answers[index].is_none()).collect();
    for request in to_send.chunks(MAX_SCRAM_USERS_PER_REQUEST) {
        let outcomes = send(request.iter().map(|&index| &alterations[index]).collect()).await?;
        for &index in request {
            let user = alterations[index].user();
            let answer = outcomes.iter().find(|outcome| outcome.user == user).map(|outcome| outcome.result.clone());
            answers[index] = Some(answer.unwrap_or_else(|| Err(missing_answer())));
        }
    }
    Ok(alterations
        .iter()
        .zip(answers)
        .map(|(alteration, answer)| ScramAlterationOutcome {
            user: alteration.user().to_owned(),
            result: answer.unwrap_or_else(|| Err(missing_answer())),
        })
        .collect())
}

/// DescribeUserScramCredentials over any transport: `users` handed to `send` in requests of at
/// most [`MAX_SCRAM_USERS_PER_REQUEST`] one after the other (none for no users: an empty list
/// would ask Kafka for every user), answered per user in input order; a user Kafka did not
/// name gets an error.
pub(super) async fn describe_in_requests<'a, F, Answer>(
    users: &'a [String],
    mut send: F,
) -> Result<Vec<UserScramCredentials>, RequestError>
where
    F: FnMut(Vec<&'a str>) -> Answer,
    Answer: Future<Output = Result<Vec<UserScramCredentials>, RequestError>>,
{
    let mut described = Vec::with_capacity(users.len());
    for request in users.chunks(MAX_SCRAM_USERS_PER_REQUEST) {
        let answers = send(request.iter().map(String::as_str).collect()).await?;
        for user in request {
            let answer = answers.iter().find(|answer| &answer.user == user).cloned();
            described.push(
                answer.unwrap_or_else(|| UserScramCredentials { user: user.clone(), result: Err(missing_answer()) }),
            );
        }
    }
    Ok(described)
}

fn check(alteration: &ScramAlteration) -> Result<(), OperationError> {
    let invalid = |message: &str| Err(OperationError::new(crate::ErrorCode::INVALID_REQUEST, message));
    if alteration.user().is_empty() {
        return invalid("a SCRAM user name must not be empty");
    }
    if let ScramAlteration::Upsert { iterations, password, .. } = alteration {
        if *iterations < MIN_SCRAM_ITERATIONS {
            return invalid(&format!("SCRAM iterations must be at least {MIN_SCRAM_ITERATIONS}, not {iterations}"));
        }
        if *iterations > MAX_SCRAM_ITERATIONS {
            return invalid(&format!("SCRAM iterations must be at most {MAX_SCRAM_ITERATIONS}, not {iterations}"));
        }
        if password.is_empty() {
            return invalid("a SCRAM password must not be empty");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::scram_credential::ScramMechanism;

    #[test]
    fn malformed_alterations_are_answered_without_sending() {
        let upsert = |user: &str, iterations, password: &str| ScramAlteration::Upsert {
            user: user.into(),
            mechanism: ScramMechanism::Sha512,
            iterations,
            password: password.into(),
        };
        assert!(check(&upsert("alice", 4096, "secret")).is_ok());
        assert!(check(&upsert("", 4096, "secret")).is_err_and(|e| e.message.contains("user name")));
        assert!(check(&upsert("alice", 10, "secret")).is_err_and(|e| e.message.contains("at least 4096")));
        assert!(check(&upsert("alice", 16384, "secret")).is_ok());
        assert!(check(&upsert("alice", 16385, "secret")).is_err_and(|e| e.message.contains("at most 16384")));
        assert!(check(&upsert("alice", 4096, "")).is_err_and(|e| e.message.contains("password")));
        let debug = format!("{:?}", upsert("alice", 4096, "secret"));
        assert!(!debug.contains("secret") && debug.contains("<hidden>"), "{debug}");
    }

    fn upsert(user: &str) -> ScramAlteration {
        ScramAlteration::Upsert {
            user: user.into(),
            mechanism: ScramMechanism::Sha512,
            iterations: MIN_SCRAM_ITERATIONS,
            password: "secret".into(),
        }
    }

    #[tokio::test]
    async fn alterations_go_in_requests_of_500_and_answers_come_back_in_input_order() {
        let mut alterations: Vec<ScramAlteration> = (0..1_001).map(|i| upsert(&format!("user-{i}"))).collect();
        alterations.insert(1, upsert(""));
        alterations.push(ScramAlteration::Delete { user: "user-7".into(), mechanism: ScramMechanism::Sha256 });
        let mut sizes = Vec::new();
        let outcomes = alter_in_requests(&alterations, |sent| {
            sizes.push(sent.len());
            // Kafka answers per user, in any order, and here forgets user-3.
            let answers = sent
                .iter()
                .rev()
                .filter(|alteration| alteration.user() != "user-3")
                .map(|alteration| ScramAlterationOutcome { user: alteration.user().to_owned(), result: Ok(()) })
                .collect();
            async move { Ok(answers) }
        })
        .await
        .unwrap();
        assert_eq!(sizes, [500, 500, 2]);
        assert_eq!(outcomes.len(), 1_003);
        assert!(outcomes.iter().zip(&alterations).all(|(outcome, alteration)| outcome.user == alteration.user()));
        let failed: Vec<(&str, ErrorCode)> = outcomes
            .iter()
            .filter_map(|outcome| outcome.result.as_ref().err().map(|error| (outcome.user.as_str(), error.code)))
            .collect();
        assert_eq!(failed, [("", ErrorCode::INVALID_REQUEST), ("user-3", ErrorCode::FAIL)]);
    }

    #[tokio::test]
    async fn descriptions_go_in_requests_of_500_and_none_for_no_users() {
        let users: Vec<String> = (0..501).map(|i| format!("user-{i}")).collect();
        let mut sizes = Vec::new();
        let described = describe_in_requests(&users, |names| {
            sizes.push(names.len());
            let answers = names
                .iter()
                .filter(|name| **name != "user-500")
                .map(|name| UserScramCredentials { user: (*name).to_owned(), result: Ok(Vec::new()) })
                .collect();
            async move { Ok(answers) }
        })
        .await
        .unwrap();
        assert_eq!(sizes, [500, 1]);
        assert!(described.iter().zip(&users).all(|(answer, user)| &answer.user == user));
        assert!(described[500].result.is_err() && described[499].result.is_ok());
        let none = describe_in_requests(&[], |_| async { unreachable!("no request for no users") }).await.unwrap();
        assert!(none.is_empty());
    }
}
