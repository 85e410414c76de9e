//! The broker Pod (one per Kafka node, no StatefulSet, as in Koperator).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ObjectFieldSelector, PersistentVolumeClaimVolumeSource, Pod, PodAffinityTerm, PodAntiAffinity, PodSpec, Probe,
    ResourceRequirements, TCPSocketAction, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::broker_config::NODE_IP_ENV;
use super::config_map::{BROKER_CONFIG_KEY, QUORUM_HOSTS_KEY, STORAGE_FORMAT_KEY};
use super::cruise_control_reporter::{extensions_mount, extensions_volume, reporter_init_container};
use super::labels::{
    broker_config_map_name, cluster_labels, jmx_exporter_config_map_name, node_headless_service, node_hostname,
    owner_reference, pod_labels, pod_name_prefix,
};
use crate::model::external::Access;
use crate::model::{BrokerModel, JMX_AGENT_JAR_IN_POD, METRICS_PORT, QuorumConfig, ValidatedCluster};

/// Name of the Kafka container (Koperator's; tools exec into it by name).
pub const KAFKA_CONTAINER: &str = "kafka";
/// Default image the JMX exporter agent jar is copied from (Koperator's).
pub const DEFAULT_JMX_IMAGE: &str = "ghcr.io/adobe/koperator/jmx-javaagent:1.5.0";
/// Default path of the agent jar inside the JMX image (Koperator's).
pub const DEFAULT_JMX_JAR_PATH: &str = "/jmx_prometheus_javaagent.jar";

const CONFIG_DIR: &str = "/config";
const CONFIG_VOLUME: &str = "broker-config";
pub(super) const JMX_JAR_VOLUME: &str = "jmx-jar-data";
pub(super) const JMX_JAR_DIR: &str = "/opt/jmx-exporter/";
pub(super) const JMX_CONFIG_DIR: &str = "/etc/jmx-exporter/";
const KAFKA_BIN: &str = "/opt/kafka/bin";

/// The pod of one broker, without the config hash annotation (the caller hashes this pod and
/// then stamps it). `claim_names` maps mount paths to the names of existing claims; a missing
/// one leaves an empty claim name, which the caller never lets reach the apiserver.
pub fn broker_pod(
    cluster: &ValidatedCluster,
    broker: &BrokerModel,
    claim_names: &BTreeMap<String, String>,
    kraft_cluster_id: Option<&str>,
) -> Pod {
    let config = &broker.config;
    let (data_volumes, data_mounts) = data_volumes(broker, claim_names);

    let reporter = reporter_init_container(broker);
    let mut volume_mounts = config.volume_mounts.clone();
    volume_mounts.extend(data_mounts);
    volume_mounts.extend([
        mount(CONFIG_VOLUME, CONFIG_DIR),
        mount(JMX_JAR_VOLUME, JMX_JAR_DIR),
        mount(&jmx_exporter_config_map_name(cluster), JMX_CONFIG_DIR),
    ]);
    volume_mounts.extend(reporter.is_some().then(extensions_mount));
    let (certificate_volumes, certificate_mounts) = super::broker_tls::server_certificate_volumes(cluster);
    volume_mounts.extend(certificate_mounts);

    let mut volumes = config.volumes.clone();
    volumes.extend(data_volumes);
    volumes.extend(certificate_volumes);
    volumes.extend([
        config_map_volume(CONFIG_VOLUME, broker_config_map_name(cluster, broker.id)),
        Volume {
            name: JMX_JAR_VOLUME.to_string(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
        config_map_volume(&jmx_exporter_config_map_name(cluster), jmx_exporter_config_map_name(cluster)),
    ]);
    volumes.extend(reporter.is_some().then(extensions_volume));

    let kafka = Container {
        name: KAFKA_CONTAINER.to_string(),
        image: Some(broker.image.clone()),
        command: Some(kafka_command(cluster, kraft_cluster_id)),
        env: Some(kafka_env(cluster, broker)),
        ports: Some(container_ports(cluster)),
        readiness_probe: readiness_probe(cluster, broker),
        resources: Some(broker.resources.clone()),
        security_context: config.security_context.clone(),
        volume_mounts: Some(volume_mounts),
        ..Default::default()
    };
    let mut containers = vec![kafka];
    containers.extend(config.containers.iter().cloned());
    let mut init_containers = config.init_containers.clone();
    init_containers.extend(reporter);
    init_containers.push(jmx_exporter_init_container(cluster));

    let mut annotations = config.broker_annotations.clone();
    annotations.retain(|key, _| {
        ![
            super::CONFIG_HASH_ANNOTATION,
            super::NODE_NAMES_ANNOTATION,
            super::SERVER_CERTIFICATE_ANNOTATION,
            super::TRUSTED_CAS_ANNOTATION,
        ]
        .contains(&key.as_str())
    });
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(pod_name_prefix(cluster, broker)),
            namespace: Some(cluster.namespace.clone()),
            labels: Some(pod_labels(cluster, broker)),
            annotations: Some(annotations),
            owner_references: Some(vec![owner_reference(cluster)]),
            ..Default::default()
        },
        spec: Some(PodSpec {
            hostname: cluster.spec.headless_service_enabled.then(|| node_hostname(cluster, broker.id)),
            subdomain: cluster.spec.headless_service_enabled.then(|| node_headless_service(cluster, broker)),
            init_containers: Some(init_containers),
            containers,
            volumes: Some(volumes),
            affinity: Some(config.affinity.clone().unwrap_or_else(|| default_affinity(cluster))),
            node_selector: (!config.node_selector.is_empty()).then(|| config.node_selector.clone()),
            tolerations: (!config.tolerations.is_empty()).then(|| config.tolerations.clone()),
            security_context: config.pod_security_context.clone(),
            service_account_name: Some(config.service_account_name.clone().unwrap_or_else(|| "default".to_string())),
            image_pull_secrets: (!config.image_pull_secrets.is_empty()).then(|| config.image_pull_secrets.clone()),
            priority_class_name: config.priority_class_name.clone(),
            termination_grace_period_seconds: Some(broker.termination_grace_period_seconds),
            // The kubelet restarts a crashed broker in place; replacing the pod (new config,
            // rolling upgrade) stays the reconciler's decision.
            restart_policy: Some("Always".to_string()),
            ..Default::default()
        }),
        status: None,
    }
}

/// KRaft storage must be formatted with the cluster's id before the first start; formatting an
/// already formatted log dir is a no-op (`--ignore-formatted`), so it runs on every start.
fn kafka_command(cluster: &ValidatedCluster, kraft_cluster_id: Option<&str>) -> Vec<String> {
    let config = format!("{CONFIG_DIR}/{BROKER_CONFIG_KEY}");
    let start = format!("exec {KAFKA_BIN}/kafka-server-start.sh {config}");
    // A dynamic quorum's flags come from the mounted ConfigMap, so that they can change once
    // the quorum formed without changing (and so rolling) the pods.
    let (quorum_wait, quorum_flags) = match cluster.quorum {
        QuorumConfig::Dynamic { .. } => {
            (quorum_hosts_wait(CONFIG_DIR), format!(" $(cat {CONFIG_DIR}/{STORAGE_FORMAT_KEY})"))
        }
        QuorumConfig::Static => (String::new(), String::new()),
    };
    let script = match (cluster.is_kraft(), kraft_cluster_id) {
        (true, Some(id)) => format!(
            "{quorum_wait}{KAFKA_BIN}/kafka-storage.sh format --cluster-id={} -c {config} --ignore-formatted{quorum_flags} && {start}",
            shell_quote(id)
        ),
        _ => start,
    };
    vec!["/bin/sh".to_string(), "-c".to_string(), script]
}

/// Up to [`QUORUM_HOSTS_WAIT_SECONDS`] in all until every controller's name resolves (see
/// [`super::broker_config::quorum_hosts`]); then Kafka starts either way, as it would without the
/// wait. Skipped where the image has no `getent`.
pub(super) fn quorum_hosts_wait(config_dir: &str) -> String {
    format!(
        "if command -v getent >/dev/null 2>&1; then waited=0; for host in $(cat {config_dir}/{QUORUM_HOSTS_KEY}); do \
         until getent hosts \"$host\" >/dev/null 2>&1 || [ $waited -ge {QUORUM_HOSTS_WAIT_SECONDS} ]; do \
         echo \"waiting for $host to resolve\"; sleep 1; waited=$((waited+1)); done; done; fi; "
    )
}

/// How long a pod of a dynamic quorum waits for the controllers' names before Kafka starts.
const QUORUM_HOSTS_WAIT_SECONDS: u32 = 60;

fn shell_quote(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The broker's environment, plus the node's address for Kafka's environment config provider
/// when a NodePort listener advertises it (see [`super::broker_config::NODE_IP_VARIABLE`]).
fn kafka_env(cluster: &ValidatedCluster, broker: &BrokerModel) -> Vec<EnvVar> {
    let mut env = broker.env.clone();
    let advertises_node =
        broker.is_broker() && cluster.external_listeners.iter().any(|listener| listener.access == Access::NodePort);
    if advertises_node {
        env.retain(|variable| variable.name != NODE_IP_ENV);
        env.push(EnvVar {
            name: NODE_IP_ENV.to_string(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector { field_path: "status.hostIP".to_string(), api_version: None }),
                ..Default::default()
            }),
        });
    }
    env
}

/// `tcp-<listener>` per served external listener (as Koperator, first) and per internal
/// listener, the additional ports, then `metrics`.
fn container_ports(cluster: &ValidatedCluster) -> Vec<ContainerPort> {
    let external = cluster.external_listeners.iter().map(|listener| (&listener.name, listener.container_port));
    let internal = cluster.spec.listeners_config.internal_listeners.iter();
    let mut ports: Vec<ContainerPort> = external
        .chain(internal.map(|listener| (&listener.common.name, listener.common.container_port)))
        .map(|(name, port)| ContainerPort {
            name: Some(format!("tcp-{name}")),
            container_port: port,
            protocol: Some("TCP".to_string()),
            ..Default::default()
        })
        .collect();
    ports.extend(cluster.spec.additional_ports.iter().cloned());
    ports.push(ContainerPort {
        name: Some("metrics".to_string()),
        container_port: METRICS_PORT,
        protocol: Some("TCP".to_string()),
        ..Default::default()
    });
    ports
}

/// Ready once Kafka accepts connections on the listener the node serves: the inter-broker
/// listener for nodes with the broker role, the controller listener for controller-only nodes.
fn readiness_probe(cluster: &ValidatedCluster, broker: &BrokerModel) -> Option<Probe> {
    let internal = &cluster.spec.listeners_config.internal_listeners;
    let listener = if broker.is_controller_only() {
        internal.iter().find(|l| l.used_for_controller_communication == Some(true))
    } else {
        internal.iter().find(|l| l.common.used_for_inner_broker_communication == Some(true))
    }?;
    Some(Probe {
        tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(listener.common.container_port), host: None }),
        initial_delay_seconds: Some(5),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Default::default()
    })
}

/// Volume `kafka-data-<n>` per storage config (`<n>` its index, as in the claim's generateName).
fn data_volumes(broker: &BrokerModel, claim_names: &BTreeMap<String, String>) -> (Vec<Volume>, Vec<VolumeMount>) {
    broker
        .config
        .storage_configs
        .iter()
        .enumerate()
        .filter_map(|(index, storage)| {
            let name = format!("kafka-data-{index}");
            let volume = if storage.pvc_spec.is_some() {
                Volume {
                    name: name.clone(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim_names.get(&storage.mount_path).cloned().unwrap_or_default(),
                        read_only: None,
                    }),
                    ..Default::default()
                }
            } else {
                Volume { name: name.clone(), empty_dir: Some(storage.empty_dir.clone()?), ..Default::default() }
            };
            Some((volume, mount(&name, &storage.mount_path)))
        })
        .unzip()
}

/// Copies the Prometheus JMX agent from `monitoringConfig.jmxImage` into the pod (Koperator's
/// way); Cruise Control's pod gets the same.
pub(super) fn jmx_exporter_init_container(cluster: &ValidatedCluster) -> Container {
    let monitoring = cluster.spec.monitoring_config.as_ref();
    let image = monitoring.and_then(|m| m.jmx_image.clone()).filter(|i| !i.is_empty());
    let jar = monitoring.and_then(|m| m.path_to_jar.clone()).filter(|p| !p.is_empty());
    let quantities = || -> BTreeMap<String, Quantity> {
        [("cpu".to_string(), Quantity("100m".to_string())), ("memory".to_string(), Quantity("100Mi".to_string()))]
            .into()
    };
    Container {
        name: "jmx-exporter".to_string(),
        image: Some(image.unwrap_or_else(|| DEFAULT_JMX_IMAGE.to_string())),
        command: Some(vec![
            "cp".to_string(),
            jar.unwrap_or_else(|| DEFAULT_JMX_JAR_PATH.to_string()),
            JMX_AGENT_JAR_IN_POD.to_string(),
        ]),
        volume_mounts: Some(vec![mount(JMX_JAR_VOLUME, JMX_JAR_DIR)]),
        resources: Some(ResourceRequirements {
            limits: Some(quantities()),
            requests: Some(quantities()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread the cluster's pods over nodes: required with `oneBrokerPerNode`, preferred otherwise.
fn default_affinity(cluster: &ValidatedCluster) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector { match_labels: Some(cluster_labels(cluster)), match_expressions: None }),
        topology_key: "kubernetes.io/hostname".to_string(),
        ..Default::default()
    };
    let anti_affinity = if cluster.spec.one_broker_per_node {
        PodAntiAffinity { required_during_scheduling_ignored_during_execution: Some(vec![term]), ..Default::default() }
    } else {
        PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: term,
            }]),
            ..Default::default()
        }
    };
    Affinity { pod_anti_affinity: Some(anti_affinity), ..Default::default() }
}

pub(super) fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount { name: name.to_string(), mount_path: path.to_string(), ..Default::default() }
}

pub(super) fn config_map_volume(volume: &str, config_map: String) -> Volume {
    Volume {
        name: volume.to_string(),
        config_map: Some(ConfigMapVolumeSource { name: config_map, default_mode: Some(0o644), ..Default::default() }),
        ..Default::default()
    }
}
