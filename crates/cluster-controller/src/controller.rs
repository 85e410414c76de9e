//! Wires the reconciler to the API: a watch on KafkaClusters plus reflector caches of every
//! owned kind, shared between triggering reconciles and answering `observe` reads.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crd_types::{CruiseControlOperation, KafkaCluster, KafkaTopic, labels};
use kube::core::{DeserializeGuard, PartialObjectMeta};
use operator_runtime::reconcile_report::{ReconcileMetrics, ReconcileReporter};
use operator_runtime::{CancellationToken, MetricsRegistry};

use crate::build;
use crate::reconcile::certificate_expiry::CertificateExpiry;
use crate::reconcile::observe::OwnedStores;
use crate::reconcile::observe::kafka::KafkaAccess;
use crate::reconcile::writes::Writer;
use crate::reconcile::{self, Context};

/// Options the binary's flags decide.
pub struct ControllerOptions {
    /// Namespace to watch; None for all.
    pub namespace: Option<String>,
    pub reporter: String,
    pub instance: Option<String>,
    /// Counts every Kafka request (health checks, dynamic configuration).
    pub kafka_requests: kafka_admin::RequestCounter,
    pub reconciles: ReconcileMetrics,
    pub certificate_expiry: CertificateExpiry,
}

/// The counters, registered once per process (leadership may be won several times). API
/// writes are counted by the client itself (`operator_runtime::api_writes`).
pub struct Counters {
    pub kafka_requests: kafka_admin::RequestCounter,
    pub reconciles: ReconcileMetrics,
    pub certificate_expiry: CertificateExpiry,
}

pub fn register_counters(metrics: &MetricsRegistry) -> Counters {
    let kafka_requests = kafka_admin::RequestCounter::default();
    metrics.register(
        "cluster_controller_kafka_requests",
        "Requests the cluster controller sent to Kafka",
        kafka_requests.clone(),
    );
    Counters {
        kafka_requests,
        reconciles: ReconcileMetrics::register(metrics, crate::NAME),
        certificate_expiry: CertificateExpiry::register(metrics),
    }
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A cache of `K` filled by a watch; the stream must be polled (it is handed to the controller).
/// Deletions count as changes too: a Service someone deleted is recreated at once, not at the
/// next resync.
fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (Store<K>, impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream =
        watcher(api, config).default_backoff().modify(forget_managed_field_sets).reflect(writer).touched_objects();
    (reader, stream)
}

/// How long the start waits for the first list of nodes.
const NODES_LISTED_WITHIN: Duration = Duration::from_secs(30);

/// Every node's name and labels (metadata only, annotations and managedFields dropped: a node's
/// are large and change often, and only `rackAwareness` reads nodes, by their labels). Node
/// changes wake no reconcile: a broker waiting for a rack is looked at again at the resync.
fn node_labels(
    client: &Client,
) -> (
    Store<PartialObjectMeta<Node>>,
    impl futures::Stream<Item = Result<PartialObjectMeta<Node>, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let stream = watcher(Api::<PartialObjectMeta<Node>>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(|node| {
            node.metadata.annotations = None;
            node.metadata.managed_fields = None;
        })
        .reflect(writer)
        .touched_objects();
    (reader, stream)
}

/// The cache keeps who manages an object's fields but not which fields: those sets are the
/// bulk of a cached object's metadata, and no decision reads them. Also for the KafkaCluster
/// caches (the controller's and the gRPC services'): a KafkaCluster is only ever written back
/// as a status patch of its own, never from the cached object.
pub(crate) fn forget_managed_field_sets<K: Resource>(object: &mut K) {
    for entry in object.meta_mut().managed_fields.iter_mut().flatten() {
        entry.fields_v1 = None;
    }
}

/// The KafkaCluster a certificate's Secret belongs to, by its `kafka_cr` label.
fn cluster_of_secret(secret: Secret) -> Option<reflector::ObjectRef<DeserializeGuard<KafkaCluster>>> {
    let cluster = secret.labels().get(labels::KAFKA_CR)?;
    Some(reflector::ObjectRef::new(cluster).within(&secret.namespace()?))
}

/// Runs until `stop` is cancelled.
pub async fn run(client: Client, options: ControllerOptions, stop: CancellationToken) {
    let ns = options.namespace.as_deref();
    // Only objects this operator labelled: a cluster with thousands of unrelated pods costs nothing.
    let owned = || watcher::Config::default().labels(labels::KAFKA_CR);
    let (pods, pod_events) = cached(api::<Pod>(&client, ns), owned());
    let (config_maps, config_map_events) = cached(api::<ConfigMap>(&client, ns), owned());
    let (claims, claim_events) = cached(api::<PersistentVolumeClaim>(&client, ns), owned());
    let (services, service_events) = cached(api::<Service>(&client, ns), owned());
    let (pod_disruption_budgets, pdb_events) = cached(api::<PodDisruptionBudget>(&client, ns), owned());
    let (storage_classes, storage_class_events) = cached(Api::<StorageClass>::all(client.clone()), Default::default());
    let (nodes, node_events) = node_labels(&client);
    // The operations graceful scaling creates: their status changes wake the cluster's reconcile.
    let (operations, operation_events) = cached(api::<CruiseControlOperation>(&client, ns), owned());
    // Cruise Control's Deployment and metrics topic: availability and topic state feed the status.
    let (deployments, deployment_events) = cached(api::<Deployment>(&client, ns), owned());
    let (kafka_topics, kafka_topic_events) = cached(api::<KafkaTopic>(&client, ns), owned());
    // Only the slices this operator manages; the EndpointSlice controller's are none of its business.
    let ours = format!("{},{}={}", labels::KAFKA_CR, build::MANAGED_BY_LABEL, build::MANAGED_BY_US);
    let (endpoint_slices, endpoint_slice_events) =
        cached(api::<EndpointSlice>(&client, ns), watcher::Config::default().labels(&ours));

    // Certificates: the operator's CA's Secrets carry an owner reference, cert-manager's do not
    // (cert-manager owns them), so both wake their cluster by its label.
    let (secrets, secret_events) = cached(api::<Secret>(&client, ns), owned());

    let recorder = Recorder::new(
        client.clone(),
        Reporter { controller: options.reporter.clone(), instance: options.instance.clone() },
    );
    let context = Arc::new(Context {
        writer: Writer { client: client.clone() },
        stores: OwnedStores {
            pods,
            config_maps,
            claims,
            services,
            pod_disruption_budgets,
            storage_classes,
            operations,
            deployments,
            kafka_topics,
            endpoint_slices,
            secrets: secrets.clone(),
            nodes: nodes.clone(),
        },
        recorder: recorder.clone(),
        kafka: KafkaAccess::new(options.kafka_requests, secrets),
        reporter: ReconcileReporter::new(options.reconciles, recorder.clone()),
        cert_manager: Default::default(),
        certificate_expiry: options.certificate_expiry,
    });

    // StorageClasses carry no owner: drive their cache without triggering reconciles. The
    // first reconcile waits for it: with an empty cache a cluster would be reported as having
    // no StorageClass and, that being a spec problem, not looked at again until the resync.
    let storage_classes_ready = context.stores.storage_classes.clone();
    let storage_classes_driver = tokio::spawn(storage_class_events.for_each(|_| async {}));
    tokio::select! {
        ready = storage_classes_ready.wait_until_ready() => if ready.is_err() { return },
        () = stop.cancelled() => { storage_classes_driver.abort(); return }
    }
    // Nodes likewise: a cluster with rackAwareness must not find no racks at start. Without
    // the RBAC to list nodes (an older ClusterRole) the rest still works, after a warning.
    let nodes_driver = tokio::spawn(node_events.for_each(|_| async {}));
    tokio::select! {
        ready = tokio::time::timeout(NODES_LISTED_WITHIN, nodes.wait_until_ready()) => if ready.is_err() {
            tracing::warn!("nodes not listed within {NODES_LISTED_WITHIN:?}: rackAwareness cannot place brokers \
                until they are (does the ClusterRole allow get, list and watch on nodes?)");
        },
        () = stop.cancelled() => { storage_classes_driver.abort(); nodes_driver.abort(); return }
    }
    // Guarded: a KafkaCluster this controller cannot read fails its own passes (with an event
    // saying why) instead of breaking the watch of every other cluster.
    // What `Controller::new` does, but with a cache that forgets managedFields' field sets.
    let (clusters, clusters_writer) = reflector::store();
    let cluster_events = watcher(api::<DeserializeGuard<KafkaCluster>>(&client, ns), watcher::Config::default())
        .modify(forget_managed_field_sets)
        .reflect(clusters_writer)
        .applied_objects();
    let clusters_listed = clusters.clone();
    let controller = Controller::for_stream(cluster_events, clusters)
        .owns_stream(pod_events)
        .owns_stream(config_map_events)
        .owns_stream(claim_events)
        .owns_stream(service_events)
        .owns_stream(pdb_events)
        .owns_stream(operation_events)
        .owns_stream(deployment_events)
        .owns_stream(kafka_topic_events)
        .owns_stream(endpoint_slice_events)
        .watches_stream(secret_events, cluster_of_secret)
        .graceful_shutdown_on({
            let stop = stop.clone();
            async move { stop.cancelled().await }
        })
        .run(reconcile::reconcile, reconcile::error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(cluster = %object.name, "reconciled"),
                Err(error) => tracing::debug!(error = %operator_runtime::error_chain(&error), "reconcile error"),
            }
        });
    drain_on_stop(controller, &stop, &clusters_listed).await;
    storage_classes_driver.abort();
    nodes_driver.abort();
}

/// How long reconciles in flight get to finish once shutdown was asked for: well inside the
/// 30 s the chart gives a pod to terminate.
const DRAIN_GRACE: Duration = Duration::from_secs(20);

/// Runs `controller` until it ends by itself or, after `stop`, until it drained. kube's graceful
/// shutdown stops polling the watches first and then waits for what they would have filled: a
/// shutdown before the first list of KafkaClusters completed holds its runner forever (nothing
/// ran yet, so there is nothing to drain), and a reconcile waiting for an owned cache would too
/// (bounded by [`DRAIN_GRACE`]).
async fn drain_on_stop(
    controller: impl Future<Output = ()>,
    stop: &CancellationToken,
    clusters_listed: &Store<DeserializeGuard<KafkaCluster>>,
) {
    tokio::pin!(controller);
    tokio::select! {
        () = &mut controller => return,
        () = stop.cancelled() => {}
    }
    if clusters_listed.wait_until_ready().now_or_never().is_none() {
        tracing::debug!("stopped before the first list of KafkaClusters: nothing to drain");
        return;
    }
    if tokio::time::timeout(DRAIN_GRACE, controller).await.is_err() {
        tracing::warn!(grace = ?DRAIN_GRACE, "reconciles still running at shutdown were abandoned");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    use serde_json::json;

    fn managed(object: &impl Resource) -> Vec<(Option<String>, bool)> {
        let entries = object.meta().managed_fields.iter().flatten();
        entries.map(|entry| (entry.manager.clone(), entry.fields_v1.is_some())).collect()
    }

    fn cluster_json(spec: serde_json::Value) -> serde_json::Value {
        json!({
            "apiVersion": "kafka.banzaicloud.io/v1beta1",
            "kind": "KafkaCluster",
            "metadata": {
                "name": "kafka",
                "namespace": "ns",
                "managedFields": [
                    {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {"f:brokers": {}}}},
                    {"manager": "cluster-controller", "operation": "Apply", "subresource": "status",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:state": {}}}},
                ],
            },
            "spec": spec,
        })
    }

    #[test]
    fn kafka_cluster_caches_keep_managers_without_field_sets() {
        let sample: serde_json::Value =
            serde_yaml::from_str(include_str!("../../../deploy/samples/kafkacluster-kraft-combined.yaml"))
                .expect("the sample is YAML");
        let readable: DeserializeGuard<KafkaCluster> =
            serde_json::from_value(cluster_json(sample["spec"].clone())).expect("a guard always deserializes");
        // A spec this controller cannot read still has its metadata cached (InvalidObject).
        let unreadable: DeserializeGuard<KafkaCluster> =
            serde_json::from_value(cluster_json(json!({"brokers": "not a list"})))
                .expect("a guard always deserializes");
        assert!(readable.0.is_ok() && unreadable.0.is_err());
        let mut plain: KafkaCluster = serde_json::from_value(cluster_json(sample["spec"].clone())).expect("the sample");
        let before = vec![(Some("kubectl".to_owned()), true), (Some("cluster-controller".to_owned()), true)];
        let after = vec![(Some("kubectl".to_owned()), false), (Some("cluster-controller".to_owned()), false)];
        for mut guard in [readable, unreadable] {
            assert_eq!(managed(&guard), before);
            forget_managed_field_sets(&mut guard);
            assert_eq!(managed(&guard), after);
        }
        assert_eq!(managed(&plain), before);
        forget_managed_field_sets(&mut plain);
        assert_eq!(managed(&plain), after);
        let kept = &plain.metadata.managed_fields.as_ref().expect("entries are kept")[1];
        let expected = ManagedFieldsEntry {
            manager: Some("cluster-controller".to_owned()),
            operation: Some("Apply".to_owned()),
            subresource: Some("status".to_owned()),
            fields_type: Some("FieldsV1".to_owned()),
            fields_v1: None::<FieldsV1>,
            ..Default::default()
        };
        assert_eq!(kept, &expected);
    }
}
