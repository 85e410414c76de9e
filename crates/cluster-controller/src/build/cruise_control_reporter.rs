//! The Cruise Control metrics reporter inside each broker: the init container that copies its
//! jar next to Kafka's libraries, and the broker settings that load and point it (Koperator's).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EmptyDirVolumeSource, ResourceRequirements, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::cruise_control::bootstrap_servers;
use crate::model::{BrokerModel, KAFKA_EXTENSIONS_DIR, METRICS_TOPIC_AUTO_CREATE, Properties, ValidatedCluster};

/// The reporter's class, the value Kafka's `metric.reporters` must name.
pub const REPORTER_CLASS: &str = "com.linkedin.kafka.cruisecontrol.metricsreporter.CruiseControlMetricsReporter";
/// Where the Cruise Control images (and our stand-in) keep the reporter jar.
pub const REPORTER_JAR_IN_IMAGE: &str =
    "/opt/cruise-control/cruise-control/build/dependant-libs/cruise-control-metrics-reporter.jar";
/// The emptyDir shared by the init container and Kafka (Koperator's volume name).
pub const EXTENSIONS_VOLUME: &str = "extensions";

const METRIC_REPORTERS: &str = "metric.reporters";
const TOPIC_PARTITIONS: &str = "cruise.control.metrics.topic.num.partitions";
const TOPIC_REPLICATION_FACTOR: &str = "cruise.control.metrics.topic.replication.factor";

/// What the reporter needs in `server.properties`, given the user's own settings (`user`),
/// for a node that loads it (nothing otherwise):
/// - `metric.reporters`: the user's reporters with ours appended (Koperator replaces the list,
///   dropping a user's reporter silently);
/// - `cruise.control.metrics.reporter.bootstrap.servers`: the all-broker Service on the
///   inter-broker listener, and `kubernetes.mode=true` so CPU is measured against the pod's
///   limits, not the node's (both as Koperator, and not overridable);
/// - with an SSL inter-broker listener, SSL with the broker's own certificate
///   ([`super::cruise_control_tls::reporter_tls_properties`]);
/// - when the user lets the reporter create its topic (`cruise.control.metrics.topic.auto.create`),
///   the topic's partitions and replication factor from `topicConfig`, unless set by the user.
///   Otherwise the operator creates the topic through a KafkaTopic, and the reporter's default
///   (no auto-creation) is left alone rather than written out.
pub fn reporter_properties(cluster: &ValidatedCluster, broker: &BrokerModel, user: &Properties) -> Properties {
    let mut properties = Properties::new();
    if broker.metrics_reporter_image.is_none() {
        return properties;
    }
    let mut reporters: Vec<&str> = user
        .get(METRIC_REPORTERS)
        .map(|list| list.split(',').map(str::trim).filter(|r| !r.is_empty()).collect())
        .unwrap_or_default();
    if !reporters.contains(&REPORTER_CLASS) {
        reporters.push(REPORTER_CLASS);
    }
    properties.insert(METRIC_REPORTERS.to_owned(), reporters.join(","));
    if let Some(bootstrap) = bootstrap_servers(cluster) {
        properties.insert("cruise.control.metrics.reporter.bootstrap.servers".to_owned(), bootstrap);
    }
    properties.insert("cruise.control.metrics.reporter.kubernetes.mode".to_owned(), "true".to_owned());
    properties.extend(super::cruise_control_tls::reporter_tls_properties(cluster));

    let auto_create = user.get(METRICS_TOPIC_AUTO_CREATE).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if auto_create && cluster.spec.cruise_control_config.topic_config.is_some() {
        let topic = &cluster.cruise_control;
        for (key, value) in [
            (TOPIC_PARTITIONS, topic.metrics_topic_partitions),
            (TOPIC_REPLICATION_FACTOR, topic.metrics_topic_replication_factor),
        ] {
            if !user.contains_key(key) {
                properties.insert(key.to_owned(), value.to_string());
            }
        }
    }
    properties
}

/// Copies the reporter jar from the reporter image into the extensions volume, as Koperator
/// does; None for nodes that do not load the reporter.
pub fn reporter_init_container(broker: &BrokerModel) -> Option<Container> {
    let image = broker.metrics_reporter_image.clone()?;
    let quantities = || -> BTreeMap<String, Quantity> {
        [("cpu".to_owned(), Quantity("100m".to_owned())), ("memory".to_owned(), Quantity("100Mi".to_owned()))].into()
    };
    Some(Container {
        name: "cruise-control-reporter".to_owned(),
        image: Some(image),
        command: Some(vec![
            "/bin/sh".to_owned(),
            "-cex".to_owned(),
            format!("cp -v {REPORTER_JAR_IN_IMAGE} {KAFKA_EXTENSIONS_DIR}/cruise-control-metrics-reporter.jar"),
        ]),
        volume_mounts: Some(vec![extensions_mount()]),
        resources: Some(ResourceRequirements {
            limits: Some(quantities()),
            requests: Some(quantities()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

pub fn extensions_mount() -> VolumeMount {
    VolumeMount {
        name: EXTENSIONS_VOLUME.to_owned(),
        mount_path: KAFKA_EXTENSIONS_DIR.to_owned(),
        ..Default::default()
    }
}

pub fn extensions_volume() -> Volume {
    Volume {
        name: EXTENSIONS_VOLUME.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::server_properties;
    use crate::build::tests::{kraft_combined, kraft_dedicated};
    use crate::model::{parse_properties, validate};

    #[test]
    fn brokers_load_the_reporter_pointed_at_the_all_broker_service() {
        let cluster = validate(&kraft_combined()).expect("valid");
        let properties = parse_properties(&server_properties(&cluster, &cluster.brokers[0]));
        assert_eq!(properties[METRIC_REPORTERS], REPORTER_CLASS);
        assert_eq!(
            properties["cruise.control.metrics.reporter.bootstrap.servers"],
            "kafka-all-broker.kafka.svc.cluster.local:29092"
        );
        assert_eq!(properties["cruise.control.metrics.reporter.kubernetes.mode"], "true");
        assert!(!properties.contains_key(METRICS_TOPIC_AUTO_CREATE));
        assert!(!properties.contains_key(TOPIC_PARTITIONS));
    }

    #[test]
    fn controller_only_nodes_do_without() {
        let cluster = validate(&kraft_dedicated()).expect("valid");
        let controller = &cluster.brokers[3];
        assert!(controller.metrics_reporter_image.is_none());
        assert!(!server_properties(&cluster, controller).contains(METRIC_REPORTERS));
        assert!(reporter_init_container(controller).is_none());
        assert!(reporter_init_container(&cluster.brokers[0]).is_some());
    }

    #[test]
    fn user_reporters_and_tuning_are_kept() {
        let mut spec = kraft_combined();
        spec.spec.read_only_config = Some(
            "metric.reporters=org.example.Reporter\ncruise.control.metrics.topic.auto.create=true\n\
             cruise.control.metrics.topic.replication.factor=2\n"
                .into(),
        );
        let cluster = validate(&spec).expect("valid");
        let properties = parse_properties(&server_properties(&cluster, &cluster.brokers[0]));
        assert_eq!(properties[METRIC_REPORTERS], format!("org.example.Reporter,{REPORTER_CLASS}"));
        assert_eq!(properties[TOPIC_PARTITIONS], "12");
        assert_eq!(properties[TOPIC_REPLICATION_FACTOR], "2");
        assert_eq!(properties[METRICS_TOPIC_AUTO_CREATE], "true");
    }

    #[test]
    fn the_init_container_copies_the_jar_from_the_reporter_image() {
        let mut spec = kraft_combined();
        spec.spec.cluster_metrics_reporter_image = Some("registry.local/reporter:1".into());
        let cluster = validate(&spec).expect("valid");
        let container = reporter_init_container(&cluster.brokers[0]).expect("broker loads the reporter");
        assert_eq!(container.image.as_deref(), Some("registry.local/reporter:1"));
        let script = container.command.expect("command").join(" ");
        assert!(script.ends_with(&format!(
            "cp -v {REPORTER_JAR_IN_IMAGE} /opt/kafka/libs/extensions/cruise-control-metrics-reporter.jar"
        )));
    }
}
