//! Koperator's status zero values. Koperator is written in Go and serializes every status
//! field that has no `omitempty`: a state it has not decided yet is the empty string
//! (`state: ""`, `cruiseControlState: ""`). Its CRDs declare these fields as plain strings; ours
//! list the values, so they also admit "" and our types read it as "not set" (`None`). That
//! lets Koperator write its status through our CRDs while the two run side by side.

use serde::{Deserialize, Deserializer};

/// `Option<T>` from a string field where Koperator's "" means absent.
pub fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(serde_json::Value::String(text)) if text.is_empty() => Ok(None),
        Some(value) => T::deserialize(value).map(Some).map_err(serde::de::Error::custom),
    }
}
