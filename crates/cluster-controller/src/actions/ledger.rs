//! The actions already carried out, by idempotency key, kept in an annotation on the
//! KafkaCluster itself.
//!
//! Why an annotation rather than a ConfigMap: the action (a change of `spec.brokers`) and its
//! record go to the apiserver in ONE patch guarded by the cluster's resourceVersion, so either
//! both happen or neither does. With a ConfigMap, a crash or a lost leadership between the two
//! writes would either repeat the action or lose its record. Living in the apiserver, the record
//! survives controller restarts and leader changes; bounded to the newest [`CAPACITY`] entries
//! (a few kilobytes), which covers Alertmanager's repeats by far (they come minutes apart).

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crd_types::KafkaCluster;

/// Annotation holding the ledger as a JSON list, oldest first.
pub const ANNOTATION: &str = "koperator-rs.io/alert-actions";
/// Entries kept; the oldest go first.
pub const CAPACITY: usize = 100;

/// One action carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub key: String,
    /// What was done, e.g. "added broker 3 (brokerConfigGroup broker)".
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<i32>,
    /// When, RFC 3339.
    pub at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// The ledger of `cluster`; an annotation that does not parse (edited by hand) counts as
    /// empty rather than blocking every action.
    pub fn of(cluster: &KafkaCluster) -> Self {
        let entries =
            cluster.annotations().get(ANNOTATION).and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
        Self { entries }
    }

    pub fn find(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }

    /// Adds an entry now, dropping the oldest beyond [`CAPACITY`].
    pub fn record(&mut self, key: &str, action: &str, broker_id: Option<i32>) {
        self.record_at(key, action, broker_id, Timestamp::now());
    }

    fn record_at(&mut self, key: &str, action: &str, broker_id: Option<i32>, at: Timestamp) {
        self.entries.push(Entry { key: key.to_owned(), action: action.to_owned(), broker_id, at: at.to_string() });
        let excess = self.entries.len().saturating_sub(CAPACITY);
        self.entries.drain(..excess);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The annotation value.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(&self.entries).unwrap_or_else(|_| "[]".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_with(annotation: Option<&str>) -> KafkaCluster {
        let mut cluster = KafkaCluster::new("kafka", Default::default());
        if let Some(value) = annotation {
            cluster.annotations_mut().insert(ANNOTATION.to_owned(), value.to_owned());
        }
        cluster
    }

    #[test]
    fn recorded_keys_survive_the_round_trip_through_the_annotation() {
        let mut ledger = Ledger::of(&cluster_with(None));
        assert_eq!(ledger.len(), 0);
        ledger.record("fp/2026-01-01T00:00:00Z/upScale", "added broker 3", Some(3));
        let reread = Ledger::of(&cluster_with(Some(&ledger.to_annotation())));
        let entry = reread.find("fp/2026-01-01T00:00:00Z/upScale").expect("recorded");
        assert_eq!(entry.broker_id, Some(3));
        assert!(reread.find("other").is_none());
    }

    #[test]
    fn the_oldest_entries_go_beyond_capacity() {
        let mut ledger = Ledger::default();
        for n in 0..CAPACITY + 5 {
            ledger.record_at(&format!("key-{n}"), "grew", None, Timestamp::UNIX_EPOCH);
        }
        assert_eq!(ledger.len(), CAPACITY);
        assert!(ledger.find("key-4").is_none());
        assert!(ledger.find("key-5").is_some());
        assert!(ledger.find(&format!("key-{}", CAPACITY + 4)).is_some());
    }

    #[test]
    fn a_hand_edited_annotation_does_not_block_actions() {
        assert_eq!(Ledger::of(&cluster_with(Some("not json"))), Ledger::default());
    }
}
