//! Snapshots of every object built for the sample clusters, and a property test that no spec
//! admission accepts makes validation or building panic.

use std::collections::BTreeMap;

use crd_types::KafkaCluster;
use crd_types::cel::rule_examples;
use crd_types::kafka_cluster::{
    Broker, BrokerConfig, CommonListenerSpec, InternalListenerConfig, ProcessRole, SecurityProtocol, StorageConfig,
};
use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, EnvVar, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{
    CONFIG_HASH_ANNOTATION, CruiseControlFacts, HeadlessSelection, ObservedFacts, broker_objects, cluster_objects,
    cruise_control_objects, metrics_topic,
};
use crate::model::{CruiseControlPlan, ValidatedCluster, validate};

const DEDICATED_CONTROLLERS: &str = "deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml";
const CLUSTER_ID: &str = "TGVfhv8sQ0eUKAX5Dm0ZcA";

/// A sample from the repository, as the apiserver would hand it to the reconciler.
pub(crate) fn load(repository_path: &str) -> KafkaCluster {
    let path = format!("{}/../../{repository_path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("sample exists");
    let mut cluster: KafkaCluster = serde_yaml::from_str(&text).expect("sample parses");
    cluster.metadata.namespace = Some("kafka".into());
    cluster.metadata.uid = Some("11111111-2222-3333-4444-555555555555".into());
    cluster.metadata.generation = Some(1);
    cluster
}

pub(crate) fn kraft_combined() -> KafkaCluster {
    load(rule_examples::KRAFT)
}

pub(crate) fn kraft_dedicated() -> KafkaCluster {
    load(DEDICATED_CONTROLLERS)
}

pub(crate) fn zookeeper() -> KafkaCluster {
    load(rule_examples::ZOOKEEPER)
}

/// Facts of a cluster whose claims all exist, named as the apiserver would generate them.
fn facts_with_every_claim(cluster: &ValidatedCluster) -> ObservedFacts {
    let claims = cluster
        .brokers
        .iter()
        .map(|broker| {
            let names = broker
                .config
                .storage_configs
                .iter()
                .enumerate()
                .filter(|(_, storage)| storage.pvc_spec.is_some())
                .map(|(index, storage)| {
                    (storage.mount_path.clone(), format!("{}-{}-storage-{index}-x7k2p", cluster.name, broker.id))
                })
                .collect();
            (broker.id, names)
        })
        .collect();
    ObservedFacts { cluster_id: Some(CLUSTER_ID.into()), claims, ..Default::default() }
}

/// Every object for the cluster, as one YAML-friendly document.
fn all_objects(cluster: &ValidatedCluster) -> Value {
    let facts = facts_with_every_claim(cluster);
    let shared = cluster_objects(cluster, HeadlessSelection::BrokerRole);
    let brokers: Vec<Value> = cluster
        .brokers
        .iter()
        .map(|broker| {
            let objects = broker_objects(cluster, broker, &facts);
            json!({
                "id": objects.id,
                "configHash": objects.config_hash,
                "configMap": objects.config_map,
                "claims": objects.claims,
                "pod": objects.pod,
            })
        })
        .collect();
    let cruise_control = match &cluster.cruise_control.plan {
        CruiseControlPlan::Deploy(settings) => {
            let objects = cruise_control_objects(cluster, settings, &CruiseControlFacts::default());
            json!({
                "configMap": objects.config_map,
                "jmxExporterConfigMap": objects.jmx_exporter_config_map,
                "deployment": objects.deployment,
                "metricsTopic": metrics_topic(cluster, None),
            })
        }
        plan => json!(format!("{plan:?}")),
    };
    json!({
        "unsupportedFields": cluster.unsupported_fields,
        "warnings": cluster.warnings,
        "services": shared.services,
        "podDisruptionBudgets": shared.pod_disruption_budgets,
        "configMaps": shared.config_maps,
        "brokers": brokers,
        "cruiseControl": cruise_control,
    })
}

fn server_properties_of_broker_0(cluster: &ValidatedCluster) -> String {
    super::server_properties(cluster, &cluster.brokers[0])
}

#[test]
fn kraft_combined_snapshot() {
    let cluster = validate(&kraft_combined()).expect("valid");
    insta::assert_snapshot!("kraft_combined_broker_0_server_properties", server_properties_of_broker_0(&cluster));
    insta::assert_yaml_snapshot!("kraft_combined_objects", all_objects(&cluster));
}

#[test]
fn kraft_dedicated_controllers_snapshot() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    insta::assert_snapshot!(
        "kraft_dedicated_controller_3_server_properties",
        super::server_properties(&cluster, &cluster.brokers[3])
    );
    insta::assert_yaml_snapshot!("kraft_dedicated_controllers_objects", all_objects(&cluster));
}

#[test]
fn zookeeper_snapshot() {
    let cluster = validate(&zookeeper()).expect("valid");
    insta::assert_snapshot!("zookeeper_broker_0_server_properties", server_properties_of_broker_0(&cluster));
    insta::assert_yaml_snapshot!("zookeeper_objects", all_objects(&cluster));
}

#[test]
fn per_broker_services_without_headless() {
    let mut spec = zookeeper();
    spec.spec.headless_service_enabled = false;
    let cluster = validate(&spec).expect("valid");
    let names: Vec<String> = cluster_objects(&cluster, HeadlessSelection::BrokerRole)
        .services
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    assert_eq!(names, ["kafka-0", "kafka-1", "kafka-2", "kafka-all-broker", "kafka-cruisecontrol-svc"]);
}

#[test]
fn pod_waits_for_claims_and_cluster_id() {
    let cluster = validate(&kraft_combined()).expect("valid");
    let broker = &cluster.brokers[0];
    let complete = facts_with_every_claim(&cluster);
    assert!(broker_objects(&cluster, broker, &complete).pod.is_some());
    let without_claims = ObservedFacts { claims: BTreeMap::new(), ..complete.clone() };
    assert!(broker_objects(&cluster, broker, &without_claims).pod.is_none());
    let without_id = ObservedFacts { cluster_id: None, ..complete };
    assert!(broker_objects(&cluster, broker, &without_id).pod.is_none());
}

#[test]
fn config_hash_follows_config_and_pod_changes() {
    let spec = kraft_combined();
    let cluster = validate(&spec).expect("valid");
    let facts = facts_with_every_claim(&cluster);
    let hash = |spec: &KafkaCluster| {
        let cluster = validate(spec).expect("valid");
        broker_objects(&cluster, &cluster.brokers[0], &facts).config_hash
    };
    let original = hash(&spec);
    assert_eq!(original, hash(&spec));

    let mut config_change = spec.clone();
    config_change.spec.read_only_config = Some("num.partitions=7".into());
    assert_ne!(original, hash(&config_change));

    let mut pod_change = spec.clone();
    pod_change.spec.cluster_image = Some("ghcr.io/adobe/koperator/kafka:2.13-3.9.0".into());
    assert_ne!(original, hash(&pod_change));

    let objects = broker_objects(&cluster, &cluster.brokers[0], &facts);
    let pod = objects.pod.expect("pod");
    let stamped = pod.metadata.annotations.as_ref().and_then(|a| a.get(CONFIG_HASH_ANNOTATION));
    assert_eq!(stamped, Some(&objects.config_hash));
}

#[test]
fn broker_labels_never_override_the_operators() {
    let mut spec = kraft_combined();
    let group = spec.spec.broker_config_groups.get_mut("default").expect("group");
    group.broker_labels = [("app".to_string(), "mine".to_string()), ("team".to_string(), "a".to_string())].into();
    let cluster = validate(&spec).expect("valid");
    let objects = broker_objects(&cluster, &cluster.brokers[0], &facts_with_every_claim(&cluster));
    let labels = objects.pod.and_then(|pod| pod.metadata.labels).expect("labels");
    assert_eq!(labels["app"], "kafka");
    assert_eq!(labels["team"], "a");
    assert_eq!(labels["processRoles"], "broker_controller");
}

// --- Property test: arbitrary admitted specs never panic -------------------------------------

fn storage_strategy() -> impl Strategy<Value = StorageConfig> {
    let path = prop::sample::select(vec!["/kafka-logs", "/data", "/data/", "/a/b", "/{{ .BrokerId }}"]);
    (path, 0..3u8, prop::option::weighted(0.95, "[1-9][0-9]{0,2}(Gi|Mi)?"), prop::bool::ANY).prop_map(
        |(path, kind, size, selector)| {
            let mut pvc = PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements {
                    requests: size.map(|size| [("storage".to_string(), Quantity(size))].into()),
                    limits: None,
                }),
                ..Default::default()
            };
            if selector {
                pvc.storage_class_name = Some("class-{{ .BrokerId }}-{{.MountPath}}".into());
            }
            StorageConfig {
                mount_path: path.to_string(),
                pvc_spec: (kind != 1).then_some(pvc),
                empty_dir: (kind != 0).then(EmptyDirVolumeSource::default),
                tiered_storage_cache: None,
            }
        },
    )
}

fn roles_strategy() -> impl Strategy<Value = Vec<ProcessRole>> {
    prop::sample::select(vec![
        vec![],
        vec![ProcessRole::Broker],
        vec![ProcessRole::Controller],
        vec![ProcessRole::Broker, ProcessRole::Controller],
        vec![ProcessRole::Controller, ProcessRole::Broker],
    ])
}

fn env_strategy() -> impl Strategy<Value = EnvVar> {
    (
        prop::sample::select(vec!["KAFKA_OPTS", "+KAFKA_OPTS", "KAFKA_OPTS+", "KAFKA_HEAP_OPTS", "X+", "+", " "]),
        ".{0,8}",
    )
        .prop_map(|(name, value)| EnvVar { name: name.into(), value: Some(value), value_from: None })
}

fn broker_config_strategy() -> impl Strategy<Value = BrokerConfig> {
    (
        roles_strategy(),
        prop::collection::vec(storage_strategy(), 0..3),
        prop::option::of(prop_oneof![
            8 => prop::sample::select(vec!["ghcr.io/adobe/koperator/kafka:2.13-3.9.1", "apache/kafka:4.1.0", ""]),
            1 => prop::sample::select(vec!["apache/kafka:latest", "apache/kafka@sha256:0123", "kafka"]),
        ]),
        prop::collection::vec(env_strategy(), 0..3),
        prop::option::of(prop::sample::select(vec!["", "x", "log4j.rootLogger=INFO"])),
        prop::collection::btree_map("[a-z]{1,3}", "[a-z]{0,3}", 0..2),
    )
        .prop_map(|(process_roles, storage_configs, image, envs, log4j, broker_labels)| BrokerConfig {
            process_roles,
            storage_configs,
            image: image.map(str::to_string),
            envs,
            log4j_config: log4j.map(str::to_string),
            broker_labels,
            ..Default::default()
        })
}

/// Admission requires storage in a group and, in KRaft, roles on every broker; most groups comply.
fn group_strategy() -> impl Strategy<Value = BrokerConfig> {
    (broker_config_strategy(), prop::bool::weighted(0.9)).prop_map(|(mut group, admitted)| {
        if admitted && group.process_roles.is_empty() {
            group.process_roles = vec![ProcessRole::Broker, ProcessRole::Controller];
        }
        if admitted && group.storage_configs.is_empty() {
            group.storage_configs.push(StorageConfig {
                mount_path: "/kafka-logs".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                tiered_storage_cache: None,
                pvc_spec: None,
            });
        }
        group
    })
}

fn listener(name: &str, port: i32, inter_broker: bool, controller: bool) -> InternalListenerConfig {
    InternalListenerConfig {
        common: CommonListenerSpec {
            security_protocol: SecurityProtocol::Plaintext,
            name: name.into(),
            container_port: port,
            used_for_inner_broker_communication: Some(inter_broker),
            ..Default::default()
        },
        used_for_controller_communication: Some(controller),
        ..Default::default()
    }
}

prop_compose! {
    fn cluster_strategy()(
        kraft in prop::bool::ANY,
        headless in prop::bool::ANY,
        one_per_node in prop::bool::ANY,
        ids in prop::collection::btree_set(0..65535i32, 0..6),
        groups in (group_strategy(), group_strategy()),
        broker_configs in prop::collection::vec((prop::option::weighted(0.8, prop_oneof![20 => prop::sample::select(vec!["a", "b"]), 1 => Just("missing")]), prop::option::of(broker_config_strategy()), prop::option::of("[a-z.]{1,8}=[0-9]{0,2}")), 6),
        extra_listener in prop::option::of(("[a-z]{1,11}", 1..65535i32)),
        with_controller_listener in prop::bool::weighted(0.9),
        read_only in prop::option::of("[a-z.=\n#:\\\\ ]{0,40}"),
        budget in prop::option::of(prop::sample::select(vec!["0", "1", "3", "50%", "100%"])),
        zk_path in prop::option::of("[a-z/]{0,6}"),
        annotation in prop::option::weighted(0.2, prop::sample::select(vec!["3.9.1", "4.0", "x"])),
    ) -> KafkaCluster {
        let mut cluster = kraft_combined();
        let spec = &mut cluster.spec;
        spec.kraft = Some(kraft);
        spec.headless_service_enabled = headless;
        spec.one_broker_per_node = one_per_node;
        spec.cluster_image = None;
        spec.zk_addresses = vec!["zk:2181".into()];
        spec.zk_path = zk_path;
        spec.read_only_config = read_only;
        spec.broker_config_groups = [("a".to_string(), groups.0), ("b".to_string(), groups.1)].into();
        spec.brokers = ids
            .into_iter()
            .zip(broker_configs)
            .map(|(id, (group, broker_config, read_only_config))| Broker {
                id,
                broker_config_group: group.map(str::to_string),
                broker_config,
                read_only_config,
            })
            .collect();
        let mut listeners = vec![listener("internal", 29092, true, false)];
        if with_controller_listener {
            listeners.push(listener("controller", 29093, false, true));
        }
        if let Some((name, port)) = extra_listener
            && name != "internal"
            && name != "controller"
            && port != 29092
            && port != 29093
        {
            listeners.push(listener(&name, port, false, false));
        }
        spec.listeners_config.internal_listeners = listeners;
        spec.disruption_budget = budget.map(|budget| crd_types::kafka_cluster::DisruptionBudget {
            create: Some(true),
            budget: Some(budget.to_string()),
        });
        if let Some(version) = annotation {
            cluster.metadata.annotations =
                Some([(crate::model::KAFKA_VERSION_ANNOTATION.to_string(), version.to_string())].into());
        }
        cluster
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn validate_and_build_never_panic(cluster in cluster_strategy(), with_facts in prop::bool::ANY) {
        match validate(&cluster) {
            Ok(validated) => {
                let shared = cluster_objects(&validated, HeadlessSelection::BrokerRole);
                prop_assert!(shared.services.iter().any(|s| s.metadata.name.as_deref() == Some("kafka-all-broker")));
                let facts = if with_facts { facts_with_every_claim(&validated) } else { ObservedFacts::default() };
                for broker in &validated.brokers {
                    let objects = broker_objects(&validated, broker, &facts);
                    prop_assert_eq!(objects.config_hash.len(), 64);
                    let pod_expected = with_facts || (objects.claims.is_empty() && !validated.is_kraft());
                    prop_assert_eq!(objects.pod.is_some(), pod_expected);
                    prop_assert!(!broker.config.storage_configs.is_empty());
                }
                if let CruiseControlPlan::Deploy(settings) = &validated.cruise_control.plan {
                    let objects = cruise_control_objects(&validated, settings, &CruiseControlFacts::default());
                    let capacity = objects.config_map.data.as_ref().and_then(|d| d.get("capacity.json")).cloned();
                    prop_assert!(serde_json::from_str::<Value>(&capacity.unwrap_or_default()).is_ok());
                    prop_assert!(metrics_topic(&validated, None).is_some());
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in errors {
                    let text = error.to_string();
                    prop_assert!(text.contains(": ") && text.contains("; "), "{}", text);
                }
            }
        }
    }
}

#[test]
fn a_new_server_certificate_changes_the_configuration_hash() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    let facts = facts_with_every_claim(&cluster);
    let broker = &cluster.brokers[0];
    let plain = broker_objects(&cluster, broker, &facts);
    let first = ObservedFacts { server_certificate_serial: Some("01".into()), ..facts.clone() };
    let renewed = ObservedFacts { server_certificate_serial: Some("02".into()), ..facts };
    let first = broker_objects(&cluster, broker, &first);
    let renewed = broker_objects(&cluster, broker, &renewed);
    let pod = first.pod.as_ref().expect("a pod");
    let annotations = pod.metadata.annotations.as_ref().expect("annotations");
    assert_eq!(annotations[super::SERVER_CERTIFICATE_ANNOTATION], "01");
    assert_ne!(plain.config_hash, first.config_hash);
    assert_ne!(first.config_hash, renewed.config_hash, "a renewal restarts the broker");
}

#[test]
fn dynamic_quorum_pods_wait_until_the_controllers_names_resolve() {
    let mut cluster = validate(&kraft_dedicated()).expect("valid");
    cluster.quorum = crate::model::QuorumConfig::Dynamic { initial: None };
    let objects = broker_objects(&cluster, &cluster.brokers[0], &facts_with_every_claim(&cluster));
    let data = objects.config_map.data.expect("data");
    let hosts = &data[super::config_map::QUORUM_HOSTS_KEY];
    assert_eq!(hosts.split(' ').count(), 3, "{hosts}");
    assert!(hosts.starts_with("kafka-3.kafka-controller-headless.kafka.svc.cluster.local"), "{hosts}");

    let pod = objects.pod.expect("pod");
    let command = pod.spec.expect("spec").containers[0].command.clone().expect("command");
    let script = &command[2];
    assert!(script.contains("getent hosts"), "{script}");
    // The script runs under the image's /bin/sh: it must parse, and the wait must end at once
    // when every name resolves (here: a file listing `localhost`).
    let parsed = std::process::Command::new("/bin/sh").args(["-n", "-c", script]).output().expect("sh runs");
    assert!(parsed.status.success(), "{script}: {parsed:?}");
    let directory = std::env::temp_dir().join(format!("quorum-hosts-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    std::fs::write(directory.join(super::config_map::QUORUM_HOSTS_KEY), "localhost localhost").expect("write");
    let wait = super::pod::quorum_hosts_wait(&directory.display().to_string());
    let started = std::time::Instant::now();
    let run =
        std::process::Command::new("/bin/sh").args(["-c", &format!("{wait}echo done")]).output().expect("sh runs");
    std::fs::remove_dir_all(&directory).expect("clean up");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "done\n", "{wait}: {run:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the wait did not end at once");
}
