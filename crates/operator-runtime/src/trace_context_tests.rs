//! Trace context through gRPC metadata and annotations, with the layer `init_tracing` installs
//! over an in-memory exporter: no collector, no network.

use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

use super::*;
use crate::telemetry::trace_layer;

const ADD_BROKER: &str = "http://cluster-controller:9090/koperator.actions.v1.ClusterActions/AddBroker";

/// Runs `test` under the exporting layer; answers its result and the spans that ended.
fn exporting<T>(test: impl FnOnce() -> T) -> (T, Vec<SpanData>) {
    install_propagator();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let subscriber = tracing_subscriber::registry().with(trace_layer(Some(&provider), "test"));
    let result = tracing::subscriber::with_default(subscriber, test);
    (result, exporter.get_finished_spans().expect("the in-memory exporter answers"))
}

/// Runs `test` under the layer of a process that exports nothing.
fn not_exporting<T>(test: impl FnOnce() -> T) -> T {
    install_propagator();
    let subscriber = tracing_subscriber::registry().with(trace_layer(None, "test"));
    tracing::subscriber::with_default(subscriber, test)
}

/// Sends a request to `uri` through [`Traced`]; answers it as the server receives it.
fn call(uri: &str) -> http::Request<()> {
    let received = Arc::new(Mutex::new(None));
    let record = Arc::clone(&received);
    let server = tower::service_fn(move |request: http::Request<()>| {
        *record.lock().expect("not poisoned") = Some(request);
        std::future::ready(Ok::<_, std::convert::Infallible>(()))
    });
    let request = http::Request::get(uri).body(()).expect("a request");
    // Polled once rather than on an executor: the simple exporter blocks on one of its own
    // when the client span ends, and executors do not nest.
    Traced::new(server).oneshot(request).now_or_never().expect("ready at once").expect("answered");
    received.lock().expect("not poisoned").take().expect("the server got the request")
}

fn ids(cx: &Context) -> (String, String) {
    let span = cx.span();
    let context = span.span_context();
    (context.trace_id().to_string(), context.span_id().to_string())
}

fn named<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    spans.iter().find(|span| span.name == name && span.span_kind == kind).unwrap_or_else(|| panic!("{name} {kind:?}"))
}

// gRPC metadata is the request's HTTP/2 headers (tonic's `MetadataMap` wraps a `HeaderMap`),
// and both `Traced` and `grpc_server_span` see the request at that level.
#[test]
fn a_context_injected_into_metadata_is_extracted_with_the_same_ids() {
    let ((sent, received), _) = exporting(|| {
        let span = tracing::info_span!("webhook");
        let cx = span.context();
        let mut metadata = HeaderMap::new();
        inject(&cx, &mut metadata);
        (cx, remote_context(&metadata).expect("a parent"))
    });
    assert!(sent.span().span_context().is_valid());
    assert_eq!(ids(&received), ids(&sent));
    assert!(received.span().span_context().is_remote());
}

#[test]
fn a_request_without_trace_metadata_yields_no_parent() {
    install_propagator();
    assert!(remote_context(&HeaderMap::new()).is_none());
    let mut garbage = HeaderMap::new();
    garbage.insert("traceparent", HeaderValue::from_static("00-not-a-trace-01"));
    assert!(remote_context(&garbage).is_none());

    let ((), spans) = exporting(|| {
        let request = http::Request::get(ADD_BROKER).body(()).expect("a request");
        drop(grpc_server_span(&request).entered());
    });
    let server = named(&spans, "koperator.actions.v1.ClusterActions/AddBroker", SpanKind::Server);
    assert_eq!(server.parent_span_id, SpanId::INVALID, "a root span");
}

#[test]
fn the_server_span_of_a_call_is_the_child_of_its_client_span() {
    let ((), spans) = exporting(|| {
        let webhook = tracing::info_span!("webhook").entered();
        let request = call(ADD_BROKER);
        drop(webhook);
        drop(grpc_server_span(&request).entered());
    });
    let webhook = named(&spans, "webhook", SpanKind::Internal);
    let client = named(&spans, "koperator.actions.v1.ClusterActions/AddBroker", SpanKind::Client);
    let server = named(&spans, "koperator.actions.v1.ClusterActions/AddBroker", SpanKind::Server);
    assert_eq!(client.parent_span_id, webhook.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(server.span_context.trace_id(), webhook.span_context.trace_id(), "one trace");
}

#[test]
fn a_process_that_exports_nothing_passes_an_incoming_context_on_unchanged() {
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let with_parent = http::Request::get(ADD_BROKER).header("traceparent", incoming).body(()).expect("a request");

    let sent = not_exporting(|| {
        let _server = grpc_server_span(&with_parent).entered();
        call(ADD_BROKER)
    });
    assert_eq!(sent.headers().get("traceparent").and_then(|v| v.to_str().ok()), Some(incoming));

    let sent = not_exporting(|| call(ADD_BROKER));
    assert!(sent.headers().get("traceparent").is_none(), "no trace to pass on");
}

#[test]
fn the_creating_span_round_trips_through_the_annotation() {
    let ((sent, object), _) = exporting(|| {
        let span = tracing::info_span!("reconcile").entered();
        let mut object = ConfigMap::default();
        record_current_trace(&mut object);
        (span.context(), object)
    });
    let annotations = object.metadata.annotations.expect("annotated");
    let recorded = context_from_traceparent(&annotations[TRACEPARENT_ANNOTATION]).expect("a valid parent");
    assert_eq!(ids(&recorded), ids(&sent));

    let mut outside = ConfigMap::default();
    not_exporting(|| record_current_trace(&mut outside));
    assert_eq!(outside.metadata.annotations, None, "no span, no annotation");
    assert!(context_from_traceparent("garbage").is_none(), "a hand-edited annotation is no parent");
}
