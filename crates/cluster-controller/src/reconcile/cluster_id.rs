//! The KRaft cluster id: generated once, kept in `status.clusterID` for the cluster's life.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A new id in the form Kafka's `kafka-storage random-uuid` prints (a random UUID in
/// URL-safe base64 without padding). Like Kafka, never one starting with '-': command-line
/// parsers take that for an option (`kafka-storage format --cluster-id -x...` fails).
pub fn generate() -> String {
    loop {
        let id = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_a_kafka_uuid() {
        let id = super::generate();
        assert_eq!(id.len(), 22);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn never_starts_with_a_dash() {
        // One id in 64 would otherwise; 5,000 draws miss that with odds of about e^-78.
        assert!((0..5_000).map(|_| super::generate()).all(|id| !id.starts_with('-')));
    }
}
