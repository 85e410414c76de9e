//! Handing one admin request to librdkafka and waiting for its result event.

use std::ffi::c_int;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::bindings as rd;
use rdkafka::producer::Producer;

use super::{ErrorText, error_description, owned_string};
use crate::error_code::ErrorCode;
use crate::librdkafka_client::KafkaClient;

/// The request got no per-topic answer; the caller adds which operation it was.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct RequestFailure {
    pub code: ErrorCode,
    pub message: String,
}

impl RequestFailure {
    pub(crate) fn invalid_argument(message: String) -> Self {
        Self { code: ErrorCode::INVALID_ARGUMENT, message }
    }
}

/// The options of one admin request.
pub(crate) struct AdminCall {
    pub api: rd::rd_kafka_admin_op_t,
    /// librdkafka's overall timeout: broker lookup, sending, the broker's work, the answer.
    pub request_timeout: Duration,
    /// How long the controller may take to apply a create/delete before it answers; only the
    /// APIs that support it (CreateTopics, DeleteTopics, CreatePartitions) may set it.
    pub operation_timeout: Option<Duration>,
    pub validate_only: bool,
}

/// librdkafka answers every admin request by its request timeout, with a timed-out result if
/// need be; this margin only guards against that answer never coming.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// Hands a request to librdkafka: `call_api` gets the client, the options and a fresh reply
/// queue and must call one `rd_kafka_<Api>()`; `read` turns the result event into Rust values.
pub(crate) fn submit<T>(
    client: &Arc<KafkaClient>,
    call: &AdminCall,
    read: fn(&Event) -> Result<T, RequestFailure>,
    call_api: impl FnOnce(*mut rd::rd_kafka_t, *const rd::rd_kafka_AdminOptions_t, *mut rd::rd_kafka_queue_t),
) -> Result<Pending<T>, RequestFailure> {
    let rk = client.client().native_ptr();
    let options = AdminOptions::new(rk, call)?;
    // SAFETY: `rk` is a live client (`client` holds it); the queue returned is ours to destroy.
    let queue = NonNull::new(unsafe { rd::rd_kafka_queue_new(rk) })
        .map(Queue)
        .ok_or_else(|| RequestFailure { code: ErrorCode::FAIL, message: "failed to create a reply queue".into() })?;
    call_api(rk, options.0.as_ptr(), queue.0.as_ptr());
    let wait = call.request_timeout + ANSWER_GRACE;
    Ok(Pending { queue, _client: Arc::clone(client), wait, read })
}

/// A request handed to librdkafka, waiting for its result event.
///
/// Field order is drop order: the queue belongs to the client and is destroyed before this
/// request lets go of the client (which, if the `ClusterAdmin` is gone, destroys it).
pub(crate) struct Pending<T> {
    queue: Queue,
    /// Never read: held so that the client outlives its queue.
    _client: Arc<KafkaClient>,
    wait: Duration,
    read: fn(&Event) -> Result<T, RequestFailure>,
}

impl<T: Send + 'static> Pending<T> {
    /// Waits on a blocking-pool thread, since `rd_kafka_queue_poll` blocks. If the caller stops
    /// waiting, that thread still receives the answer and frees it.
    pub(crate) async fn answer(self) -> Result<T, RequestFailure> {
        let waiting = tokio::task::spawn_blocking(move || {
            // Moves the whole request (not just the fields used) into the task.
            let pending = self;
            let answer = pending.queue.next_event(pending.wait).and_then(|event| {
                event.check()?;
                (pending.read)(&event)
            });
            drop(pending);
            answer
        });
        waiting.await.map_err(|error| RequestFailure {
            code: ErrorCode::FAIL,
            message: format!("the task waiting for kafka's answer failed: {error}"),
        })?
    }
}

struct AdminOptions(NonNull<rd::rd_kafka_AdminOptions_t>);

impl AdminOptions {
    fn new(rk: *mut rd::rd_kafka_t, call: &AdminCall) -> Result<Self, RequestFailure> {
        // SAFETY: `rk` is a live client; the options returned are ours to destroy.
        let options = NonNull::new(unsafe { rd::rd_kafka_AdminOptions_new(rk, call.api) })
            .map(Self)
            .ok_or_else(|| RequestFailure::invalid_argument(format!("no admin options for {:?}", call.api)))?;
        let ptr = options.0.as_ptr();
        let mut error = ErrorText::new();
        let request_timeout = millis(call.request_timeout);
        // SAFETY: `ptr` is live; the error text is writable for its capacity. Same below.
        let code = unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(ptr, request_timeout, error.as_mut_ptr(), error.capacity())
        };
        check_option(code, &error)?;
        if let Some(timeout) = call.operation_timeout {
            // SAFETY: as above.
            let code = unsafe {
                rd::rd_kafka_AdminOptions_set_operation_timeout(
                    ptr,
                    millis(timeout),
                    error.as_mut_ptr(),
                    error.capacity(),
                )
            };
            check_option(code, &error)?;
        }
        if call.validate_only {
            // SAFETY: as above.
            let code =
                unsafe { rd::rd_kafka_AdminOptions_set_validate_only(ptr, 1, error.as_mut_ptr(), error.capacity()) };
            check_option(code, &error)?;
        }
        Ok(options)
    }
}

impl Drop for AdminOptions {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new, owned by self alone; librdkafka keeps a
        // copy of what a request needs, so destroying the options after the call is allowed.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0.as_ptr()) }
    }
}

fn check_option(code: rd::rd_kafka_resp_err_t, error: &ErrorText) -> Result<(), RequestFailure> {
    if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    Err(RequestFailure { code: code.into(), message: format!("failed to set admin options: {}", error.text()) })
}

fn millis(duration: Duration) -> c_int {
    c_int::try_from(duration.as_millis()).unwrap_or(c_int::MAX)
}

/// A reply queue made for one request.
struct Queue(NonNull<rd::rd_kafka_queue_t>);

// SAFETY: librdkafka queues are internally locked and may be polled and destroyed from any
// thread; this handle is used by one thread at a time.
unsafe impl Send for Queue {}

impl Queue {
    fn next_event(&self, wait: Duration) -> Result<Event, RequestFailure> {
        let deadline = Instant::now() + wait;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            // SAFETY: the queue is live while self is.
            let event = unsafe { rd::rd_kafka_queue_poll(self.0.as_ptr(), millis(remaining)) };
            if let Some(event) = NonNull::new(event) {
                return Ok(Event(event));
            }
            if remaining.is_zero() {
                return Err(RequestFailure {
                    code: ErrorCode::OPERATION_TIMED_OUT,
                    message: format!("no answer from librdkafka within {wait:?}"),
                });
            }
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new, owned by self alone. A result arriving later
        // is discarded by librdkafka.
        unsafe { rd::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

/// One result event; what `read` functions get.
pub(crate) struct Event(NonNull<rd::rd_kafka_event_t>);

impl Event {
    /// Valid while self is; results read through it point into the event.
    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_event_t {
        self.0.as_ptr()
    }

    /// The request-level error, if the request failed as a whole.
    fn check(&self) -> Result<(), RequestFailure> {
        // SAFETY: the event is live.
        let code = unsafe { rd::rd_kafka_event_error(self.as_ptr()) };
        if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Ok(());
        }
        let code = ErrorCode::from(code);
        // SAFETY: the event is live; the string it returns lives as long as the event.
        let message = unsafe { owned_string(rd::rd_kafka_event_error_string(self.as_ptr())) };
        Err(RequestFailure { code, message: message.unwrap_or_else(|| error_description(code)) })
    }

    pub(crate) fn wrong_type(&self, expected: &str) -> RequestFailure {
        // SAFETY: the event is live; event names are static strings.
        let name = unsafe { owned_string(rd::rd_kafka_event_name(self.as_ptr())) }.unwrap_or_default();
        RequestFailure { code: ErrorCode::FAIL, message: format!("expected a {expected} event, got {name}") }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: returned by rd_kafka_queue_poll, owned by self alone; nothing read from it
        // outlives it (everything is copied into Rust values first).
        unsafe { rd::rd_kafka_event_destroy(self.0.as_ptr()) }
    }
}
