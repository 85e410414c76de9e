//! External listeners with Koperator's defaults filled in: which ones the operator serves, how
//! (Envoy behind one LoadBalancer Service per listener, or a NodePort Service per broker), on
//! which ports, and the Envoy deployment's settings. What it does not serve yet is named in
//! [`unsupported_fields`] and left out of the brokers' listeners, so no broker advertises an
//! address nobody can reach.

use std::collections::BTreeMap;

use crd_types::kafka_cluster::{
    EnvoyConfig, ExternalListenerConfig, ExternalTrafficPolicy, IngressController, KafkaClusterSpec, SecurityProtocol,
    ServiceType,
};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Koperator's defaults (`api/v1beta1/kafkacluster_types.go`).
pub const DEFAULT_ANY_CAST_PORT: i32 = 29092;
pub const DEFAULT_ENVOY_ADMIN_PORT: i32 = 8081;
pub const DEFAULT_ENVOY_HEALTH_CHECK_PORT: i32 = 8080;
pub const DEFAULT_ENVOY_IMAGE: &str = "envoyproxy/envoy:v1.36.4";

/// One external listener the operator serves.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalListener {
    pub name: String,
    pub security_protocol: SecurityProtocol,
    /// Where brokers listen for it.
    pub container_port: i32,
    /// Broker N's external port is this + N; 0 (NodePort only) lets Kubernetes pick.
    pub starting_port: i32,
    /// The Envoy port that reaches any broker (`anyCastPort`, default 29092).
    pub any_cast_port: i32,
    /// Advertised instead of the load balancer's or node's address.
    pub hostname_override: Option<String>,
    pub service_annotations: BTreeMap<String, String>,
    pub external_traffic_policy: Option<ExternalTrafficPolicy>,
    pub access: Access,
}

/// How clients outside the Kubernetes cluster reach the brokers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Envoy (`envoy-<listener>-<cluster>`) behind the LoadBalancer Service
    /// `envoy-loadbalancer-<listener>-<cluster>`: one port per broker and the any-broker port.
    Envoy,
    /// A NodePort Service `<cluster>-<id>-<listener>` per broker.
    NodePort,
}

impl ExternalListener {
    /// Broker `id`'s external port; None for Kubernetes-assigned node ports.
    pub fn broker_port(&self, id: i32) -> Option<i32> {
        (self.starting_port > 0).then(|| self.starting_port + id)
    }
}

/// `spec.envoyConfig` with Koperator's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvoySettings {
    pub image: String,
    pub replicas: i32,
    pub resources: ResourceRequirements,
    pub admin_port: i32,
    pub health_check_port: i32,
    pub service_account_name: String,
    pub concurrency: Option<i32>,
    /// The raw settings, for the fields copied as they are (affinity, tolerations, ...).
    pub config: EnvoyConfig,
}

impl EnvoySettings {
    pub fn from_spec(spec: &KafkaClusterSpec) -> Self {
        let config = spec.envoy_config.clone().unwrap_or_default();
        let quantities = || -> BTreeMap<String, Quantity> {
            [("cpu".to_owned(), Quantity("100m".to_owned())), ("memory".to_owned(), Quantity("100Mi".to_owned()))]
                .into()
        };
        Self {
            image: config.image.clone().filter(|image| !image.is_empty()).unwrap_or_else(|| DEFAULT_ENVOY_IMAGE.into()),
            replicas: config.replicas.filter(|replicas| *replicas > 0).unwrap_or(1),
            resources: config.resources.clone().unwrap_or_else(|| ResourceRequirements {
                requests: Some(quantities()),
                limits: Some(quantities()),
                ..Default::default()
            }),
            admin_port: config.admin_port.unwrap_or(DEFAULT_ENVOY_ADMIN_PORT),
            health_check_port: config.health_check_port.unwrap_or(DEFAULT_ENVOY_HEALTH_CHECK_PORT),
            service_account_name: config
                .service_account_name
                .clone()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "default".into()),
            concurrency: config.envoy_command_line_args.as_ref().and_then(|args| args.concurrency),
            config,
        }
    }
}

/// The external listeners the operator serves, in spec order.
pub fn served_listeners(spec: &KafkaClusterSpec) -> Vec<ExternalListener> {
    spec.listeners_config
        .external_listeners
        .iter()
        .filter(|listener| unserved_reasons(spec, listener).is_empty())
        .map(|listener| ExternalListener {
            name: listener.common.name.clone(),
            security_protocol: listener.common.security_protocol,
            container_port: listener.common.container_port,
            starting_port: listener.external_starting_port,
            any_cast_port: listener.any_cast_port.unwrap_or(DEFAULT_ANY_CAST_PORT),
            hostname_override: listener.service.hostname_override.clone().filter(|host| !host.is_empty()),
            service_annotations: listener.service.service_annotations.clone(),
            external_traffic_policy: listener.service.external_traffic_policy,
            access: match listener.access_method {
                Some(ServiceType::NodePort) => Access::NodePort,
                _ => Access::Envoy,
            },
        })
        .collect()
}

/// JSON paths of the external-access settings set but not acted on: each names why its listener
/// is not served (or, for settings beside a served listener, that they are ignored).
pub fn unsupported_fields(spec: &KafkaClusterSpec) -> Vec<String> {
    let mut fields = Vec::new();
    for listener in &spec.listeners_config.external_listeners {
        let path = format!("spec.listenersConfig.externalListeners[name={}]", listener.common.name);
        fields.extend(unserved_reasons(spec, listener).into_iter().map(|field| format!("{path}.{field}")));
        if listener.config.is_some() {
            fields.push(format!("{path}.config"));
        }
        if listener.ingress_controller_target_port.is_some() {
            fields.push(format!("{path}.ingressControllerTargetPort"));
        }
        if listener.service.service_type.is_some_and(|kind| kind != ServiceType::LoadBalancer) {
            fields.push(format!("{path}.serviceType"));
        }
    }
    let envoy_used = served_listeners(spec).iter().any(|listener| listener.access == Access::Envoy);
    if let Some(envoy) = spec.envoy_config.as_ref() {
        if !envoy_used {
            fields.push("spec.envoyConfig".into());
        }
        if envoy.broker_hostname_template.is_some() {
            fields.push("spec.envoyConfig.brokerHostnameTemplate".into());
        }
    }
    if spec
        .brokers
        .iter()
        .any(|broker| broker.broker_config.as_ref().is_some_and(|c| !c.broker_ingress_mapping.is_empty()))
        || spec.broker_config_groups.values().any(|group| !group.broker_ingress_mapping.is_empty())
    {
        fields.push("spec.brokers[].brokerConfig.brokerIngressMapping".into());
    }
    fields
}

/// Why one listener is not served: the fields (relative to the listener) asking for what the
/// operator does not do yet. Empty when it is served.
fn unserved_reasons(spec: &KafkaClusterSpec, listener: &ExternalListenerConfig) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    match listener.access_method {
        Some(ServiceType::ClusterIp) => reasons.push("accessMethod"),
        Some(ServiceType::NodePort) => {}
        Some(ServiceType::LoadBalancer) | None => {
            let controller =
                listener.ingress_controller.or(spec.ingress_controller).unwrap_or(IngressController::Envoy);
            if controller != IngressController::Envoy {
                reasons.push("ingressController");
            }
            // -1: Envoy terminates TLS with `tlsSecretName` and routes by SNI.
            if listener.external_starting_port < 0 {
                reasons.push("externalStartingPort");
            }
        }
    }
    // Every `type` is served: TLS passes through Envoy to the brokers, whose server certificate
    // names the advertised addresses (`decide::external_access::certificate_hosts`).
    // `tlsSecretName` asks Envoy to terminate TLS instead, which it does not here.
    if listener.tls_secret_name.is_some() {
        reasons.push("tlsSecretName");
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(listeners: serde_json::Value, extra: serde_json::Value) -> KafkaClusterSpec {
        // Koperator's ZooKeeper sample, with the listeners and fields under test laid over it.
        let mut value = serde_json::to_value(crate::build::tests::zookeeper().spec).expect("spec");
        value["listenersConfig"]["externalListeners"] = listeners;
        if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn koperators_sample_listener_is_served_by_envoy_with_its_defaults() {
        let spec = spec(
            json!([{"type": "plaintext", "name": "external", "externalStartingPort": 19090, "containerPort": 9094}]),
            json!({}),
        );
        let listeners = served_listeners(&spec);
        assert_eq!(listeners.len(), 1);
        let listener = &listeners[0];
        assert_eq!(
            (listener.access, listener.any_cast_port, listener.broker_port(2)),
            (Access::Envoy, 29092, Some(19092))
        );
        assert!(unsupported_fields(&spec).is_empty());
        let envoy = EnvoySettings::from_spec(&spec);
        assert_eq!((envoy.image.as_str(), envoy.replicas), (DEFAULT_ENVOY_IMAGE, 1));
        assert_eq!((envoy.admin_port, envoy.health_check_port), (8081, 8080));
    }

    #[test]
    fn node_ports_from_zero_are_left_to_kubernetes() {
        let spec = spec(
            json!([{"type": "plaintext", "name": "np", "externalStartingPort": 0, "containerPort": 9094, "accessMethod": "NodePort"}]),
            json!({}),
        );
        let listener = &served_listeners(&spec)[0];
        assert_eq!((listener.access, listener.broker_port(1)), (Access::NodePort, None));
    }

    #[test]
    fn what_is_not_served_is_named_and_left_out() {
        let spec = spec(
            json!([
                {"type": "ssl", "name": "tls", "externalStartingPort": 19090, "containerPort": 9094,
                 "tlsSecretName": "edge-certificate"},
                {"type": "sasl_ssl", "name": "secure", "externalStartingPort": 19390, "containerPort": 9098},
                {"type": "plaintext", "name": "contour", "externalStartingPort": 19190, "containerPort": 9095, "ingressController": "contour"},
                {"type": "plaintext", "name": "sni", "externalStartingPort": -1, "containerPort": 9096},
                {"type": "plaintext", "name": "plain", "externalStartingPort": 19290, "containerPort": 9097,
                 "config": {"defaultIngressConfig": "az1", "ingressConfig": {"az1": {}}}}
            ]),
            json!({"envoyConfig": {"brokerHostnameTemplate": "broker-%id"}}),
        );
        let served: Vec<String> = served_listeners(&spec).into_iter().map(|l| l.name).collect();
        assert_eq!(served, ["secure", "plain"]);
        assert_eq!(
            unsupported_fields(&spec),
            [
                "spec.listenersConfig.externalListeners[name=tls].tlsSecretName",
                "spec.listenersConfig.externalListeners[name=contour].ingressController",
                "spec.listenersConfig.externalListeners[name=sni].externalStartingPort",
                "spec.listenersConfig.externalListeners[name=plain].config",
                "spec.envoyConfig.brokerHostnameTemplate",
            ]
        );
    }

    #[test]
    fn envoy_settings_without_an_envoy_listener_are_reported() {
        let spec = spec(
            json!([{"type": "plaintext", "name": "np", "externalStartingPort": 32000, "containerPort": 9094, "accessMethod": "NodePort"}]),
            json!({"envoyConfig": {"replicas": 2}}),
        );
        assert_eq!(unsupported_fields(&spec), ["spec.envoyConfig"]);
    }
}
