//! The JSON merge patch (RFC 7386) that turns one document into another (pure).
//!
//! A merge patch merges nested objects instead of replacing them, so writing a new status as
//! is would keep fields of the old task that the new one no longer has (`id`, `summary`...
//! after a retry). The patch therefore names every removed field with `null`.

use serde_json::{Map, Value};

/// The patch that makes `from` into `to`; `None` when they are equal.
pub fn diff(from: &Value, to: &Value) -> Option<Value> {
    if from == to {
        return None;
    }
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => {
            let mut patch = Map::new();
            for (key, new) in to {
                match from.get(key) {
                    Some(old) => {
                        if let Some(change) = diff(old, new) {
                            patch.insert(key.clone(), change);
                        }
                    }
                    None => {
                        patch.insert(key.clone(), new.clone());
                    }
                }
            }
            for key in from.keys().filter(|key| !to.contains_key(*key)) {
                patch.insert(key.clone(), Value::Null);
            }
            Some(Value::Object(patch))
        }
        // Arrays and scalars are replaced whole. A null inside `to` cannot be said in a
        // merge patch (it means "remove"); serialized statuses skip nulls, so none occur.
        _ => Some(to.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::diff;

    /// RFC 7386's merge, to check that applying the patch gives the target.
    fn apply(target: &mut serde_json::Value, patch: &serde_json::Value) {
        let Some(patch) = patch.as_object() else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = json!({});
        }
        let Some(object) = target.as_object_mut() else { return };
        for (key, value) in patch {
            if value.is_null() {
                object.remove(key);
            } else {
                apply(object.entry(key.clone()).or_insert(serde_json::Value::Null), value);
            }
        }
    }

    #[test]
    fn equal_documents_need_no_patch() {
        let status = json!({"status": {"retryCount": 1, "currentTask": {"id": "a"}}});
        assert_eq!(diff(&status, &status), None);
    }

    #[test]
    fn removed_fields_are_nulled_and_changed_ones_set() {
        let from = json!({"status": {"retryCount": 0, "currentTask": {"id": "a", "state": "CompletedWithError",
            "summary": {"x": "1"}, "operation": "add_broker"}, "conditions": [{"type": "Ready"}]}});
        let to = json!({"status": {"retryCount": 1, "currentTask": {"operation": "add_broker", "started": "t"},
            "failedTasks": [{"id": "a"}], "conditions": [{"type": "Ready"}]}});
        let patch = diff(&from, &to).expect("a change");
        assert_eq!(
            patch,
            json!({"status": {"retryCount": 1, "failedTasks": [{"id": "a"}],
                "currentTask": {"id": null, "state": null, "summary": null, "started": "t"}}})
        );
        let mut applied = from.clone();
        apply(&mut applied, &patch);
        assert_eq!(applied, to);
    }

    #[test]
    fn arrays_are_replaced_whole() {
        let patch = diff(&json!({"a": [1, 2]}), &json!({"a": [2]})).expect("a change");
        assert_eq!(patch, json!({"a": [2]}));
    }
}
