//! A broker's rack (`spec.rackAwareness`): what Kafka is told (`broker.rack`) and where the pod
//! may run (a required node affinity on the rack's labels). Which rack a broker gets is
//! decided in `reconcile::decide::racks`.

use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};

/// Koperator's `rackAwarenessState`: the server.properties line it adds.
const STATE_PREFIX: &str = "broker.rack=";

/// One rack: the value of each of `rackAwareness.labels`, in the spec's order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rack {
    pub labels: Vec<(String, String)>,
}

impl Rack {
    /// `broker.rack`: the values sorted and joined with commas, as Koperator joins them.
    pub fn broker_rack(&self) -> String {
        let mut values: Vec<&str> = self.labels.iter().map(|(_, value)| value.as_str()).collect();
        values.sort_unstable();
        values.join(",")
    }

    /// `status.brokersState.<id>.rackAwarenessState`, in Koperator's form.
    pub fn state(&self) -> String {
        format!("{STATE_PREFIX}{}\n", self.broker_rack())
    }

    /// The `broker.rack` value a recorded `rackAwarenessState` names (Koperator's form, or the
    /// value alone); None when empty.
    pub fn recorded_value(state: &str) -> Option<&str> {
        let state = state.trim();
        Some(state.strip_prefix(STATE_PREFIX).unwrap_or(state)).filter(|value| !value.is_empty())
    }

    /// `affinity` with the pod held to nodes of this rack: the rack's label requirements join
    /// every required node selector term (terms are alternatives, so each must carry them), or
    /// make the only term. The user's other affinities stay as they are.
    pub fn pin(&self, mut affinity: Affinity) -> Affinity {
        let requirements: Vec<NodeSelectorRequirement> = self
            .labels
            .iter()
            .map(|(label, value)| NodeSelectorRequirement {
                key: label.clone(),
                operator: "In".to_owned(),
                values: Some(vec![value.clone()]),
            })
            .collect();
        let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
        let selector = node_affinity
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(|| NodeSelector { node_selector_terms: Vec::new() });
        if selector.node_selector_terms.is_empty() {
            selector.node_selector_terms.push(NodeSelectorTerm::default());
        }
        for term in &mut selector.node_selector_terms {
            term.match_expressions.get_or_insert_with(Vec::new).extend(requirements.iter().cloned());
        }
        affinity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rack(labels: &[(&str, &str)]) -> Rack {
        Rack { labels: labels.iter().map(|(l, v)| ((*l).to_owned(), (*v).to_owned())).collect() }
    }

    #[test]
    fn broker_rack_joins_the_values_sorted_as_koperator_does() {
        let zone_and_region = rack(&[("topology.kubernetes.io/zone", "us-east-2a"), ("region", "us-east-2")]);
        assert_eq!(zone_and_region.broker_rack(), "us-east-2,us-east-2a");
        assert_eq!(zone_and_region.state(), "broker.rack=us-east-2,us-east-2a\n");
        assert_eq!(Rack::recorded_value("broker.rack=us-east-2,us-east-2a\n"), Some("us-east-2,us-east-2a"));
        assert_eq!(Rack::recorded_value("zone-a"), Some("zone-a"));
        assert_eq!(Rack::recorded_value("broker.rack=\n"), None);
        assert_eq!(Rack::recorded_value(""), None);
    }

    #[test]
    fn pinning_adds_the_rack_to_every_alternative_and_keeps_the_users_affinity() {
        let zone = rack(&[("topology.kubernetes.io/zone", "a")]);
        let pinned = zone.pin(Affinity::default());
        assert_eq!(
            serde_json::to_value(&pinned).expect("json"),
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["a"]}]}
            ]}}})
        );
        let users: Affinity = serde_json::from_value(json!({
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
            ]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}
        }))
        .expect("affinity");
        let pinned = serde_json::to_value(zone.pin(users)).expect("json");
        let terms = &pinned["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
        assert_eq!(terms[0]["matchExpressions"][1]["values"], json!(["a"]));
        assert_eq!(terms[1]["matchExpressions"][0]["key"], json!("topology.kubernetes.io/zone"));
        assert_eq!(terms[1]["matchFields"][0]["values"], json!(["n1"]));
        assert!(pinned["podAntiAffinity"].is_object(), "the user's anti-affinity stays");
    }
}
