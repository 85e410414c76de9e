//! Applying YAML manifests (server-side apply, `{{placeholders}}` filled in) and dry-run creates.

use anyhow::{Context, Result, bail};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::{Api, Client};
use serde::Deserialize;
use serde_json::Value;

pub const FIELD_MANAGER: &str = "e2e-tests";

/// Replaces every `{{name}}` with its value; a placeholder left unfilled is an error.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut text = template.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(start) = text.find("{{") {
        let rest = &text[start..];
        let end = rest.find("}}").map_or(rest.len(), |end| end + 2);
        bail!("placeholder {} has no value", &rest[..end]);
    }
    Ok(text)
}

/// The documents of a (multi-document) YAML text, empty documents skipped.
pub fn documents(yaml: &str) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let value = Value::deserialize(document).context("failed to parse a YAML document")?;
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(values)
}

/// A YAML file of the repository as its documents.
pub fn read_documents(relative_to_repo: &str) -> Result<Vec<Value>> {
    let path = crate::testbed::repo_root().join(relative_to_repo);
    let text = std::fs::read_to_string(&path).with_context(|| format!("failed to read {}", path.display()))?;
    documents(&text).with_context(|| format!("in {}", path.display()))
}

/// Server-side applies every document of `template` (placeholders filled in) in order,
/// namespaced kinds into `namespace`; returns the objects as the apiserver stored them.
pub async fn apply(
    client: &Client,
    namespace: &str,
    template: &str,
    values: &[(&str, &str)],
) -> Result<Vec<DynamicObject>> {
    let mut applied = Vec::new();
    for document in documents(&render(template, values)?)? {
        applied.push(apply_object(client, namespace, &document).await?);
    }
    Ok(applied)
}

/// Server-side applies one object (forcing ownership: tests own what they apply).
pub async fn apply_object(client: &Client, namespace: &str, object: &Value) -> Result<DynamicObject> {
    let (api, name) = api_for(client, namespace, object).await?;
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(object))
        .await
        .with_context(|| format!("failed to apply {}", describe(object)))
}

/// Creates the object with `dryRun=All`: the apiserver runs every admission check and
/// stores nothing. The apiserver's error is returned as is, for tests to inspect.
pub async fn dry_run_create(client: &Client, namespace: &str, object: &Value) -> Result<Result<(), kube::Error>> {
    let (api, _) = api_for(client, namespace, object).await?;
    let object: DynamicObject = serde_json::from_value(without_namespace(object))?;
    let params = PostParams { dry_run: true, field_manager: Some(FIELD_MANAGER.to_string()) };
    Ok(api.create(&params, &object).await.map(drop))
}

/// Creates the object for real.
pub async fn create(client: &Client, namespace: &str, object: &Value) -> Result<DynamicObject> {
    let (api, _) = api_for(client, namespace, object).await?;
    let description = describe(object);
    let object: DynamicObject = serde_json::from_value(without_namespace(object))?;
    let params = PostParams { dry_run: false, field_manager: Some(FIELD_MANAGER.to_string()) };
    api.create(&params, &object).await.with_context(|| format!("failed to create {description}"))
}

/// Replaces the object (it must carry the stored resourceVersion) with `dryRun=All`.
pub async fn dry_run_replace(client: &Client, namespace: &str, object: &Value) -> Result<Result<(), kube::Error>> {
    let (api, name) = api_for(client, namespace, object).await?;
    let object: DynamicObject = serde_json::from_value(without_namespace(object))?;
    let params = PostParams { dry_run: true, field_manager: Some(FIELD_MANAGER.to_string()) };
    Ok(api.replace(&name, &params, &object).await.map(drop))
}

/// The API for the object's kind (namespaced kinds in `namespace`) and the object's name.
pub async fn api_for(client: &Client, namespace: &str, object: &Value) -> Result<(Api<DynamicObject>, String)> {
    let resource = api_resource(client, object).await?;
    let name = object["metadata"]["name"].as_str().with_context(|| format!("{} has no name", describe(object)))?;
    Ok((api_in(client, namespace, &resource.0, resource.1), name.to_string()))
}

async fn api_resource(client: &Client, object: &Value) -> Result<(ApiResource, bool)> {
    let api_version = object["apiVersion"].as_str().context("a document has no apiVersion")?;
    let kind = object["kind"].as_str().context("a document has no kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk)
        .await
        .with_context(|| format!("the apiserver does not serve {api_version} {kind}"))?;
    Ok((resource, capabilities.scope == Scope::Namespaced))
}

fn api_in(client: &Client, namespace: &str, resource: &ApiResource, namespaced: bool) -> Api<DynamicObject> {
    if namespaced {
        Api::namespaced_with(client.clone(), namespace, resource)
    } else {
        Api::all_with(client.clone(), resource)
    }
}

/// Manifests name no namespace (like the samples); the API path supplies it.
fn without_namespace(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("namespace");
    }
    object
}

pub fn describe(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("?");
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    format!("{kind} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_every_placeholder() -> Result<()> {
        let text = render("a: {{x}}\nb: {{y}}-{{x}}", &[("x", "1"), ("y", "2")])?;
        assert_eq!(text, "a: 1\nb: 2-1");
        Ok(())
    }

    #[test]
    fn render_reports_an_unfilled_placeholder() {
        let error = render("a: {{missing}}", &[]).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("placeholder {{missing}} has no value"));
    }

    #[test]
    fn documents_skip_empty_ones() -> Result<()> {
        let values = documents("---\na: 1\n---\n---\nb: 2\n")?;
        assert_eq!(values.len(), 2);
        Ok(())
    }
}
