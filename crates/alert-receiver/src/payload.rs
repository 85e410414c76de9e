//! Alertmanager's webhook payload, version 4 (the only version Alertmanager has sent since
//! 0.15). Fields this receiver does not use are ignored, so newer Alertmanagers still parse.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Why a body is not a webhook payload; the 400 answer says it.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not an Alertmanager webhook payload: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported payload version {0:?}; only version \"4\" is understood")]
    Version(String),
}

/// One webhook notification: a group of alerts.
#[derive(Debug, Deserialize)]
pub struct Notification {
    pub version: String,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    pub fn is_firing(&self) -> bool {
        self.status == "firing"
    }

    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// Alertmanager's fingerprint; for hand-made payloads without one, a hash of the labels,
    /// which is what Alertmanager's fingerprint is too.
    pub fn identity(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        // FNV-1a: stable across processes and replicas, unlike std's randomly seeded hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (key, value) in &self.labels {
            for byte in key.bytes().chain([0xff]).chain(value.bytes()).chain([0xfe]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }
}

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Notification, PayloadError> {
    let notification: Notification = serde_json::from_slice(body)?;
    if notification.version != "4" {
        return Err(PayloadError::Version(notification.version));
    }
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_4_payload_parses_and_unknown_fields_are_ignored() {
        let body = br#"{"version":"4","groupKey":"{}:{}","truncatedAlerts":0,"status":"firing","receiver":"r",
            "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","futureField":[1],
            "alerts":[{"status":"firing","labels":{"alertname":"Up","kafka_cr":"kafka"},"annotations":{"command":"upScale"},
            "startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"g","fingerprint":"ab12"}]}"#;
        let notification = parse(body).expect("parses");
        let alert = &notification.alerts[0];
        assert!(alert.is_firing());
        assert_eq!(alert.name(), "Up");
        assert_eq!(alert.annotation("command"), Some("upScale"));
        assert_eq!(alert.identity(), "ab12");
    }

    #[test]
    fn other_versions_and_non_payloads_are_rejected_with_a_reason() {
        let error = parse(br#"{"version":"3","alerts":[]}"#).expect_err("old version");
        assert!(error.to_string().contains("only version \"4\""), "{error}");
        assert!(parse(b"{not json").is_err());
        assert!(parse(br#"{"alerts":[]}"#).is_err(), "version is required");
        assert!(parse(br#"{"version":"4","alerts":[{"labels":{}}]}"#).is_err(), "status is required");
    }

    #[test]
    fn alerts_without_a_fingerprint_get_a_stable_one_from_their_labels() {
        let alert = |value: &str| Alert { labels: BTreeMap::from([("a".into(), value.into())]), ..Default::default() };
        assert_eq!(alert("x").identity(), alert("x").identity());
        assert_ne!(alert("x").identity(), alert("y").identity());
    }
}
