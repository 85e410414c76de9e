//! `<cluster>-cruisecontrol`: one Cruise Control pod with its configuration mounted, the
//! Prometheus JMX agent on the metrics port, the operator's client certificate on a TLS cluster,
//! and `cruiseControlConfig`'s scheduling fields.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, TCPSocketAction, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::CONFIG_HASH_ANNOTATION;
use super::cruise_control::{
    CAPACITY_KEY, CONFIG_DIR, CRUISE_CONTROL_PORT, config_map_name, cruise_control_labels, deployment_name,
    jmx_exporter_config_map_name,
};
use super::labels::object_meta;
use super::pod::{JMX_CONFIG_DIR, JMX_JAR_DIR, JMX_JAR_VOLUME, config_map_volume, jmx_exporter_init_container, mount};
use crate::model::{DeploySettings, JMX_AGENT_JAR_IN_POD, METRICS_PORT, ValidatedCluster};

/// Annotation in `cruiseControlAnnotations` by which Koperator lets a user restart Cruise Control
/// on capacity changes too (value `static`).
pub const CAPACITY_CONFIG_ANNOTATION: &str = "cruise-control.banzaicloud.com/broker-capacity-config";

const CONFIG_VOLUME: &str = "cruise-control-config";

/// Pod annotation: the serial of the operator's client certificate Cruise Control started with
/// (TLS clusters). In the configuration hash: its Kafka clients read the key store once.
pub const OPERATOR_CERTIFICATE_ANNOTATION: &str = "koperator-rs.io/operator-certificate-serial";

/// One replica, replaced with `Recreate`: two Cruise Controls at once would both sample and
/// both could start executions.
pub fn deployment(
    cluster: &ValidatedCluster,
    settings: &DeploySettings,
    config_map: &ConfigMap,
    operator_certificate_serial: Option<&str>,
) -> Deployment {
    let config = &cluster.spec.cruise_control_config;
    let labels = cruise_control_labels(cluster);
    let mut annotations = config.cruise_control_annotations.clone();
    annotations.remove(OPERATOR_CERTIFICATE_ANNOTATION);
    if let Some(serial) = operator_certificate_serial {
        annotations.insert(OPERATOR_CERTIFICATE_ANNOTATION.to_owned(), serial.to_owned());
    }
    annotations.insert(CONFIG_HASH_ANNOTATION.to_owned(), config_hash(config_map, &annotations));

    let mut init_containers = config.init_containers.clone();
    init_containers.push(jmx_exporter_init_container(cluster));
    let mut volume_mounts = config.volume_mounts.clone();
    volume_mounts.extend([
        mount(CONFIG_VOLUME, CONFIG_DIR),
        mount(JMX_JAR_VOLUME, JMX_JAR_DIR),
        mount(&jmx_exporter_config_map_name(cluster), JMX_CONFIG_DIR),
    ]);
    let mut volumes = config.volumes.clone();
    volumes.extend([
        config_map_volume(CONFIG_VOLUME, config_map_name(cluster)),
        config_map_volume(&jmx_exporter_config_map_name(cluster), jmx_exporter_config_map_name(cluster)),
        Volume {
            name: JMX_JAR_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
    ]);
    if let Some((volume, client_certificate)) = super::cruise_control_tls::client_certificate_volume(cluster) {
        volumes.push(volume);
        volume_mounts.push(client_certificate);
    }

    let container = Container {
        name: deployment_name(cluster),
        image: Some(settings.image.clone()),
        env: Some(vec![EnvVar {
            name: "KAFKA_OPTS".to_owned(),
            value: Some(format!("-javaagent:{JMX_AGENT_JAR_IN_POD}={METRICS_PORT}:{JMX_CONFIG_DIR}config.yaml")),
            value_from: None,
        }]),
        ports: Some(vec![port("cc", CRUISE_CONTROL_PORT), port("metrics", METRICS_PORT)]),
        resources: Some(config.resources.clone().unwrap_or_else(default_resources)),
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(CRUISE_CONTROL_PORT), host: None }),
            initial_delay_seconds: Some(5),
            period_seconds: Some(10),
            timeout_seconds: Some(1),
            failure_threshold: Some(3),
            success_threshold: Some(1),
            ..Default::default()
        }),
        security_context: config.security_context.clone(),
        volume_mounts: Some(volume_mounts),
        ..Default::default()
    };
    Deployment {
        metadata: object_meta(cluster, deployment_name(cluster), labels.clone()),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector { match_labels: Some(labels.clone()), match_expressions: None },
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".to_owned()), rolling_update: None }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    init_containers: Some(init_containers),
                    containers: vec![container],
                    volumes: Some(volumes),
                    service_account_name: Some(
                        config
                            .service_account_name
                            .clone()
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "default".to_owned()),
                    ),
                    image_pull_secrets: (!config.image_pull_secrets.is_empty())
                        .then(|| config.image_pull_secrets.clone()),
                    node_selector: (!config.node_selector.is_empty()).then(|| config.node_selector.clone()),
                    tolerations: (!config.tolerations.is_empty()).then(|| config.tolerations.clone()),
                    affinity: config.affinity.clone(),
                    security_context: config.pod_security_context.clone(),
                    priority_class_name: config.priority_class_name.clone(),
                    termination_grace_period_seconds: Some(30),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// Hash of the files Cruise Control reads at start, so that changing them restarts it. Like
/// Koperator, `capacity.json` counts only when `cruiseControlAnnotations` sets
/// [`CAPACITY_CONFIG_ANNOTATION`] to `static`: it changes with every broker added or removed,
/// and a restart then would lose the add_broker/remove_broker task Cruise Control is running
/// for that very change (its tasks live in memory).
fn config_hash(config_map: &ConfigMap, annotations: &BTreeMap<String, String>) -> String {
    let restart_on_capacity = annotations.get(CAPACITY_CONFIG_ANNOTATION).map(String::as_str) == Some("static");
    let mut hasher = Sha256::new();
    for (key, value) in config_map.data.iter().flatten() {
        if key == CAPACITY_KEY && !restart_on_capacity {
            continue;
        }
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    if let Some(serial) = annotations.get(OPERATOR_CERTIFICATE_ANNOTATION) {
        hasher.update(OPERATOR_CERTIFICATE_ANNOTATION.as_bytes());
        hasher.update([0]);
        hasher.update(serial.as_bytes());
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Koperator's defaults: 200m CPU and 768Mi, requested and limited alike.
fn default_resources() -> ResourceRequirements {
    let quantities = || -> BTreeMap<String, Quantity> {
        [("cpu".to_owned(), Quantity("200m".to_owned())), ("memory".to_owned(), Quantity("768Mi".to_owned()))].into()
    };
    ResourceRequirements { requests: Some(quantities()), limits: Some(quantities()), ..Default::default() }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: number,
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}
