//! Cruise Control next to the brokers, as Koperator runs it: its ConfigMap
//! (`cruisecontrol.properties`, `capacity.json`, `clusterConfigs.json`, `log4j.properties`),
//! its Service, the JMX exporter rules of its metrics port, and the `__CruiseControlMetrics`
//! KafkaTopic. The Deployment is in `cruise_control_deployment`; `cruise_control_objects` (in
//! the parent module) puts them together.

use std::collections::BTreeMap;

use crd_types::kafka_topic::{ClusterReference, KafkaTopic, KafkaTopicSpec};
use crd_types::labels::{APP, KAFKA_CR};
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::CruiseControlFacts;
use super::capacity::capacity_json;
use super::labels::{Labels, all_broker_service_name, object_meta};
use crate::model::{
    CruiseControlPlan, DeploySettings, METRICS_PORT, MetadataMode, Properties, ValidatedCluster, parse_properties,
    render_properties,
};

/// Port of Cruise Control's REST API (`webserver.http.port`).
pub const CRUISE_CONTROL_PORT: i32 = 8090;
/// Where the Deployment mounts the ConfigMap (the image's config directory).
pub const CONFIG_DIR: &str = "/opt/cruise-control/config";
pub const PROPERTIES_KEY: &str = "cruisecontrol.properties";
pub const CAPACITY_KEY: &str = "capacity.json";
pub const CLUSTER_CONFIGS_KEY: &str = "clusterConfigs.json";
pub const LOG4J_KEY: &str = "log4j.properties";
/// The topic the metrics reporter writes to and Cruise Control samples from.
pub const METRICS_TOPIC: &str = "__CruiseControlMetrics";

/// Cruise Control 2.5 logs through log4j2, which reads this properties syntax.
const DEFAULT_LOG4J: &str = "rootLogger.level=INFO\n\
appenders=console\n\
appender.console.type=Console\n\
appender.console.name=STDOUT\n\
appender.console.layout.type=PatternLayout\n\
appender.console.layout.pattern=[%d] %p %m (%c)%n\n\
rootLogger.appenderRefs=console\n\
rootLogger.appenderRef.console.ref=STDOUT\n";

/// JMX exporter rules of Cruise Control's metrics port when `monitoringConfig.cCJMXExporterConfig`
/// is not set: every MBean under the agent's default naming.
const DEFAULT_JMX_EXPORTER_CONFIG: &str = "lowercaseOutputName: true\nlowercaseOutputLabelNames: true\n";

/// `app=cruisecontrol`, `kafka_cr=<cluster>`: Koperator's labels and the Deployment's selector.
pub fn cruise_control_labels(cluster: &ValidatedCluster) -> Labels {
    [(APP.to_owned(), "cruisecontrol".to_owned()), (KAFKA_CR.to_owned(), cluster.name.clone())].into()
}

pub fn deployment_name(cluster: &ValidatedCluster) -> String {
    format!("{}-cruisecontrol", cluster.name)
}

pub fn config_map_name(cluster: &ValidatedCluster) -> String {
    format!("{}-cruisecontrol-config", cluster.name)
}

pub fn service_name(cluster: &ValidatedCluster) -> String {
    format!("{}-cruisecontrol-svc", cluster.name)
}

pub fn jmx_exporter_config_map_name(cluster: &ValidatedCluster) -> String {
    format!("{}-cc-jmx-exporter", cluster.name)
}

/// Koperator's name of the metrics topic's KafkaTopic.
pub fn metrics_topic_name(cluster: &ValidatedCluster) -> String {
    format!("{}-cruise-control-topic", cluster.name)
}

/// `<all-broker service>:<port>` of the inter-broker listener (not the controller listener):
/// what Cruise Control and the reporter bootstrap from. The all-broker Service rather than
/// Koperator's headless one, so that only ready broker-role nodes answer.
pub fn bootstrap_servers(cluster: &ValidatedCluster) -> Option<String> {
    let listener = cluster.spec.listeners_config.internal_listeners.iter().find(|l| {
        l.common.used_for_inner_broker_communication == Some(true) && l.used_for_controller_communication != Some(true)
    })?;
    let ValidatedCluster { namespace, cluster_domain, .. } = cluster;
    Some(format!(
        "{}.{namespace}.svc.{cluster_domain}:{}",
        all_broker_service_name(cluster),
        listener.common.container_port
    ))
}

/// `<cluster>-cruisecontrol-config`: the files Cruise Control reads at start.
pub fn config_map(cluster: &ValidatedCluster, settings: &DeploySettings, facts: &CruiseControlFacts) -> ConfigMap {
    let config = &cluster.spec.cruise_control_config;
    let log4j = config.log4j_config.clone().filter(|l| !l.trim().is_empty());
    let data = BTreeMap::from([
        (PROPERTIES_KEY.to_owned(), cruise_control_properties(cluster)),
        (CAPACITY_KEY.to_owned(), capacity_json(cluster, &settings.capacity, facts)),
        (CLUSTER_CONFIGS_KEY.to_owned(), settings.cluster_config.clone()),
        (LOG4J_KEY.to_owned(), log4j.unwrap_or_else(|| DEFAULT_LOG4J.to_owned())),
    ]);
    ConfigMap {
        metadata: object_meta(cluster, config_map_name(cluster), cruise_control_labels(cluster)),
        data: Some(data),
        ..Default::default()
    }
}

/// The user's `cruiseControlConfig.config` with what the operator must decide on top: where
/// Kafka is and how to reach it (TLS: [`super::cruise_control_tls`]), where the REST API
/// listens (on every address, for the Service), where the mounted files are, and the metadata
/// mode's settings as Koperator sets them (KRaft: topic configs read through the admin API and
/// broker failures detected without ZooKeeper).
pub fn cruise_control_properties(cluster: &ValidatedCluster) -> String {
    let config = cluster.spec.cruise_control_config.config.as_deref().unwrap_or_default();
    let mut properties: Properties = parse_properties(config);
    if cluster.spec.rack_awareness.as_ref().is_some_and(|r| !r.labels.is_empty()) {
        add_rack_goal(&mut properties);
    }
    let tls = super::cruise_control_tls::cruise_control_tls_properties(cluster, &properties);
    properties.extend(tls);
    let mut set = |key: &str, value: String| {
        properties.insert(key.to_owned(), value);
    };
    if let Some(bootstrap) = bootstrap_servers(cluster) {
        set("bootstrap.servers", bootstrap);
    }
    set("webserver.http.port", CRUISE_CONTROL_PORT.to_string());
    set("webserver.http.address", "0.0.0.0".to_owned());
    set("capacity.config.file", format!("{CONFIG_DIR}/{CAPACITY_KEY}"));
    set("cluster.configs.file", format!("{CONFIG_DIR}/{CLUSTER_CONFIGS_KEY}"));
    match &cluster.mode {
        MetadataMode::Kraft => {
            set(
                "topic.config.provider.class",
                "com.linkedin.kafka.cruisecontrol.config.KafkaAdminTopicConfigProvider".to_owned(),
            );
            set("kafka.broker.failure.detection.enable", "true".to_owned());
        }
        MetadataMode::ZooKeeper { connect } => set("zookeeper.connect", connect.clone()),
    }
    render_properties(&properties)
}

/// Cruise Control's goal that spreads each partition's replicas over racks as evenly as it can
/// (the relaxed form of `RackAwareGoal`, which fails with fewer racks than replicas).
pub const RACK_AWARE_DISTRIBUTION_GOAL: &str =
    "com.linkedin.kafka.cruisecontrol.analyzer.goals.RackAwareDistributionGoal";

/// With racks, the goal lists the user's configuration names (Koperator's samples name no rack
/// goal) get [`RACK_AWARE_DISTRIBUTION_GOAL`] first, unless they already name a rack goal: in
/// `goals`, `default.goals` and `hard.goals` alike, as Cruise Control requires default and hard
/// goals to be among `goals`. A list the configuration leaves out keeps Cruise Control's default,
/// which has `RackAwareGoal`.
fn add_rack_goal(properties: &mut Properties) {
    for key in ["goals", "default.goals", "hard.goals"] {
        let Some(goals) = properties.get_mut(key) else { continue };
        if goals.contains("RackAwareGoal") || goals.contains("RackAwareDistributionGoal") {
            continue;
        }
        *goals = if goals.trim().is_empty() {
            RACK_AWARE_DISTRIBUTION_GOAL.to_owned()
        } else {
            format!("{RACK_AWARE_DISTRIBUTION_GOAL},{}", goals.trim())
        };
    }
}

pub fn jmx_exporter_config_map(cluster: &ValidatedCluster) -> ConfigMap {
    let rules = cluster
        .spec
        .monitoring_config
        .as_ref()
        .and_then(|m| m.cc_jmx_exporter_config.clone())
        .filter(|rules| !rules.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_JMX_EXPORTER_CONFIG.to_owned());
    ConfigMap {
        metadata: object_meta(cluster, jmx_exporter_config_map_name(cluster), cruise_control_labels(cluster)),
        data: Some(BTreeMap::from([(super::config_map::JMX_EXPORTER_CONFIG_KEY.to_owned(), rules)])),
        ..Default::default()
    }
}

/// `<cluster>-cruisecontrol-svc`: the REST API (`cc`) and metrics ports. Wanted whenever Cruise
/// Control is not external, even while its configuration is blocked, because it depends on
/// nothing that can be wrong; it is built with the cluster's other Services so that the same
/// sweep removes it once an external Cruise Control is named.
pub fn service(cluster: &ValidatedCluster) -> Option<Service> {
    if matches!(cluster.cruise_control.plan, CruiseControlPlan::External { .. }) {
        return None;
    }
    let port = |name: &str, number: i32| ServicePort {
        name: Some(name.to_owned()),
        port: number,
        target_port: Some(IntOrString::Int(number)),
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    };
    Some(Service {
        metadata: object_meta(cluster, service_name(cluster), cruise_control_labels(cluster)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(cruise_control_labels(cluster)),
            ports: Some(vec![port("cc", CRUISE_CONTROL_PORT), port("metrics", METRICS_PORT)]),
            ..Default::default()
        }),
        status: None,
    })
}

/// Koperator's KafkaTopic for `__CruiseControlMetrics` (`topicConfig`, default 12 partitions ×
/// 3 replicas), or None when the operator does not run Cruise Control or the reporter creates
/// the topic itself. `existing` is the KafkaTopic as it is: its replication factor cannot change
/// and its partitions can only grow (admission refuses anything else), so those are kept.
pub fn metrics_topic(cluster: &ValidatedCluster, existing: Option<&KafkaTopic>) -> Option<KafkaTopic> {
    let model = &cluster.cruise_control;
    if !matches!(model.plan, CruiseControlPlan::Deploy(_)) || model.metrics_topic_auto_created {
        return None;
    }
    let mut partitions = model.metrics_topic_partitions;
    let mut replication_factor = model.metrics_topic_replication_factor;
    if let Some(existing) = existing {
        replication_factor = existing.spec.replication_factor;
        if existing.spec.partitions == -1 || partitions == -1 || existing.spec.partitions > partitions {
            partitions = existing.spec.partitions;
        }
    }
    let mut labels: Labels = [
        (APP.to_owned(), "kafka".to_owned()),
        ("clusterName".to_owned(), cluster.name.clone()),
        ("clusterNamespace".to_owned(), cluster.namespace.clone()),
    ]
    .into();
    // Not Koperator's, but how the controller's cache finds the objects it owns.
    labels.insert(KAFKA_CR.to_owned(), cluster.name.clone());
    let mut topic = KafkaTopic::new(
        &metrics_topic_name(cluster),
        KafkaTopicSpec {
            name: METRICS_TOPIC.to_owned(),
            partitions,
            replication_factor,
            config: BTreeMap::new(),
            cluster_ref: ClusterReference { name: cluster.name.clone(), namespace: Some(cluster.namespace.clone()) },
        },
    );
    topic.metadata = object_meta(cluster, metrics_topic_name(cluster), labels);
    Some(topic)
}
