//! The only code that calls librdkafka directly; the rest of the crate sees owned Rust values.
//!
//! Every admin request is made here rather than through rust-rdkafka's `AdminClient`, because
//! rust-rdkafka 0.39 has no IncrementalAlterConfigs, and its admin client drops what a
//! controller needs: create/delete/partition answers keep only the error code, not Kafka's
//! message ("Unknown topic config name: foo"), and DescribeConfigs ignores per-resource errors,
//! so a missing topic would read as a topic without overrides. It has no ACL or SCRAM calls at all.

mod acls;
mod configs;
mod request;
mod scram;
mod topics;

use std::ffi::{CStr, CString, c_char};

use rdkafka::bindings as rd;

use crate::error_code::ErrorCode;

pub(crate) use acls::{create_acls, delete_acls, describe_acls};
pub(crate) use configs::{alter_topic_configs, describe_topic_configs};
pub(crate) use request::{AdminCall, Pending, RequestFailure};
pub(crate) use scram::{alter_user_scram_credentials, describe_user_scram_credentials};
pub(crate) use topics::{create_partitions, create_topics, delete_topics};

/// librdkafka's description of an error code ("Broker: Leader not available").
pub(crate) fn error_description(code: ErrorCode) -> String {
    let Ok(code) = rd::rd_kafka_resp_err_t::try_from(code.code()) else {
        return format!("unknown error code {}", code.code());
    };
    // SAFETY: rd_kafka_err2str accepts any code and returns a static NUL-terminated string.
    unsafe { owned_string(rd::rd_kafka_err2str(code)) }.unwrap_or_default()
}

/// Copies a C string librdkafka owns; `None` for NULL.
///
/// # Safety
/// `text` must be NULL or point to a NUL-terminated string that stays valid during the call.
unsafe fn owned_string(text: *const c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated, by this function's contract.
    Some(unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

/// Names and values go to C as NUL-terminated strings; `checks` rejected interior NULs before.
fn c_string(text: &str) -> Result<CString, RequestFailure> {
    CString::new(text).map_err(|_| RequestFailure::invalid_argument(format!("{text:?} contains a NUL byte")))
}

/// A buffer librdkafka writes its error text into.
struct ErrorText([u8; 512]);

impl ErrorText {
    fn new() -> Self {
        Self([0; 512])
    }

    fn as_mut_ptr(&mut self) -> *mut c_char {
        self.0.as_mut_ptr().cast()
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }

    fn text(&self) -> String {
        CStr::from_bytes_until_nul(&self.0).map(|text| text.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// Native objects of one request (new topics, config resources, …), destroyed on drop.
/// librdkafka copies what it needs when the request is handed over, so these only live until then.
struct OwnedList<T> {
    items: Vec<*mut T>,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> OwnedList<T> {
    fn new(destroy: unsafe extern "C" fn(*mut T), capacity: usize) -> Self {
        Self { items: Vec::with_capacity(capacity), destroy }
    }

    /// Takes ownership of what a librdkafka constructor returned; `None` if it returned NULL.
    fn adopt(&mut self, item: *mut T) -> Option<*mut T> {
        if item.is_null() {
            return None;
        }
        self.items.push(item);
        Some(item)
    }

    fn as_mut_ptr(&mut self) -> *mut *mut T {
        self.items.as_mut_ptr()
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T> Drop for OwnedList<T> {
    fn drop(&mut self) {
        for &item in &self.items {
            // SAFETY: every item came from the librdkafka constructor matching `destroy`, is
            // owned by this list alone, and is destroyed exactly once.
            unsafe { (self.destroy)(item) };
        }
    }
}

/// The pointers librdkafka returns for an array of `count` results.
///
/// # Safety
/// `items` must be NULL or point to `count` pointers that stay valid while the slice is used.
unsafe fn result_slice<'a, T>(items: *const *const T, count: usize) -> &'a [*const T] {
    if items.is_null() || count == 0 {
        return &[];
    }
    // SAFETY: non-NULL and `count` long, by this function's contract.
    unsafe { std::slice::from_raw_parts(items, count) }
}
