//! PersistentVolumeClaims for a broker's log dirs, one per storage config with a `pvcSpec`.

use std::collections::BTreeMap;

use crd_types::kafka_cluster::StorageConfig;
use crd_types::labels::MOUNT_PATH_ANNOTATION;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels::{broker_labels, owner_reference};
use crate::model::{BrokerModel, ValidatedCluster};

/// Claims keyed by mount path. `<n>` in the generateName is the storage config's position in the
/// merged `storageConfigs` (the pod's volume `kafka-data-<n>` uses the same index); claims are
/// matched back by their `mountPath` annotation, never by name.
pub fn broker_claims(cluster: &ValidatedCluster, broker: &BrokerModel) -> BTreeMap<String, PersistentVolumeClaim> {
    broker
        .config
        .storage_configs
        .iter()
        .enumerate()
        .filter_map(|(index, storage)| {
            let spec = storage.pvc_spec.as_ref()?;
            Some((storage.mount_path.clone(), claim(cluster, broker.id, index, storage, spec)))
        })
        .collect()
}

fn claim(
    cluster: &ValidatedCluster,
    broker_id: i32,
    index: usize,
    storage: &StorageConfig,
    spec: &PersistentVolumeClaimSpec,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-{broker_id}-storage-{index}-", cluster.name)),
            namespace: Some(cluster.namespace.clone()),
            labels: Some(broker_labels(cluster, broker_id)),
            annotations: Some([(MOUNT_PATH_ANNOTATION.to_string(), storage.mount_path.clone())].into()),
            owner_references: Some(vec![owner_reference(cluster)]),
            ..Default::default()
        },
        spec: Some(fill_placeholders(spec, broker_id, &storage.mount_path)),
        status: None,
    }
}

/// Replaces Koperator's Go-template placeholders `{{ .BrokerId }}` and `{{ .MountPath }}` (any
/// spacing) anywhere in the spec, e.g. in a selector's labels or a storage class name.
pub fn fill_placeholders(
    spec: &PersistentVolumeClaimSpec,
    broker_id: i32,
    mount_path: &str,
) -> PersistentVolumeClaimSpec {
    const SERIALIZES: &str = "a claim spec and a string serialize";
    let json = serde_json::to_string(spec).expect(SERIALIZES);
    // Values land inside JSON strings, so they are escaped the way JSON escapes them.
    let mount_path_json = serde_json::to_string(mount_path).expect(SERIALIZES);
    let mount_path_escaped = &mount_path_json[1..mount_path_json.len() - 1];
    let filled = replace_placeholders(&json, |name| match name {
        ".BrokerId" => Some(broker_id.to_string()),
        ".MountPath" => Some(mount_path_escaped.to_string()),
        _ => None,
    });
    serde_json::from_str(&filled).expect("placeholders are replaced by JSON-escaped text inside strings")
}

/// `{{ <name> }}` → `value(name)`; unknown placeholders stay as written.
fn replace_placeholders(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| value(after[..end].trim()).map(|v| (end, v))) {
            Some((end, replacement)) => {
                out.push_str(&replacement);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    #[test]
    fn placeholders_are_replaced_everywhere() {
        let spec = PersistentVolumeClaimSpec {
            storage_class_name: Some("class-{{ .BrokerId }}".into()),
            selector: Some(LabelSelector {
                match_labels: Some(
                    [
                        ("broker".to_string(), "{{.BrokerId}}".to_string()),
                        ("path".to_string(), "x{{  .MountPath }}".to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            }),
            volume_name: Some("{{ .Unknown }}-{{ .BrokerId".into()),
            ..Default::default()
        };
        let filled = fill_placeholders(&spec, 7, "/kafka-logs");
        assert_eq!(filled.storage_class_name.as_deref(), Some("class-7"));
        let labels = filled.selector.and_then(|s| s.match_labels).expect("labels");
        assert_eq!(labels["broker"], "7");
        assert_eq!(labels["path"], "x/kafka-logs");
        assert_eq!(filled.volume_name.as_deref(), Some("{{ .Unknown }}-{{ .BrokerId"));
    }

    #[test]
    fn mount_paths_needing_json_escapes_survive() {
        let spec = PersistentVolumeClaimSpec { volume_name: Some("{{ .MountPath }}".into()), ..Default::default() };
        let filled = fill_placeholders(&spec, 0, "/odd\"path\\");
        assert_eq!(filled.volume_name.as_deref(), Some("/odd\"path\\"));
    }
}
