//! Creating, listing and deleting ACL bindings.

use std::sync::Arc;

use super::ClusterAdmin;
use crate::acl_binding::{AclBinding, AclBindingFilter, AclCreation, AclDeletion};
use crate::batch::missing_answer;
use crate::checks;
use crate::client::KafkaClient;
use crate::metrics::Operation;
use crate::native::{self, AdminCall, Pending, RequestFailure};
use crate::operation_error::OperationError;
use crate::request_error::RequestError;

/// Bindings (or filters) per CreateAcls (DeleteAcls) request: 1,000 users of 8 bindings each
/// take 16 requests, and one request stays well under Kafka's default 100 MB request size.
pub const MAX_ACLS_PER_REQUEST: usize = 500;

impl ClusterAdmin {
    /// CreateAcls: answers per binding, in input order. Creating a binding that exists already
    /// succeeds and changes nothing. A cluster without an authorizer answers `SECURITY_DISABLED`.
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<AclCreation>, RequestError> {
        let answers =
            self.answer_each(Operation::CreateAcls, bindings, checks::check_acl_binding, native::create_acls).await?;
        Ok(bindings
            .iter()
            .zip(answers)
            .map(|(binding, result)| AclCreation { binding: binding.clone(), result })
            .collect())
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
        let answers =
            self.answer_each(Operation::DeleteAcls, filters, checks::check_acl_filter, native::delete_acls).await?;
        Ok(filters
            .iter()
            .zip(answers)
            .map(|(filter, result)| {
                let result = result.map(|mut deleted| {
                    deleted.sort();
                    deleted
                });
                AclDeletion { filter: filter.clone(), result }
            })
            .collect())
    }

    /// What CreateAcls and DeleteAcls share: answer malformed items locally, send the rest in
    /// requests of at most [`MAX_ACLS_PER_REQUEST`] one after the other, count each request,
    /// and answer per item in input order.
    async fn answer_each<T: Sync, R: Send + 'static>(
        &self,
        operation: Operation,
        items: &[T],
        check: fn(&T) -> Result<(), OperationError>,
        submit: Submit<T, R>,
    ) -> Result<Vec<Result<R, OperationError>>, RequestError> {
        let mut answers: Vec<Option<Result<R, OperationError>>> =
            items.iter().map(|item| check(item).err().map(Err)).collect();
        let to_send: Vec<usize> = (0..items.len()).filter(|&index| answers[index].is_none()).collect();
        let call = self.call(operation, false);
        for request in to_send.chunks(MAX_ACLS_PER_REQUEST) {
            let sent: Vec<&T> = request.iter().map(|&index| &items[index]).collect();
            let pending = submit(&self.client, &call, &sent).map_err(|f| self.failed(operation, f))?;
            self.count(operation, false);
            let results = pending.answer().await.map_err(|f| self.failed(operation, f))?;
            for (index, result) in by_position(request, results) {
                answers[index] = Some(result);
            }
        }
        Ok(answers.into_iter().map(|answer| answer.unwrap_or_else(|| Err(missing_answer()))).collect())
    }
}

/// Builds one request's native objects and hands them to librdkafka; Kafka answers per item.
type Submit<T, R> =
    fn(&Arc<KafkaClient>, &AdminCall, &[&T]) -> Result<Pending<Vec<Result<R, OperationError>>>, RequestFailure>;

/// Pairs the items of one request with Kafka's answers, which come in request order. An
/// answer list of another length cannot be matched, so then every item gets an error.
fn by_position<T>(sent: &[usize], results: Vec<Result<T, OperationError>>) -> Vec<(usize, Result<T, OperationError>)> {
    if results.len() != sent.len() {
        return sent.iter().map(|&index| (index, Err(missing_answer()))).collect();
    }
    sent.iter().copied().zip(results).collect()
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaErrorCode;

    use super::*;

    #[test]
    fn answers_pair_by_position_or_not_at_all() {
        let answers =
            by_position(&[3, 5], vec![Ok(1), Err(OperationError::new(RDKafkaErrorCode::InvalidRequest, "x"))]);
        assert_eq!(answers[0], (3, Ok(1)));
        assert_eq!(answers[1].0, 5);
        assert!(answers[1].1.is_err());

        let short = by_position(&[3, 5], vec![Ok(1)]);
        assert!(short.iter().all(|(_, result)| result.as_ref().is_err_and(|e| e.code == RDKafkaErrorCode::Fail)));
    }
}
