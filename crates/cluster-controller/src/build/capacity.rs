//! Cruise Control's `capacity.json`: what each broker can hold and carry, from the spec as
//! Koperator derives it. JBOD-aware: one DISK entry per log dir (the storage's mount path plus
//! `/kafka`, as in `log.dirs`) sized in MB from the claim's request or the emptyDir's limit;
//! CPU in percent of one core from the Kafka container's limit (its request when no limit);
//! NW_IN/NW_OUT in KB/s from `networkConfig`, default 125000 (1 Gbit/s).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Value, json};

use super::CruiseControlFacts;
use super::broker_config::log_dir;
use crate::model::{BrokerModel, UserCapacity, ValidatedCluster};

const DEFAULT_NETWORK_KBPS: &str = "125000";
const DEFAULT_CPU_PERCENT: &str = "100";
/// MB given to a log dir whose size is unknown (an emptyDir without sizeLimit): Koperator's
/// placeholder disk, 10 GiB in MB.
const UNKNOWN_DISK_MB: &str = "10737";
const DOC: &str = "Capacity unit used for disk is in MB, cpu is in percentage, network throughput is in KB.";

/// The user's entries first (they win for their brokers; a `-1` entry covers all brokers and is
/// used as written), then a generated entry for every other broker-role node, then the brokers
/// leaving the cluster: their previous entry, since Cruise Control still models them while it
/// drains them and their spec is gone.
pub fn capacity_json(cluster: &ValidatedCluster, user: &UserCapacity, facts: &CruiseControlFacts) -> String {
    let user_entries = match user {
        UserCapacity::Universal(text) => return text.clone(),
        UserCapacity::PerBroker(entries) => entries.as_slice(),
        UserCapacity::None => &[],
    };
    let mut listed: Vec<String> = user_entries.iter().map(|(id, _)| id.clone()).collect();
    let mut capacities: Vec<Value> = user_entries.iter().map(|(_, entry)| entry.clone()).collect();
    for broker in cluster.brokers.iter().filter(|b| b.is_broker()) {
        let id = broker.id.to_string();
        if !listed.contains(&id) {
            capacities.push(broker_capacity(broker));
            listed.push(id);
        }
    }
    let previous = previous_entries(facts.previous_capacity.as_deref());
    for id in &facts.departing_brokers {
        let id = id.to_string();
        if listed.contains(&id) {
            continue;
        }
        capacities.push(previous.get(&id).cloned().unwrap_or_else(|| placeholder_capacity(&id)));
        listed.push(id);
    }
    let document = json!({ "brokerCapacities": capacities });
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

fn broker_capacity(broker: &BrokerModel) -> Value {
    let disks: BTreeMap<String, String> = broker
        .config
        .storage_configs
        .iter()
        .filter_map(|storage| {
            let size = match (&storage.pvc_spec, &storage.empty_dir) {
                (Some(pvc), _) => pvc.resources.as_ref()?.requests.as_ref()?.get("storage").cloned(),
                (None, Some(empty_dir)) => empty_dir.size_limit.clone(),
                (None, None) => return None,
            };
            let megabytes = size.as_ref().and_then(quantity_value).map(|bytes| (bytes / 1e6).floor().max(1.0));
            let megabytes = megabytes.map_or_else(|| UNKNOWN_DISK_MB.to_owned(), |mb| format!("{mb:.0}"));
            Some((log_dir(&storage.mount_path), megabytes))
        })
        .collect();
    let resources = &broker.resources;
    let cpu = [&resources.limits, &resources.requests]
        .into_iter()
        .find_map(|quantities| quantities.as_ref()?.get("cpu").and_then(quantity_value))
        .map_or_else(|| DEFAULT_CPU_PERCENT.to_owned(), |cores| format!("{:.0}", (cores * 100.0).floor()));
    let network = broker.config.network_config.as_ref();
    let throughput = |value: Option<&String>| {
        value.map(|v| v.trim()).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_NETWORK_KBPS).to_owned()
    };
    json!({
        "brokerId": broker.id.to_string(),
        "capacity": {
            "DISK": disks,
            "CPU": cpu,
            "NW_IN": throughput(network.and_then(|n| n.incoming_network_throughput.as_ref())),
            "NW_OUT": throughput(network.and_then(|n| n.outgoing_network_throughput.as_ref())),
        },
        "doc": DOC,
    })
}

/// Koperator's stand-in for a departing broker whose previous capacity is unknown.
fn placeholder_capacity(id: &str) -> Value {
    json!({
        "brokerId": id,
        "capacity": {
            "DISK": { "/kafka-logs/kafka": UNKNOWN_DISK_MB },
            "CPU": DEFAULT_CPU_PERCENT,
            "NW_IN": DEFAULT_NETWORK_KBPS,
            "NW_OUT": DEFAULT_NETWORK_KBPS,
        },
        "doc": DOC,
    })
}

/// Entries of a previously written capacity.json by broker id; anything unreadable is skipped.
fn previous_entries(text: Option<&str>) -> BTreeMap<String, Value> {
    let Some(document) = text.and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
        return BTreeMap::new();
    };
    let entries = document.get("brokerCapacities").and_then(Value::as_array).cloned().unwrap_or_default();
    entries.into_iter().filter_map(|entry| Some((entry.get("brokerId")?.as_str()?.to_owned(), entry))).collect()
}

/// A Kubernetes quantity as a plain number (bytes, cores): `10Gi`, `1500m`, `1.5`, `2e3`.
pub fn quantity_value(quantity: &Quantity) -> Option<f64> {
    let text = quantity.0.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    let value = number * multiplier;
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::kraft_dedicated;
    use crate::model::validate;
    use crd_types::kafka_cluster::{NetworkConfig, StorageConfig};
    use k8s_openapi::api::core::v1::EmptyDirVolumeSource;

    fn generated(cluster: &ValidatedCluster, facts: &CruiseControlFacts) -> Value {
        serde_json::from_str(&capacity_json(cluster, &UserCapacity::None, facts)).expect("JSON")
    }

    #[test]
    fn quantities() {
        let value = |text: &str| quantity_value(&Quantity(text.into()));
        assert_eq!(value("10Gi"), Some(10_737_418_240.0));
        assert_eq!(value("1500m"), Some(1.5));
        assert_eq!(value("2"), Some(2.0));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("5G"), Some(5e9));
        assert_eq!(value("lots"), None);
        assert_eq!(value("1Xi"), None);
    }

    #[test]
    fn one_entry_per_broker_role_node_with_a_disk_per_log_dir() {
        let mut spec = kraft_dedicated();
        let broker = spec.spec.brokers.iter_mut().find(|b| b.id == 1).expect("broker 1");
        let config = broker.broker_config.get_or_insert_default();
        config.storage_configs.push(StorageConfig {
            mount_path: "/scratch".into(),
            empty_dir: Some(EmptyDirVolumeSource { size_limit: Some(Quantity("500Mi".into())), medium: None }),
            tiered_storage_cache: None,
            pvc_spec: None,
        });
        config.network_config = Some(NetworkConfig {
            incoming_network_throughput: Some("250000".into()),
            outgoing_network_throughput: None,
        });
        let cluster = validate(&spec).expect("valid");
        let document = generated(&cluster, &CruiseControlFacts::default());
        let entries = document["brokerCapacities"].as_array().expect("list");
        let ids: Vec<&str> = entries.iter().map(|e| e["brokerId"].as_str().expect("id")).collect();
        assert_eq!(ids, ["0", "1", "2"], "controller-only nodes 3-5 are no Cruise Control brokers");
        let one = &entries[1]["capacity"];
        assert_eq!(one["DISK"]["/scratch/kafka"], "524");
        assert!(one["DISK"].as_object().expect("disks").len() >= 2, "{one}");
        assert_eq!(one["NW_IN"], "250000");
        assert_eq!(one["NW_OUT"], "125000");
    }

    #[test]
    fn cpu_from_limits_then_requests() {
        let cluster = validate(&crate::build::tests::kraft_combined()).expect("valid");
        let document = generated(&cluster, &CruiseControlFacts::default());
        // Koperator's default limits: 1500m.
        assert_eq!(document["brokerCapacities"][0]["capacity"]["CPU"], "150");
        assert_eq!(document["brokerCapacities"][0]["capacity"]["DISK"]["/kafka-logs/kafka"], "1073");

        let mut spec = crate::build::tests::kraft_combined();
        let group = spec.spec.broker_config_groups.get_mut("default").expect("group");
        group.resources = Some(k8s_openapi::api::core::v1::ResourceRequirements {
            requests: Some([("cpu".to_string(), Quantity("250m".into()))].into()),
            ..Default::default()
        });
        let cluster = validate(&spec).expect("valid");
        assert_eq!(generated(&cluster, &CruiseControlFacts::default())["brokerCapacities"][0]["capacity"]["CPU"], "25");
    }

    #[test]
    fn user_entries_win_and_departing_brokers_keep_their_previous_entry() {
        let cluster = validate(&crate::build::tests::kraft_combined()).expect("valid");
        let user = UserCapacity::PerBroker(vec![("1".into(), json!({"brokerId": "1", "capacity": {"CPU": "800"}}))]);
        let previous = json!({"brokerCapacities": [{"brokerId": "7", "capacity": {"CPU": "42"}}]}).to_string();
        let facts = CruiseControlFacts {
            previous_capacity: Some(previous),
            departing_brokers: [1, 7, 8].into(),
            ..CruiseControlFacts::default()
        };
        let document: Value = serde_json::from_str(&capacity_json(&cluster, &user, &facts)).expect("JSON");
        let entries = document["brokerCapacities"].as_array().expect("list");
        let ids: Vec<&str> = entries.iter().map(|e| e["brokerId"].as_str().expect("id")).collect();
        assert_eq!(ids, ["1", "0", "2", "7", "8"]);
        assert_eq!(entries[0]["capacity"]["CPU"], "800");
        assert_eq!(entries[3]["capacity"]["CPU"], "42");
        assert_eq!(entries[4]["capacity"]["DISK"]["/kafka-logs/kafka"], UNKNOWN_DISK_MB);

        let universal = UserCapacity::Universal("{\"brokerCapacities\":[]}".into());
        assert_eq!(capacity_json(&cluster, &universal, &facts), "{\"brokerCapacities\":[]}");
    }
}
