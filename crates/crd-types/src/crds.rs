//! The CustomResourceDefinitions of this API, as `crdgen` writes them to `deploy/crds/`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSON, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool, ValidationRule,
};
use kube::CustomResourceExt;

use crate::cel::{AdmissionRule, rules_for};
use crate::{CruiseControlOperation, KafkaCluster, KafkaTopic, KafkaUser};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("admission rule {id}: no schema at {path}")]
    RulePathMissing { id: &'static str, path: String },
    #[error("failed to convert the schema of {kind} for editing")]
    SchemaConversion {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Every CRD of the API, in the order they are best applied.
pub fn all() -> Result<Vec<CustomResourceDefinition>, Error> {
    Ok(vec![
        finish(KafkaCluster::crd(), "KafkaCluster")?,
        finish(KafkaTopic::crd(), "KafkaTopic")?,
        finish(KafkaUser::crd(), "KafkaUser")?,
        finish(CruiseControlOperation::crd(), "CruiseControlOperation")?,
    ])
}

/// Adds what derive cannot express: the admission rules, and schemas trimmed to fit
/// client-side `kubectl apply` (whose last-applied annotation must stay under 256 KiB).
fn finish(mut crd: CustomResourceDefinition, kind: &'static str) -> Result<CustomResourceDefinition, Error> {
    for version in &mut crd.spec.versions {
        let Some(validation) = version.schema.as_mut() else { continue };
        let Some(root) = validation.open_api_v3_schema.as_mut() else { continue };
        for rule in rules_for(kind) {
            attach_rule(root, rule)?;
        }
        if let Some(status) = root.properties.as_mut().and_then(|props| props.get_mut("status")) {
            admit_empty_status_values(status);
        }
        strip_embedded_descriptions(root, false);
    }
    Ok(crd)
}

fn attach_rule(root: &mut JSONSchemaProps, rule: &'static AdmissionRule) -> Result<(), Error> {
    let mut node = root;
    for step in rule.schema_path {
        let next = match *step {
            "[]" => match node.items.as_mut() {
                Some(JSONSchemaPropsOrArray::Schema(items)) => Some(items.as_mut()),
                _ => None,
            },
            "*" => match node.additional_properties.as_mut() {
                Some(JSONSchemaPropsOrBool::Schema(values)) => Some(values.as_mut()),
                _ => None,
            },
            field => node.properties.as_mut().and_then(|props| props.get_mut(field)),
        };
        node = next.ok_or_else(|| Error::RulePathMissing { id: rule.id, path: rule.schema_path.join(".") })?;
    }
    node.x_kubernetes_validations.get_or_insert_with(Vec::new).push(ValidationRule {
        rule: rule.rule.to_owned(),
        message: Some(rule.message.to_owned()),
        message_expression: None,
        field_path: rule.field_path.map(str::to_owned),
        reason: Some("FieldValueInvalid".to_owned()),
        optional_old_self: None,
    });
    Ok(())
}

/// Status fields whose value is required even from Koperator: the operation a
/// CruiseControlOperation runs is never left empty.
const STATUS_ENUMS_NEVER_EMPTY: &[&str] = &["operation"];

/// Every enum under `status` also admits "", the value Koperator writes for a state it has not
/// decided yet (see [`crate::zero_values`]); our types read it as absent.
fn admit_empty_status_values(node: &mut JSONSchemaProps) {
    if let Some(values) = node.enum_.as_mut() {
        let empty = JSON(serde_json::Value::String(String::new()));
        if !values.contains(&empty) {
            values.push(empty);
        }
    }
    if let Some(props) = node.properties.as_mut() {
        for (name, child) in props.iter_mut() {
            if !STATUS_ENUMS_NEVER_EMPTY.contains(&name.as_str()) {
                admit_empty_status_values(child);
            }
        }
    }
    for_each_nested_schema(node, admit_empty_status_values);
}

/// Fields whose type is an embedded Kubernetes type (Affinity, Container, Volume...). Their
/// descriptions are documented upstream and, repeated in every place BrokerConfig appears,
/// would push the KafkaCluster CRD past what client-side `kubectl apply` can store; so below
/// these fields descriptions are dropped while the schema itself stays complete.
const EMBEDDED_KUBERNETES_FIELDS: &[&str] = &[
    "additionalPorts",
    "affinity",
    "clientSSLCertSecret",
    "conditions",
    "containers",
    "cruiseControlOperationReference",
    "emptyDir",
    "envs",
    "imagePullSecrets",
    "initContainers",
    "podSecurityContext",
    "pvcSpec",
    "resourceRequirements",
    "securityContext",
    "serverSSLCertSecret",
    "taintedBrokersSelector",
    "tolerations",
    "topologySpreadConstraints",
    "volumeMounts",
    "volumes",
];

fn strip_embedded_descriptions(node: &mut JSONSchemaProps, inside_embedded: bool) {
    if inside_embedded {
        node.description = None;
    }
    if let Some(props) = node.properties.as_mut() {
        for (name, child) in props.iter_mut() {
            if !inside_embedded && EMBEDDED_KUBERNETES_FIELDS.contains(&name.as_str()) {
                strip_below(child);
            } else {
                strip_embedded_descriptions(child, inside_embedded);
            }
        }
    }
    for_each_nested_schema(node, |child| strip_embedded_descriptions(child, inside_embedded));
}

/// Drops every description below an embedded field; the field's own description is ours.
fn strip_below(field: &mut JSONSchemaProps) {
    let own_description = field.description.take();
    strip_embedded_descriptions(field, true);
    field.description = own_description;
}

fn for_each_nested_schema(node: &mut JSONSchemaProps, mut visit: impl FnMut(&mut JSONSchemaProps)) {
    match node.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(child)) => visit(child),
        Some(JSONSchemaPropsOrArray::Schemas(children)) => children.iter_mut().for_each(&mut visit),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(child)) = node.additional_properties.as_mut() {
        visit(child);
    }
    for list in [&mut node.all_of, &mut node.any_of, &mut node.one_of].into_iter().flatten() {
        list.iter_mut().for_each(&mut visit);
    }
}

/// The YAML document `crdgen` writes for `crd`, with a header saying it is generated.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    Ok(format!(
        "# Generated by `cargo run -p crd-types --bin crdgen` from crates/crd-types: do not edit.\n{}",
        serde_yaml::to_string(crd)?
    ))
}
