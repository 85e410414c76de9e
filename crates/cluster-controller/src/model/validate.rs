//! The checks admission cannot do (they need merged configuration or image versions) and the
//! assembly of [`ValidatedCluster`]. Every error is collected, so a user fixes them in one go.

use std::collections::BTreeSet;

use crd_types::KafkaCluster;
use crd_types::kafka_cluster::{BrokerConfig, KafkaClusterSpec, NodeAddressType, ProcessRole, SecurityProtocol};
use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::cruise_control::{cruise_control_model, metrics_reporter_image};
use super::kafka_version::{parse_image_version, parse_version};
use super::merge::{merge_broker_config, resolve_envs};
use super::{
    BrokerModel, DEFAULT_HEAP_OPTS, DEFAULT_JVM_PERFORMANCE_OPTS, DEFAULT_KAFKA_IMAGE,
    DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, JMX_AGENT_JAR_IN_POD, KAFKA_EXTENSIONS_DIR, KAFKA_VERSION_ANNOTATION,
    KafkaVersion, METRICS_PORT, MetadataMode, ValidatedCluster, ValidationError,
};

/// Where the broker pod mounts the JMX exporter configuration.
pub(crate) const JMX_EXPORTER_CONFIG_FILE: &str = "/etc/jmx-exporter/config.yaml";
/// Kubernetes' limit on container port names; ours are `tcp-<listener>`.
const MAX_PORT_NAME_LENGTH: usize = 15;

pub(super) fn validate_cluster(cluster: &KafkaCluster) -> Result<ValidatedCluster, Vec<ValidationError>> {
    let spec = &cluster.spec;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let version_override = match cluster.metadata.annotations.as_ref().and_then(|a| a.get(KAFKA_VERSION_ANNOTATION)) {
        Some(value) => match parse_version(value) {
            Some(version) => Some(version),
            None => {
                errors.push(ValidationError::InvalidKafkaVersionAnnotation { value: value.clone() });
                None
            }
        },
        None => None,
    };

    let mode = if spec.is_kraft() {
        MetadataMode::Kraft
    } else {
        if spec.zk_addresses.is_empty() {
            errors.push(ValidationError::NoZooKeeperAddresses);
        }
        MetadataMode::ZooKeeper { connect: zookeeper_connect(&spec.zk_addresses, spec.zk_path.as_deref()) }
    };
    check_listeners(spec, &mut errors);
    super::tls::check_tls(spec, &mut errors);
    super::authorizer::check_authorizer(spec, &mut errors);
    let cruise_control = cruise_control_model(spec);

    let mut brokers = Vec::new();
    for broker in &spec.brokers {
        let group = match broker.broker_config_group.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => match spec.broker_config_groups.get(name) {
                Some(group) => Some(group),
                None => {
                    errors.push(ValidationError::UnknownConfigGroup { broker_id: broker.id, group: name.to_string() });
                    continue;
                }
            },
            None => None,
        };
        let config = merge_broker_config(&spec.envs, group, broker.broker_config.as_ref());
        let image = config
            .image
            .clone()
            .or_else(|| spec.cluster_image.clone())
            .filter(|image| !image.is_empty())
            .unwrap_or_else(|| DEFAULT_KAFKA_IMAGE.to_string());
        let Some(kafka_version) = version_override.or_else(|| parse_image_version(&image)) else {
            errors.push(ValidationError::UnknownKafkaVersion { broker_id: broker.id, image });
            continue;
        };
        let roles: BTreeSet<ProcessRole> = match mode {
            MetadataMode::Kraft => config.process_roles.iter().copied().collect(),
            MetadataMode::ZooKeeper { .. } => [ProcessRole::Broker].into(),
        };
        if roles.is_empty() {
            errors.push(ValidationError::NoProcessRoles { broker_id: broker.id });
        }
        if !spec.is_kraft() && kafka_version.major >= 4 {
            errors.push(ValidationError::ZooKeeperModeWithKafka4 {
                broker_id: broker.id,
                image: image.clone(),
                version: kafka_version,
            });
        }
        check_storage(broker.id, &config, &mut errors);
        let read_only_config = [spec.read_only_config.as_deref(), broker.read_only_config.as_deref()]
            .into_iter()
            .flatten()
            .map(|text| if text.ends_with('\n') { text.to_string() } else { format!("{text}\n") })
            .collect();
        // Cruise Control models brokers only: a controller-only node hosts no partitions.
        let metrics_reporter_image = (cruise_control.metrics_reporter && roles.contains(&ProcessRole::Broker))
            .then(|| metrics_reporter_image(spec, config.metrics_reporter_image.as_ref()));
        brokers.push(BrokerModel {
            id: broker.id,
            roles,
            env: container_env(&config, kafka_version, metrics_reporter_image.is_some()),
            metrics_reporter_image,
            resources: config.resources.clone().unwrap_or_else(default_resources),
            termination_grace_period_seconds: config
                .termination_grace_period
                .unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS),
            config,
            image,
            kafka_version,
            read_only_config,
        });
    }
    brokers.sort_by_key(|broker| broker.id);

    if spec.is_kraft() && errors.is_empty() {
        for (role, name) in [(ProcessRole::Controller, "controller"), (ProcessRole::Broker, "broker")] {
            if !brokers.iter().any(|broker| broker.roles.contains(&role)) {
                errors.push(ValidationError::MissingRole { role: name });
            }
        }
        let controllers = brokers.iter().filter(|broker| broker.is_controller()).count();
        if controllers > 0 && controllers % 2 == 0 {
            warnings.push(format!(
                "spec.brokers: {controllers} KRaft controllers tolerate no more failures than {}; \
                 an odd number of controllers is the usual choice",
                controllers - 1
            ));
        }
    }
    if let Some(warning) = super::cruise_control::tls_client_certificate_warning(spec, &cruise_control) {
        warnings.push(warning);
    }
    if let Some(count) = spec.rolling_upgrade_config.concurrent_broker_restart_count_per_rack.filter(|c| *c > 1)
        && spec.rack_awareness.is_none()
    {
        warnings.push(format!(
            "spec.rollingUpgradeConfig.concurrentBrokerRestartCountPerRack: {count} needs rackAwareness (racks to \
             restart brokers of together), so nodes restart one at a time"
        ));
    }
    let base_labels: std::collections::BTreeMap<String, String> =
        [("app".to_owned(), "kafka".to_owned()), ("kafka_cr".to_owned(), kube::ResourceExt::name_any(cluster))].into();
    if spec.tainted_brokers_selector.as_ref().is_some_and(|selector| super::tainted::matches(selector, &base_labels)) {
        warnings.push(
            "spec.taintedBrokersSelector: matches the labels the operator gives every broker pod (app, kafka_cr), \
             so it is ignored (a replacement would match again); select a label only a tool adds to a live pod"
                .to_owned(),
        );
    }
    if let Some(budget) = &spec.disruption_budget
        && budget.create == Some(true)
        && budget.budget.is_none()
    {
        warnings.push(
            "spec.disruptionBudget.budget: not set, so one broker may be disrupted at a time; \
             set a number or a percentage"
                .to_string(),
        );
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidatedCluster {
        name: cluster.metadata.name.clone().unwrap_or_default(),
        namespace: cluster.metadata.namespace.clone().unwrap_or_default(),
        uid: cluster.metadata.uid.clone().unwrap_or_default(),
        generation: cluster.metadata.generation,
        labels: cluster.metadata.labels.clone().unwrap_or_default(),
        mode,
        quorum: super::QuorumConfig::Static,
        cluster_domain: spec
            .kubernetes_cluster_domain
            .clone()
            .filter(|domain| !domain.is_empty())
            .unwrap_or_else(|| "cluster.local".to_string()),
        unsupported_fields: unsupported_fields(spec),
        brokers,
        spec: spec.clone(),
        cruise_control,
        external_listeners: super::external::served_listeners(spec),
        envoy: super::external::EnvoySettings::from_spec(spec),
        warnings,
    })
}

/// `host:port,host:port/chroot`, the chroot always starting with `/` (default `/`).
pub(crate) fn zookeeper_connect(addresses: &[String], path: Option<&str>) -> String {
    let path = path.map(str::trim).filter(|path| !path.is_empty()).unwrap_or("/");
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    format!("{}{path}", addresses.join(","))
}

fn check_listeners(spec: &KafkaClusterSpec, errors: &mut Vec<ValidationError>) {
    let internal = &spec.listeners_config.internal_listeners;
    if !internal.iter().any(|l| l.common.used_for_inner_broker_communication == Some(true)) {
        errors.push(ValidationError::NoInterBrokerListener);
    }
    if spec.is_kraft() && !internal.iter().any(|l| l.used_for_controller_communication == Some(true)) {
        errors.push(ValidationError::NoControllerListener);
    }
    for listener in internal {
        if "tcp-".len() + listener.common.name.len() > MAX_PORT_NAME_LENGTH {
            errors.push(ValidationError::ListenerNameTooLong { name: listener.common.name.clone() });
        }
    }
}

fn check_storage(broker_id: i32, config: &BrokerConfig, errors: &mut Vec<ValidationError>) {
    let usable = config.storage_configs.iter().filter(|s| s.pvc_spec.is_some() || s.empty_dir.is_some());
    if usable.count() == 0 {
        errors.push(ValidationError::NoStorage { broker_id });
    }
    for storage in &config.storage_configs {
        let Some(pvc) = &storage.pvc_spec else { continue };
        let requested = pvc.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
        if requested.is_none_or(|quantity| quantity.0.trim().is_empty()) {
            errors
                .push(ValidationError::PvcWithoutStorageRequest { broker_id, mount_path: storage.mount_path.clone() });
        }
    }
}

/// Operator defaults first so that `KAFKA_OPTS+` can extend the JMX agent option (and
/// `CLASSPATH+` the extensions directory).
fn container_env(config: &BrokerConfig, version: KafkaVersion, metrics_reporter: bool) -> Vec<EnvVar> {
    let value = |name: &str, value: String| EnvVar { name: name.to_string(), value: Some(value), value_from: None };
    let mut base = Vec::new();
    if metrics_reporter {
        base.push(value("CLASSPATH", format!("{KAFKA_EXTENSIONS_DIR}/*")));
    }
    base.push(value(
        "KAFKA_OPTS",
        format!("-javaagent:{JMX_AGENT_JAR_IN_POD}={METRICS_PORT}:{JMX_EXPORTER_CONFIG_FILE}"),
    ));
    let mut env = resolve_envs(&base, &config.envs);
    let mut set = |name: &str, wanted: Option<&String>, default: &str| {
        // An explicit option wins over envs; envs win over the default (as in Koperator).
        match (env.iter_mut().find(|e| e.name == name), wanted) {
            (Some(existing), Some(wanted)) => *existing = value(name, wanted.clone()),
            (Some(_), None) => {}
            (None, wanted) => env.push(value(name, wanted.cloned().unwrap_or_else(|| default.to_string()))),
        }
    };
    set("KAFKA_HEAP_OPTS", config.kafka_heap_opts.as_ref(), DEFAULT_HEAP_OPTS);
    set("KAFKA_JVM_PERFORMANCE_OPTS", config.kafka_jvm_perf_opts.as_ref(), DEFAULT_JVM_PERFORMANCE_OPTS);
    if config.log4j_config.is_some() {
        // Kafka 4 logs through log4j2, which reads its own system property.
        let option = if version.major >= 4 {
            "-Dlog4j2.configurationFile=/config/log4j.properties"
        } else {
            "-Dlog4j.configuration=file:/config/log4j.properties"
        };
        env.retain(|e| e.name != "KAFKA_LOG4J_OPTS");
        env.push(value("KAFKA_LOG4J_OPTS", option.to_string()));
    }
    env
}

/// Koperator's broker defaults: requests 1 CPU / 2Gi, limits 1.5 CPU / 3Gi.
fn default_resources() -> ResourceRequirements {
    let quantities = |cpu: &str, memory: &str| {
        [("cpu".to_string(), Quantity(cpu.to_string())), ("memory".to_string(), Quantity(memory.to_string()))].into()
    };
    ResourceRequirements {
        requests: Some(quantities("1000m", "2Gi")),
        limits: Some(quantities("1500m", "3Gi")),
        ..Default::default()
    }
}

/// JSON paths of the fields that are set but not acted on yet.
fn unsupported_fields(spec: &KafkaClusterSpec) -> Vec<String> {
    // External access first: what of it is not served yet (model::external).
    let mut fields = super::external::unsupported_fields(spec);
    let mut flag = |set: bool, path: String| {
        if set {
            fields.push(path);
        }
    };
    let listeners = &spec.listeners_config;
    flag(spec.contour_ingress_config.is_some(), "spec.contourIngressConfig".into());
    flag(spec.istio_ingress_config.is_some(), "spec.istioIngressConfig".into());
    flag(spec.remove_unused_ingress_resources == Some(true), "spec.removeUnusedIngressResources".into());
    flag(spec.envoy_gateway_config.is_some(), "spec.envoyGatewayConfig".into());
    flag(spec.istio_control_plane.is_some(), "spec.istioControlPlane".into());
    // Koperator's switches for its own deployment: ours differ (CEL admission is always on).
    flag(spec.local_debug_enabled == Some(true), "spec.localDebugEnabled".into());
    flag(spec.scale_ops_enabled == Some(true), "spec.scaleOpsEnabled".into());
    flag(spec.admission_webhooks_enabled == Some(false), "spec.admissionWebhooksEnabled".into());
    // Koperator makes JKS key stores with that password; the operator's certificates are PEM.
    flag(
        listeners.ssl_secrets.as_ref().is_some_and(|ssl| ssl.jks_password_name.is_some()),
        "spec.listenersConfig.sslSecrets.jksPasswordName".into(),
    );
    // With the user's certificates, brokers use those in tlsSecretName; no issuer signs any.
    flag(
        super::user_certificates(spec).is_some()
            && listeners.ssl_secrets.as_ref().is_some_and(|ssl| ssl.issuer_ref.is_some()),
        "spec.listenersConfig.sslSecrets.issuerRef".into(),
    );
    // On a TLS cluster it fails validation; without one nothing would read it.
    let any_tls = listeners.internal_listeners.iter().any(|listener| listener.common.security_protocol.uses_tls());
    flag(!any_tls && spec.client_ssl_cert_secret.is_some(), "spec.clientSSLCertSecret".into());
    for listener in &listeners.internal_listeners {
        let path = format!("spec.listenersConfig.internalListeners[name={}]", listener.common.name);
        // On a TLS listener it fails validation; elsewhere it is ignored, as by Koperator.
        let plaintext = listener.common.security_protocol == SecurityProtocol::Plaintext;
        flag(plaintext && listener.common.server_ssl_cert_secret.is_some(), format!("{path}.serverSSLCertSecret"));
        flag(listener.internal_starting_port.is_some(), format!("{path}.internalStartingPort"));
        flag(listener.external_listener_for_hostname.is_some(), format!("{path}.externalListenerForHostname"));
    }
    let configs = spec
        .broker_config_groups
        .iter()
        .map(|(name, config)| (format!("spec.brokerConfigGroups.{name}"), config))
        .chain(spec.brokers.iter().filter_map(|broker| {
            broker.broker_config.as_ref().map(|config| (format!("spec.brokers[id={}].brokerConfig", broker.id), config))
        }));
    for (path, config) in configs {
        flag(!config.broker_ingress_mapping.is_empty(), format!("{path}.brokerIngressMapping"));
        // NodePort listeners advertise the node's InternalIP (the pod's hostIP); other address
        // types need the Node object's addresses, which are not read yet.
        let other_address_type =
            config.node_port_node_address_type.as_ref().is_some_and(|t| *t != NodeAddressType::InternalIp);
        flag(other_address_type, format!("{path}.nodePortNodeAddressType"));
        for storage in config.storage_configs.iter().filter(|s| s.tiered_storage_cache == Some(true)) {
            flag(true, format!("{path}.storageConfigs[mountPath={}].tieredStorageCache", storage.mount_path));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate;

    fn sample(text: &str) -> KafkaCluster {
        serde_yaml::from_str(text).expect("sample parses")
    }

    fn kraft() -> KafkaCluster {
        sample(include_str!("../../../../deploy/samples/kafkacluster-kraft-combined.yaml"))
    }

    fn zookeeper() -> KafkaCluster {
        sample(include_str!("../../../../deploy/samples/kafkacluster-zookeeper.yaml"))
    }

    fn message(errors: &[ValidationError]) -> String {
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn samples_validate() {
        let cluster = validate(&kraft()).expect("kraft sample is valid");
        assert_eq!(cluster.mode, MetadataMode::Kraft);
        assert_eq!(cluster.brokers.len(), 3);
        let broker = &cluster.brokers[0];
        assert_eq!(broker.roles, [ProcessRole::Broker, ProcessRole::Controller].into());
        assert_eq!(broker.kafka_version, KafkaVersion { major: 3, minor: 9, patch: 1 });
        assert_eq!(broker.termination_grace_period_seconds, 60);
        assert!(
            broker.env.iter().any(|e| e.name == "KAFKA_HEAP_OPTS" && e.value.as_deref() == Some("-Xmx512M -Xms512M"))
        );
        assert!(cluster.unsupported_fields.is_empty(), "{:?}", cluster.unsupported_fields);
        assert!(cluster.warnings.is_empty());

        let cluster = validate(&zookeeper()).expect("zookeeper sample is valid");
        assert_eq!(cluster.mode, MetadataMode::ZooKeeper { connect: "zookeeper-client.zookeeper:2181/kafka".into() });
        assert_eq!(cluster.brokers[0].roles, [ProcessRole::Broker].into());
    }

    #[test]
    fn zookeeper_connect_strings() {
        let addresses = ["zk-0:2181".to_string(), "zk-1:2181".to_string()];
        assert_eq!(zookeeper_connect(&addresses, None), "zk-0:2181,zk-1:2181/");
        assert_eq!(zookeeper_connect(&addresses, Some("kafka")), "zk-0:2181,zk-1:2181/kafka");
        assert_eq!(zookeeper_connect(&addresses[..1], Some("/kafka")), "zk-0:2181/kafka");
        assert_eq!(zookeeper_connect(&addresses[..1], Some("")), "zk-0:2181/");
    }

    #[test]
    fn kafka_4_has_no_zookeeper_mode() {
        let mut cluster = zookeeper();
        cluster.spec.cluster_image = Some("apache/kafka:4.1.0".into());
        let errors = validate(&cluster).expect_err("kafka 4 in zookeeper mode");
        assert!(
            message(&errors).contains("Kafka 4 has no ZooKeeper mode; set spec.kRaft: true"),
            "{}",
            message(&errors)
        );
    }

    #[test]
    fn unknown_versions_name_broker_image_and_fix() {
        let mut cluster = kraft();
        cluster.spec.cluster_image = Some("registry.local/kafka:custom".into());
        let errors = validate(&cluster).expect_err("no version");
        assert_eq!(errors.len(), 3);
        let text = errors[0].to_string();
        assert!(text.starts_with("spec.brokers[id=0]: cannot tell the Kafka version"), "{text}");
        assert!(text.contains("registry.local/kafka:custom") && text.contains(KAFKA_VERSION_ANNOTATION), "{text}");

        cluster.metadata.annotations = Some([(KAFKA_VERSION_ANNOTATION.to_string(), "4.0.0".to_string())].into());
        let validated = validate(&cluster).expect("annotation gives the version");
        assert_eq!(validated.brokers[0].kafka_version, KafkaVersion { major: 4, minor: 0, patch: 0 });
    }

    #[test]
    fn a_broker_without_storage_is_reported_not_panicked_on() {
        let mut cluster = kraft();
        cluster.spec.brokers[1].broker_config_group = None;
        cluster.spec.brokers[1].broker_config =
            Some(BrokerConfig { process_roles: vec![ProcessRole::Broker], ..Default::default() });
        let errors = validate(&cluster).expect_err("no storage");
        assert_eq!(errors, [ValidationError::NoStorage { broker_id: 1 }]);
        assert!(errors[0].to_string().starts_with("spec.brokers[id=1].brokerConfig.storageConfigs: "));
    }

    #[test]
    fn pvc_without_storage_request() {
        let mut cluster = kraft();
        let group = cluster.spec.broker_config_groups.get_mut("default").expect("group");
        group.storage_configs[0].pvc_spec.as_mut().expect("pvc").resources = None;
        let errors = validate(&cluster).expect_err("no request");
        assert_eq!(errors.len(), 3);
        assert!(
            matches!(&errors[0], ValidationError::PvcWithoutStorageRequest { broker_id: 0, mount_path } if mount_path == "/kafka-logs")
        );
    }

    #[test]
    fn even_controller_count_is_a_warning() {
        let mut cluster = kraft();
        cluster.spec.brokers.pop();
        let validated = validate(&cluster).expect("valid");
        assert_eq!(validated.warnings.len(), 1);
    }

    #[test]
    fn concurrent_restarts_without_rack_awareness_are_a_warning() {
        let mut cluster = kraft();
        cluster.spec.rolling_upgrade_config.concurrent_broker_restart_count_per_rack = Some(2);
        let validated = validate(&cluster).expect("valid");
        assert!(validated.warnings.iter().any(|w| w.contains("one at a time")), "{:?}", validated.warnings);
        cluster.spec.rack_awareness =
            Some(crd_types::kafka_cluster::RackAwareness { labels: vec!["topology.kubernetes.io/zone".into()] });
        let validated = validate(&cluster).expect("valid");
        assert!(!validated.warnings.iter().any(|w| w.contains("concurrentBrokerRestartCountPerRack")));
    }

    #[test]
    fn unsupported_fields_are_listed() {
        let mut cluster = kraft();
        cluster.spec.istio_ingress_config = Some(serde_json::json!({}));
        cluster.spec.client_ssl_cert_secret = Some(Default::default());
        let validated = validate(&cluster).expect("valid");
        assert_eq!(validated.unsupported_fields, ["spec.istioIngressConfig", "spec.clientSSLCertSecret"]);
    }

    #[test]
    fn tls_listeners_need_certificates_the_operator_makes() {
        use crd_types::kafka_cluster::{PkiBackend, SslSecrets};
        use k8s_openapi::api::core::v1::LocalObjectReference;
        let mut cluster = kraft();
        cluster.spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::Ssl;
        let errors = validate(&cluster).expect_err("no certificates");
        assert!(errors[0].to_string().contains("internalListeners[name=internal].type: ssl needs certificates"));

        let ssl = SslSecrets { tls_secret_name: "ca".into(), create: Some(true), ..Default::default() };
        cluster.spec.listeners_config.ssl_secrets = Some(ssl.clone());
        let validated = validate(&cluster).expect("cert-manager makes them");
        assert_eq!(crate::model::pki_source(&validated.spec), Some(crate::model::PkiSource::CertManager));
        assert!(validated.unsupported_fields.is_empty(), "{:?}", validated.unsupported_fields);

        let provided = SslSecrets { pki_backend: Some(PkiBackend::Provided), ..ssl.clone() };
        cluster.spec.listeners_config.ssl_secrets = Some(provided);
        let errors = validate(&cluster).expect_err("unsupported backend");
        assert!(errors.iter().any(|e| e.to_string().starts_with("spec.listenersConfig.sslSecrets.pkiBackend")));

        let created = ssl.clone();
        cluster.spec.listeners_config.ssl_secrets = Some(SslSecrets { create: Some(false), ..ssl });
        let validated = validate(&cluster).expect("the user's certificates");
        assert_eq!(crate::model::user_certificates(&validated.spec), Some("ca"));
        assert_eq!(crate::model::pki_source(&validated.spec), None, "the operator makes none");

        // A listener's own JKS Secret: with the user's certificates only.
        let listener = &mut cluster.spec.listeners_config.internal_listeners[0].common;
        listener.server_ssl_cert_secret = Some(LocalObjectReference { name: "jks".into() });
        validate(&cluster).expect("with the user's certificates");
        cluster.spec.listeners_config.ssl_secrets = Some(created.clone());
        let errors = validate(&cluster).expect_err("with certificates the operator makes");
        assert!(errors[0].to_string().contains("serverSSLCertSecret: a listener's own JKS"), "{errors:?}");
        cluster.spec.listeners_config.internal_listeners[0].common.server_ssl_cert_secret = None;

        // Unnamed, and a JKS client certificate the operator's clients cannot read: refused.
        cluster.spec.listeners_config.ssl_secrets =
            Some(SslSecrets { tls_secret_name: String::new(), create: Some(false), ..created });
        cluster.spec.client_ssl_cert_secret = Some(LocalObjectReference { name: "client-jks".into() });
        let errors: Vec<String> = validate(&cluster).expect_err("refused").iter().map(ToString::to_string).collect();
        assert!(errors.iter().any(|e| e.starts_with("spec.listenersConfig.sslSecrets.tlsSecretName")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("spec.clientSSLCertSecret (client-jks)")), "{errors:?}");
        cluster.spec.client_ssl_cert_secret = None;

        cluster.spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::SaslSsl;
        let errors = validate(&cluster).expect_err("SASL");
        let expected = "SASL_SSL (SASL) is not supported on a listener the nodes talk to each other on";
        assert!(errors.iter().any(|e| e.to_string().contains(expected)), "{errors:?}");
    }

    #[test]
    fn env_defaults_and_overrides() {
        let mut cluster = kraft();
        cluster.spec.envs = vec![
            EnvVar { name: "KAFKA_OPTS+".into(), value: Some(" -Dx=1".into()), value_from: None },
            EnvVar { name: "KAFKA_JVM_PERFORMANCE_OPTS".into(), value: Some("-server".into()), value_from: None },
        ];
        let validated = validate(&cluster).expect("valid");
        let env = &validated.brokers[0].env;
        let get = |name: &str| env.iter().find(|e| e.name == name).and_then(|e| e.value.clone());
        assert_eq!(
            get("KAFKA_OPTS").as_deref(),
            Some("-javaagent:/opt/jmx-exporter/jmx_prometheus.jar=9020:/etc/jmx-exporter/config.yaml -Dx=1")
        );
        assert_eq!(get("KAFKA_JVM_PERFORMANCE_OPTS").as_deref(), Some("-server"));
        assert_eq!(get("CLASSPATH").as_deref(), Some("/opt/kafka/libs/extensions/*"), "for the metrics reporter");
        assert_eq!(get("KAFKA_HEAP_OPTS").as_deref(), Some("-Xmx512M -Xms512M"));
    }
}
