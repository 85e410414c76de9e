//! The PodDisruptionBudgets over the broker pods and, in KRaft, the controller pods.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crd_types::labels::IS_CONTROLLER_NODE;

use super::labels::{broker_role_selector, cluster_labels, object_meta};
use crate::model::ValidatedCluster;

/// `<cluster>-pdb` when `disruptionBudget.create`. Like Koperator: `minAvailable` =
/// max(1, brokers − budget), the budget a number of brokers or a percentage of them (rounded
/// down); an unset budget allows one broker at a time. KRaft counts broker-role nodes only.
///
/// Unlike Koperator, a KRaft cluster with combined nodes (broker and controller) gets this one
/// budget over all its nodes, allowing at most one at a time: the eviction API refuses any pod
/// that two budgets select ("more than one PodDisruptionBudget"), so with a broker and a
/// controller budget a drain could evict no combined node at all; and one budget over every
/// node is the only way to keep both the brokers' allowance and the quorum's majority.
fn pod_disruption_budget(cluster: &ValidatedCluster, closed: bool) -> Option<PodDisruptionBudget> {
    let settings = cluster.spec.disruption_budget.as_ref().filter(|b| b.create == Some(true))?;
    let brokers = cluster.brokers.iter().filter(|broker| broker.is_broker()).count() as i64;
    let budget = if closed { 0 } else { disruption_allowance(settings.budget.as_deref().unwrap_or("1"), brokers) };
    let name = format!("{}-pdb", cluster.name);
    if has_combined_nodes(cluster) {
        let nodes = cluster.brokers.len() as i64;
        return Some(budget_over(cluster, name, cluster_labels(cluster), nodes - budget.min(1)));
    }
    Some(budget_over(cluster, name, broker_role_selector(cluster), brokers - budget))
}

fn has_combined_nodes(cluster: &ValidatedCluster) -> bool {
    cluster.is_kraft() && cluster.brokers.iter().any(|node| node.is_broker() && node.is_controller())
}

/// The cluster's budgets, when `disruptionBudget.create`; `closed`, they admit no eviction
/// (`minAvailable` = every pod they select): while Kafka is not healthy (see the roll's
/// budget gate).
pub fn pod_disruption_budgets(cluster: &ValidatedCluster, closed: bool) -> Vec<PodDisruptionBudget> {
    let mut budgets: Vec<PodDisruptionBudget> = pod_disruption_budget(cluster, closed).into_iter().collect();
    budgets.extend(controller_budget(cluster, closed));
    budgets
}

/// `<cluster>-controller-pdb` (Koperator's): a drain may take one KRaft controller at a time,
/// so the quorum keeps its majority; `minAvailable` = max(1, controllers − 1).
/// None with combined nodes: `<cluster>-pdb` covers the controllers then.
fn controller_budget(cluster: &ValidatedCluster, closed: bool) -> Option<PodDisruptionBudget> {
    cluster.spec.disruption_budget.as_ref().filter(|b| b.create == Some(true))?;
    if !cluster.is_kraft() || has_combined_nodes(cluster) {
        return None;
    }
    let controllers = cluster.brokers.iter().filter(|broker| broker.is_controller()).count() as i64;
    let mut selector = cluster_labels(cluster);
    selector.insert(IS_CONTROLLER_NODE.to_owned(), "true".to_owned());
    let allowance = i64::from(!closed);
    Some(budget_over(cluster, format!("{}-controller-pdb", cluster.name), selector, controllers - allowance))
}

fn budget_over(
    cluster: &ValidatedCluster,
    name: String,
    selector: super::labels::Labels,
    min_available: i64,
) -> PodDisruptionBudget {
    let mut metadata = object_meta(cluster, name, selector.clone());
    let annotations = &cluster.spec.listeners_config.service_annotations;
    metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
    let min_available = i32::try_from(min_available.max(1)).unwrap_or(i32::MAX);
    PodDisruptionBudget {
        metadata,
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available)),
            selector: Some(LabelSelector { match_labels: Some(selector), match_expressions: None }),
            ..Default::default()
        }),
        status: None,
    }
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
        let mut cluster = crate::build::tests::kraft_dedicated();
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("100%".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let pdb = pod_disruption_budget(&validated, false).expect("pdb");
        assert_eq!(pdb.spec.and_then(|s| s.min_available), Some(IntOrString::Int(1)));
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("1".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let pdb = pod_disruption_budget(&validated, false).expect("pdb");
        assert_eq!(pdb.spec.and_then(|s| s.min_available), Some(IntOrString::Int(2)));
    }

    #[test]
    fn kraft_controllers_get_a_budget_of_their_own() {
        let mut cluster = crate::build::tests::kraft_dedicated();
        let validated = crate::model::validate(&cluster).expect("valid");
        assert!(pod_disruption_budgets(&validated, false).is_empty(), "only with disruptionBudget.create");
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: None });
        let validated = crate::model::validate(&cluster).expect("valid");
        let budgets = pod_disruption_budgets(&validated, false);
        let names: Vec<_> = budgets.iter().map(|b| b.metadata.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["kafka-pdb", "kafka-controller-pdb"]);
        let spec = budgets[1].spec.clone().expect("spec");
        assert_eq!(spec.min_available, Some(IntOrString::Int(2)), "3 controllers, one may go");
        let labels = spec.selector.and_then(|s| s.match_labels).expect("labels");
        assert_eq!(labels.get(IS_CONTROLLER_NODE).map(String::as_str), Some("true"));
    }

    #[test]
    fn combined_nodes_get_one_budget_over_every_node_one_at_a_time() {
        let mut cluster = crate::build::tests::kraft_combined();
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("100%".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let budgets = pod_disruption_budgets(&validated, false);
        let names: Vec<_> = budgets.iter().map(|b| b.metadata.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["kafka-pdb"], "no pod may be selected by two budgets");
        let spec = budgets[0].spec.clone().expect("spec");
        assert_eq!(spec.min_available, Some(IntOrString::Int(2)), "3 nodes, one may go whatever the budget");
        let labels = spec.selector.and_then(|s| s.match_labels).expect("labels");
        assert_eq!(labels, cluster_labels(&validated), "every node of the cluster");
    }

    #[test]
    fn closed_budgets_admit_no_eviction() {
        let mut cluster = crate::build::tests::kraft_dedicated();
        cluster.spec.disruption_budget =
            Some(crd_types::kafka_cluster::DisruptionBudget { create: Some(true), budget: Some("2".into()) });
        let validated = crate::model::validate(&cluster).expect("valid");
        let min_available = |closed| -> Vec<Option<IntOrString>> {
            pod_disruption_budgets(&validated, closed)
                .into_iter()
                .map(|b| b.spec.and_then(|s| s.min_available))
                .collect()
        };
        let brokers = validated.brokers.iter().filter(|b| b.is_broker()).count() as i32;
        assert_eq!(min_available(false), [Some(IntOrString::Int(brokers - 2)), Some(IntOrString::Int(2))]);
        assert_eq!(min_available(true), [Some(IntOrString::Int(brokers)), Some(IntOrString::Int(3))]);
        let mut combined = crate::build::tests::kraft_combined();
        combined.spec.disruption_budget = cluster.spec.disruption_budget.clone();
        let validated = crate::model::validate(&combined).expect("valid");
        let closed = pod_disruption_budgets(&validated, true);
        assert_eq!(closed[0].spec.clone().and_then(|s| s.min_available), Some(IntOrString::Int(3)));
    }
}
