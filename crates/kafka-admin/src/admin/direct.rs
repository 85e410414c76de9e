//! [`WireAdmin`]: requests sent over Kafka's protocol directly ([`crate::wire`]), each on a
//! fresh connection, counted like every other request. No librdkafka: a deployable that uses
//! only this (the cluster controller) links none, and keeps no thread or buffer per broker.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::connection_settings::{ConnectionSettings, NoBootstrapServers, TlsSettings};
use crate::error_code::ErrorCode;
use crate::metrics::{Operation, RequestCounter, RequestLabels};
use crate::request_error::RequestError;
use crate::wire::connection::{ExchangeError, Request, exchange};
use crate::wire::metadata::{self, BrokerAddress, METADATA, METADATA_VERSION, MetadataAnswer};

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

/// Admin requests to one cluster over Kafka's protocol: each goes to the first bootstrap server
/// that answers, or to the one broker it concerns (found through Metadata). Holds no connection.
pub struct WireAdmin {
    bootstrap_servers: Vec<String>,
    /// `bootstrap_servers` joined, for error messages.
    pub(super) bootstrap: String,
    pub(super) request_timeout: Duration,
    client_id: String,
    tls: Option<TlsSettings>,
    requests: RequestCounter,
    /// The brokers' addresses and the controller from the last Metadata answer, so that a
    /// request for one broker (or the controller) does not ask for them again.
    brokers: Mutex<KnownBrokers>,
}

#[derive(Default)]
struct KnownBrokers {
    addresses: Vec<BrokerAddress>,
    controller_id: Option<i32>,
}

impl WireAdmin {
    /// Keeps the settings; no network I/O until the first request.
    pub fn connect(settings: &ConnectionSettings, requests: RequestCounter) -> Result<Self, NoBootstrapServers> {
        if settings.bootstrap_servers.is_empty() {
            return Err(NoBootstrapServers);
        }
        Ok(Self {
            bootstrap_servers: settings.bootstrap_servers.clone(),
            bootstrap: settings.bootstrap_servers.join(","),
            request_timeout: settings.request_timeout,
            client_id: settings.client_id.clone(),
            tls: settings.tls.clone(),
            requests,
            brokers: Mutex::default(),
        })
    }

    pub fn bootstrap_servers(&self) -> &[String] {
        &self.bootstrap_servers
    }

    /// Sends one request to the first bootstrap server that answers.
    pub(super) async fn exchange(&self, operation: Operation, api: Api, body: &[u8]) -> Result<Vec<u8>, RequestError> {
        self.exchange_any(operation, false, api, body).await
    }

    /// [`Self::exchange`] of a request that may be validate-only, counted as such.
    pub(super) async fn exchange_any(
        &self,
        operation: Operation,
        validate_only: bool,
        api: Api,
        body: &[u8],
    ) -> Result<Vec<u8>, RequestError> {
        let mut last = None;
        for address in &self.bootstrap_servers {
            match self.exchange_with(address, operation, validate_only, api, body, self.request_timeout).await {
                Ok(response) => return Ok(response),
                // Another broker may answer (one shutting down closes connections); anything
                // else would fail there too.
                Err(error) if error.is_unreachable() => last = Some(error),
                Err(error) => return Err(self.exchange_failed(operation, &error)),
            }
        }
        Err(match last {
            Some(error) => self.exchange_failed(operation, &error),
            None => {
                let message = "no bootstrap server";
                RequestError::new(operation, ErrorCode::BROKER_TRANSPORT_FAILURE, message, &self.bootstrap)
            }
        })
    }

    /// Sends one request to broker `broker` at the address it advertises, as Kafka's own admin
    /// client does for a broker's resources (a broker describes only its own configuration).
    pub(super) async fn exchange_with_broker(
        &self,
        broker: i32,
        operation: Operation,
        validate_only: bool,
        api: Api,
        body: &[u8],
    ) -> Result<Vec<u8>, RequestError> {
        let address = self.known_address(operation, |_| Some(broker)).await?.ok_or_else(|| {
            let message = format!("broker {broker} is not registered with the cluster");
            RequestError::new(operation, ErrorCode::BROKER_NOT_AVAILABLE, &message, &self.bootstrap)
        })?;
        let timeout = self.request_timeout;
        let answer = self.exchange_with(&address, operation, validate_only, api, body, timeout).await;
        answer.map_err(|error| self.exchange_failed(operation, &error))
    }

    /// Sends one write that Kafka applies on its controller (topics, partitions, SCRAM
    /// credentials) to the broker Metadata names as controller, as Kafka's own admin client
    /// does: in ZooKeeper mode only that broker takes them (others answer `NOT_CONTROLLER`), in
    /// KRaft mode it forwards them. Such requests carry the request timeout as the time the
    /// controller may take to apply them, so the answer is awaited twice as long.
    pub(super) async fn exchange_with_controller(
        &self,
        operation: Operation,
        validate_only: bool,
        api: Api,
        body: &[u8],
    ) -> Result<Vec<u8>, RequestError> {
        let address = self.known_address(operation, |known| known.controller_id).await?.ok_or_else(|| {
            let message = "the cluster names no controller";
            RequestError::new(operation, ErrorCode::NOT_CONTROLLER, message, &self.bootstrap)
        })?;
        let timeout = self.request_timeout * 2;
        let answer = self.exchange_with(&address, operation, validate_only, api, body, timeout).await;
        answer.map_err(|error| self.exchange_failed(operation, &error))
    }

    /// The request timeout as Kafka's `timeout_ms` field: how long the controller may take.
    pub(super) fn operation_timeout_ms(&self) -> i32 {
        i32::try_from(self.request_timeout.as_millis()).unwrap_or(i32::MAX)
    }

    /// A failed exchange as a [`RequestError`]: retriable when the broker was unreachable.
    fn exchange_failed(&self, operation: Operation, error: &ExchangeError) -> RequestError {
        let code = if error.is_unreachable() { ErrorCode::BROKER_TRANSPORT_FAILURE } else { ErrorCode::FAIL };
        RequestError::new(operation, code, &error.to_string(), &self.bootstrap)
    }

    async fn exchange_with(
        &self,
        address: &str,
        operation: Operation,
        validate_only: bool,
        api: Api,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, ExchangeError> {
        self.count(operation, validate_only);
        let request = Request { api_key: api.key, api_version: api.version, flexible: api.flexible, body };
        exchange(address, &self.client_id, self.tls.as_ref(), request, timeout).await
    }

    /// One Metadata request, every topic or none; remembers the brokers' addresses.
    pub(super) async fn metadata(&self, all_topics: bool) -> Result<MetadataAnswer, RequestError> {
        let operation = Operation::Metadata;
        let api = Api::flexible(METADATA, METADATA_VERSION);
        let response = self.exchange(operation, api, &metadata::request(all_topics)).await?;
        let answer = metadata::response(&response).map_err(|error| self.wire_failed(operation, &error))?;
        let known = KnownBrokers {
            addresses: answer.brokers.clone(),
            controller_id: (answer.controller_id >= 0).then_some(answer.controller_id),
        };
        *self.brokers.lock().unwrap_or_else(PoisonError::into_inner) = known;
        Ok(answer)
    }

    /// The address of the broker `pick` names from the last Metadata answer, asking for a new
    /// one when that names none (whose failure is still this call's: "failed to create
    /// topics: …"). `None` when Kafka's answer names none either.
    async fn known_address(
        &self,
        operation: Operation,
        pick: impl Fn(&KnownBrokers) -> Option<i32>,
    ) -> Result<Option<String>, RequestError> {
        let lookup = || {
            let known = self.brokers.lock().unwrap_or_else(PoisonError::into_inner);
            let id = pick(&known)?;
            known.addresses.iter().find(|broker| broker.id == id).map(BrokerAddress::address)
        };
        if let Some(address) = lookup() {
            return Ok(Some(address));
        }
        self.metadata(false).await.map_err(|error| RequestError { operation, ..error })?;
        Ok(lookup())
    }

    pub(super) fn count(&self, operation: Operation, validate_only: bool) {
        self.requests.get_or_create(&RequestLabels { operation, validate_only }).inc();
    }

    pub(super) fn wire_failed(&self, operation: Operation, error: &dyn std::fmt::Display) -> RequestError {
        RequestError::new(operation, ErrorCode::FAIL, &error.to_string(), &self.bootstrap)
    }

    /// Kafka's refusal of a request it understood, as a [`RequestError`].
    pub(super) fn refused(&self, operation: Operation, error: crate::OperationError) -> RequestError {
        RequestError::new(operation, error.code, &error.message, &self.bootstrap)
    }
}

impl std::fmt::Debug for WireAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireAdmin")
            .field("bootstrap", &self.bootstrap)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}
