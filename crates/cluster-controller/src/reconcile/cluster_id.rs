//! The KRaft cluster id: generated once, kept in `status.clusterID` for the cluster's life.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A new id in the form Kafka's `kafka-storage random-uuid` prints (a random UUID in
/// URL-safe base64 without padding).
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_a_kafka_uuid() {
        let id = super::generate();
        assert_eq!(id.len(), 22);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
