//! Users' SCRAM credentials over Kafka's protocol ([`crate::wire::scram`]), with the same
//! checks, requests and answers as `ClusterAdmin`'s librdkafka calls, so that a deployable can
//! manage them without linking librdkafka.

use ring::rand::SystemRandom;

use super::WireAdmin;
use super::direct::Api;
use super::scram::{alter_in_requests, describe_in_requests};
use crate::metrics::Operation;
use crate::request_error::RequestError;
use crate::scram_credential::{ScramAlteration, ScramAlterationOutcome, UserScramCredentials};
use crate::wire::scram::{
    ALTER_USER_SCRAM_CREDENTIALS, DESCRIBE_USER_SCRAM_CREDENTIALS, VERSION, alter_request, alter_response,
    describe_request, describe_response,
};

impl WireAdmin {
    /// AlterUserScramCredentials: one answer per alteration, in input order, in requests of at
    /// most [`MAX_SCRAM_USERS_PER_REQUEST`](crate::MAX_SCRAM_USERS_PER_REQUEST) sent to the
    /// controller. Kafka refuses two alterations of one user in one request
    /// (`DUPLICATE_RESOURCE`; KRaft even for two mechanisms), so alter one credential per user
    /// per call; fewer than [`MIN_SCRAM_ITERATIONS`](crate::MIN_SCRAM_ITERATIONS) iterations or
    /// more than Kafka takes (16,384), or an empty user or password is answered here without
    /// sending. The password is salted and hashed here and never sent.
    pub async fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<ScramAlterationOutcome>, RequestError> {
        let operation = Operation::AlterUserScramCredentials;
        let api = Api::flexible(ALTER_USER_SCRAM_CREDENTIALS, VERSION);
        alter_in_requests(alterations, |sent| async move {
            let body = self.salted_request(sent).await?;
            let response = self.exchange_with_controller(operation, false, api, &body).await?;
            alter_response(&response).map_err(|error| self.wire_failed(operation, &error))
        })
        .await
    }

    /// DescribeUserScramCredentials: per user, in input order, the mechanisms and iterations
    /// Kafka keeps (empty for a user without credentials), in requests of at most
    /// [`MAX_SCRAM_USERS_PER_REQUEST`](crate::MAX_SCRAM_USERS_PER_REQUEST). Kafka's refusal of
    /// a whole request fails the call.
    pub async fn describe_user_scram_credentials(
        &self,
        users: &[String],
    ) -> Result<Vec<UserScramCredentials>, RequestError> {
        let operation = Operation::DescribeUserScramCredentials;
        let api = Api::flexible(DESCRIBE_USER_SCRAM_CREDENTIALS, VERSION);
        describe_in_requests(users, |names| async move {
            let response = self.exchange(operation, api, &describe_request(&names)).await?;
            match describe_response(&response).map_err(|error| self.wire_failed(operation, &error))? {
                Ok(described) => Ok(described),
                Err(error) => Err(self.refused(operation, error)),
            }
        })
        .await
    }

    /// The AlterUserScramCredentials body of `sent`. Salting a password takes thousands of
    /// rounds of HMAC (milliseconds; a request has up to 500), so off the async runtime's
    /// worker threads.
    async fn salted_request(&self, sent: Vec<&ScramAlteration>) -> Result<Vec<u8>, RequestError> {
        let operation = Operation::AlterUserScramCredentials;
        let owned: Vec<ScramAlteration> = sent.into_iter().cloned().collect();
        let built = tokio::task::spawn_blocking(move || alter_request(&owned, &SystemRandom::new())).await;
        match built {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(error)) => Err(self.wire_failed(operation, &error)),
            Err(error) => Err(self.wire_failed(operation, &format!("salting the passwords failed: {error}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::connection_settings::ConnectionSettings;
    use crate::metrics::RequestCounter;
    use crate::scram_credential::ScramMechanism;

    fn admin() -> WireAdmin {
        // Nothing listens here.
        let settings = ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:1".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: Duration::from_secs(1),
            tls: None,
        };
        WireAdmin::connect(&settings, RequestCounter::default()).unwrap()
    }

    #[tokio::test]
    async fn no_users_and_refused_alterations_send_nothing() {
        let admin = admin();
        assert!(admin.describe_user_scram_credentials(&[]).await.unwrap().is_empty());
        let short = ScramAlteration::Upsert {
            user: "alice".into(),
            mechanism: ScramMechanism::Sha256,
            iterations: 100,
            password: "secret".into(),
        };
        let outcomes = admin.alter_user_scram_credentials(&[short]).await.unwrap();
        assert!(outcomes[0].result.as_ref().is_err_and(|error| error.message.contains("at least 4096")));
    }

    #[tokio::test]
    async fn an_unreachable_cluster_fails_the_request() {
        let admin = admin();
        let delete = ScramAlteration::Delete { user: "alice".into(), mechanism: ScramMechanism::Sha512 };
        // The controller's lookup fails first; the failure is still this call's.
        let error = admin.alter_user_scram_credentials(&[delete]).await.unwrap_err();
        assert_eq!(error.operation, Operation::AlterUserScramCredentials);
        assert!(error.is_retriable(), "{error:?}");
        let error = admin.describe_user_scram_credentials(&["alice".into()]).await.unwrap_err();
        assert_eq!(error.operation, Operation::DescribeUserScramCredentials);
    }
}
