//! Firing alerts labelled `rollingupgrade`, which a rolling upgrade counts against its
//! `failureThreshold`; the status (`alertCount`, `rollingUpgradeStatus.errorCount`) is derived
//! from it by the reconciler.
//!
//! The set of firing fingerprints is kept in an annotation on the KafkaCluster (not only the
//! count), so that reports are idempotent: Alertmanager repeats notifications and several
//! receiver replicas report the same alert, and a set absorbs both where a counter would not.

use std::collections::BTreeSet;

use kube::ResourceExt;

use crd_types::KafkaCluster;

/// Annotation holding the firing fingerprints as a JSON list.
pub const ANNOTATION: &str = "koperator-rs.io/rolling-upgrade-alerts";
/// More distinct firing alerts than this are not told apart (the count stops growing); far
/// above any failureThreshold.
pub const CAPACITY: usize = 100;

/// The fingerprints the annotation of `cluster` lists.
pub fn firing(cluster: &KafkaCluster) -> BTreeSet<String> {
    cluster.annotations().get(ANNOTATION).and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

/// The firing set after a report.
pub fn after_report(before: &BTreeSet<String>, firing: &[String], resolved: &[String]) -> BTreeSet<String> {
    let mut after = before.clone();
    for fingerprint in firing.iter().filter(|f| !f.is_empty()) {
        if after.len() < CAPACITY || after.contains(fingerprint) {
            after.insert(fingerprint.clone());
        }
    }
    for fingerprint in resolved {
        after.remove(fingerprint);
    }
    after
}

/// The annotation value for `set`.
pub fn to_annotation(set: &BTreeSet<String>) -> String {
    serde_json::to_string(set).unwrap_or_else(|_| "[]".to_owned())
}

/// `status.alertCount` for `set`.
pub fn alert_count(set: &BTreeSet<String>) -> i32 {
    i32::try_from(set.len()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn repeated_reports_count_each_alert_once_and_resolution_removes_it() {
        let once = after_report(&BTreeSet::new(), &strings(&["a", "b"]), &[]);
        let again = after_report(&once, &strings(&["a", "b"]), &[]);
        assert_eq!(alert_count(&again), 2);
        let resolved = after_report(&again, &[], &strings(&["a"]));
        assert_eq!(resolved, BTreeSet::from(["b".to_owned()]));
        let mut cluster = KafkaCluster::new("kafka", Default::default());
        cluster.annotations_mut().insert(ANNOTATION.into(), to_annotation(&resolved));
        assert_eq!(firing(&cluster), resolved);
    }
}
