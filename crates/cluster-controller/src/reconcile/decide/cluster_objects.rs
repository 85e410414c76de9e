//! Pure: the objects shared by every broker — Services, the PodDisruptionBudget, shared
//! ConfigMaps — and the ones no longer wanted.

use std::collections::BTreeSet;

use kube::ResourceExt;

use crate::build;
use crate::model::ValidatedCluster;
use crate::reconcile::observe::ObservedCluster;

use super::apply_step;
use super::drift::DESIRED_HASH_ANNOTATION;
use super::plan::{Action, Desired, OwnedKind, Step};

pub fn plan(cluster: &ValidatedCluster, observed: &ObservedCluster, steps: &mut Vec<Step>) {
    let objects = build::cluster_objects(cluster);
    let wanted_services: BTreeSet<String> = objects.services.iter().map(|s| s.name_any()).collect();
    for service in objects.services {
        let current = observed.services.get(&service.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(service, current, Desired::Service));
    }
    for config_map in objects.config_maps {
        let current = observed.config_maps.get(&config_map.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(config_map, current, Desired::ConfigMap));
    }
    let wanted_pdbs: BTreeSet<String> = objects.pod_disruption_budgets.iter().map(|p| p.name_any()).collect();
    for pdb in objects.pod_disruption_budgets {
        let current = observed.pod_disruption_budgets.get(&pdb.name_any()).map(AsRef::as_ref);
        steps.extend(apply_step(pdb, current, Desired::PodDisruptionBudget));
    }
    // Per-broker services of departed brokers are graceful scaling's; here only the
    // cluster-wide ones (e.g. the headless service after headlessServiceEnabled turned off).
    // Only what this operator applied goes: an object another operator made (Koperator's,
    // before a takeover) may be what running brokers still resolve each other by.
    for (name, service) in &observed.services {
        let per_broker = service.labels().contains_key(crd_types::labels::BROKER_ID);
        if !per_broker && !wanted_services.contains(name) && applied_by_us(service.as_ref()) {
            steps.push(Step::new(Action::Delete { kind: OwnedKind::Service, name: name.clone() }));
        }
    }
    for (name, pdb) in &observed.pod_disruption_budgets {
        if !wanted_pdbs.contains(name) && applied_by_us(pdb.as_ref()) {
            steps.push(Step::new(Action::Delete { kind: OwnedKind::PodDisruptionBudget, name: name.clone() }));
        }
    }
}

/// Objects this operator applied carry the hash of what it applied.
fn applied_by_us(object: &impl ResourceExt) -> bool {
    object.annotations().contains_key(DESIRED_HASH_ANNOTATION)
}
