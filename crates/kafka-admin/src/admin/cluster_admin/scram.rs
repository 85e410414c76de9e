//! Setting, deleting and describing users' SCRAM credentials over librdkafka.

use super::ClusterAdmin;
use crate::admin::scram::{alter_in_requests, describe_in_requests};
use crate::metrics::Operation;
use crate::native;
use crate::request_error::RequestError;
use crate::scram_credential::{ScramAlteration, ScramAlterationOutcome, UserScramCredentials};

impl ClusterAdmin {
    /// AlterUserScramCredentials: one answer per alteration, in input order. Kafka refuses two
    /// alterations of one user in one request (`DUPLICATE_RESOURCE`; KRaft even for two
    /// mechanisms, ZooKeeper mode for one mechanism twice), so alter one credential per user per
    /// call; fewer than [`MIN_SCRAM_ITERATIONS`](crate::MIN_SCRAM_ITERATIONS) iterations or more than Kafka takes (16,384), or
    /// an empty user or password is answered here without sending.
    pub async fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<ScramAlterationOutcome>, RequestError> {
        let operation = Operation::AlterUserScramCredentials;
        let call = &self.call(operation, false);
        alter_in_requests(alterations, |sent| async move {
            let pending = native::alter_user_scram_credentials(&self.client, call, &sent)
                .map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            pending.answer().await.map_err(|f| self.failed(operation, f))
        })
        .await
    }

    /// DescribeUserScramCredentials: per user, in input order, the mechanisms and iterations
    /// Kafka keeps (empty for a user without credentials).
    pub async fn describe_user_scram_credentials(
        &self,
        users: &[String],
    ) -> Result<Vec<UserScramCredentials>, RequestError> {
        let operation = Operation::DescribeUserScramCredentials;
        let call = &self.call(operation, false);
        describe_in_requests(users, |names| async move {
            let pending = native::describe_user_scram_credentials(&self.client, call, &names)
                .map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            pending.answer().await.map_err(|f| self.failed(operation, f))
        })
        .await
    }
}
