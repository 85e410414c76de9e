//! The KRaft metadata quorum and feature levels (KIP-853, KIP-584), which librdkafka cannot
//! ask or change: describe the quorum, add or remove a voter, read a node's feature levels,
//! raise a finalized level. Brokers take these requests and forward the changes to the active
//! controller, so the cluster's usual bootstrap servers serve.

use std::time::Duration;

use super::WireAdmin;
use super::direct::Api;
use crate::error_code::ErrorCode;
use crate::features::FeatureLevels;
use crate::metrics::Operation;
use crate::operation_error::OperationError;
use crate::quorum::{DirectoryId, QuorumDescription, VoterEndpoint};
use crate::request_error::RequestError;
use crate::wire::{features, quorum};

impl WireAdmin {
    /// DescribeQuorum: voters, observers, offsets and the voters' endpoints.
    pub async fn describe_quorum(&self) -> Result<QuorumDescription, RequestError> {
        let operation = Operation::DescribeQuorum;
        let api = Api::flexible(quorum::DESCRIBE_QUORUM, quorum::DESCRIBE_QUORUM_VERSION);
        let response = self.exchange(operation, api, &quorum::describe_request()).await?;
        quorum::describe_response(&response)
            .map_err(|error| self.wire_failed(operation, &error))?
            .map_err(|error| self.refused(operation, error))
    }

    /// AddRaftVoter: the observer `voter` with log directory `directory` becomes a voter,
    /// reachable at `endpoints`. Kafka refuses a voter that has not caught up, and answers once
    /// the new voter set is committed (or `wait` passed).
    pub async fn add_raft_voter(
        &self,
        voter: i32,
        directory: DirectoryId,
        endpoints: &[VoterEndpoint],
        wait: Duration,
    ) -> Result<(), RequestError> {
        let operation = Operation::AddRaftVoter;
        let timeout_ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let body = quorum::add_voter_request(None, timeout_ms, voter, directory, endpoints);
        let response = self.exchange(operation, Api::flexible(quorum::ADD_RAFT_VOTER, 0), &body).await?;
        quorum::voter_change_response(&response)
            .map_err(|error| self.wire_failed(operation, &error))?
            .map_err(|error| self.refused(operation, error))
    }

    /// RemoveRaftVoter: `voter` with log directory `directory` leaves the voters.
    pub async fn remove_raft_voter(&self, voter: i32, directory: DirectoryId) -> Result<(), RequestError> {
        let operation = Operation::RemoveRaftVoter;
        let body = quorum::remove_voter_request(None, voter, directory);
        let response = self.exchange(operation, Api::flexible(quorum::REMOVE_RAFT_VOTER, 0), &body).await?;
        quorum::voter_change_response(&response)
            .map_err(|error| self.wire_failed(operation, &error))?
            .map_err(|error| self.refused(operation, error))
    }

    /// ApiVersions of the first bootstrap server that answers: the feature levels its
    /// software supports and the levels the cluster finalized.
    pub async fn feature_levels(&self) -> Result<FeatureLevels, RequestError> {
        let operation = Operation::ApiVersions;
        let body = features::api_versions_request("koperator-rs", env!("CARGO_PKG_VERSION"));
        let mut unsupported: Option<OperationError> = None;
        for version in features::API_VERSIONS_VERSIONS {
            let api = Api::flexible(features::API_VERSIONS, version);
            let response = self.exchange(operation, api, &body).await?;
            match features::api_versions_response(&response).map_err(|error| self.wire_failed(operation, &error))? {
                Err(error) if error.code == ErrorCode::UNSUPPORTED_VERSION => unsupported = Some(error),
                other => return other.map_err(|error| self.refused(operation, error)),
            }
        }
        let error = unsupported.unwrap_or_else(|| OperationError::new(ErrorCode::FAIL, "no answer"));
        Err(self.refused(operation, error))
    }

    /// UpdateFeatures: raises `feature` to `level` (never lowers it). Kafka refuses a level a
    /// registered node cannot run.
    pub async fn upgrade_feature(&self, feature: &str, level: i16) -> Result<(), RequestError> {
        let operation = Operation::UpdateFeatures;
        let timeout_ms = i32::try_from(self.request_timeout.as_millis()).unwrap_or(i32::MAX);
        let body = features::upgrade_request(feature, level, timeout_ms);
        let api = Api::flexible(features::UPDATE_FEATURES, features::UPDATE_FEATURES_VERSION);
        let response = self.exchange(operation, api, &body).await?;
        features::upgrade_response(&response)
            .map_err(|error| self.wire_failed(operation, &error))?
            .map_err(|error| self.refused(operation, error))
    }
}
