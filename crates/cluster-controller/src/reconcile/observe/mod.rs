//! Reads only (client required for the watches that fill the caches): what exists in the
//! cluster for one KafkaCluster, taken from the reflector caches the controller keeps (no API
//! request per reconcile), and the facts only Kafka, Cruise Control or the apiserver know,
//! asked for by the decision (`facts`).

pub mod cruise_control;
pub mod facts;
pub mod kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::Store;

use crd_types::{CruiseControlOperation, KafkaTopic, labels};

/// The caches of every kind the cluster controller owns, all filtered to objects carrying
/// the `kafka_cr` label (and StorageClasses, to tell a missing class from a slow provisioner).
#[derive(Clone)]
pub struct OwnedStores {
    pub pods: Store<Pod>,
    pub config_maps: Store<ConfigMap>,
    pub claims: Store<PersistentVolumeClaim>,
    pub services: Store<Service>,
    pub pod_disruption_budgets: Store<PodDisruptionBudget>,
    pub storage_classes: Store<StorageClass>,
    /// Cruise Control's Deployment.
    pub deployments: Store<Deployment>,
    /// The Cruise Control metrics topic's KafkaTopic.
    pub kafka_topics: Store<KafkaTopic>,
    pub operations: Store<CruiseControlOperation>,
    /// The EndpointSlices this operator manages (`build::name_bridge`), and no others.
    pub endpoint_slices: Store<EndpointSlice>,
    /// The Secrets of clusters' certificates (the operator's CA and cert-manager label them).
    pub secrets: Store<Secret>,
    /// Every node's metadata: the labels `rackAwareness` names racks by.
    pub nodes: Store<PartialObjectMeta<Node>>,
}

/// Objects of one KafkaCluster, by what they are for.
#[derive(Default)]
pub struct ObservedCluster {
    /// Broker pods by broker id; more than one while a replaced pod terminates.
    pub pods: BTreeMap<i32, Vec<Arc<Pod>>>,
    pub config_maps: BTreeMap<String, Arc<ConfigMap>>,
    /// Claims by broker id.
    pub claims: BTreeMap<i32, Vec<Arc<PersistentVolumeClaim>>>,
    pub services: BTreeMap<String, Arc<Service>>,
    pub pod_disruption_budgets: BTreeMap<String, Arc<PodDisruptionBudget>>,
    pub storage_classes: BTreeMap<String, StorageClassInfo>,
    pub default_storage_class: Option<String>,
    pub deployments: BTreeMap<String, Arc<Deployment>>,
    /// KafkaTopics the operator made for the cluster (the Cruise Control metrics topic).
    pub kafka_topics: BTreeMap<String, Arc<KafkaTopic>>,
    /// CruiseControlOperations of the cluster by name.
    pub operations: BTreeMap<String, Arc<CruiseControlOperation>>,
    /// The EndpointSlices of the cluster this operator manages, by name.
    pub endpoint_slices: BTreeMap<String, Arc<EndpointSlice>>,
    /// The Secrets of the cluster's certificates, by name.
    pub secrets: BTreeMap<String, Arc<Secret>>,
    /// Node name → its labels (for `rackAwareness`).
    pub nodes: BTreeMap<String, BTreeMap<String, String>>,
}

/// What the reconcile needs of a StorageClass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageClassInfo {
    /// `volumeBindingMode: WaitForFirstConsumer`: claims bind only once a pod uses them.
    pub binds_for_pod: bool,
    /// `allowVolumeExpansion: true`.
    pub allows_expansion: bool,
}

fn belongs_to<K: ResourceExt>(object: &K, namespace: &str, cluster: &str) -> bool {
    object.namespace().as_deref() == Some(namespace)
        && object.labels().get(labels::KAFKA_CR).map(String::as_str) == Some(cluster)
}

fn broker_id<K: ResourceExt>(object: &K) -> Option<i32> {
    object.labels().get(labels::BROKER_ID)?.parse().ok()
}

fn by_name<K>(store: &Store<K>, namespace: &str, cluster: &str) -> BTreeMap<String, Arc<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone,
{
    store
        .state()
        .into_iter()
        .filter(|o| belongs_to(o.as_ref(), namespace, cluster))
        .map(|o| (o.name_any(), o))
        .collect()
}

fn by_broker<K>(store: &Store<K>, namespace: &str, cluster: &str) -> BTreeMap<i32, Vec<Arc<K>>>
where
    K: kube::Resource<DynamicType = ()> + Clone,
{
    let mut grouped: BTreeMap<i32, Vec<Arc<K>>> = BTreeMap::new();
    for object in store.state() {
        if belongs_to(object.as_ref(), namespace, cluster)
            && let Some(id) = broker_id(object.as_ref())
        {
            grouped.entry(id).or_default().push(object);
        }
    }
    grouped
}

const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

pub fn read(stores: &OwnedStores, namespace: &str, cluster: &str) -> ObservedCluster {
    let classes = stores.storage_classes.state();
    ObservedCluster {
        pods: by_broker(&stores.pods, namespace, cluster),
        config_maps: by_name(&stores.config_maps, namespace, cluster),
        claims: by_broker(&stores.claims, namespace, cluster),
        services: by_name(&stores.services, namespace, cluster),
        pod_disruption_budgets: by_name(&stores.pod_disruption_budgets, namespace, cluster),
        storage_classes: classes
            .iter()
            .map(|c| {
                let info = StorageClassInfo {
                    binds_for_pod: c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"),
                    allows_expansion: c.allow_volume_expansion == Some(true),
                };
                (c.name_any(), info)
            })
            .collect(),
        default_storage_class: classes
            .iter()
            .find(|c| c.annotations().get(DEFAULT_CLASS_ANNOTATION).map(String::as_str) == Some("true"))
            .map(|c| c.name_any()),
        operations: by_name(&stores.operations, namespace, cluster),
        deployments: by_name(&stores.deployments, namespace, cluster),
        kafka_topics: by_name(&stores.kafka_topics, namespace, cluster),
        endpoint_slices: by_name(&stores.endpoint_slices, namespace, cluster),
        secrets: by_name(&stores.secrets, namespace, cluster),
        nodes: stores.nodes.state().iter().map(|node| (node.name_any(), node.labels().clone())).collect(),
    }
}

/// Adds the Secrets of the user's certificates (`names`) to `observed.secrets`; one missing is
/// left out. Client required: the user's Secrets carry no `kafka_cr` label, so the cache does
/// not hold them, and one GET each per pass is cheaper than watching every Secret. One the user
/// labelled `kafka_cr=<cluster>` comes from the cache, and its change wakes the cluster at once;
/// others are read again at the next pass (the periodic one at the latest).
pub async fn read_user_secrets(
    client: &kube::Client,
    namespace: &str,
    names: &[String],
    observed: &mut ObservedCluster,
) -> Result<(), kube::Error> {
    let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
    for name in names {
        if observed.secrets.contains_key(name) {
            continue;
        }
        if let Some(mut secret) = api.get_opt(name).await? {
            secret.metadata.managed_fields = None;
            observed.secrets.insert(name.clone(), Arc::new(secret));
        }
    }
    Ok(())
}

/// Waits until the caches the graceful step decides from have been filled once: an empty pod
/// or operation cache right after a (re)start would make a draining broker look gone.
pub async fn wait_until_ready(stores: &OwnedStores) {
    let _ = futures::join!(
        stores.pods.wait_until_ready(),
        stores.claims.wait_until_ready(),
        stores.config_maps.wait_until_ready(),
        stores.services.wait_until_ready(),
        stores.operations.wait_until_ready(),
        // An empty cache would hide the metrics topic's immutable replication factor.
        stores.deployments.wait_until_ready(),
        stores.kafka_topics.wait_until_ready(),
        // An empty cache would make a bridge that still carries names look absent.
        stores.endpoint_slices.wait_until_ready(),
        // An empty cache would make the operator's CA look absent, and a new one be made.
        stores.secrets.wait_until_ready(),
    );
}

impl ObservedCluster {
    /// The broker's pod that is not being deleted, if any.
    pub fn live_pod(&self, id: i32) -> Option<&Arc<Pod>> {
        self.pods.get(&id)?.iter().find(|pod| pod.metadata.deletion_timestamp.is_none())
    }

    /// Claims of a broker the pod must not wait for no longer: bound ones, and ones whose class
    /// binds only for a consuming pod. Returns the names of the claims still pending.
    pub fn pending_claims(&self, id: i32) -> Vec<String> {
        self.claims
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|claim| {
                let bound = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
                let class = claim
                    .spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.clone())
                    .or_else(|| self.default_storage_class.clone());
                let binds_for_pod = class.and_then(|c| self.storage_classes.get(&c)).is_some_and(|c| c.binds_for_pod);
                !bound && !binds_for_pod
            })
            .map(|claim| claim.name_any())
            .collect()
    }

    /// Existing claim names of a broker by mount path.
    pub fn claim_names(&self, id: i32) -> BTreeMap<String, String> {
        self.claims
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|claim| {
                let mount_path = claim.annotations().get(labels::MOUNT_PATH_ANNOTATION)?;
                Some((mount_path.clone(), claim.name_any()))
            })
            .collect()
    }
}

/// (name, broker id) of the per-broker objects among `objects` whose broker left `desired`.
pub fn departed_broker_objects<K: ResourceExt>(
    objects: &BTreeMap<String, Arc<K>>,
    desired: &BTreeSet<i32>,
) -> Vec<(String, i32)> {
    objects
        .iter()
        .filter_map(|(name, object)| Some((name.clone(), broker_id(object.as_ref())?)))
        .filter(|(_, id)| !desired.contains(id))
        .collect()
}
