//! One trace per action across deployables, by W3C trace context: a gRPC call carries
//! `traceparent`/`tracestate` in its metadata (HTTP/2 headers), and an object another
//! deployable acts on later carries `traceparent` in the annotation [`TRACEPARENT_ANNOTATION`].
//!
//! - Clients: wrap the channel in [`Traced`]; every call is then a client span whose context
//!   the request carries.
//! - Servers: `Server::builder().trace_fn(grpc_server_span)`; every call is a server span,
//!   the child of the caller's.
//! - Objects: [`record_current_trace`] when creating one, [`set_parent`] with
//!   [`context_from_traceparent`] of its annotation when acting on it.
//!
//! The context of a span comes from the OpenTelemetry layer [`crate::telemetry::init_tracing`]
//! installs, with or without an exporter; without that layer nothing is injected, nothing is
//! extracted, and nothing breaks.

use std::collections::HashMap;
use std::task::{Context as TaskContext, Poll};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Annotation holding the W3C `traceparent` of the span that created an object, set at
/// creation only.
pub const TRACEPARENT_ANNOTATION: &str = "koperator-rs.io/traceparent";

/// The W3C header (and carrier key) naming the parent span.
const TRACEPARENT: &str = "traceparent";

/// Makes W3C trace context the process's propagator (OpenTelemetry's default propagates
/// nothing). Idempotent.
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// Writes a context into HTTP headers, as gRPC metadata travels (`MetadataMap::as_mut`).
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The W3C propagator writes lowercase ASCII names and values; anything else would not
        // survive as a header, and a trace is not worth failing a call for.
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// Reads a context from HTTP headers (`MetadataMap::as_ref` for gRPC metadata).
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes `cx` into `headers` with the process's propagator; nothing for a context without a
/// valid span.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut HeaderInjector(headers));
    });
}

/// The remote span the headers name, if they name a valid one.
pub fn remote_context(headers: &HeaderMap) -> Option<Context> {
    // Extracted onto an empty context: onto the current one, headers without a trace would
    // yield the current local span, which is no remote parent.
    let cx = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(&Context::new(), &HeaderExtractor(headers))
    });
    has_valid_span(&cx).then_some(cx)
}

/// Makes `parent` (when there is one) the parent of `span`, which must not have been entered yet.
pub fn set_parent(span: &tracing::Span, parent: Option<Context>) {
    if let Some(parent) = parent {
        // Fails only without the OpenTelemetry layer or for a span filtered out: nothing is
        // traced then, so there is no parent to set either.
        let _ = span.set_parent(parent);
    }
}

/// The current span's context as a `traceparent`; `None` outside a span with a valid context
/// (no OpenTelemetry layer, or the no-op tracer with nothing propagated to it).
pub fn current_traceparent() -> Option<String> {
    traceparent(&tracing::Span::current().context())
}

/// `cx` as a W3C `traceparent` value.
pub fn traceparent(cx: &Context) -> Option<String> {
    // Always W3C, whatever the process's propagator: the annotation is named after the format.
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The remote context a W3C `traceparent` value names, if it is valid.
pub fn context_from_traceparent(traceparent: &str) -> Option<Context> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), &carrier);
    has_valid_span(&cx).then_some(cx)
}

/// Annotates an object about to be created with the current span's context, when there is one.
/// Only for creation: rewriting it on later writes would make every pass write.
pub fn record_current_trace<K: kube::Resource>(object: &mut K) {
    if let Some(traceparent) = current_traceparent() {
        object.meta_mut().annotations.get_or_insert_default().insert(TRACEPARENT_ANNOTATION.to_owned(), traceparent);
    }
}

fn has_valid_span(cx: &Context) -> bool {
    cx.span().span_context().is_valid()
}

/// The span of one gRPC call, named as OpenTelemetry's RPC conventions name it
/// (`package.Service/Method`) through `otel.name`.
fn rpc_span(path: &str, kind: &'static str) -> tracing::Span {
    let rpc = path.trim_start_matches('/');
    let (service, method) = rpc.split_once('/').unwrap_or((rpc, ""));
    tracing::info_span!(
        "grpc",
        otel.name = %rpc,
        otel.kind = kind,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
    )
}

/// For `tonic::transport::Server::trace_fn`: one server span per call, the child of the span
/// the caller's metadata names (a root when it names none).
pub fn grpc_server_span(request: &http::Request<()>) -> tracing::Span {
    let span = rpc_span(request.uri().path(), "server");
    set_parent(&span, remote_context(request.headers()));
    span
}

/// A gRPC channel (or any HTTP service) whose every call is a client span, the child of the
/// caller's current span, with that span's context in the request's headers.
#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S> Traced<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let span = rpc_span(request.uri().path(), "client");
        inject(&span.context(), request.headers_mut());
        self.inner.call(request).instrument(span)
    }
}

#[cfg(test)]
#[path = "trace_context_tests.rs"]
mod tests;
