//! Pure: the DNS names the running Kafka nodes use for each other, and what keeps every one of
//! them resolving while pods of two naming layouts run side by side.
//!
//! Before this operator named nodes as Koperator does, every pod of a headless cluster took its
//! record from `<cluster>-headless`, so KRaft controllers were `<cluster>-<id>.<cluster>-headless`
//! in every node's `controller.quorum.voters`. In Koperator's layout (ours now) nodes with the
//! controller role are `<cluster>-<id>.<cluster>-controller-headless`. A pod's `subdomain` is
//! part of its spec, so the rolling restart that moves a cluster to the new layout replaces one
//! node at a time: a restarted controller has no record under its old name, which the other
//! nodes still use, and the others none under their new names, which it uses. The quorum would
//! break at the first restart. So, decided from the pods alone:
//! - `<cluster>-headless` keeps selecting every node while a controller pod still takes its
//!   record from it (Koperator's selects the broker role only);
//! - every controller name a running pod's configuration uses that no pod record answers gets a
//!   record in an EndpointSlice of ours, pointing at that node's pod;
//! - the slices go once no pod of the old layout runs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::build::{self, BridgedName, CONFIG_HASH_ANNOTATION, HeadlessSelection, NODE_NAMES_ANNOTATION};
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

/// The names a pod's configuration gives the KRaft controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Layout {
    /// This operator's before it named nodes as Koperator does: `<cluster>-<id>.<cluster>-headless`.
    Earlier,
    /// Koperator's (and this operator's now): `<cluster>-<id>.<cluster>-controller-headless`.
    Koperator,
}

/// What keeps the nodes' names resolving this pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeNames {
    pub headless: HeadlessSelection,
    /// Service name → the records its bridge slice adds; a Service not listed has no slice.
    pub bridges: BTreeMap<String, Vec<BridgedName>>,
}

pub fn decide(cluster: &ValidatedCluster, observed: &ObservedCluster) -> NodeNames {
    if !(cluster.is_kraft() && cluster.spec.headless_service_enabled) {
        // Per-node Services (or ZooKeeper mode's one headless Service) name every node alike
        // in both layouts.
        return NodeNames::default();
    }
    let pods: Vec<&Arc<Pod>> = observed.pods.values().flatten().collect();
    let headless_service = build::headless_service_name(cluster);
    let controller_named_by_headless = pods.iter().any(|pod| {
        pod.labels().get(crd_types::labels::IS_CONTROLLER_NODE).map(String::as_str) == Some("true")
            && subdomain(pod) == Some(headless_service.as_str())
    });
    let headless =
        if controller_named_by_headless { HeadlessSelection::EveryNode } else { HeadlessSelection::BrokerRole };
    let selectors = BTreeMap::from([
        (
            headless_service.clone(),
            match headless {
                HeadlessSelection::BrokerRole => build::broker_role_selector(cluster),
                HeadlessSelection::EveryNode => build::cluster_labels(cluster),
            },
        ),
        (build::controller_headless_service_name(cluster), build::controller_role_selector(cluster)),
    ]);

    let layouts: BTreeSet<Layout> = pods.iter().map(|pod| layout(pod)).collect();
    let mut bridges: BTreeMap<String, Vec<BridgedName>> = BTreeMap::new();
    for node in cluster.brokers.iter().filter(|node| build::has_controller_role(cluster, node)) {
        let Some(pod) = pod_with_address(observed, node.id) else { continue };
        let hostname = build::node_hostname(cluster, node.id);
        for layout in &layouts {
            let service = match layout {
                Layout::Earlier => headless_service.clone(),
                Layout::Koperator => build::controller_headless_service_name(cluster),
            };
            let selected = selectors[&service].iter().all(|(key, value)| pod.labels().get(key) == Some(value));
            let has_record = selected
                && subdomain(pod) == Some(service.as_str())
                && pod.spec.as_ref().and_then(|s| s.hostname.as_deref()) == Some(hostname.as_str());
            if !has_record {
                let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone()).expect("chosen for having an IP");
                bridges.entry(service).or_default().push(BridgedName {
                    hostname: hostname.clone(),
                    ip,
                    pod: pod.name_any(),
                });
            }
        }
    }
    NodeNames { headless, bridges }
}

/// Our pods carry the hash of their configuration; those made before the node-names annotation
/// use the earlier names. Pods without our hash are another operator's: Koperator's layout.
fn layout(pod: &Pod) -> Layout {
    let annotations = pod.annotations();
    if annotations.contains_key(CONFIG_HASH_ANNOTATION) && !annotations.contains_key(NODE_NAMES_ANNOTATION) {
        Layout::Earlier
    } else {
        Layout::Koperator
    }
}

fn subdomain(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.subdomain.as_deref()
}

/// The node's pod that has an address: the live one, else one still shutting down (it runs
/// until it is gone, and the others may still talk to it).
fn pod_with_address(observed: &ObservedCluster, id: i32) -> Option<&Arc<Pod>> {
    let has_address = |pod: &&Arc<Pod>| pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).is_some();
    observed.live_pod(id).filter(has_address).or_else(|| observed.pods.get(&id)?.iter().find(has_address))
}

#[cfg(test)]
#[path = "node_names_tests.rs"]
mod tests;
