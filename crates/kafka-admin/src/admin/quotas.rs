//! Users' client quotas, over Kafka's protocol directly (librdkafka has no such calls): one
//! request on a fresh connection to the first bootstrap server that answers.

use rdkafka::types::RDKafkaErrorCode;

use super::ClusterAdmin;
use crate::client_quota::{UserQuotaChange, UserQuotaOutcome, UserQuotas};
use crate::metrics::Operation;
use crate::request_error::RequestError;
use crate::wire::client_quotas::{
    ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS, alter_request, alter_response, describe_request, describe_response,
};
use crate::wire::connection::{ExchangeError, Request, exchange};

impl ClusterAdmin {
    /// AlterClientQuotas: one entry per change, one answer per change in input order. Empty
    /// input sends nothing.
    pub async fn alter_user_quotas(&self, changes: &[UserQuotaChange]) -> Result<Vec<UserQuotaOutcome>, RequestError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let operation = Operation::AlterClientQuotas;
        let body = alter_request(changes, false);
        let response = self.exchange(operation, ALTER_CLIENT_QUOTAS, &body).await?;
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
        let response = self.exchange(operation, DESCRIBE_CLIENT_QUOTAS, &describe_request()).await?;
        match describe_response(&response).map_err(|error| self.wire_failed(operation, &error))? {
            Ok(quotas) => Ok(quotas),
            Err(error) => Err(RequestError::new(operation, error.code, &error.message, &self.bootstrap)),
        }
    }

    /// Sends one version-0 request to the first bootstrap server that answers, counting it.
    async fn exchange(&self, operation: Operation, api_key: i16, body: &[u8]) -> Result<Vec<u8>, RequestError> {
        let mut last = None;
        for address in &self.bootstrap_servers {
            self.count(operation, false);
            let request = Request { api_key, api_version: 0, body };
            match exchange(address, &self.client_id, self.tls.as_ref(), request, self.request_timeout).await {
                Ok(response) => return Ok(response),
                // Another broker may answer; anything else would fail there too.
                Err(error @ (ExchangeError::Connect { .. } | ExchangeError::TimedOut { .. })) => last = Some(error),
                Err(error) => return Err(self.wire_failed(operation, &error)),
            }
        }
        let error = last.map_or_else(|| "no bootstrap server".to_owned(), |error| error.to_string());
        Err(RequestError::new(operation, RDKafkaErrorCode::BrokerTransportFailure, &error, &self.bootstrap))
    }

    fn wire_failed(&self, operation: Operation, error: &dyn std::fmt::Display) -> RequestError {
        RequestError::new(operation, RDKafkaErrorCode::Fail, &error.to_string(), &self.bootstrap)
    }
}
