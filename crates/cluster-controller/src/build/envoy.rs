//! Envoy in front of one LoadBalancer external listener, as Koperator builds it
//! (`pkg/resources/envoy`): ConfigMap `envoy-config-<listener>-<cluster>` with `envoy.yaml`,
//! Deployment `envoy-<listener>-<cluster>`, Service `envoy-loadbalancer-<listener>-<cluster>`
//! and, with `envoyConfig.disruptionBudget.create`, PodDisruptionBudget `<deployment>-pdb`.
//!
//! Envoy proxies TCP: broker N's port (`externalStartingPort + N`) goes to broker N only, the
//! any-broker port to every broker whose JMX exporter answers `/-/healthy`, and the health port
//! says whether any broker does. TLS and SASL pass through untouched.
//!
//! Unlike Koperator, whose single `envoy.yaml` changes (and restarts Envoy, dropping every
//! client connection) whenever a broker joins or leaves, the per-broker listeners and clusters
//! are in `lds.yaml` and `cds.yaml` beside it, which Envoy watches: only the bootstrap's hash
//! restarts the pods.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, PodSpec, PodTemplateSpec, Service, ServicePort,
    ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crd_types::kafka_cluster::DisruptionBudgetStrategy;
use crd_types::labels::{APP, KAFKA_CR};

use super::labels::{Labels, all_broker_service_name, broker_host, headless_service_name, object_meta};
use crate::model::external::{EnvoySettings, ExternalListener};
use crate::model::{METRICS_PORT, ValidatedCluster};

/// Koperator's `app` label value and the listener label of every Envoy object.
pub const APP_ENVOY: &str = "envoyingress";
pub const LISTENER_LABEL: &str = "eListenerName";
/// Pod annotation: the hash of `envoy.yaml`, so a changed configuration rolls the pods.
pub const CONFIG_HASH_ANNOTATION: &str = "envoy.yaml.hash";
/// The Service port whose number clients bootstrap from (Koperator reads it by this name).
pub const ANY_BROKER_PORT_NAME: &str = "tcp-all-broker";
const CONFIG_KEY: &str = "envoy.yaml";
/// The per-broker listeners and clusters (file-based LDS and CDS).
const LISTENERS_KEY: &str = "lds.yaml";
const CLUSTERS_KEY: &str = "cds.yaml";
const CONFIG_DIR: &str = "/etc/envoy";
/// Koperator's idle timeout of proxied Kafka connections; clients keep theirs shorter.
const IDLE_TIMEOUT: &str = "560s";

pub fn service_name(cluster: &ValidatedCluster, listener: &ExternalListener) -> String {
    format!("envoy-loadbalancer-{}-{}", listener.name, cluster.name)
}

pub fn config_map_name(cluster: &ValidatedCluster, listener: &ExternalListener) -> String {
    format!("envoy-config-{}-{}", listener.name, cluster.name)
}

pub fn deployment_name(cluster: &ValidatedCluster, listener: &ExternalListener) -> String {
    format!("envoy-{}-{}", listener.name, cluster.name)
}

/// `app=envoyingress`, `eListenerName=<listener>`, `kafka_cr=<cluster>`: labels and selector.
pub fn envoy_labels(cluster: &ValidatedCluster, listener: &ExternalListener) -> Labels {
    [
        (APP.to_owned(), APP_ENVOY.to_owned()),
        (LISTENER_LABEL.to_owned(), listener.name.clone()),
        (KAFKA_CR.to_owned(), cluster.name.clone()),
    ]
    .into()
}

/// Everything one listener's Envoy needs.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvoyObjects {
    pub service: Service,
    pub config_map: ConfigMap,
    pub deployment: Deployment,
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
}

/// `routed`: the broker-role nodes Envoy sends traffic to — the spec's, and brokers being
/// drained until Cruise Control has moved their partitions away.
pub fn envoy_objects(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
    routed: &BTreeSet<i32>,
) -> EnvoyObjects {
    let config_map = config_map(cluster, settings, listener, routed);
    EnvoyObjects {
        service: service(cluster, settings, listener, routed),
        deployment: deployment(cluster, settings, listener, &config_map),
        pod_disruption_budget: pod_disruption_budget(cluster, settings, listener),
        config_map,
    }
}

fn tcp_port(name: String, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

fn service(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
    routed: &BTreeSet<i32>,
) -> Service {
    let labels = envoy_labels(cluster, listener);
    let mut metadata = object_meta(cluster, service_name(cluster, listener), labels.clone());
    metadata.annotations = (!listener.service_annotations.is_empty()).then(|| listener.service_annotations.clone());
    let mut ports: Vec<ServicePort> =
        routed.iter().filter_map(|id| Some(tcp_port(format!("broker-{id}"), listener.broker_port(*id)?))).collect();
    ports.push(tcp_port(ANY_BROKER_PORT_NAME.to_owned(), listener.any_cast_port));
    ports.push(tcp_port("tcp-health".to_owned(), settings.health_check_port));
    ports.push(tcp_port("tcp-admin".to_owned(), settings.admin_port));
    let config = &settings.config;
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".to_owned()),
            selector: Some(labels),
            ports: Some(ports),
            load_balancer_ip: config.load_balancer_ip.clone().filter(|ip| !ip.is_empty()),
            load_balancer_source_ranges: (!config.load_balancer_source_ranges.is_empty())
                .then(|| config.load_balancer_source_ranges.clone()),
            external_traffic_policy: listener.external_traffic_policy.map(|policy| format!("{policy:?}")),
            ..Default::default()
        }),
        status: None,
    }
}

fn config_map(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
    routed: &BTreeSet<i32>,
) -> ConfigMap {
    let config = envoy_config(cluster, settings, listener, routed);
    let yaml = |value: &Value| serde_yaml::to_string(value).expect("a JSON value always serializes to YAML");
    let data = [
        (CONFIG_KEY.to_owned(), yaml(&config.bootstrap)),
        (LISTENERS_KEY.to_owned(), yaml(&config.broker_listeners)),
        (CLUSTERS_KEY.to_owned(), yaml(&config.broker_clusters)),
    ];
    ConfigMap {
        metadata: object_meta(cluster, config_map_name(cluster, listener), envoy_labels(cluster, listener)),
        data: Some(data.into()),
        ..Default::default()
    }
}

/// Envoy's configuration in three files of one ConfigMap.
pub struct EnvoyConfig {
    /// `envoy.yaml`: the admin interface, the health listener, the any-broker listener over all
    /// brokers (health-checked through their JMX exporter), and where the per-broker parts are.
    /// What does not change with the brokers: a change of it restarts Envoy.
    pub bootstrap: Value,
    /// `lds.yaml`: a TCP proxy listener per broker, sorted by port as Koperator sorts them.
    pub broker_listeners: Value,
    /// `cds.yaml`: a cluster per broker.
    pub broker_clusters: Value,
}

/// Envoy's configuration. The per-broker listeners and clusters are file-based dynamic
/// resources Envoy watches (the kubelet swaps a ConfigMap volume's files atomically), so a
/// broker that joins or leaves changes Envoy without a restart: every other client
/// connection stays up, and only a removed broker's listener drains.
pub fn envoy_config(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
    routed: &BTreeSet<i32>,
) -> EnvoyConfig {
    let upstream_port = listener.container_port;
    let clusters: Vec<Value> = routed
        .iter()
        .map(|id| {
            let mut resource =
                upstream_cluster(&format!("broker-{id}"), &broker_host(cluster, *id), upstream_port, None);
            resource["@type"] = json!("type.googleapis.com/envoy.config.cluster.v3.Cluster");
            resource
        })
        .collect();
    let all_brokers_service = if cluster.spec.headless_service_enabled {
        headless_service_name(cluster)
    } else {
        all_broker_service_name(cluster)
    };
    let all_brokers_host = format!("{all_brokers_service}.{}.svc.{}", cluster.namespace, cluster.cluster_domain);
    let all_brokers = upstream_cluster("all-brokers", &all_brokers_host, upstream_port, Some(METRICS_PORT));

    let mut listeners: Vec<(i32, Value)> = routed
        .iter()
        .filter_map(|id| {
            let port = listener.broker_port(*id)?;
            let mut resource = tcp_proxy_listener(&format!("broker-{id}"), port, &format!("broker_tcp-{id}"));
            resource["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
            Some((port, resource))
        })
        .collect();
    listeners.sort_by_key(|(port, _)| *port);
    let listeners: Vec<Value> = listeners.into_iter().map(|(_, listener)| listener).collect();
    let any_broker = tcp_proxy_listener("all-brokers", listener.any_cast_port, "all-brokers");

    let watched = |file: &str| {
        json!({
            "resource_api_version": "V3",
            "path_config_source": {
                "path": format!("{CONFIG_DIR}/{file}"),
                "watched_directory": {"path": CONFIG_DIR},
            },
        })
    };
    EnvoyConfig {
        bootstrap: json!({
            "node": {"id": deployment_name(cluster, listener), "cluster": deployment_name(cluster, listener)},
            "admin": {"address": socket_address(settings.admin_port)},
            "static_resources": {"listeners": [any_broker, health_listener(settings)], "clusters": [all_brokers]},
            "dynamic_resources": {"lds_config": watched(LISTENERS_KEY), "cds_config": watched(CLUSTERS_KEY)},
        }),
        broker_listeners: json!({"resources": listeners}),
        broker_clusters: json!({"resources": clusters}),
    }
}

fn socket_address(port: i32) -> Value {
    json!({"socket_address": {"address": "0.0.0.0", "port_value": port}})
}

/// Keep-alive on every accepted connection (SO_KEEPALIVE, TCP_KEEPIDLE 30 s, TCP_KEEPINTVL 30 s,
/// TCP_KEEPCNT 3), as Koperator sets it: load balancers drop idle flows silently otherwise.
fn keepalive_socket_options() -> Value {
    json!([
        {"level": 1, "name": 9, "int_value": 1, "state": "STATE_PREBIND"},
        {"level": 6, "name": 4, "int_value": 30, "state": "STATE_PREBIND"},
        {"level": 6, "name": 5, "int_value": 30, "state": "STATE_PREBIND"},
        {"level": 6, "name": 6, "int_value": 3, "state": "STATE_PREBIND"},
    ])
}

fn tcp_proxy_listener(cluster: &str, port: i32, stat_prefix: &str) -> Value {
    json!({
        "name": format!("listener-{port}"),
        "address": socket_address(port),
        "socket_options": keepalive_socket_options(),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": stat_prefix,
                "cluster": cluster,
                "idle_timeout": IDLE_TIMEOUT,
                "max_connect_attempts": 2,
            },
        }]}],
    })
}

/// `GET /healthcheck` answers 200 while at least one broker passes its health check.
fn health_listener(settings: &EnvoySettings) -> Value {
    let mut manager = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "all-brokers-healthcheck",
        "route_config": {
            "name": "local",
            "virtual_hosts": [{
                "name": "localhost",
                "domains": ["*"],
                "routes": [{"match": {"prefix": "/"}, "redirect": {"path_redirect": "/healthcheck"}}],
            }],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.health_check",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
                    "pass_through_mode": false,
                    "cluster_min_healthy_percentages": {"all-brokers": {"value": 1}},
                    "headers": [{"name": ":path", "string_match": {"exact": "/healthcheck", "ignore_case": true}}],
                },
            },
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    });
    if settings.config.enable_health_check_http10 == Some(true) {
        manager["http_protocol_options"] = json!({"accept_http_10": true});
    }
    json!({
        "name": "healthcheck",
        "address": socket_address(settings.health_check_port),
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}],
    })
}

/// A cluster of one DNS name (a broker's, or the Service of all brokers, resolved to every
/// broker's address). With `health_port`, hosts are checked over HTTP `/-/healthy` on it.
fn upstream_cluster(name: &str, host: &str, port: i32, health_port: Option<i32>) -> Value {
    let thresholds = json!({
        "max_connections": 1_000_000_000,
        "max_pending_requests": 1_000_000_000,
        "max_requests": 1_000_000_000,
        "max_retries": 1_000_000_000,
    });
    let mut endpoint = json!({"address": {"socket_address": {"address": host, "port_value": port}}});
    let mut cluster = json!({
        "name": name,
        "connect_timeout": "1s",
        "type": "STRICT_DNS",
        "circuit_breakers": {"thresholds": [
            {"priority": "DEFAULT", "max_connections": thresholds["max_connections"], "max_pending_requests": thresholds["max_pending_requests"], "max_requests": thresholds["max_requests"], "max_retries": thresholds["max_retries"]},
            {"priority": "HIGH", "max_connections": thresholds["max_connections"], "max_pending_requests": thresholds["max_pending_requests"], "max_requests": thresholds["max_requests"], "max_retries": thresholds["max_retries"]},
        ]},
        "upstream_connection_options": {"tcp_keepalive": {"keepalive_probes": 3, "keepalive_time": 30, "keepalive_interval": 30}},
    });
    if let Some(health_port) = health_port {
        endpoint["health_check_config"] = json!({"port_value": health_port});
        cluster["ignore_health_on_host_removal"] = json!(true);
        cluster["health_checks"] = json!([{
            "interval": "5s",
            "timeout": "1s",
            "no_traffic_interval": "5s",
            "unhealthy_interval": "2s",
            "interval_jitter": "1s",
            "unhealthy_threshold": 2,
            "healthy_threshold": 1,
            "http_health_check": {"path": "/-/healthy"},
        }]);
    }
    cluster["load_assignment"] =
        json!({"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}]});
    cluster
}

fn container_port(name: String, port: i32) -> ContainerPort {
    ContainerPort { name: Some(name), container_port: port, protocol: Some("TCP".to_owned()), ..Default::default() }
}

fn deployment(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
    config_map: &ConfigMap,
) -> Deployment {
    let labels = envoy_labels(cluster, listener);
    let config = &settings.config;
    let annotations: BTreeMap<String, String> = config.annotations.clone();
    let yaml = config_map.data.as_ref().and_then(|data| data.get(CONFIG_KEY)).map_or("", String::as_str);
    let hash: String = Sha256::digest(yaml.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    let mut pod_annotations = annotations.clone();
    pod_annotations.insert(CONFIG_HASH_ANNOTATION.to_owned(), hash);

    // The brokers' ports are not listed: the Service targets them by number, and a pod
    // template that changed with the brokers would restart Envoy.
    let mut ports = vec![container_port(ANY_BROKER_PORT_NAME.to_owned(), listener.any_cast_port)];
    ports.push(container_port("tcp-admin".to_owned(), settings.admin_port));
    ports.push(container_port("tcp-health".to_owned(), settings.health_check_port));
    let mut args = vec!["-c".to_owned(), format!("{CONFIG_DIR}/{CONFIG_KEY}")];
    if let Some(concurrency) = settings.concurrency {
        args.extend(["--concurrency".to_owned(), concurrency.to_string()]);
    }
    let volume = config_map_name(cluster, listener);
    let container = Container {
        name: "envoy".to_owned(),
        image: Some(settings.image.clone()),
        args: Some(args),
        ports: Some(ports),
        resources: Some(settings.resources.clone()),
        volume_mounts: Some(vec![VolumeMount {
            name: volume.clone(),
            mount_path: CONFIG_DIR.to_owned(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let mut metadata = object_meta(cluster, deployment_name(cluster, listener), labels.clone());
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(settings.replicas),
            selector: LabelSelector { match_labels: Some(labels.clone()), match_expressions: None },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(pod_annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: volume.clone(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: volume,
                            default_mode: Some(0o644),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    service_account_name: Some(settings.service_account_name.clone()),
                    image_pull_secrets: (!config.image_pull_secrets.is_empty())
                        .then(|| config.image_pull_secrets.clone()),
                    node_selector: (!config.node_selector.is_empty()).then(|| config.node_selector.clone()),
                    tolerations: (!config.tolerations.is_empty()).then(|| config.tolerations.clone()),
                    affinity: config.affinity.clone(),
                    topology_spread_constraints: (!config.topology_spread_constraints.is_empty())
                        .then(|| config.topology_spread_constraints.clone()),
                    priority_class_name: config.priority_class_name.clone().filter(|name| !name.is_empty()),
                    security_context: config.pod_security_context.clone(),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// `<deployment>-pdb` with the configured strategy (`minAvailable` unless `maxUnavailable`).
fn pod_disruption_budget(
    cluster: &ValidatedCluster,
    settings: &EnvoySettings,
    listener: &ExternalListener,
) -> Option<PodDisruptionBudget> {
    let settings_budget = settings.config.disruption_budget.as_ref()?;
    let budget = Some(&settings_budget.budget).filter(|budget| budget.create == Some(true))?;
    let labels = envoy_labels(cluster, listener);
    let mut metadata = object_meta(cluster, format!("{}-pdb", deployment_name(cluster, listener)), labels.clone());
    let annotations = &settings.config.annotations;
    metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
    let value = IntOrString::String(budget.budget.clone().unwrap_or_else(|| "1".to_owned()));
    let value = match value {
        IntOrString::String(text) => text.parse::<i32>().map_or(IntOrString::String(text), IntOrString::Int),
        int => int,
    };
    let max_unavailable = settings_budget.strategy == Some(DisruptionBudgetStrategy::MaxUnavailable);
    Some(PodDisruptionBudget {
        metadata,
        spec: Some(PodDisruptionBudgetSpec {
            min_available: (!max_unavailable).then(|| value.clone()),
            max_unavailable: max_unavailable.then_some(value),
            selector: Some(LabelSelector { match_labels: Some(labels), match_expressions: None }),
            ..Default::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::load;
    use crate::model::validate;

    const WITHOUT_SSL: &str = "crates/crd-types/tests/fixtures/koperator/samples/kafkacluster_without_ssl.yaml";

    fn sample() -> (ValidatedCluster, ExternalListener) {
        let cluster = validate(&load(WITHOUT_SSL)).expect("Koperator's sample is valid");
        let listener = cluster.external_listeners[0].clone();
        (cluster, listener)
    }

    #[test]
    fn koperators_sample_gets_its_envoy_objects() {
        let (cluster, listener) = sample();
        let objects = envoy_objects(&cluster, &cluster.envoy, &listener, &[0, 1, 2].into());
        assert_eq!(objects.service.metadata.name.as_deref(), Some("envoy-loadbalancer-external-kafka"));
        assert_eq!(objects.config_map.metadata.name.as_deref(), Some("envoy-config-external-kafka"));
        assert_eq!(objects.deployment.metadata.name.as_deref(), Some("envoy-external-kafka"));
        assert!(objects.pod_disruption_budget.is_none());
        let ports: Vec<(String, i32)> = objects
            .service
            .spec
            .as_ref()
            .and_then(|s| s.ports.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|port| (port.name.unwrap_or_default(), port.port))
            .collect();
        let expected = [
            ("broker-0", 19090),
            ("broker-1", 19091),
            ("broker-2", 19092),
            ("tcp-all-broker", 29092),
            ("tcp-health", 8080),
            ("tcp-admin", 8081),
        ];
        assert_eq!(ports, expected.map(|(name, port)| (name.to_owned(), port)));
        insta::assert_yaml_snapshot!("without_ssl_envoy_objects", objects_as_json(&objects));
    }

    fn objects_as_json(objects: &EnvoyObjects) -> Value {
        json!({
            "service": objects.service,
            "config_map": objects.config_map,
            "deployment": objects.deployment,
        })
    }

    #[test]
    fn envoy_reaches_each_broker_by_name_on_the_listener_port() {
        let (cluster, listener) = sample();
        let config = envoy_config(&cluster, &cluster.envoy, &listener, &[0, 2].into());
        let clusters = config.broker_clusters["resources"].as_array().expect("clusters");
        let names: Vec<&str> = clusters.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, ["broker-0", "broker-2"]);
        let address =
            &clusters[1]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"];
        assert_eq!(address["address"], "kafka-2.kafka-headless.kafka.svc.cluster.local");
        assert_eq!(address["port_value"], 9094);
        let port_of = |l: &Value| l["address"]["socket_address"]["port_value"].as_i64();
        let listeners = config.broker_listeners["resources"].as_array().expect("listeners");
        assert_eq!(listeners.iter().filter_map(port_of).collect::<Vec<_>>(), [19090, 19092]);
        let fixed = config.bootstrap["static_resources"]["listeners"].as_array().expect("static listeners");
        assert_eq!(fixed.iter().filter_map(port_of).collect::<Vec<_>>(), [29092, 8080]);
        assert_eq!(config.bootstrap["static_resources"]["clusters"][0]["name"], "all-brokers");
    }

    #[test]
    fn brokers_joining_or_leaving_change_envoys_files_but_not_its_pods() {
        let (cluster, listener) = sample();
        let objects = |routed: &BTreeSet<i32>| envoy_objects(&cluster, &cluster.envoy, &listener, routed);
        let (three, two) = (objects(&[0, 1, 2].into()), objects(&[0, 1].into()));
        assert_eq!(
            three.deployment.spec.as_ref().map(|s| &s.template),
            two.deployment.spec.as_ref().map(|s| &s.template)
        );
        let data = |o: &EnvoyObjects, key: &str| o.config_map.data.as_ref().and_then(|d| d.get(key)).cloned();
        assert_ne!(data(&three, LISTENERS_KEY), data(&two, LISTENERS_KEY));
        assert_ne!(data(&three, CLUSTERS_KEY), data(&two, CLUSTERS_KEY));
        assert_eq!(data(&three, CONFIG_KEY), data(&two, CONFIG_KEY));
    }

    #[test]
    fn a_changed_bootstrap_changes_the_pods_hash() {
        let (cluster, listener) = sample();
        let hash = |settings: &EnvoySettings| {
            let objects = envoy_objects(&cluster, settings, &listener, &[0, 1].into());
            let template = objects.deployment.spec.and_then(|s| s.template.metadata).and_then(|m| m.annotations);
            template.and_then(|a| a.get(CONFIG_HASH_ANNOTATION).cloned()).expect("hash")
        };
        let mut other = cluster.envoy.clone();
        other.admin_port += 1;
        assert_ne!(hash(&cluster.envoy), hash(&other));
        assert_eq!(hash(&cluster.envoy), hash(&cluster.envoy));
    }

    #[test]
    fn a_disruption_budget_follows_its_strategy() {
        let mut spec = load(WITHOUT_SSL);
        spec.spec.envoy_config = Some(
            serde_json::from_value(json!({
                "disruptionBudget": {"create": true, "budget": "1", "strategy": "maxUnavailable"}
            }))
            .expect("envoyConfig"),
        );
        let cluster = validate(&spec).expect("valid");
        let listener = cluster.external_listeners[0].clone();
        let pdb = envoy_objects(&cluster, &cluster.envoy, &listener, &[0].into()).pod_disruption_budget.expect("pdb");
        assert_eq!(pdb.metadata.name.as_deref(), Some("envoy-external-kafka-pdb"));
        let spec = pdb.spec.expect("spec");
        assert_eq!((spec.max_unavailable, spec.min_available), (Some(IntOrString::Int(1)), None));
    }
}
