//! addPvc and resizePvc: a volume added to one broker, or one of its volumes grown. Both are
//! written into the broker's own `brokerConfig.storageConfigs`, which win over its group's per
//! mount path, so the other brokers of the group keep their disks and the spec stays the truth.

use std::collections::BTreeMap;

use crd_types::kafka_cluster::{BrokerConfig, StorageConfig};
use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{Rejection, SpecChange};
use crate::model::{BrokerModel, ValidatedCluster};

/// A volume to add.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewDisk {
    /// Exact mount path; when empty, `mount_path_prefix` plus the next free index.
    pub mount_path: String,
    pub mount_path_prefix: String,
    pub size: String,
    /// Empty: the cluster's default StorageClass.
    pub storage_class: String,
}

/// How much a volume grows.
#[derive(Clone, Debug, PartialEq)]
pub enum Growth {
    /// To this size.
    To(String),
    /// By this much over what the spec asks for now.
    By(String),
}

/// A grown volume: the spec change and the new size for the claim.
#[derive(Clone, Debug, PartialEq)]
pub struct GrownDisk {
    pub change: SpecChange,
    pub mount_path: String,
    pub new_size: String,
    pub new_size_bytes: u128,
}

pub fn add_disk(cluster: &ValidatedCluster, broker_id: i32, disk: &NewDisk) -> Result<SpecChange, Rejection> {
    let model = broker(cluster, broker_id)?;
    let used: Vec<&str> = model.config.storage_configs.iter().map(|s| s.mount_path.as_str()).collect();
    let mount_path = if disk.mount_path.is_empty() {
        let prefix = disk.mount_path_prefix.trim_end_matches('/');
        if !prefix.starts_with('/') {
            return Err(Rejection::InvalidArgument(format!("mount path prefix {prefix:?} is not an absolute path")));
        }
        (1..).map(|index| format!("{prefix}-{index}")).find(|path| !used.contains(&path.as_str())).unwrap_or_default()
    } else if used.contains(&disk.mount_path.as_str()) {
        return Err(Rejection::AlreadyHolds(format!("broker {broker_id} already has a volume at {}", disk.mount_path)));
    } else {
        disk.mount_path.clone()
    };
    let storage = storage_config(disk, &mount_path)?;
    let brokers = with_own_storage(cluster, broker_id, storage);
    Ok(SpecChange {
        brokers,
        broker_id,
        summary: format!("added a {} volume at {mount_path} to broker {broker_id}", disk.size),
    })
}

pub fn grow_disk(
    cluster: &ValidatedCluster,
    broker_id: i32,
    mount_path: &str,
    growth: &Growth,
) -> Result<GrownDisk, Rejection> {
    let model = broker(cluster, broker_id)?;
    let storage = model
        .config
        .storage_configs
        .iter()
        .find(|s| s.mount_path == mount_path)
        .ok_or_else(|| Rejection::NotFound(format!("broker {broker_id} has no volume at {mount_path}")))?;
    let pvc_spec = storage.pvc_spec.as_ref().ok_or_else(|| {
        Rejection::InvalidArgument(format!("the volume at {mount_path} of broker {broker_id} is an emptyDir"))
    })?;
    let current = pvc_spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default();
    let current_bytes = bytes(&current).map_err(|e| Rejection::InvalidArgument(e.to_string()))?;
    let new_bytes = match growth {
        Growth::To(size) => bytes(size).map_err(|e| Rejection::InvalidArgument(e.to_string()))?,
        Growth::By(increment) => {
            current_bytes.saturating_add(bytes(increment).map_err(|e| Rejection::InvalidArgument(e.to_string()))?)
        }
    };
    if new_bytes == current_bytes {
        return Err(Rejection::AlreadyHolds(format!(
            "the volume at {mount_path} of broker {broker_id} is already {current}"
        )));
    }
    if new_bytes < current_bytes {
        return Err(Rejection::InvalidArgument(format!(
            "the volume at {mount_path} of broker {broker_id} is {current}; Kubernetes cannot shrink a claim"
        )));
    }
    let new_size = format_bytes(new_bytes);
    let mut grown = storage.clone();
    if let Some(spec) = grown.pvc_spec.as_mut() {
        let mut resources = spec.resources.clone().unwrap_or_default();
        resources.requests.get_or_insert_with(BTreeMap::new).insert("storage".to_owned(), Quantity(new_size.clone()));
        spec.resources = Some(resources);
    }
    let brokers = with_own_storage(cluster, broker_id, grown);
    let summary = format!("grew the volume at {mount_path} of broker {broker_id} from {current} to {new_size}");
    Ok(GrownDisk {
        change: SpecChange { brokers, broker_id, summary },
        mount_path: mount_path.to_owned(),
        new_size,
        new_size_bytes: new_bytes,
    })
}

/// The storage config of a new volume at `mount_path`.
pub fn storage_config(disk: &NewDisk, mount_path: &str) -> Result<StorageConfig, Rejection> {
    bytes(&disk.size).map_err(|e| Rejection::InvalidArgument(e.to_string()))?;
    Ok(StorageConfig {
        mount_path: mount_path.to_owned(),
        pvc_spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(requests(&disk.size)),
            storage_class_name: Some(disk.storage_class.clone()).filter(|class| !class.is_empty()),
            ..Default::default()
        }),
        empty_dir: None,
        tiered_storage_cache: None,
    })
}

fn broker(cluster: &ValidatedCluster, id: i32) -> Result<&BrokerModel, Rejection> {
    cluster
        .brokers
        .iter()
        .find(|b| b.id == id)
        .ok_or_else(|| Rejection::NotFound(format!("broker {id} is not in spec.brokers")))
}

fn requests(size: &str) -> VolumeResourceRequirements {
    VolumeResourceRequirements {
        requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(size.to_owned()))])),
        ..Default::default()
    }
}

/// spec.brokers with `storage` in broker `id`'s own storageConfigs (replacing the entry of the
/// same mount path).
fn with_own_storage(
    cluster: &ValidatedCluster,
    id: i32,
    storage: StorageConfig,
) -> Vec<crd_types::kafka_cluster::Broker> {
    let mut brokers = cluster.spec.brokers.clone();
    for broker in brokers.iter_mut().filter(|b| b.id == id) {
        let own = broker.broker_config.get_or_insert_with(BrokerConfig::default);
        match own.storage_configs.iter_mut().find(|s| s.mount_path == storage.mount_path) {
            Some(existing) => *existing = storage.clone(),
            None => own.storage_configs.push(storage.clone()),
        }
    }
    brokers
}

/// A quantity that is not a size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a size like 10Gi")]
pub struct NotASize(pub String);

/// Bytes of a Kubernetes quantity such as `10Gi`, `500M` or `1.5Gi`.
pub fn bytes(quantity: &str) -> Result<u128, NotASize> {
    let text = quantity.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let multiplier: u128 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        _ => return Err(NotASize(quantity.to_owned())),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let invalid = || NotASize(quantity.to_owned());
    if whole.is_empty() && fraction.is_empty() {
        return Err(invalid());
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
    let mut total = whole.checked_mul(multiplier).ok_or_else(invalid)?;
    if !fraction.is_empty() {
        let digits = u32::try_from(fraction.len()).map_err(|_| invalid())?;
        let scale = 10u128.checked_pow(digits).ok_or_else(invalid)?;
        let fraction: u128 = fraction.parse().map_err(|_| invalid())?;
        // Rounded up, as Kubernetes rounds a fractional byte count.
        total += (fraction * multiplier).div_ceil(scale);
    }
    Ok(total)
}

/// The largest binary unit that divides `bytes` exactly, e.g. `3Gi`, `1536Mi`.
pub fn format_bytes(bytes: u128) -> String {
    for (unit, size) in [("Ti", 1u128 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::actions::fixtures::cluster;

    fn disk(prefix: &str, size: &str) -> NewDisk {
        NewDisk { mount_path_prefix: prefix.into(), size: size.into(), ..Default::default() }
    }

    #[test]
    fn an_added_disk_takes_the_next_free_index_in_the_brokers_own_config() {
        let change = add_disk(&cluster(json!({})), 1, &disk("/kafka-logs", "2Gi")).expect("added");
        let own = change.brokers.iter().find(|b| b.id == 1).and_then(|b| b.broker_config.as_ref()).expect("own");
        assert_eq!(own.storage_configs[0].mount_path, "/kafka-logs-1");
        assert!(change.brokers.iter().filter(|b| b.id != 1).all(|b| b.broker_config.is_none()));
        let taken = json!({"brokers": [{"id": 1, "brokerConfigGroup": "broker", "brokerConfig": {"storageConfigs": [
            {"mountPath": "/kafka-logs-1", "emptyDir": {}}]}}, {"id": 10, "brokerConfigGroup": "controller"}]});
        let change = add_disk(&cluster(taken), 1, &disk("/kafka-logs/", "2Gi")).expect("added");
        let own = change.brokers[0].broker_config.as_ref().expect("own");
        assert_eq!(own.storage_configs[1].mount_path, "/kafka-logs-2");
        assert!(matches!(add_disk(&cluster(json!({})), 1, &disk("/d", "lots")), Err(Rejection::InvalidArgument(_))));
        assert!(matches!(add_disk(&cluster(json!({})), 9, &disk("/d", "1Gi")), Err(Rejection::NotFound(_))));
    }

    #[test]
    fn growing_raises_only_this_brokers_request() {
        let grown = grow_disk(&cluster(json!({})), 0, "/kafka-logs", &Growth::By("1Gi".into())).expect("grown");
        assert_eq!(grown.new_size, "2Gi");
        assert_eq!(grown.change.summary, "grew the volume at /kafka-logs of broker 0 from 1Gi to 2Gi");
        let own = grown.change.brokers[0].broker_config.as_ref().expect("own config");
        let request = own.storage_configs[0].pvc_spec.as_ref().and_then(|s| s.resources.as_ref());
        let request = request.and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
        assert_eq!(request.map(|q| q.0.as_str()), Some("2Gi"));
        assert!(grown.change.brokers[1].broker_config.is_none());
        let same = grow_disk(&cluster(json!({})), 0, "/kafka-logs", &Growth::To("1Gi".into()));
        assert!(matches!(same, Err(Rejection::AlreadyHolds(_))), "{same:?}");
        let smaller = grow_disk(&cluster(json!({})), 0, "/kafka-logs", &Growth::To("512Mi".into()));
        assert!(matches!(smaller, Err(Rejection::InvalidArgument(_))), "{smaller:?}");
        let missing = grow_disk(&cluster(json!({})), 0, "/elsewhere", &Growth::By("1Gi".into()));
        assert!(matches!(missing, Err(Rejection::NotFound(_))), "{missing:?}");
    }

    #[test]
    fn quantities_parse_to_bytes_and_back() {
        assert_eq!(bytes("1Gi"), Ok(1 << 30));
        assert_eq!(bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(bytes("500M"), Ok(500_000_000));
        assert_eq!(bytes("1024"), Ok(1024));
        assert!(bytes("ten gigs").is_err());
        assert!(bytes("Gi").is_err());
        assert_eq!(format_bytes(3 << 30), "3Gi");
        assert_eq!(format_bytes(3 << 29), "1536Mi");
        assert_eq!(format_bytes(1000), "1000");
    }
}
