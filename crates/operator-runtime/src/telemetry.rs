//! Tracing setup: `RUST_LOG` filtering, text or JSON lines on stderr, optional OTLP trace
//! export, and W3C trace context propagation ([`crate::trace_context`]). Export is best effort:
//! a missing collector costs dropped spans and a warning from the exporter, never a failed start.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer, filter::filter_fn, layer::SubscriberExt as _, registry::LookupSpan, util::SubscriberInitExt as _,
};

use crate::cli::LogFormat;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` does not parse.
    #[error("failed to parse RUST_LOG")]
    ParseFilter(#[source] tracing_subscriber::filter::FromEnvError),
    /// A global subscriber was installed before.
    #[error("failed to install the tracing subscriber")]
    InstallSubscriber(#[source] tracing_subscriber::util::TryInitError),
}

/// What to set up.
#[derive(Clone, Debug)]
pub struct TracingConfig {
    /// `service.name` of exported spans; the binary name.
    pub service_name: &'static str,
    /// Format of log lines.
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
}

/// Keeps the trace exporter alive; call [`TelemetryGuard::shutdown`] before exiting so the
/// last spans are flushed.
#[must_use = "dropping the guard without shutdown loses the last spans"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
}

/// How long shutdown waits for the exporter to flush; with no collector it would otherwise
/// wait for the export timeout.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

impl TelemetryGuard {
    /// Flushes pending spans, waiting at most a few seconds.
    pub async fn shutdown(self) {
        let Some(provider) = self.tracer_provider else {
            return;
        };
        // The SDK's shutdown blocks its caller until the batch thread has exported, and that
        // export runs on this runtime: keep it off the async workers.
        let flush = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(FLUSH_TIMEOUT, flush).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "failed to flush traces"),
            Ok(Err(error)) => tracing::warn!(%error, "trace flush task failed"),
            Err(_) => tracing::warn!("gave up flushing traces after {FLUSH_TIMEOUT:?}"),
        }
    }
}

/// Installs the global subscriber. Must be called inside a tokio runtime when an OTLP
/// endpoint is set (the gRPC exporter runs on it).
pub fn init_tracing(config: &TracingConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::builder()
        .with_default_directive(tracing::level_filters::LevelFilter::INFO.into())
        .from_env()
        .map_err(TelemetryError::ParseFilter)?;
    let log_lines = match config.log_format {
        // Colours only on a terminal: a log file or collector gets plain text.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let (tracer_provider, exporter_problem) = match config.otlp_endpoint.as_deref() {
        None | Some("") => (None, None),
        Some(endpoint) => match otlp_tracer_provider(config.service_name, endpoint) {
            Ok(provider) => (Some(provider), None),
            Err(error) => (None, Some(format!("not exporting traces to {endpoint}: {error}"))),
        },
    };
    crate::trace_context::install_propagator();

    tracing_subscriber::registry()
        .with(filter)
        .with(log_lines)
        .with(trace_layer(tracer_provider.as_ref(), config.service_name))
        .try_init()
        .map_err(TelemetryError::InstallSubscriber)?;

    match (&exporter_problem, &config.otlp_endpoint) {
        (Some(problem), _) => tracing::warn!("{problem}"),
        (None, Some(endpoint)) if !endpoint.is_empty() => {
            tracing::info!(%endpoint, "exporting traces over OTLP");
        }
        _ => {}
    }
    Ok(TelemetryGuard { tracer_provider })
}

/// The OpenTelemetry layer: spans of `provider`'s tracer, or without an exporter the no-op
/// tracer's. Those record nothing and get no ids of their own, but a span given a remote
/// parent (an incoming `traceparent`) hands that context on to its children, so a process
/// that exports nothing still passes a trace on unchanged instead of cutting it.
pub(crate) fn trace_layer<S>(
    provider: Option<&SdkTracerProvider>,
    service_name: &'static str,
) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    match provider {
        Some(provider) => tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service_name))
            // The exporter's own gRPC stack must not trace into itself.
            .with_filter(filter_fn(|metadata| !is_exporter_internal(metadata.target())))
            .boxed(),
        // Events would become span events only to be dropped: spans alone carry the context.
        None => tracing_opentelemetry::layer().with_filter(filter_fn(|metadata| metadata.is_span())).boxed(),
    }
}

fn otlp_tracer_provider(
    service_name: &'static str,
    endpoint: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    // The tonic channel connects lazily, so building succeeds without a collector.
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build())
}

fn is_exporter_internal(target: &str) -> bool {
    ["h2", "tonic", "tower", "hyper", "opentelemetry"].iter().any(|prefix| target.starts_with(prefix))
}
