//! What both clients' ACL requests share ([`WireAdmin`](super::WireAdmin)'s `wire_acls`,
//! `ClusterAdmin`'s over librdkafka): the local checks, requests of at most
//! [`MAX_ACLS_PER_REQUEST`] sent one after the other, and answers per item in input order.
//! The two differ only in how one request is sent, so that part is a closure.

use crate::acl_binding::{AclBinding, AclBindingFilter, AclCreation, AclDeletion};
use crate::batch::missing_answer;
use crate::checks;
use crate::operation_error::OperationError;
use crate::request_error::RequestError;

/// Bindings (or filters) per CreateAcls (DeleteAcls) request: 1,000 users of 8 bindings each
/// take 16 requests, and one request stays well under Kafka's default 100 MB request size.
pub const MAX_ACLS_PER_REQUEST: usize = 500;

/// Kafka's answers for the items of one request, in request order.
pub(super) type Answers<R> = Vec<Result<R, OperationError>>;

/// CreateAcls over either client, `send` making one request of the bindings given.
pub(super) async fn create_each<'a, F>(
    bindings: &'a [AclBinding],
    send: impl FnMut(Vec<&'a AclBinding>) -> F,
) -> Result<Vec<AclCreation>, RequestError>
where
    F: Future<Output = Result<Answers<()>, RequestError>>,
{
    let answers = answer_each(bindings, checks::check_acl_binding, send).await?;
    Ok(bindings.iter().zip(answers).map(|(binding, result)| AclCreation { binding: binding.clone(), result }).collect())
}

/// DeleteAcls over either client, `send` making one request of the filters given. Each
/// filter's deleted bindings are sorted, as `describe_acls`' are.
pub(super) async fn delete_each<'a, F>(
    filters: &'a [AclBindingFilter],
    send: impl FnMut(Vec<&'a AclBindingFilter>) -> F,
) -> Result<Vec<AclDeletion>, RequestError>
where
    F: Future<Output = Result<Answers<Vec<AclBinding>>, RequestError>>,
{
    let answers = answer_each(filters, checks::check_acl_filter, send).await?;
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

/// What CreateAcls and DeleteAcls share: answer malformed items locally, send the rest with
/// `send` in requests of at most [`MAX_ACLS_PER_REQUEST`] one after the other, and answer per
/// item in input order. A failed request fails the call: the items after it are not sent.
async fn answer_each<'a, T, R, F>(
    items: &'a [T],
    check: fn(&T) -> Result<(), OperationError>,
    mut send: impl FnMut(Vec<&'a T>) -> F,
) -> Result<Answers<R>, RequestError>
where
    F: Future<Output = Result<Answers<R>, RequestError>>,
{
    let mut answers: Vec<Option<Result<R, OperationError>>> =
        items.iter().map(|item| check(item).err().map(Err)).collect();
    let to_send: Vec<usize> = (0..items.len()).filter(|&index| answers[index].is_none()).collect();
    for request in to_send.chunks(MAX_ACLS_PER_REQUEST) {
        let results = send(request.iter().map(|&index| &items[index]).collect()).await?;
        for (index, result) in by_position(request, results) {
            answers[index] = Some(result);
        }
    }
    Ok(answers.into_iter().map(|answer| answer.unwrap_or_else(|| Err(missing_answer()))).collect())
}

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
    use super::*;
    use crate::ErrorCode;
    use crate::metrics::Operation;

    #[test]
    fn answers_pair_by_position_or_not_at_all() {
        let answers = by_position(&[3, 5], vec![Ok(1), Err(OperationError::new(ErrorCode::INVALID_REQUEST, "x"))]);
        assert_eq!(answers[0], (3, Ok(1)));
        assert_eq!(answers[1].0, 5);
        assert!(answers[1].1.is_err());

        let short = by_position(&[3, 5], vec![Ok(1)]);
        assert!(short.iter().all(|(_, result)| result.as_ref().is_err_and(|e| e.code == ErrorCode::FAIL)));
    }

    /// Items a check refuses are answered without being sent; the rest go in requests of at
    /// most 500 and their answers come back where the items were.
    #[tokio::test]
    async fn sends_checked_items_in_requests_of_500_and_answers_in_input_order() {
        let items: Vec<i32> = (0..1_202).collect();
        let odd_refused = |item: &i32| match item % 601 {
            1 => Err(OperationError::new(ErrorCode::INVALID_REQUEST, "refused")),
            _ => Ok(()),
        };
        let mut sizes = Vec::new();
        let answers = answer_each(&items, odd_refused, |sent: Vec<&i32>| {
            sizes.push(sent.len());
            let answers = sent.iter().map(|&&item| Ok(item * 10)).collect();
            async move { Ok::<_, RequestError>(answers) }
        })
        .await
        .unwrap();
        assert_eq!(sizes, [500, 500, 200]);
        assert_eq!(answers.len(), 1_202);
        assert_eq!(answers[0], Ok(0));
        assert_eq!(answers[1].as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        assert_eq!(answers[602].as_ref().map_err(|e| e.code), Err(ErrorCode::INVALID_REQUEST));
        assert_eq!(answers[1_201], Ok(12_010));
    }

    #[tokio::test]
    async fn nothing_to_send_sends_nothing_and_a_failed_request_fails_the_call() {
        let refused = |_: &i32| Err(OperationError::new(ErrorCode::INVALID_REQUEST, "refused"));
        let answers = answer_each(&[1, 2], refused, |_: Vec<&i32>| async { unreachable!("nothing to send") });
        let answers: Answers<()> = answers.await.unwrap();
        assert!(answers.iter().all(Result::is_err));

        let failed = RequestError::new(Operation::CreateAcls, ErrorCode::FAIL, "down", "b:9092");
        let answers = answer_each(
            &[1, 2],
            |_| Ok(()),
            |_: Vec<&i32>| {
                let failed = failed.clone();
                async move { Err::<Answers<()>, _>(failed) }
            },
        );
        assert_eq!(answers.await, Err(failed));
    }
}
