//! Pure: whether an owned object must be written, and why.
//!
//! The desired object carries the hash of what was last applied (an annotation), so a changed
//! spec is seen without comparing anything. An object someone else edited (`kubectl edit`) or
//! deleted still carries the old hash, or is gone: it is compared field by field with what is
//! desired. Only the fields we set count: everything the apiserver or other controllers add
//! (defaults, status, a cluster IP) is left alone, so an unchanged cluster costs no write.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use kube::ResourceExt;

/// Hash of the desired object last applied; equal hashes mean the spec did not change.
pub const DESIRED_HASH_ANNOTATION: &str = "koperator-rs.io/desired-hash";

/// Why an object is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyReason {
    Missing,
    /// What the operator wants changed (new spec, new operator version).
    Changed,
    /// Someone else changed or removed fields the operator sets; the paths name them.
    Drifted {
        paths: Vec<String>,
    },
    /// The operator never applied it (no desired-hash): another operator made it, e.g.
    /// Koperator before a takeover. Its field managers, as the apiserver records them.
    Foreign {
        managers: Vec<String>,
    },
}

/// A stable hash of an object's serialized form (object maps serialize in sorted order).
pub fn content_hash(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).expect("k8s-openapi objects and CRDs serialize (string keys only)");
    let digest = Sha256::digest(&bytes);
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Whether `desired` (without its hash annotation yet) must be applied over `observed`.
pub fn apply_reason<K>(desired: &K, observed: Option<&K>) -> Option<ApplyReason>
where
    K: Serialize + ResourceExt,
{
    let Some(observed) = observed else { return Some(ApplyReason::Missing) };
    let hash = content_hash(desired);
    match observed.annotations().get(DESIRED_HASH_ANNOTATION) {
        None => {
            let mut managers: Vec<String> =
                observed.managed_fields().iter().filter_map(|entry| entry.manager.clone()).collect();
            managers.sort();
            managers.dedup();
            return Some(ApplyReason::Foreign { managers });
        }
        Some(applied) if *applied != hash => return Some(ApplyReason::Changed),
        Some(_) => {}
    }
    let desired = serde_json::to_value(desired).expect("serializable, see content_hash");
    let observed = serde_json::to_value(observed).expect("serializable, see content_hash");
    let mut paths = Vec::new();
    differences(&desired, &observed, String::new(), &mut paths);
    (!paths.is_empty()).then_some(ApplyReason::Drifted { paths })
}

/// `desired` with the hash annotation that marks it as applied.
pub fn stamped<K>(mut desired: K) -> K
where
    K: Serialize + ResourceExt,
{
    let hash = content_hash(&desired);
    desired.annotations_mut().insert(DESIRED_HASH_ANNOTATION.to_owned(), hash);
    desired
}

/// The paths where `observed` does not hold what `desired` says. Absent, null, empty lists and
/// empty maps count as the same (the apiserver drops empty values); quantities compare by value
/// (it writes `1Gi` for `1024Mi`); lists compare element by element.
pub fn differences(desired: &Value, observed: &Value, path: String, found: &mut Vec<String>) {
    match (desired, observed) {
        (Value::Object(wanted), Value::Object(held)) => {
            for (key, value) in wanted {
                let child = format!("{path}/{key}");
                match held.get(key) {
                    Some(held) => differences(value, held, child, found),
                    None if is_empty(value) => {}
                    None => found.push(child),
                }
            }
        }
        (Value::Array(wanted), Value::Array(held)) if wanted.len() == held.len() => {
            for (index, (value, held)) in wanted.iter().zip(held).enumerate() {
                differences(value, held, format!("{path}/{index}"), found);
            }
        }
        (Value::String(wanted), Value::String(held)) if wanted == held || same_quantity(wanted, held) => {}
        (wanted, held) if wanted == held || (is_empty(wanted) && is_empty(held)) => {}
        _ => found.push(if path.is_empty() { "/".to_owned() } else { path }),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Whether two strings are the same Kubernetes quantity written differently.
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity_value(a), quantity_value(b)) {
        (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()),
        _ => false,
    }
}

/// A quantity's value (`1Gi`, `500m`, `2`, `1e3`); None for anything else.
fn quantity_value(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let starts_like_a_number = text.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if !starts_like_a_number {
        return None;
    }
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    fn config_map(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta { name: Some("kafka-config-0".into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn missing_changed_and_in_sync() {
        let desired = config_map(&[("broker-config", "a=1")]);
        assert_eq!(apply_reason(&desired, None), Some(ApplyReason::Missing));
        let applied = stamped(desired.clone());
        assert_eq!(apply_reason(&desired, Some(&applied)), None);
        let changed = config_map(&[("broker-config", "a=2")]);
        assert_eq!(apply_reason(&changed, Some(&applied)), Some(ApplyReason::Changed));
        // Never applied by this operator, even if equal: another operator's object.
        assert_eq!(apply_reason(&desired, Some(&desired)), Some(ApplyReason::Foreign { managers: vec![] }));
    }

    #[test]
    fn an_edit_by_someone_else_is_drift() {
        let desired = config_map(&[("broker-config", "a=1")]);
        let mut edited = stamped(desired.clone());
        edited.data = Some([("broker-config".to_owned(), "a=1\nb=2".to_owned())].into());
        assert_eq!(
            apply_reason(&desired, Some(&edited)),
            Some(ApplyReason::Drifted { paths: vec!["/data/broker-config".into()] })
        );
        // Additions the operator does not set (another controller's label) are not drift.
        let mut labelled = stamped(desired.clone());
        labelled.labels_mut().insert("team".into(), "a".into());
        assert_eq!(apply_reason(&desired, Some(&labelled)), None);
    }

    #[test]
    fn apiserver_defaults_and_normal_forms_are_not_drift() {
        let desired = Service {
            metadata: ObjectMeta { name: Some("kafka-headless".into()), ..Default::default() },
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                ports: Some(vec![ServicePort { name: Some("tcp-internal".into()), port: 29092, ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut served = serde_json::to_value(stamped(desired.clone())).expect("json");
        served["spec"]["ports"][0]["protocol"] = json!("TCP");
        served["spec"]["ports"][0]["targetPort"] = json!(29092);
        served["spec"]["clusterIPs"] = json!(["None"]);
        served["spec"]["sessionAffinity"] = json!("None");
        served["metadata"]["resourceVersion"] = json!("42");
        let served: Service = serde_json::from_value(served).expect("a Service");
        assert_eq!(apply_reason(&desired, Some(&served)), None);
    }

    #[test]
    fn quantities_compare_by_value_and_empty_values_match_absent_ones() {
        let mut found = Vec::new();
        differences(
            &json!({"limits": {"memory": "1024Mi", "cpu": "0.5"}, "env": [], "labels": {}}),
            &json!({"limits": {"memory": "1Gi", "cpu": "500m"}}),
            String::new(),
            &mut found,
        );
        assert!(found.is_empty(), "{found:?}");
        differences(&json!({"memory": "2Gi"}), &json!({"memory": "1Gi"}), String::new(), &mut found);
        differences(&json!({"ports": [1, 2]}), &json!({"ports": [1]}), String::new(), &mut found);
        differences(&json!({"name": "1e3"}), &json!({"name": "1k"}), String::new(), &mut found);
        assert_eq!(found, vec!["/memory", "/ports"]);
    }
}
