//! Pure: the objects shared by every broker — Services, the PodDisruptionBudget, shared
//! ConfigMaps, the EndpointSlices that keep node names resolving (see `node_names`) — and the
//! ones no longer wanted.

use std::collections::BTreeSet;

use kube::ResourceExt;

use crate::build;
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

use super::apply_step;
use super::drift::DESIRED_HASH_ANNOTATION;
use super::node_names::NodeNames;
use super::plan::{Action, Desired, OwnedKind, Step};

/// Names of the cluster-wide objects this pass wants, by kind.
#[derive(Debug, Default)]
pub struct Wanted {
    pub services: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
    pub pod_disruption_budgets: BTreeSet<String>,
    /// `<hostname>.<service>` of the node-name records written this pass (not served yet).
    pub names_pending: Vec<String>,
}

pub fn plan(
    cluster: &ValidatedCluster,
    observed: &ObservedCluster,
    names: &NodeNames,
    steps: &mut Vec<Step>,
) -> Wanted {
    let objects = build::cluster_objects(cluster, names.headless);
    let mut wanted = Wanted {
        services: objects.services.iter().map(|s| s.name_any()).collect(),
        config_maps: objects.config_maps.iter().map(|c| c.name_any()).collect(),
        pod_disruption_budgets: objects.pod_disruption_budgets.iter().map(|p| p.name_any()).collect(),
        names_pending: Vec::new(),
    };
    for service in objects.services {
        let current = observed.services.get(&service.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(service, current, Desired::Service));
    }
    for config_map in objects.config_maps {
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(config_map, current, Desired::ConfigMap));
    }
    // After the Services they add records to.
    let mut wanted_bridges = BTreeSet::new();
    for (service, bridged) in &names.bridges {
        let slice = build::name_bridge(cluster, service, bridged);
        wanted_bridges.insert(slice.name_any());
        let current = observed.endpoint_slices.get(&slice.name_any()).map(AsRef::as_ref);
        if let Some(step) = apply_step(slice, current, Desired::EndpointSlice) {
            wanted.names_pending.extend(bridged.iter().map(|name| format!("{}.{service}", name.hostname)));
            steps.push(step);
        }
    }
    // Per-broker services of departed brokers are graceful scaling's; here only the
    // cluster-wide ones (e.g. the headless service after headlessServiceEnabled turned off).
    // Only what this operator applied goes: an object another operator made (Koperator's,
    // before a takeover) may be what running brokers still resolve each other by.
    // Envoy's objects are external access's (see `external_access`).
    for (name, service) in &observed.services {
        let per_broker = service.labels().contains_key(crd_types::labels::BROKER_ID);
        if !per_broker
            && !is_envoy(service.as_ref())
            && !wanted.services.contains(name)
            && applied_by_us(service.as_ref())
        {
            steps.push(Step::new(Action::Delete { kind: OwnedKind::Service, name: name.clone() }));
        }
    }
    for (name, pdb) in &observed.pod_disruption_budgets {
        if !wanted.pod_disruption_budgets.contains(name) && !is_envoy(pdb.as_ref()) && applied_by_us(pdb.as_ref()) {
            steps.push(Step::new(Action::Delete { kind: OwnedKind::PodDisruptionBudget, name: name.clone() }));
        }
    }
    // The cache holds only slices this operator manages.
    for name in observed.endpoint_slices.keys().filter(|name| !wanted_bridges.contains(*name)) {
        steps.push(Step::new(Action::Delete { kind: OwnedKind::EndpointSlice, name: name.clone() }));
    }
    wanted
}

/// The PodDisruptionBudgets (see [`plan`] for removed ones), closed while Kafka's health holds
/// evictions: decided after the roll, whose gates say so.
pub fn plan_budgets(cluster: &ValidatedCluster, observed: &ObservedCluster, closed: bool, steps: &mut Vec<Step>) {
    for pdb in build::pdb::pod_disruption_budgets(cluster, closed) {
        let current = observed.pod_disruption_budgets.get(&pdb.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(pdb, current, Desired::PodDisruptionBudget));
    }
}

/// Objects this operator applied carry the hash of what it applied.
pub fn applied_by_us(object: &impl ResourceExt) -> bool {
    object.annotations().contains_key(DESIRED_HASH_ANNOTATION)
}

fn is_envoy(object: &impl ResourceExt) -> bool {
    object.labels().get(crd_types::labels::APP).map(String::as_str) == Some(build::envoy::APP_ENVOY)
}
