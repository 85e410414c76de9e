//! `spec.taintedBrokersSelector` (adobe/koperator): broker pods whose labels match it — a label
//! someone put on a live pod, e.g. a node-recycling tool parking it — are replaced once through
//! the health-gated roll. The replacement carries only the labels the operator gives, so it
//! does not match again; a selector that matches those labels too would replace pods forever,
//! and is ignored instead (with a warning).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` match `selector` as Kubernetes matches label selectors; an empty selector,
/// or one with an operator Kubernetes does not know, matches nothing (as in Koperator).
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = selector.match_labels.iter().flatten();
    let expressions = selector.match_expressions.iter().flatten();
    if selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
    {
        return false;
    }
    let labels_match = match_labels.into_iter().all(|(key, value)| labels.get(key) == Some(value));
    let expressions_match = expressions.into_iter().all(|requirement| {
        let values = requirement.values.as_deref().unwrap_or_default();
        let value = labels.get(&requirement.key);
        match requirement.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_match && expressions_match
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(value: serde_json::Value) -> LabelSelector {
        serde_json::from_value(value).expect("selector")
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn selectors_match_as_kubernetes_matches_them() {
        let parked = labels(&[("app", "kafka"), ("shredder.ethos.adobe.net/upgrade-status", "parked")]);
        let plain = labels(&[("app", "kafka")]);
        let by_label = selector(json!({"matchLabels": {"shredder.ethos.adobe.net/upgrade-status": "parked"}}));
        assert!(matches(&by_label, &parked));
        assert!(!matches(&by_label, &plain));
        let exists = selector(
            json!({"matchExpressions": [{"key": "shredder.ethos.adobe.net/upgrade-status", "operator": "Exists"}]}),
        );
        assert!(matches(&exists, &parked) && !matches(&exists, &plain));
        let not_in =
            selector(json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["zookeeper"]}]}));
        assert!(matches(&not_in, &plain));
        let in_ = selector(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["zookeeper"]}]}));
        assert!(!matches(&in_, &plain));
        let absent = selector(json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}));
        assert!(matches(&absent, &plain));
    }

    #[test]
    fn an_empty_or_unknown_selector_matches_nothing() {
        let plain = labels(&[("app", "kafka")]);
        assert!(!matches(&selector(json!({})), &plain));
        assert!(!matches(&selector(json!({"matchLabels": {}})), &plain));
        let unknown = selector(json!({"matchExpressions": [{"key": "app", "operator": "Like", "values": ["kafka"]}]}));
        assert!(!matches(&unknown, &plain));
    }
}
