//! Container environment resolution: envFrom, env, valueFrom (pure).
//!
//! Errors are plain messages; the caller reports them as the container waiting
//! reason `CreateContainerConfigError`, exactly like the kubelet.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};

use crate::expand::expand;

/// Read access to configMap and secret data (secret values already decoded).
pub trait ConfigSource {
    fn config_map(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, String>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, String>>;
}

/// Facts the API object does not carry yet when the container starts.
pub struct RuntimeFacts<'a> {
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

/// Resolves the environment of `container` in order: envFrom, then env entries.
pub fn resolve_env(
    pod: &Pod,
    container: &Container,
    source: &dyn ConfigSource,
    facts: &RuntimeFacts,
) -> Result<Vec<(String, String)>, String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut ordered: Vec<(String, String)> = Vec::new();
    let set = |ordered: &mut Vec<(String, String)>, key: String, value: String| match ordered
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some(entry) => entry.1 = value,
        None => ordered.push((key, value)),
    };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (data, optional, what) = if let Some(cm) = &from.config_map_ref {
            (source.config_map(namespace, &cm.name), cm.optional.unwrap_or(false), format!("configmap \"{}\"", cm.name))
        } else if let Some(secret) = &from.secret_ref {
            (
                source.secret(namespace, &secret.name),
                secret.optional.unwrap_or(false),
                format!("secret \"{}\"", secret.name),
            )
        } else {
            continue;
        };
        match data {
            Some(data) => data.into_iter().for_each(|(k, v)| set(&mut ordered, format!("{prefix}{k}"), v)),
            None if optional => {}
            None => return Err(format!("{what} not found")),
        }
    }
    for var in container.env.iter().flatten() {
        let value = if let Some(from) = &var.value_from {
            if let Some(field) = &from.field_ref {
                Some(field_value(pod, field, facts)?)
            } else if let Some(key) = &from.config_map_key_ref {
                keyed_value(source.config_map(namespace, &key.name), "configmap", &key.name, &key.key, key.optional)?
            } else if let Some(key) = &from.secret_key_ref {
                keyed_value(source.secret(namespace, &key.name), "secret", &key.name, &key.key, key.optional)?
            } else if let Some(resource) = &from.resource_field_ref {
                Some(resource_value(pod, container, resource)?)
            } else {
                None
            }
        } else {
            let known: BTreeMap<String, String> = ordered.iter().cloned().collect();
            Some(expand(var.value.as_deref().unwrap_or(""), |n| known.get(n).cloned()))
        };
        if let Some(value) = value {
            set(&mut ordered, var.name.clone(), value);
        }
    }
    Ok(ordered)
}

fn keyed_value(
    data: Option<BTreeMap<String, String>>,
    kind: &str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, String> {
    let optional = optional.unwrap_or(false);
    match data {
        None if optional => Ok(None),
        None => Err(format!("{kind} \"{name}\" not found")),
        Some(data) => match data.get(key) {
            Some(value) => Ok(Some(value.clone())),
            None if optional => Ok(None),
            None => Err(format!("couldn't find key {key} in {kind} {name}")),
        },
    }
}

/// Values for `fieldRef`, also used by downwardAPI volumes.
pub fn field_value(pod: &Pod, field: &ObjectFieldSelector, facts: &RuntimeFacts) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let path = field.field_path.as_str();
    let map_entry = |map: &Option<BTreeMap<String, String>>, prefix: &str| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.as_ref().and_then(|m| m.get(key).cloned()).unwrap_or_default())
    };
    let render_map = |map: &Option<BTreeMap<String, String>>| {
        map.iter().flatten().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")
    };
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => render_map(&meta.labels),
        "metadata.annotations" => render_map(&meta.annotations),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.podIP" | "status.podIPs" => facts.pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.to_string(),
        _ => map_entry(&meta.labels, "metadata.labels['")
            .or_else(|| map_entry(&meta.annotations, "metadata.annotations['"))
            .ok_or_else(|| format!("unsupported fieldRef fieldPath {path}"))?,
    };
    Ok(value)
}

/// Node capacity stands in for missing limits, as the kubelet does.
const NODE_CPU_CORES: f64 = 16.0;
const NODE_MEMORY_BYTES: f64 = 64.0 * 1024.0 * 1024.0 * 1024.0;

fn resource_value(pod: &Pod, own: &Container, selector: &ResourceFieldSelector) -> Result<String, String> {
    let container = match selector.container_name.as_deref() {
        Some(name) if !name.is_empty() => pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .find(|c| c.name == name)
            .ok_or_else(|| format!("resourceFieldRef container {name} not found"))?,
        _ => own,
    };
    let (section, resource) =
        selector.resource.split_once('.').ok_or_else(|| format!("unsupported resource {}", selector.resource))?;
    let resources = container.resources.as_ref();
    let table = match section {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => return Err(format!("unsupported resource {}", selector.resource)),
    };
    let fallback = if resource == "cpu" { NODE_CPU_CORES } else { NODE_MEMORY_BYTES };
    let amount = match table.and_then(|t| t.get(resource)) {
        Some(q) => parse_quantity(&q.0).ok_or_else(|| format!("bad quantity {}", q.0))?,
        None if section == "requests" && resource == "cpu" => 0.0,
        None => fallback,
    };
    let divisor = selector.divisor.as_ref().and_then(|d| parse_quantity(&d.0)).filter(|d| *d > 0.0).unwrap_or(1.0);
    Ok(format!("{}", (amount / divisor).ceil() as i64))
}

/// Parses a Kubernetes quantity ("500m", "2Gi", "1e3") into a number.
pub fn parse_quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let text = text.trim();
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Source;
    impl ConfigSource for Source {
        fn config_map(&self, _: &str, name: &str) -> Option<BTreeMap<String, String>> {
            (name == "cfg").then(|| BTreeMap::from([("LEVEL".into(), "debug".into()), ("a".into(), "1".into())]))
        }
        fn secret(&self, _: &str, name: &str) -> Option<BTreeMap<String, String>> {
            (name == "creds").then(|| BTreeMap::from([("password".into(), "s3cret".into())]))
        }
    }

    fn pod(containers: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kafka-0", "namespace": "kafka", "uid": "u-1", "labels": {"app": "kafka"}},
            "spec": {"nodeName": "testbed-node-1", "serviceAccountName": "default", "containers": containers}
        }))
        .expect("pod")
    }

    fn resolve(pod: &Pod) -> Result<Vec<(String, String)>, String> {
        let facts = RuntimeFacts { pod_ip: "100.64.1.2", host_ip: "100.64.0.11" };
        resolve_env(pod, &pod.spec.as_ref().expect("spec").containers[0], &Source, &facts)
    }

    #[test]
    fn resolves_every_source_in_order() {
        let pod = pod(serde_json::json!([{
            "name": "c",
            "resources": {"limits": {"memory": "2Gi"}},
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CM_"}],
            "env": [
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "ADDR", "value": "$(POD).svc:$(MISSING)"}
            ]
        }]));
        let env: BTreeMap<_, _> = resolve(&pod).expect("resolves").into_iter().collect();
        assert_eq!(env["CM_LEVEL"], "debug");
        assert_eq!(env["POD"], "kafka-0");
        assert_eq!(env["APP"], "kafka");
        assert_eq!(env["IP"], "100.64.1.2");
        assert_eq!(env["PW"], "s3cret");
        assert_eq!(env["MEM"], "2048");
        assert_eq!(env["CPU"], "16");
        assert_eq!(env["ADDR"], "kafka-0.svc:$(MISSING)");
    }

    #[test]
    fn missing_key_is_a_config_error_unless_optional() {
        let missing = pod(serde_json::json!([{"name": "c", "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope"}}}]}]));
        assert_eq!(resolve(&missing).unwrap_err(), "couldn't find key nope in configmap cfg");
        let optional = pod(serde_json::json!([{"name": "c", "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}}]}]));
        assert!(resolve(&optional).expect("optional").is_empty());
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("3"), Some(3.0));
    }
}
