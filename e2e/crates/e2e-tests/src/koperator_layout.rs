//! A running KafkaCluster rewritten so that it looks as Koperator leaves it, for the takeover
//! test: objects of Koperator's names and labels, no annotation of ours, every field owned by
//! Koperator's field manager, pods named by the apiserver from Koperator's `generateName`, and
//! a status as Koperator writes it (no conditions, no observedGeneration).
//!
//! Koperator cannot be built here, so the running cluster our controller made is the starting
//! point: its objects already carry Koperator's names and labels (`<cluster>-config-<id>`,
//! `<cluster>-headless`, `<cluster>-all-broker`, pods `<cluster>-controller-<id>-*` with
//! `app`/`kafka_cr`/`brokerId`), which is the layout the takeover must understand. What this
//! module changes is everything by which the operator could tell the objects are its own.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crd_types::KafkaCluster;

use crate::namespace::TestNamespace;
use crate::{pod_state, wait};

/// The field manager Koperator's writes are recorded under here.
pub const KOPERATOR_MANAGER: &str = "koperator";
/// The annotation Koperator's object matcher (banzaicloud/k8s-objectmatcher) puts on every object
/// it writes. Koperator stores the object zipped there; nothing here reads it back.
pub const LAST_APPLIED_ANNOTATION: &str = "banzaicloud.com/last-applied";
/// Every annotation of ours starts so (desired hash, configuration hash).
const OUR_ANNOTATION_PREFIX: &str = "koperator-rs.io/";
/// One Kafka node stopping (terminationGracePeriodSeconds 60) and starting again.
const POD_RECREATE_TIMEOUT: Duration = Duration::from_secs(300);

/// Re-creates the cluster's ConfigMaps and Services as Koperator's (server-side applied under
/// its manager, so that it owns every field), then its pods one at a time, then writes a
/// Koperator-shaped status. Our controller must not run.
pub async fn rewrite_as_koperator(ns: &TestNamespace, cluster: &str, node_ids: &[i32]) -> Result<()> {
    let selector = format!("kafka_cr={cluster}");
    recreate_as_koperator::<ConfigMap>(ns, &selector, |object| json!({"data": object["data"].clone()})).await?;
    recreate_as_koperator::<Service>(ns, &selector, |object| {
        let mut spec = object["spec"].clone();
        let headless = spec["clusterIP"] == "None";
        let spec_fields = spec.as_object_mut().expect("a Service's spec is an object");
        // A new Service gets a new cluster IP; headless stays headless.
        if !headless {
            spec_fields.remove("clusterIP");
            spec_fields.remove("clusterIPs");
        }
        json!({"spec": spec})
    })
    .await?;
    for id in node_ids {
        recreate_pod_as_koperator(ns, cluster, *id).await?;
    }
    write_koperator_status(ns, cluster).await
}

/// Metadata as Koperator writes it: labels and owner references kept, our annotations dropped,
/// Koperator's own annotation added.
fn koperator_metadata(object: &Value) -> Value {
    let mut annotations = object["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
    annotations.retain(|key, _| !key.starts_with(OUR_ANNOTATION_PREFIX));
    annotations.insert(LAST_APPLIED_ANNOTATION.to_owned(), json!(object["metadata"]["name"]));
    json!({
        "labels": object["metadata"]["labels"].clone(),
        "annotations": annotations,
        "ownerReferences": object["metadata"]["ownerReferences"].clone(),
    })
}

/// Deletes every object of kind `K` matching `selector` and applies it again under Koperator's
/// manager, with metadata from [`koperator_metadata`] and the fields `content` keeps.
async fn recreate_as_koperator<K>(ns: &TestNamespace, selector: &str, content: impl Fn(&Value) -> Value) -> Result<()>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ns.client.clone(), &ns.name);
    let dynamic: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::erase::<K>(&()));
    for object in api.list(&ListParams::default().labels(selector)).await?.items {
        let name = object.name_any();
        let stored = serde_json::to_value(&object)?;
        let mut manifest = content(&stored);
        manifest["apiVersion"] = json!(K::api_version(&()));
        manifest["kind"] = json!(K::kind(&()));
        manifest["metadata"] = koperator_metadata(&stored);
        manifest["metadata"]["name"] = json!(name);
        api.delete(&name, &DeleteParams::default()).await?;
        wait::until_deleted(&api, &name, Duration::from_secs(60)).await?;
        let apply = PatchParams::apply(KOPERATOR_MANAGER).force();
        dynamic
            .patch(&name, &apply, &Patch::Apply(&manifest))
            .await
            .with_context(|| format!("failed to apply {} {name} as Koperator", K::kind(&())))?;
    }
    Ok(())
}

/// Replaces node `id`'s pod by one created under Koperator's manager from Koperator's
/// `generateName` (`<cluster>-controller-<id>-` for a node with the controller role), with
/// the same spec and no annotation of ours; waits until it is ready.
async fn recreate_pod_as_koperator(ns: &TestNamespace, cluster: &str, id: i32) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kafka_cr={cluster},brokerId={id}");
    let ours = pods.list(&ListParams::default().labels(&selector)).await?.items;
    let ours = ours.first().with_context(|| format!("node {id} has no pod"))?;
    let name = ours.name_any();
    let generate_name = name.rsplit_once('-').map(|(prefix, _)| format!("{prefix}-")).context("a generated name")?;
    let stored = serde_json::to_value(ours)?;
    let mut spec = stored["spec"].clone();
    let spec_fields = spec.as_object_mut().expect("a Pod's spec is an object");
    spec_fields.remove("nodeName");
    // The service account admission adds its token volume to each new pod itself.
    let token_volume = |v: &Value| v["name"].as_str().is_some_and(|n| n.starts_with("kube-api-access-"));
    if let Some(volumes) = spec_fields.get_mut("volumes").and_then(Value::as_array_mut) {
        volumes.retain(|v| !token_volume(v));
    }
    for containers in ["containers", "initContainers"] {
        for container in spec_fields.get_mut(containers).and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(mounts) = container.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                mounts.retain(|m| !token_volume(m));
            }
        }
    }
    let mut metadata = koperator_metadata(&stored);
    metadata["generateName"] = json!(generate_name);
    let koperator_pod: Pod = serde_json::from_value(json!({"metadata": metadata, "spec": spec}))?;

    pods.delete(&name, &DeleteParams::default()).await?;
    wait::until_deleted(&pods, &name, POD_RECREATE_TIMEOUT).await?;
    let params = PostParams { dry_run: false, field_manager: Some(KOPERATOR_MANAGER.to_owned()) };
    let created = pods.create(&params, &koperator_pod).await.with_context(|| format!("create node {id}'s pod"))?;
    wait::until(&pods, &created.name_any(), "is ready", POD_RECREATE_TIMEOUT, pod_state::is_ready).await?;
    Ok(())
}

/// The status as Koperator writes it (`api/v1beta1/kafkacluster_types.go`): state, per-broker
/// states with its empty strings, listener addresses, the KRaft cluster id it generated; no
/// conditions, no observedGeneration, no brokersReady.
async fn write_koperator_status(ns: &TestNamespace, cluster: &str) -> Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::erase::<KafkaCluster>(&()));
    let mut stored = api.get(cluster).await?;
    let ours = stored.data["status"].clone();
    let cluster_id = ours["clusterID"].as_str().context("our controller generated no KRaft cluster id")?;
    let mut brokers_state = serde_json::Map::new();
    let mut internal = vec![json!({
        "name": "any-broker",
        "address": format!("{cluster}-all-broker.{}.svc.cluster.local:29092", ns.name),
    })];
    for (id, state) in ours["brokersState"].as_object().context("no brokersState")? {
        brokers_state.insert(
            id.clone(),
            json!({
                "configurationState": "ConfigInSync",
                "perBrokerConfigurationState": "PerBrokerConfigInSync",
                "gracefulActionState": {
                    "cruiseControlState": "GracefulUpscaleSucceeded",
                    "volumeStates": {"/kafka-logs": {"cruiseControlVolumeState": "GracefulDiskRebalanceSucceeded"}},
                },
                "rackAwarenessState": "",
                "externalListenerConfigNames": [],
                "image": state["image"].clone(),
                "version": state["version"].clone(),
            }),
        );
        internal.push(json!({
            "name": format!("broker-{id}"),
            "address": format!("{cluster}-{id}.{cluster}-headless.{}.svc.cluster.local:29092", ns.name),
        }));
    }
    stored.data["status"] = json!({
        "brokersState": brokers_state,
        "cruiseControlTopicStatus": "CruiseControlTopicReady",
        "state": "ClusterRunning",
        "rollingUpgradeStatus": {"lastSuccess": "", "errorCount": 0},
        "alertCount": 0,
        "listenerStatuses": {"internalListeners": {"internal": internal}},
        "clusterID": cluster_id,
    });
    let params = PostParams { dry_run: false, field_manager: Some(KOPERATOR_MANAGER.to_owned()) };
    api.replace_status(cluster, &params, &stored).await.context("failed to write Koperator's status")?;
    Ok(())
}

/// A Service Koperator makes for its Cruise Control (`<cluster>-cruisecontrol-svc`), which this
/// operator does not make when Cruise Control is external: it must be reported, not removed.
pub async fn add_foreign_service(ns: &TestNamespace, cluster: &str) -> Result<Service> {
    let clusters: Api<KafkaCluster> = Api::namespaced(ns.client.clone(), &ns.name);
    let owner = clusters.get(cluster).await?;
    let name = format!("{cluster}-cruisecontrol-svc");
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "labels": {"app": "cruisecontrol", "kafka_cr": cluster},
            "annotations": {LAST_APPLIED_ANNOTATION: name},
            "ownerReferences": [{
                "apiVersion": "kafka.banzaicloud.io/v1beta1",
                "kind": "KafkaCluster",
                "name": cluster,
                "uid": owner.uid().context("a stored cluster has a uid")?,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "selector": {"app": "cruisecontrol", "kafka_cr": cluster},
            "ports": [{"name": "cc", "port": 8090, "targetPort": 8090, "protocol": "TCP"}],
        },
    });
    let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
    let applied = services
        .patch(&name, &PatchParams::apply(KOPERATOR_MANAGER).force(), &Patch::Apply(&manifest))
        .await
        .with_context(|| format!("failed to apply Service {name} as Koperator"))?;
    Ok(applied)
}
