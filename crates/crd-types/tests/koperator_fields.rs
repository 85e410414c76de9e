//! Our CRD schemas declare every field of Koperator's API, field by field: the paths in
//! `fixtures/koperator/field-paths.txt` (written from Koperator's published API, see
//! `field_paths.py` beside it) must each lead somewhere in our schema, so the apiserver neither
//! rejects (strict decoding) nor prunes a field a Koperator manifest or status sets.

mod support;

use serde_json::Value;
use support::{repo_root, schema_of};

/// One line of the fixture: kind, path and, for an embedded Kubernetes type, its name.
struct KoperatorField {
    kind: String,
    path: String,
    embedded_type: Option<String>,
}

fn koperator_fields() -> Vec<KoperatorField> {
    let path = repo_root().join("crates/crd-types/tests/fixtures/koperator/field-paths.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            KoperatorField {
                kind: words.next().expect("a kind").to_owned(),
                path: words.next().unwrap_or_else(|| panic!("no path in {line:?}")).to_owned(),
                embedded_type: words.next().map(str::to_owned),
            }
        })
        .collect()
}

/// Where `path` (`spec.brokers[].brokerConfig.affinity`, `*` a map value) leads in `schema`:
/// `Ok(None)` when a preserve-unknown-fields object above it keeps it as written.
fn schema_at<'a>(schema: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let mut node = schema;
    for segment in path.split('.') {
        if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return Ok(None);
        }
        let (name, array_items) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        node = if name == "*" {
            node.get("additionalProperties").filter(|values| values.is_object())
        } else {
            node.get("properties").and_then(|properties| properties.get(name))
        }
        .ok_or_else(|| format!("no `{name}`"))?;
        if array_items {
            node = node.get("items").ok_or_else(|| format!("`{name}` is not an array"))?;
        }
    }
    Ok(Some(node))
}

#[test]
fn every_koperator_field_is_in_our_schemas() {
    let fields = koperator_fields();
    assert!(fields.len() > 250, "the fixture lists only {} fields", fields.len());
    let schemas: std::collections::BTreeMap<&str, Value> =
        ["KafkaCluster", "KafkaTopic", "KafkaUser", "CruiseControlOperation"]
            .map(|kind| (kind, schema_of(kind)))
            .into();
    let mut missing = Vec::new();
    for field in &fields {
        let schema = schemas.get(field.kind.as_str()).unwrap_or_else(|| panic!("unknown kind {}", field.kind));
        match schema_at(schema, &field.path) {
            Err(reason) => missing.push(format!("{} {}: {reason}", field.kind, field.path)),
            // An embedded Kubernetes type must be typed in our schema too, not a bare scalar.
            Ok(Some(node)) if field.embedded_type.is_some() => {
                let typed = ["properties", "items", "x-kubernetes-preserve-unknown-fields"]
                    .iter()
                    .any(|key| node.get(key).is_some());
                if !typed {
                    missing.push(format!("{} {}: not a {:?}", field.kind, field.path, field.embedded_type));
                }
            }
            Ok(_) => {}
        }
    }
    assert!(missing.is_empty(), "fields of Koperator's API our CRDs lack:\n{}", missing.join("\n"));
}

#[test]
fn a_field_koperator_lacks_is_found_missing() {
    // The walk itself must be able to fail, or the test above proves nothing.
    let schema = schema_of("KafkaCluster");
    assert!(schema_at(&schema, "spec.noSuchField").is_err());
    assert!(schema_at(&schema, "spec.brokers[].noSuchField").is_err());
    assert!(schema_at(&schema, "spec.brokerConfigGroups.*.storageConfigs[].mountPath").expect("declared").is_some());
}
