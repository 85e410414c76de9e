//! What the operator does about Cruise Control for one cluster, decided once from the spec:
//! run it, leave it to an external one, or hold back with a reason the status can show.

use crd_types::kafka_cluster::{KafkaClusterSpec, SecurityProtocol, SslClientAuth};
use serde_json::Value;

use super::parse_properties;

/// Cruise Control image when `cruiseControlConfig.image` names none (Koperator's default).
pub const DEFAULT_CRUISE_CONTROL_IMAGE: &str = "ghcr.io/banzaicloud/cruise-control:2.5.123";
/// Partitions of the metrics topic when `topicConfig` is not set (Koperator's).
pub const DEFAULT_METRICS_TOPIC_PARTITIONS: i32 = 12;
/// Replication factor of the metrics topic when `topicConfig` is not set (Koperator's).
pub const DEFAULT_METRICS_TOPIC_REPLICATION_FACTOR: i32 = 3;
/// Broker setting that makes the metrics reporter create its own topic. Koperator then leaves
/// the topic to the reporter instead of creating a KafkaTopic (read from `spec.readOnlyConfig`).
pub const METRICS_TOPIC_AUTO_CREATE: &str = "cruise.control.metrics.topic.auto.create";

/// Cruise Control as the operator will handle it.
#[derive(Clone, Debug, PartialEq)]
pub struct CruiseControlModel {
    pub plan: CruiseControlPlan,
    /// Whether broker nodes load the Cruise Control metrics reporter.
    pub metrics_reporter: bool,
    /// Partitions and replication factor of `__CruiseControlMetrics`.
    pub metrics_topic_partitions: i32,
    pub metrics_topic_replication_factor: i32,
    /// `cruise.control.metrics.topic.auto.create=true` in the cluster's readOnlyConfig: the
    /// reporter creates the topic and no KafkaTopic is made for it.
    pub metrics_topic_auto_created: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CruiseControlPlan {
    /// The operator runs Cruise Control next to the brokers.
    Deploy(DeploySettings),
    /// `cruiseControlEndpoint` names a Cruise Control the operator does not run.
    External { endpoint: String },
    /// Cannot be run as specified; whatever exists stays as it is, and the status says why.
    Blocked { problem: String },
}

/// The parts of `cruiseControlConfig` that are parsed rather than copied.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySettings {
    pub image: String,
    pub capacity: UserCapacity,
    /// clusterConfigs.json as written, or `{}`.
    pub cluster_config: String,
}

/// `cruiseControlConfig.capacityConfig`, which wins over the generated capacity.
#[derive(Clone, Debug, PartialEq)]
pub enum UserCapacity {
    None,
    /// A `brokerId: "-1"` entry covers every broker, so the text is used as written.
    Universal(String),
    /// Entries for some brokers (by id); the others get generated ones.
    PerBroker(Vec<(String, Value)>),
}

pub(super) fn cruise_control_model(spec: &KafkaClusterSpec) -> CruiseControlModel {
    let config = &spec.cruise_control_config;
    let topic = config.topic_config.as_ref();
    let auto_create = spec
        .read_only_config
        .as_deref()
        .map(parse_properties)
        .and_then(|properties| properties.get(METRICS_TOPIC_AUTO_CREATE).cloned())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let unsupported_listener = inter_broker_protocol_problem(spec);
    CruiseControlModel {
        plan: plan(spec, unsupported_listener.clone()),
        metrics_reporter: unsupported_listener.is_none(),
        metrics_topic_partitions: topic.map_or(DEFAULT_METRICS_TOPIC_PARTITIONS, |t| t.partitions),
        metrics_topic_replication_factor: topic
            .map_or(DEFAULT_METRICS_TOPIC_REPLICATION_FACTOR, |t| t.replication_factor),
        metrics_topic_auto_created: auto_create,
    }
}

fn plan(spec: &KafkaClusterSpec, unsupported_listener: Option<String>) -> CruiseControlPlan {
    let config = &spec.cruise_control_config;
    if let Some(endpoint) = config.cruise_control_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        return CruiseControlPlan::External { endpoint: endpoint.to_owned() };
    }
    if let Some(problem) = unsupported_listener {
        return CruiseControlPlan::Blocked { problem };
    }
    let capacity = match user_capacity(config.capacity_config.as_deref()) {
        Ok(capacity) => capacity,
        Err(problem) => return CruiseControlPlan::Blocked { problem: problem.to_string() },
    };
    let cluster_config = match config.cluster_config.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        // An empty clusterConfigs.json is not JSON; `{}` says "no cluster-wide overrides".
        None => "{}".to_owned(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(_)) => text.to_owned(),
            _ => {
                return CruiseControlPlan::Blocked {
                    problem: "spec.cruiseControlConfig.clusterConfig: not a JSON object; write it as \
                              {\"min.insync.replicas\": 2} or leave it empty"
                        .to_owned(),
                };
            }
        },
    };
    let image = config.image.clone().filter(|i| !i.trim().is_empty());
    CruiseControlPlan::Deploy(DeploySettings {
        image: image.unwrap_or_else(|| DEFAULT_CRUISE_CONTROL_IMAGE.to_owned()),
        capacity,
        cluster_config,
    })
}

/// Cruise Control and its metrics reporter reach Kafka on the inter-broker listener. With SSL
/// they authenticate with certificates the operator makes (`sslSecrets.create: true`; see
/// `build::cruise_control_tls`); with SASL, or TLS certificates the operator does not make, they
/// would need credentials it cannot provide yet, and a plaintext configuration against such a
/// listener would only fail to connect.
fn inter_broker_protocol_problem(spec: &KafkaClusterSpec) -> Option<String> {
    let listener = spec.listeners_config.internal_listeners.iter().find(|l| {
        l.common.used_for_inner_broker_communication == Some(true) && l.used_for_controller_communication != Some(true)
    })?;
    let protocol = listener.common.security_protocol;
    let name = &listener.common.name;
    let article = match protocol {
        SecurityProtocol::Plaintext => return None,
        SecurityProtocol::Ssl if super::pki_source(spec).is_some() => return None,
        // TODO(#16): Cruise Control's clients with the user's clientCert and clientKey.
        SecurityProtocol::Ssl if super::user_certificates(spec).is_some() => {
            return Some(format!(
                "Cruise Control with an SSL internal listener (spec.listenersConfig.internalListeners[name={name}]) \
                 and the user's certificates (sslSecrets.create: false) is not supported yet; neither Cruise \
                 Control nor the brokers' metrics reporter is configured (set sslSecrets.create: true for \
                 certificates the operator makes)"
            ));
        }
        SecurityProtocol::Ssl => {
            return Some(format!(
                "Cruise Control with an SSL internal listener (spec.listenersConfig.internalListeners[name={name}]) \
                 needs certificates the operator makes; set spec.listenersConfig.sslSecrets.create: true \
                 (pkiBackend cert-manager or operator-ca); neither Cruise Control nor the brokers' metrics \
                 reporter is configured until then"
            ));
        }
        SecurityProtocol::SaslPlaintext => "a SASL_PLAINTEXT",
        SecurityProtocol::SaslSsl => "a SASL_SSL",
    };
    Some(format!(
        "Cruise Control with {article} internal listener is not supported yet \
         (spec.listenersConfig.internalListeners[name={name}]); neither Cruise Control nor the brokers' \
         metrics reporter is configured until it is"
    ))
}

/// Cruise Control deployed on a cluster whose inter-broker listener asks TLS clients for a
/// certificate: the operator hands Cruise Control its client certificate as PEM through a config
/// provider (`build::cruise_control_tls`), which the test bed's stand-in and every Kafka client
/// read, but upstream Cruise Control 2.5 copies only file-based key stores into its admin
/// client, so the brokers refuse that client until the operator also writes a PKCS#12 key store.
pub(super) fn tls_client_certificate_warning(spec: &KafkaClusterSpec, model: &CruiseControlModel) -> Option<String> {
    let CruiseControlPlan::Deploy(_) = model.plan else { return None };
    let listener = spec.listeners_config.internal_listeners.iter().find(|l| {
        l.common.used_for_inner_broker_communication == Some(true) && l.used_for_controller_communication != Some(true)
    })?;
    let common = &listener.common;
    let requires_certificate = matches!(common.ssl_client_auth, None | Some(SslClientAuth::Required));
    (common.security_protocol == SecurityProtocol::Ssl && requires_certificate).then(|| {
        format!(
            "spec.cruiseControlConfig: Cruise Control gets the operator's client certificate as PEM in memory; \
             upstream Cruise Control 2.5 gives its admin client only key stores read from files, so brokers \
             refuse it on listener {} (sslClientAuth: required) until the operator writes a PKCS#12 key store; \
             an image that passes every client setting to its admin client works",
            common.name
        )
    })
}

/// Why `capacityConfig` cannot be used; Display names the field and the fix.
#[derive(Debug, thiserror::Error)]
#[error(
    "spec.cruiseControlConfig.capacityConfig: {problem}; write {{\"brokerCapacities\": [{{\"brokerId\": \"0\", \
     \"capacity\": {{...}}}}]}} or leave it empty for a capacity derived from the brokers"
)]
pub struct CapacityConfigError {
    problem: CapacityProblem,
}

#[derive(Debug, thiserror::Error)]
enum CapacityProblem {
    #[error("not JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    #[error("no brokerCapacities list")]
    NoList,
    #[error("an entry has no brokerId")]
    NoBrokerId,
}

fn user_capacity(text: Option<&str>) -> Result<UserCapacity, CapacityConfigError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(UserCapacity::None);
    };
    let problem = |problem| CapacityConfigError { problem };
    let parsed: Value = serde_json::from_str(text).map_err(|error| problem(CapacityProblem::NotJson(error)))?;
    let entries =
        parsed.get("brokerCapacities").and_then(Value::as_array).ok_or_else(|| problem(CapacityProblem::NoList))?;
    let mut per_broker = Vec::new();
    for entry in entries {
        let id = match entry.get("brokerId") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return Err(problem(CapacityProblem::NoBrokerId)),
        };
        if id == "-1" {
            return Ok(UserCapacity::Universal(text.to_owned()));
        }
        per_broker.push((id, entry.clone()));
    }
    Ok(UserCapacity::PerBroker(per_broker))
}

/// The image the reporter jar is copied from: the broker's `metricsReporterImage`, the cluster's
/// `clusterMetricsReporterImage`, else the Cruise Control image (Koperator's order).
pub(super) fn metrics_reporter_image(spec: &KafkaClusterSpec, broker_image: Option<&String>) -> String {
    let set = |image: Option<&String>| image.filter(|i| !i.trim().is_empty()).cloned();
    set(broker_image)
        .or_else(|| set(spec.cluster_metrics_reporter_image.as_ref()))
        .or_else(|| set(spec.cruise_control_config.image.as_ref()))
        .unwrap_or_else(|| DEFAULT_CRUISE_CONTROL_IMAGE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::kafka_cluster::TopicConfig;

    fn spec() -> KafkaClusterSpec {
        crate::build::tests::kraft_combined().spec
    }

    #[test]
    fn the_samples_deploy_with_defaults() {
        let model = cruise_control_model(&spec());
        let CruiseControlPlan::Deploy(settings) = &model.plan else { panic!("{model:?}") };
        assert_eq!(settings.image, DEFAULT_CRUISE_CONTROL_IMAGE);
        assert_eq!(settings.capacity, UserCapacity::None);
        assert_eq!(settings.cluster_config, "{}");
        assert!(model.metrics_reporter && !model.metrics_topic_auto_created);
        assert_eq!((model.metrics_topic_partitions, model.metrics_topic_replication_factor), (12, 3));
    }

    #[test]
    fn an_endpoint_means_an_external_cruise_control() {
        let mut spec = spec();
        spec.cruise_control_config.cruise_control_endpoint = Some("cc.tools:8090".into());
        let model = cruise_control_model(&spec);
        assert_eq!(model.plan, CruiseControlPlan::External { endpoint: "cc.tools:8090".into() });
        assert!(model.metrics_reporter);
    }

    #[test]
    fn an_ssl_inter_broker_listener_needs_certificates_the_operator_makes() {
        let mut spec = spec();
        spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::Ssl;
        let model = cruise_control_model(&spec);
        let CruiseControlPlan::Blocked { problem } = &model.plan else { panic!("{model:?}") };
        assert!(problem.contains("set spec.listenersConfig.sslSecrets.create: true"), "{problem}");
        assert!(!model.metrics_reporter);

        spec.listeners_config.ssl_secrets =
            Some(crd_types::kafka_cluster::SslSecrets { create: Some(true), ..Default::default() });
        let model = cruise_control_model(&spec);
        assert!(matches!(model.plan, CruiseControlPlan::Deploy(_)), "{model:?}");
        assert!(model.metrics_reporter);
        let warning = tls_client_certificate_warning(&spec, &model).expect("upstream Cruise Control is warned of");
        assert!(warning.contains("until the operator writes a PKCS#12 key store"), "{warning}");

        spec.listeners_config.internal_listeners[0].common.ssl_client_auth = Some(SslClientAuth::Requested);
        assert_eq!(tls_client_certificate_warning(&spec, &model), None, "no certificate needed");
    }

    #[test]
    fn a_sasl_inter_broker_listener_blocks_cruise_control_and_the_reporter() {
        let mut spec = spec();
        spec.listeners_config.internal_listeners[0].common.security_protocol = SecurityProtocol::SaslSsl;
        spec.listeners_config.ssl_secrets =
            Some(crd_types::kafka_cluster::SslSecrets { create: Some(true), ..Default::default() });
        let model = cruise_control_model(&spec);
        let CruiseControlPlan::Blocked { problem } = &model.plan else { panic!("{model:?}") };
        assert!(
            problem.starts_with("Cruise Control with a SASL_SSL internal listener is not supported yet"),
            "{problem}"
        );
        assert!(!model.metrics_reporter);
    }

    #[test]
    fn capacity_config_forms() {
        assert_eq!(user_capacity(Some("  ")).expect("empty is none"), UserCapacity::None);
        let universal = r#"{"brokerCapacities":[{"brokerId":"-1","capacity":{}}]}"#;
        assert_eq!(user_capacity(Some(universal)).expect("valid"), UserCapacity::Universal(universal.into()));
        let some = r#"{"brokerCapacities":[{"brokerId":1,"capacity":{"CPU":"8"}}]}"#;
        let Ok(UserCapacity::PerBroker(entries)) = user_capacity(Some(some)) else { panic!() };
        assert_eq!(entries[0].0, "1");
        let error = user_capacity(Some("{")).expect_err("not JSON").to_string();
        assert!(error.starts_with("spec.cruiseControlConfig.capacityConfig: not JSON"), "{error}");
    }

    #[test]
    fn invalid_cluster_config_blocks() {
        let mut spec = spec();
        spec.cruise_control_config.cluster_config = Some("min.insync.replicas=2".into());
        assert!(matches!(cruise_control_model(&spec).plan, CruiseControlPlan::Blocked { .. }));
    }

    #[test]
    fn topic_settings_and_auto_create() {
        let mut spec = spec();
        spec.cruise_control_config.topic_config = Some(TopicConfig { partitions: 4, replication_factor: 2 });
        spec.read_only_config = Some("cruise.control.metrics.topic.auto.create = True\n".into());
        let model = cruise_control_model(&spec);
        assert_eq!((model.metrics_topic_partitions, model.metrics_topic_replication_factor), (4, 2));
        assert!(model.metrics_topic_auto_created);
    }

    #[test]
    fn reporter_image_order() {
        let mut spec = spec();
        assert_eq!(metrics_reporter_image(&spec, None), DEFAULT_CRUISE_CONTROL_IMAGE);
        spec.cruise_control_config.image = Some("cc:1".into());
        assert_eq!(metrics_reporter_image(&spec, None), "cc:1");
        spec.cluster_metrics_reporter_image = Some("reporter:2".into());
        assert_eq!(metrics_reporter_image(&spec, None), "reporter:2");
        assert_eq!(metrics_reporter_image(&spec, Some(&"broker:3".to_string())), "broker:3");
    }
}
