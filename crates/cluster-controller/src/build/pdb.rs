//! The PodDisruptionBudget over the broker pods.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{broker_role_selector, object_meta};
use crate::model::ValidatedCluster;

/// `<cluster>-pdb` when `disruptionBudget.create`. Like Koperator: `minAvailable` =
/// max(1, brokers − budget), the budget a number of brokers or a percentage of them (rounded
/// down); an unset budget allows one broker at a time. KRaft counts broker-role nodes only.
// TODO(kraft): Koperator adds `<cluster>-controller-pdb` (minAvailable = max(1, controllers − 1)).
pub fn pod_disruption_budget(cluster: &ValidatedCluster) -> Option<PodDisruptionBudget> {
    let settings = cluster.spec.disruption_budget.as_ref().filter(|b| b.create == Some(true))?;
    let brokers = cluster.brokers.iter().filter(|broker| broker.is_broker()).count() as i64;
    let budget = disruption_allowance(settings.budget.as_deref().unwrap_or("1"), brokers);
    let selector = broker_role_selector(cluster);
    let mut metadata = object_meta(cluster, format!("{}-pdb", cluster.name), selector.clone());
    let annotations = &cluster.spec.listeners_config.service_annotations;
    metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
    let min_available = i32::try_from((brokers - budget).max(1)).unwrap_or(i32::MAX);
    Some(PodDisruptionBudget {
        metadata,
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available)),
            selector: Some(LabelSelector { match_labels: Some(selector), match_expressions: None }),
            ..Default::default()
        }),
        status: None,
    })
}

/// Brokers that may be down at once; admission guarantees `N` or `P%`, anything else allows one.
fn disruption_allowance(budget: &str, brokers: i64) -> i64 {
    let budget = budget.trim();
    match budget.strip_suffix('%') {
        Some(percentage) => percentage.parse::<i64>().map(|p| p.clamp(0, 100) * brokers / 100).unwrap_or(1),
        None => budget.parse::<i64>().unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_from_numbers_and_percentages() {
        assert_eq!(disruption_allowance("2", 5), 2);
        assert_eq!(disruption_allowance("20%", 5), 1);
        assert_eq!(disruption_allowance("50%", 5), 2);
        assert_eq!(disruption_allowance("100%", 3), 3);
        assert_eq!(disruption_allowance("bogus", 3), 1);
    }

    #[test]
    fn min_available_is_at_least_one() {
        let mut cluster = crate::build::tests::kraft_combined();
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("100%".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let pdb = pod_disruption_budget(&validated).expect("pdb");
        assert_eq!(pdb.spec.and_then(|s| s.min_available), Some(IntOrString::Int(1)));
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("1".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let pdb = pod_disruption_budget(&validated).expect("pdb");
        assert_eq!(pdb.spec.and_then(|s| s.min_available), Some(IntOrString::Int(2)));
    }
}
