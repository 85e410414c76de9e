//! Counts every write request a kube [`Client`](kube::Client) sends, as a tower layer under
//! the client (it only observes requests: it sends none and changes none).
//!
//! Counting in the client rather than at each call site means no write escapes the figure
//! that "an unchanged cluster costs zero writes" is measured with: finalizers, statuses,
//! events, deletions and leader election's Lease renewals are all counted.
//!
//! A write is any request that is not a read: POST (`create`), PUT (`update`), PATCH
//! (`apply` for server-side apply, `patch` otherwise) and DELETE (`delete`). Dry-run requests
//! (`?dryRun=All`) are not counted at all: the API server persists nothing for them.

use std::task::{Context, Poll};

use http::{HeaderMap, Method, Request, Uri, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tower::{Layer, Service};

/// One series of the write counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    /// The resource as the API path names it, with its subresource: `kafkatopics`,
    /// `kafkatopics/status`, `events`, `pods/eviction`.
    pub kind: String,
    /// `create`, `update`, `patch`, `apply` or `delete`.
    pub verb: String,
}

/// The counter family the layer counts into; register it in the deployable's registry.
pub type WriteCounter = Family<WriteLabels, Counter>;

/// What a request writes, or `None` for reads and dry runs (pure).
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<WriteLabels> {
    let verb = match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH if is_server_side_apply(headers) => "apply",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => return None,
    };
    if is_dry_run(uri) {
        return None;
    }
    Some(WriteLabels { kind: resource_of(uri.path()), verb: verb.to_owned() })
}

fn is_server_side_apply(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|content_type| content_type.starts_with("application/apply-patch"))
}

fn is_dry_run(uri: &Uri) -> bool {
    uri.query()
        .is_some_and(|query| query.split('&').any(|pair| pair.strip_prefix("dryRun=").is_some_and(|v| !v.is_empty())))
}

/// Namespaces' own subresources: `/api/v1/namespaces/<name>/status` names the namespace's
/// status, not a resource called `status` inside it.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// `pods`, `pods/status`, `kafkatopics` ... from an API path; the path itself for anything
/// that is not a resource path (none of our writes).
fn resource_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let within_version = match segments.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return path.to_owned(),
    };
    match within_version {
        ["namespaces", _namespace, sub] if NAMESPACE_SUBRESOURCES.contains(sub) => format!("namespaces/{sub}"),
        ["namespaces", _namespace, resource, rest @ ..] => with_subresource(resource, rest),
        [resource, rest @ ..] => with_subresource(resource, rest),
        [] => path.to_owned(),
    }
}

fn with_subresource(resource: &str, after_resource: &[&str]) -> String {
    match after_resource {
        [_name, subresource, ..] => format!("{resource}/{subresource}"),
        _ => resource.to_owned(),
    }
}

/// The layer to put on the client: `ClientBuilder::with_layer(&CountWritesLayer::new(..))`.
#[derive(Clone, Debug)]
pub struct CountWritesLayer {
    writes: WriteCounter,
}

impl CountWritesLayer {
    pub fn new(writes: WriteCounter) -> Self {
        Self { writes }
    }
}

impl<S> Layer<S> for CountWritesLayer {
    type Service = CountWrites<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountWrites { inner, writes: self.writes.clone() }
    }
}

/// The service [`CountWritesLayer`] wraps around kube's stack.
#[derive(Clone, Debug)]
pub struct CountWrites<S> {
    inner: S,
    writes: WriteCounter,
}

impl<S, B> Service<Request<B>> for CountWrites<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    /// Counts the attempt, whether or not the API server accepts it.
    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(labels) = classify(request.method(), request.uri(), request.headers()) {
            self.writes.get_or_create(&labels).inc();
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn labels(method: Method, uri: &str, content_type: Option<&str>) -> Option<(String, String)> {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).expect("valid header"));
        }
        let uri: Uri = uri.parse().expect("valid uri");
        classify(&method, &uri, &headers).map(|labels| (labels.kind, labels.verb))
    }

    fn pair(kind: &str, verb: &str) -> Option<(String, String)> {
        Some((kind.to_owned(), verb.to_owned()))
    }

    #[test]
    fn reads_are_not_writes() {
        assert_eq!(labels(Method::GET, "/apis/kafka.banzaicloud.io/v1alpha1/namespaces/ns/kafkatopics", None), None);
        assert_eq!(labels(Method::GET, "/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1", None), None);
        assert_eq!(labels(Method::HEAD, "/api/v1/namespaces/ns/pods/p", None), None);
    }

    #[test]
    fn verbs_follow_the_method_and_the_patch_type() {
        let topic = "/apis/kafka.banzaicloud.io/v1alpha1/namespaces/ns/kafkatopics/orders";
        assert_eq!(labels(Method::PATCH, topic, Some("application/json-patch+json")), pair("kafkatopics", "patch"));
        assert_eq!(labels(Method::PATCH, topic, Some("application/merge-patch+json")), pair("kafkatopics", "patch"));
        let status = format!("{topic}/status?fieldManager=koperator-rs-topic-controller&force=true");
        assert_eq!(
            labels(Method::PATCH, &status, Some("application/apply-patch+yaml")),
            pair("kafkatopics/status", "apply")
        );
        assert_eq!(labels(Method::PUT, topic, None), pair("kafkatopics", "update"));
        assert_eq!(labels(Method::DELETE, topic, None), pair("kafkatopics", "delete"));
        let events = "/apis/events.k8s.io/v1/namespaces/ns/events";
        assert_eq!(labels(Method::POST, events, Some("application/json")), pair("events", "create"));
    }

    #[test]
    fn kinds_name_the_resource_and_subresource_in_any_scope() {
        assert_eq!(labels(Method::POST, "/api/v1/namespaces/ns/pods", None), pair("pods", "create"));
        assert_eq!(
            labels(Method::POST, "/api/v1/namespaces/ns/pods/kafka-0/eviction", None),
            pair("pods/eviction", "create")
        );
        assert_eq!(labels(Method::DELETE, "/api/v1/namespaces/ns/pods", None), pair("pods", "delete"));
        assert_eq!(
            labels(Method::PUT, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/topic-controller", None),
            pair("leases", "update")
        );
        // Cluster-scoped resources, and namespaces themselves.
        assert_eq!(
            labels(Method::PATCH, "/apis/storage.k8s.io/v1/storageclasses/standard", None),
            pair("storageclasses", "patch")
        );
        assert_eq!(labels(Method::POST, "/api/v1/namespaces", None), pair("namespaces", "create"));
        assert_eq!(labels(Method::DELETE, "/api/v1/namespaces/ns", None), pair("namespaces", "delete"));
        assert_eq!(labels(Method::PUT, "/api/v1/namespaces/ns/finalize", None), pair("namespaces/finalize", "update"));
        assert_eq!(labels(Method::PATCH, "/api/v1/namespaces/ns/status", None), pair("namespaces/status", "patch"));
        // Not a resource path: named by the path.
        assert_eq!(labels(Method::POST, "/version", None), pair("/version", "create"));
    }

    #[test]
    fn dry_runs_are_not_counted() {
        let pods = "/api/v1/namespaces/ns/pods";
        assert_eq!(labels(Method::POST, &format!("{pods}?dryRun=All"), None), None);
        assert_eq!(labels(Method::PATCH, &format!("{pods}/p?fieldManager=x&dryRun=All"), None), None);
        assert_eq!(labels(Method::POST, &format!("{pods}?dryRun="), None), pair("pods", "create"));
    }

    #[tokio::test]
    async fn the_layer_counts_each_write_it_passes_on() {
        use tower::ServiceExt as _;

        let writes = WriteCounter::default();
        let inner = tower::service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(()) });
        let mut service = CountWritesLayer::new(writes.clone()).layer(inner);
        for (method, uri) in [
            (Method::GET, "/api/v1/namespaces/ns/pods"),
            (Method::POST, "/api/v1/namespaces/ns/pods"),
            (Method::POST, "/api/v1/namespaces/ns/pods"),
            (Method::DELETE, "/api/v1/namespaces/ns/pods/p"),
        ] {
            let request = Request::builder().method(method).uri(uri).body(()).expect("valid request");
            service.ready().await.expect("ready").call(request).await.expect("answered");
        }
        let count = |verb: &str| writes.get_or_create(&WriteLabels { kind: "pods".into(), verb: verb.into() }).get();
        assert_eq!((count("create"), count("delete")), (2, 1));
    }
}
