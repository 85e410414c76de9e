//! Setting, deleting and describing users' SCRAM credentials.

use super::ClusterAdmin;
use crate::batch::missing_answer;
use crate::metrics::Operation;
use crate::native;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;
use crate::scram_credential::{MIN_SCRAM_ITERATIONS, ScramAlteration, ScramAlterationOutcome, UserScramCredentials};

/// Alterations (users) per request: one request per 500 users stays far under Kafka's request
/// size limit and answers within the request timeout.
pub const MAX_SCRAM_USERS_PER_REQUEST: usize = 500;

impl ClusterAdmin {
    /// AlterUserScramCredentials: one answer per alteration, in input order. Kafka refuses two
    /// alterations of one user and mechanism in one request (`DUPLICATE_RESOURCE`); fewer than
    /// [`MIN_SCRAM_ITERATIONS`] iterations or an empty user or password is answered here
    /// without sending.
    pub async fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<ScramAlterationOutcome>, RequestError> {
        let operation = Operation::AlterUserScramCredentials;
        let mut answers: Vec<Option<Result<(), OperationError>>> =
            alterations.iter().map(|alteration| check(alteration).err().map(Err)).collect();
        let to_send: Vec<usize> = (0..alterations.len()).filter(|&index| answers[index].is_none()).collect();
        let call = self.call(operation, false);
        for request in to_send.chunks(MAX_SCRAM_USERS_PER_REQUEST) {
            let sent: Vec<&ScramAlteration> = request.iter().map(|&index| &alterations[index]).collect();
            let pending = native::alter_user_scram_credentials(&self.client, &call, &sent)
                .map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            let outcomes = pending.answer().await.map_err(|f| self.failed(operation, f))?;
            // Kafka answers per user, naming the user; each user's answer goes to every
            // alteration of that user in the request.
            for &index in request {
                let user = alterations[index].user();
                let answer =
                    outcomes.iter().position(|outcome| outcome.user == user).map(|at| outcomes[at].result.clone());
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

    /// DescribeUserScramCredentials: per user, in input order, the mechanisms and iterations
    /// Kafka keeps (empty for a user without credentials).
    pub async fn describe_user_scram_credentials(
        &self,
        users: &[String],
    ) -> Result<Vec<UserScramCredentials>, RequestError> {
        let operation = Operation::DescribeUserScramCredentials;
        let call = self.call(operation, false);
        let mut described = Vec::with_capacity(users.len());
        for request in users.chunks(MAX_SCRAM_USERS_PER_REQUEST) {
            let names: Vec<&str> = request.iter().map(String::as_str).collect();
            let pending = native::describe_user_scram_credentials(&self.client, &call, &names)
                .map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            let answers = pending.answer().await.map_err(|f| self.failed(operation, f))?;
            for user in request {
                let answer = answers.iter().find(|answer| &answer.user == user).cloned();
                described.push(
                    answer
                        .unwrap_or_else(|| UserScramCredentials { user: user.clone(), result: Err(missing_answer()) }),
                );
            }
        }
        Ok(described)
    }
}

fn check(alteration: &ScramAlteration) -> Result<(), OperationError> {
    let invalid = |message: &str| Err(OperationError::new(rdkafka::types::RDKafkaErrorCode::InvalidRequest, message));
    if alteration.user().is_empty() {
        return invalid("a SCRAM user name must not be empty");
    }
    if let ScramAlteration::Upsert { iterations, password, .. } = alteration {
        if *iterations < MIN_SCRAM_ITERATIONS {
            return invalid(&format!("SCRAM iterations must be at least {MIN_SCRAM_ITERATIONS}, not {iterations}"));
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
        assert!(check(&upsert("alice", 4096, "")).is_err_and(|e| e.message.contains("password")));
        let debug = format!("{:?}", upsert("alice", 4096, "secret"));
        assert!(!debug.contains("secret") && debug.contains("<hidden>"), "{debug}");
    }
}
