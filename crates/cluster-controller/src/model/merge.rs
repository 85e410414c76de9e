//! How a broker's effective configuration is put together from its config group and its own
//! `brokerConfig`, and how `envs` with `+` markers become the container's environment.

use std::collections::BTreeMap;

use crd_types::kafka_cluster::{BrokerConfig, StorageConfig};
use k8s_openapi::api::core::v1::{Affinity, EnvVar};

/// The group's configuration merged under the broker's own, as Koperator merges them:
/// - scalars (image, heap options, security contexts, resources...): the broker's when set;
/// - maps (labels, annotations, nodeSelector...): union, the broker's entry wins per key;
/// - lists (containers, volumes, tolerations...): the broker's followed by the group's;
/// - `storageConfigs`: the same, then de-duplicated by mountPath (the first, i.e. the broker's, wins);
/// - `processRoles`: the broker's when set, else the group's (a list, but a node has one set of roles);
/// - `affinity`: per kind (node, pod, pod anti-affinity), the broker's when set;
/// - `envs`: cluster → group → broker, left for [`resolve_envs`] to interpret.
pub fn merge_broker_config(
    cluster_envs: &[EnvVar],
    group: Option<&BrokerConfig>,
    broker: Option<&BrokerConfig>,
) -> BrokerConfig {
    let empty = BrokerConfig::default();
    let group = group.unwrap_or(&empty);
    let broker = broker.unwrap_or(&empty);

    fn scalar<T: Clone>(broker: &Option<T>, group: &Option<T>) -> Option<T> {
        broker.clone().or_else(|| group.clone())
    }
    fn list<T: Clone>(broker: &[T], group: &[T]) -> Vec<T> {
        broker.iter().chain(group).cloned().collect()
    }
    fn map(broker: &BTreeMap<String, String>, group: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut merged = group.clone();
        merged.extend(broker.iter().map(|(key, value)| (key.clone(), value.clone())));
        merged
    }

    // The group's disks first, so that a disk added to one broker later goes last: the first log dir holds KRaft's metadata log, and a broker whose
    // first log dir changed refuses to start. A broker's entry for a group mount path
    // replaces the group's in place.
    let mut storage_configs: Vec<StorageConfig> = group
        .storage_configs
        .iter()
        .map(|storage| {
            broker.storage_configs.iter().find(|own| own.mount_path == storage.mount_path).unwrap_or(storage).clone()
        })
        .collect();
    for storage in &broker.storage_configs {
        if !storage_configs.iter().any(|kept| kept.mount_path == storage.mount_path) {
            storage_configs.push(storage.clone());
        }
    }

    BrokerConfig {
        process_roles: if broker.process_roles.is_empty() {
            group.process_roles.clone()
        } else {
            broker.process_roles.clone()
        },
        image: scalar(&broker.image, &group.image),
        metrics_reporter_image: scalar(&broker.metrics_reporter_image, &group.metrics_reporter_image),
        config: scalar(&broker.config, &group.config),
        storage_configs,
        service_account_name: scalar(&broker.service_account_name, &group.service_account_name),
        resources: scalar(&broker.resources, &group.resources),
        image_pull_secrets: list(&broker.image_pull_secrets, &group.image_pull_secrets),
        node_selector: map(&broker.node_selector, &group.node_selector),
        tolerations: list(&broker.tolerations, &group.tolerations),
        kafka_heap_opts: scalar(&broker.kafka_heap_opts, &group.kafka_heap_opts),
        kafka_jvm_perf_opts: scalar(&broker.kafka_jvm_perf_opts, &group.kafka_jvm_perf_opts),
        log4j_config: scalar(&broker.log4j_config, &group.log4j_config),
        broker_annotations: map(&broker.broker_annotations, &group.broker_annotations),
        broker_labels: map(&broker.broker_labels, &group.broker_labels),
        network_config: scalar(&broker.network_config, &group.network_config),
        node_port_external_ip: map(&broker.node_port_external_ip, &group.node_port_external_ip),
        node_port_node_address_type: scalar(&broker.node_port_node_address_type, &group.node_port_node_address_type),
        affinity: merge_affinity(group.affinity.as_ref(), broker.affinity.as_ref()),
        pod_security_context: scalar(&broker.pod_security_context, &group.pod_security_context),
        security_context: scalar(&broker.security_context, &group.security_context),
        broker_ingress_mapping: list(&broker.broker_ingress_mapping, &group.broker_ingress_mapping),
        init_containers: list(&broker.init_containers, &group.init_containers),
        containers: list(&broker.containers, &group.containers),
        volumes: list(&broker.volumes, &group.volumes),
        volume_mounts: list(&broker.volume_mounts, &group.volume_mounts),
        envs: cluster_envs.iter().chain(&group.envs).chain(&broker.envs).cloned().collect(),
        termination_grace_period: scalar(&broker.termination_grace_period, &group.termination_grace_period),
        priority_class_name: scalar(&broker.priority_class_name, &group.priority_class_name),
    }
}

fn merge_affinity(group: Option<&Affinity>, broker: Option<&Affinity>) -> Option<Affinity> {
    match (group, broker) {
        (None, None) => None,
        (Some(only), None) | (None, Some(only)) => Some(only.clone()),
        (Some(group), Some(broker)) => Some(Affinity {
            node_affinity: broker.node_affinity.clone().or_else(|| group.node_affinity.clone()),
            pod_affinity: broker.pod_affinity.clone().or_else(|| group.pod_affinity.clone()),
            pod_anti_affinity: broker.pod_anti_affinity.clone().or_else(|| group.pod_anti_affinity.clone()),
        }),
    }
}

/// Applies `overrides` to `base` in order, with Koperator's markers: `+NAME` prepends the value
/// to NAME's current value, `NAME+` appends to it, a plain NAME (or any `valueFrom`) replaces it.
/// A marker on a variable that is not set yet just sets it. Variables keep the position of their
/// first appearance, so `$(VAR)` references to earlier variables keep working.
pub fn resolve_envs(base: &[EnvVar], overrides: &[EnvVar]) -> Vec<EnvVar> {
    let mut resolved: Vec<EnvVar> = base.to_vec();
    for env in overrides {
        let raw_name = env.name.trim();
        let (name, combine): (&str, fn(&str, &str) -> String) = if env.value_from.is_some() {
            (raw_name.trim_start_matches('+').trim_end_matches('+'), |_, new| new.to_string())
        } else if let Some(name) = raw_name.strip_prefix('+') {
            (name, |current, new| format!("{new}{current}"))
        } else if let Some(name) = raw_name.strip_suffix('+') {
            (name, |current, new| format!("{current}{new}"))
        } else {
            (raw_name, |_, new| new.to_string())
        };
        let new_value = env.value.as_deref().unwrap_or_default();
        match resolved.iter_mut().find(|existing| existing.name == name) {
            Some(existing) if env.value_from.is_none() && existing.value_from.is_none() => {
                existing.value = Some(combine(existing.value.as_deref().unwrap_or_default(), new_value));
            }
            Some(existing) => {
                *existing = EnvVar { name: name.to_string(), ..env.clone() };
            }
            None => resolved.push(EnvVar { name: name.to_string(), ..env.clone() }),
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::kafka_cluster::ProcessRole;
    use k8s_openapi::api::core::v1::{
        Container, EnvVarSource, NodeAffinity, ObjectFieldSelector, PodAntiAffinity, ResourceRequirements,
    };

    fn env(name: &str, value: &str) -> EnvVar {
        EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
    }

    fn storage(path: &str, size: &str) -> StorageConfig {
        StorageConfig {
            mount_path: path.into(),
            empty_dir: Some(k8s_openapi::api::core::v1::EmptyDirVolumeSource {
                size_limit: Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(size.into())),
                ..Default::default()
            }),
            pvc_spec: None,
            tiered_storage_cache: None,
        }
    }

    fn container(name: &str) -> Container {
        Container { name: name.into(), ..Default::default() }
    }

    #[test]
    fn broker_wins_for_scalars_and_map_entries() {
        let group = BrokerConfig {
            image: Some("group-image".into()),
            kafka_heap_opts: Some("-Xmx1G".into()),
            broker_labels: [("a".to_string(), "group".to_string()), ("b".to_string(), "group".to_string())].into(),
            resources: Some(ResourceRequirements::default()),
            ..Default::default()
        };
        let broker = BrokerConfig {
            image: Some("broker-image".into()),
            broker_labels: [("a".to_string(), "broker".to_string())].into(),
            ..Default::default()
        };
        let merged = merge_broker_config(&[], Some(&group), Some(&broker));
        assert_eq!(merged.image.as_deref(), Some("broker-image"));
        assert_eq!(merged.kafka_heap_opts.as_deref(), Some("-Xmx1G"));
        assert_eq!(merged.broker_labels["a"], "broker");
        assert_eq!(merged.broker_labels["b"], "group");
        assert!(merged.resources.is_some());
    }

    #[test]
    fn lists_append_and_storage_dedups_by_mount_path() {
        let group = BrokerConfig {
            containers: vec![container("group-sidecar")],
            storage_configs: vec![storage("/a", "1Gi"), storage("/b", "1Gi")],
            process_roles: vec![ProcessRole::Broker],
            ..Default::default()
        };
        let broker = BrokerConfig {
            containers: vec![container("broker-sidecar")],
            storage_configs: vec![storage("/b", "5Gi"), storage("/c", "1Gi")],
            process_roles: vec![ProcessRole::Controller],
            ..Default::default()
        };
        let merged = merge_broker_config(&[], Some(&group), Some(&broker));
        let names: Vec<_> = merged.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["broker-sidecar", "group-sidecar"]);
        let paths: Vec<_> = merged.storage_configs.iter().map(|s| s.mount_path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
        let b = &merged.storage_configs[1];
        assert_eq!(b.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()).map(|q| q.0.as_str()), Some("5Gi"));
        assert_eq!(merged.process_roles, [ProcessRole::Controller]);
    }

    #[test]
    fn group_roles_apply_when_the_broker_sets_none() {
        let group =
            BrokerConfig { process_roles: vec![ProcessRole::Broker, ProcessRole::Controller], ..Default::default() };
        let merged = merge_broker_config(&[], Some(&group), None);
        assert_eq!(merged.process_roles, [ProcessRole::Broker, ProcessRole::Controller]);
    }

    #[test]
    fn envs_concatenate_cluster_group_broker() {
        let group = BrokerConfig { envs: vec![env("G", "g")], ..Default::default() };
        let broker = BrokerConfig { envs: vec![env("B", "b")], ..Default::default() };
        let merged = merge_broker_config(&[env("C", "c")], Some(&group), Some(&broker));
        let names: Vec<_> = merged.envs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["C", "G", "B"]);
    }

    #[test]
    fn affinity_merges_per_kind() {
        let group = Affinity {
            node_affinity: Some(NodeAffinity::default()),
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let broker = Affinity { pod_anti_affinity: Some(PodAntiAffinity::default()), ..Default::default() };
        let merged = merge_affinity(Some(&group), Some(&broker)).expect("affinity");
        assert_eq!(merged.node_affinity, Some(NodeAffinity::default()));
        assert_eq!(merged.pod_anti_affinity, Some(PodAntiAffinity::default()));
    }

    #[test]
    fn plus_markers_prepend_and_append() {
        let base = [env("KAFKA_OPTS", "-javaagent:x")];
        let resolved = resolve_envs(
            &base,
            &[
                env("KAFKA_OPTS+", " -Dappended"),
                env("+KAFKA_OPTS", "-Dprepended "),
                env("+NEW", "set"),
                env("OTHER+", "also-set"),
                env("REPLACED", "1"),
                env("REPLACED", "2"),
            ],
        );
        assert_eq!(
            resolved,
            [
                env("KAFKA_OPTS", "-Dprepended -javaagent:x -Dappended"),
                env("NEW", "set"),
                env("OTHER", "also-set"),
                env("REPLACED", "2"),
            ]
        );
    }

    #[test]
    fn value_from_always_replaces() {
        let from = EnvVar {
            name: "+POD".into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector { field_path: "metadata.name".into(), api_version: None }),
                ..Default::default()
            }),
        };
        let resolved = resolve_envs(&[env("POD", "x")], &[from.clone(), env("POD+", "-suffix")]);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].name, "POD");
        assert_eq!(resolved[0].value.as_deref(), Some("-suffix"));
        let only_from = resolve_envs(&[env("POD", "x")], &[from]);
        assert!(only_from[0].value_from.is_some());
    }
}
