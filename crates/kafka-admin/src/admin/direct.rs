//! Requests librdkafka cannot make, sent over Kafka's protocol directly ([`crate::wire`]): one
//! request on a fresh connection to the first bootstrap server that answers, counted like every
//! other request.

use rdkafka::types::RDKafkaErrorCode;

use super::ClusterAdmin;
use crate::metrics::Operation;
use crate::request_error::RequestError;
use crate::wire::connection::{ExchangeError, Request, exchange};

/// Which API, in which version.
#[derive(Clone, Copy)]
pub(super) struct Api {
    pub key: i16,
    pub version: i16,
    pub flexible: bool,
}

impl Api {
    /// Version 0 of a non-flexible API.
    pub const fn classic(key: i16) -> Self {
        Self { key, version: 0, flexible: false }
    }

    pub const fn flexible(key: i16, version: i16) -> Self {
        Self { key, version, flexible: true }
    }
}

impl ClusterAdmin {
    /// Sends one request to the first bootstrap server that answers.
    pub(super) async fn exchange(&self, operation: Operation, api: Api, body: &[u8]) -> Result<Vec<u8>, RequestError> {
        let mut last = None;
        for address in &self.bootstrap_servers {
            self.count(operation, false);
            let request = Request { api_key: api.key, api_version: api.version, flexible: api.flexible, body };
            match exchange(address, &self.client_id, self.tls.as_ref(), request, self.request_timeout).await {
                Ok(response) => return Ok(response),
                // Another broker may answer (one shutting down closes connections); anything
                // else would fail there too.
                Err(
                    error @ (ExchangeError::Connect { .. }
                    | ExchangeError::TimedOut { .. }
                    | ExchangeError::Closed { .. }),
                ) => last = Some(error),
                Err(error) => return Err(self.wire_failed(operation, &error)),
            }
        }
        let error = last.map_or_else(|| "no bootstrap server".to_owned(), |error| error.to_string());
        Err(RequestError::new(operation, RDKafkaErrorCode::BrokerTransportFailure, &error, &self.bootstrap))
    }

    pub(super) fn wire_failed(&self, operation: Operation, error: &dyn std::fmt::Display) -> RequestError {
        RequestError::new(operation, RDKafkaErrorCode::Fail, &error.to_string(), &self.bootstrap)
    }

    /// Kafka's refusal of a request it understood, as a [`RequestError`].
    pub(super) fn refused(&self, operation: Operation, error: crate::OperationError) -> RequestError {
        RequestError::new(operation, error.code, &error.message, &self.bootstrap)
    }
}
