//! Users' client quotas, over Kafka's protocol directly (librdkafka has no such calls): one
//! request on a fresh connection to the first bootstrap server that answers.

use super::WireAdmin;
use super::direct::Api;
use crate::client_quota::{UserQuotaChange, UserQuotaOutcome, UserQuotas};
use crate::metrics::Operation;
use crate::request_error::RequestError;
use crate::wire::client_quotas::{
    ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS, alter_request, alter_response, describe_request, describe_response,
};

impl WireAdmin {
    /// AlterClientQuotas: one entry per change, one answer per change in input order. Empty
    /// input sends nothing.
    pub async fn alter_user_quotas(&self, changes: &[UserQuotaChange]) -> Result<Vec<UserQuotaOutcome>, RequestError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let operation = Operation::AlterClientQuotas;
        let body = alter_request(changes, false);
        let response = self.exchange(operation, Api::classic(ALTER_CLIENT_QUOTAS), &body).await?;
        let answers = alter_response(&response).map_err(|error| self.wire_failed(operation, &error))?;
        Ok(changes
            .iter()
            .map(|change| UserQuotaOutcome {
                user: change.user.clone(),
                result: answers
                    .iter()
                    .find(|answer| answer.user == change.user)
                    .map_or_else(|| Err(crate::batch::missing_answer()), |answer| answer.result.clone()),
            })
            .collect())
    }

    /// DescribeClientQuotas: every named user's own quotas.
    pub async fn describe_user_quotas(&self) -> Result<UserQuotas, RequestError> {
        let operation = Operation::DescribeClientQuotas;
        let response = self.exchange(operation, Api::classic(DESCRIBE_CLIENT_QUOTAS), &describe_request()).await?;
        match describe_response(&response).map_err(|error| self.wire_failed(operation, &error))? {
            Ok(quotas) => Ok(quotas),
            Err(error) => Err(self.refused(operation, error)),
        }
    }
}
