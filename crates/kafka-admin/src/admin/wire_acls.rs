//! ACL bindings over Kafka's protocol ([`crate::wire::acls`]), with exactly `ClusterAdmin`'s
//! checks, requests and answers (`acls`), so that a deployable managing ACLs needs no librdkafka. Any broker takes ACL requests (in KRaft mode it
//! forwards writes to the controller), so each goes to the first bootstrap server that answers.

use super::WireAdmin;
use super::acls::{create_each, delete_each};
use super::direct::Api;
use crate::acl_binding::{AclBinding, AclBindingFilter, AclCreation, AclDeletion};
use crate::checks;
use crate::metrics::Operation;
use crate::request_error::RequestError;
use crate::wire::DecodeError;
use crate::wire::acls::{
    ACLS_VERSION, CREATE_ACLS, DELETE_ACLS, DESCRIBE_ACLS, create_request, create_response, delete_request,
    delete_response, describe_request, describe_response,
};

impl WireAdmin {
    /// CreateAcls, as `ClusterAdmin::create_acls`: per binding, in input order.
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<AclCreation>, RequestError> {
        create_each(bindings, |sent| async move {
            let body = create_request(&sent);
            self.send_acls(Operation::CreateAcls, CREATE_ACLS, &body, create_response).await
        })
        .await
    }

    /// DescribeAcls, as `ClusterAdmin::describe_acls`: what `filter` selects, sorted. Kafka's refusal of the request (`SECURITY_DISABLED`
    /// without an authorizer) is a [`RequestError`] with Kafka's code. In KRaft mode a broker
    /// lists a binding once it has replayed its creation from the metadata log, which may be
    /// a few milliseconds after CreateAcls answered.
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>, RequestError> {
        let operation = Operation::DescribeAcls;
        checks::check_acl_filter(filter).map_err(|error| self.refused(operation, error))?;
        let answer = self.send_acls(operation, DESCRIBE_ACLS, &describe_request(filter), describe_response).await?;
        let mut bindings = answer.map_err(|error| self.refused(operation, error))?;
        bindings.sort();
        Ok(bindings)
    }

    /// DeleteAcls, as `ClusterAdmin::delete_acls`: per filter, in input order, the bindings it
    /// deleted. Kafka matches every filter of a request
    /// against the bindings as they were before it, so two filters may report one binding.
    pub async fn delete_acls(&self, filters: &[AclBindingFilter]) -> Result<Vec<AclDeletion>, RequestError> {
        delete_each(filters, |sent| async move {
            let body = delete_request(&sent);
            self.send_acls(Operation::DeleteAcls, DELETE_ACLS, &body, delete_response).await
        })
        .await
    }

    /// One ACL request to the first bootstrap server that answers, its answer read by `read`.
    async fn send_acls<T>(
        &self,
        operation: Operation,
        key: i16,
        body: &[u8],
        read: fn(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<T, RequestError> {
        let response = self.exchange(operation, Api::flexible(key, ACLS_VERSION), body).await?;
        read(&response).map_err(|error| self.wire_failed(operation, &error))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ErrorCode;
    use crate::acl_binding::{ANY_HOST, AclOperation, AclPatternType, AclPermission, AclResourceType};
    use crate::connection_settings::ConnectionSettings;
    use crate::metrics::{RequestCounter, RequestLabels};

    /// Nothing listens here: a request fails at once.
    fn unreachable(requests: RequestCounter) -> WireAdmin {
        let settings = ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:1".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: Duration::from_secs(1),
            tls: None,
        };
        WireAdmin::connect(&settings, requests).expect("a bootstrap server is given")
    }

    fn with_nul() -> AclBinding {
        AclBinding {
            resource_type: AclResourceType::Topic,
            resource_name: "orders".into(),
            pattern_type: AclPatternType::Literal,
            principal: "User:a\0b".into(),
            host: ANY_HOST.into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
        }
    }

    fn sent(requests: &RequestCounter, operation: Operation) -> u64 {
        requests.get_or_create(&RequestLabels { operation, validate_only: false }).get()
    }

    /// Controllers spawn these futures.
    #[test]
    fn its_futures_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let admin = unreachable(RequestCounter::default());
        assert_send(&admin.create_acls(&[]));
        assert_send(&admin.describe_acls(&AclBindingFilter::any()));
        assert_send(&admin.delete_acls(&[]));
    }

    #[tokio::test]
    async fn empty_or_malformed_input_sends_nothing() {
        let requests = RequestCounter::default();
        let admin = unreachable(requests.clone());
        assert_eq!(admin.create_acls(&[]).await, Ok(vec![]));
        assert_eq!(admin.delete_acls(&[]).await, Ok(vec![]));
        let created = admin.create_acls(&[with_nul()]).await.unwrap();
        assert_eq!(created[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        let deleted = admin.delete_acls(&[with_nul().to_filter()]).await.unwrap();
        assert_eq!(deleted[0].result.as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        let described = admin.describe_acls(&with_nul().to_filter()).await.unwrap_err();
        assert_eq!(described.code, ErrorCode::INVALID_REQUEST);
        for operation in [Operation::CreateAcls, Operation::DescribeAcls, Operation::DeleteAcls] {
            assert_eq!(sent(&requests, operation), 0, "{operation:?}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_cluster_fails_the_request_and_it_is_counted() {
        let requests = RequestCounter::default();
        let admin = unreachable(requests.clone());
        let mut binding = with_nul();
        binding.principal = "User:alice".into();
        let error = admin.create_acls(&[binding]).await.unwrap_err();
        assert_eq!(error.operation, Operation::CreateAcls);
        assert!(error.is_retriable(), "{error:?}");
        let error = admin.describe_acls(&AclBindingFilter::any()).await.unwrap_err();
        assert!(error.to_string().starts_with("failed to describe acls: "), "{error}");
        assert!(error.to_string().ends_with("(bootstrap 127.0.0.1:1)"), "{error}");
        assert_eq!(sent(&requests, Operation::CreateAcls), 1);
        assert_eq!(sent(&requests, Operation::DescribeAcls), 1);
    }
}
