//! Creating, listing and deleting ACL bindings over librdkafka.

use std::sync::Arc;

use super::ClusterAdmin;
use crate::acl_binding::{AclBinding, AclBindingFilter, AclCreation, AclDeletion};
use crate::admin::acls::{Answers, create_each, delete_each};
use crate::checks;
use crate::librdkafka_client::KafkaClient;
use crate::metrics::Operation;
use crate::native::{self, AdminCall, Pending, RequestFailure};
use crate::request_error::RequestError;

impl ClusterAdmin {
    /// CreateAcls: answers per binding, in input order. Creating a binding that exists already
    /// succeeds and changes nothing. A cluster without an authorizer answers `SECURITY_DISABLED`.
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<AclCreation>, RequestError> {
        create_each(bindings, |sent| self.send_acls(Operation::CreateAcls, native::create_acls, sent)).await
    }

    /// DescribeAcls: every binding `filter` selects (one request; [`AclBindingFilter::any`]
    /// lists the whole cluster's), sorted. A cluster without an authorizer answers
    /// `SECURITY_DISABLED`.
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>, RequestError> {
        let operation = Operation::DescribeAcls;
        checks::check_acl_filter(filter).map_err(|error| self.not_sent(operation, error))?;
        let call = self.call(operation, false);
        let pending = native::describe_acls(&self.client, &call, filter).map_err(|f| self.failed(operation, f))?;
        self.count(operation, false);
        let mut bindings = pending.answer().await.map_err(|f| self.failed(operation, f))?;
        bindings.sort();
        Ok(bindings)
    }

    /// DeleteAcls: per filter, in input order, the bindings it deleted (none is not an error).
    pub async fn delete_acls(&self, filters: &[AclBindingFilter]) -> Result<Vec<AclDeletion>, RequestError> {
        delete_each(filters, |sent| self.send_acls(Operation::DeleteAcls, native::delete_acls, sent)).await
    }

    /// One CreateAcls or DeleteAcls request through librdkafka, counted once librdkafka took it.
    async fn send_acls<T: Sync, R: Send + 'static>(
        &self,
        operation: Operation,
        submit: Submit<T, R>,
        sent: Vec<&T>,
    ) -> Result<Answers<R>, RequestError> {
        let call = self.call(operation, false);
        let pending = submit(&self.client, &call, &sent).map_err(|f| self.failed(operation, f))?;
        self.count(operation, false);
        pending.answer().await.map_err(|f| self.failed(operation, f))
    }
}

/// Builds one request's native objects and hands them to librdkafka; Kafka answers per item.
type Submit<T, R> = fn(&Arc<KafkaClient>, &AdminCall, &[&T]) -> Result<Pending<Answers<R>>, RequestFailure>;
