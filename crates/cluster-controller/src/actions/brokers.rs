//! upScale and downScale: a broker added to or removed from `spec.brokers`. The cluster
//! controller's graceful scaling does the rest (add_broker / remove_broker through Cruise
//! Control, and nothing is deleted before the drain finished).

use std::collections::BTreeMap;

use crd_types::kafka_cluster::{Broker, BrokerConfig, KafkaClusterStatus, ProcessRole, StorageConfig};

use super::{Rejection, SpecChange, gates};
use crate::model::ValidatedCluster;

/// Which settings a new broker gets.
#[derive(Clone, Debug, PartialEq)]
pub enum NewBrokerSettings {
    /// The group most broker nodes use.
    DefaultGroup,
    /// A named `spec.brokerConfigGroups` entry (Koperator's `brokerConfigGroup` annotation).
    Group(String),
    /// Koperator's `image` and storage annotations: the default group's settings with these
    /// over them, so the node keeps the group's roles, heap and listeners.
    Explicit { image: Option<String>, storage: Vec<StorageConfig> },
}

/// Adds a broker with the next free id: above every id in the spec and every id the status
/// still tracks (a broker being drained keeps its id until it is gone).
pub fn add_broker(
    cluster: &ValidatedCluster,
    status: Option<&KafkaClusterStatus>,
    settings: &NewBrokerSettings,
) -> Result<SpecChange, Rejection> {
    let spec = &cluster.spec;
    gates::below_up_scale_limit(spec)?;
    let tracked = status.into_iter().flat_map(|s| s.brokers_state.keys()).filter_map(|id| id.parse::<i32>().ok());
    let id = spec.brokers.iter().map(|b| b.id).chain(tracked).max().map_or(0, |max| max.saturating_add(1));
    let default_group = || {
        default_group(cluster).ok_or_else(|| {
            Rejection::InvalidArgument("no brokerConfigGroup is used by a broker; name one in the alert".to_owned())
        })
    };
    let (group, broker_config) = match settings {
        NewBrokerSettings::DefaultGroup => (default_group()?, None),
        NewBrokerSettings::Group(name) => {
            if !spec.broker_config_groups.contains_key(name) {
                return Err(Rejection::NotFound(format!("spec.brokerConfigGroups has no group {name:?}")));
            }
            (name.clone(), None)
        }
        NewBrokerSettings::Explicit { image, storage } => {
            let own = BrokerConfig { image: image.clone(), storage_configs: storage.clone(), ..Default::default() };
            (default_group()?, Some(own))
        }
    };
    let mut brokers = spec.brokers.clone();
    brokers.push(Broker { id, broker_config_group: Some(group.clone()), broker_config, ..Default::default() });
    let extra =
        if matches!(settings, NewBrokerSettings::Explicit { .. }) { " with the alert's image/storage" } else { "" };
    Ok(SpecChange { brokers, broker_id: id, summary: format!("added broker {id} (brokerConfigGroup {group}{extra})") })
}

/// The group most broker nodes (not KRaft controller-only nodes) use; ties go to the first name.
fn default_group(cluster: &ValidatedCluster) -> Option<String> {
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for broker in &cluster.spec.brokers {
        let is_broker = cluster.brokers.iter().find(|model| model.id == broker.id).is_some_and(|m| m.is_broker());
        if let Some(group) = broker.broker_config_group.as_deref().filter(|_| is_broker) {
            *uses.entry(group).or_default() += 1;
        }
    }
    let most = uses.values().copied().max()?;
    uses.into_iter().find(|(_, count)| *count == most).map(|(group, _)| group.to_owned())
}

/// Removes broker `id` from the spec. KRaft controllers are refused: removing one changes the
/// quorum, which is not a decision for an alert.
pub fn remove_broker(
    cluster: &ValidatedCluster,
    status: Option<&KafkaClusterStatus>,
    id: i32,
) -> Result<SpecChange, Rejection> {
    let Some(model) = cluster.brokers.iter().find(|b| b.id == id) else {
        let leaving = status.is_some_and(|s| s.brokers_state.contains_key(&id.to_string()));
        return Err(if leaving {
            Rejection::AlreadyHolds(format!("broker {id} is already leaving the cluster"))
        } else {
            Rejection::NotFound(format!("broker {id} is not in spec.brokers"))
        });
    };
    gates::above_down_scale_limit(&cluster.spec)?;
    if model.roles.contains(&ProcessRole::Controller) && cluster.is_kraft() {
        return Err(Rejection::Refused(format!("broker {id} is a KRaft controller; alerts do not change the quorum")));
    }
    let brokers = cluster.spec.brokers.iter().filter(|b| b.id != id).cloned().collect();
    Ok(SpecChange { brokers, broker_id: id, summary: format!("removed broker {id}; Cruise Control drains it first") })
}

/// Of the brokers that may be removed (broker role, no KRaft controller role), the one holding
/// the fewest replicas by `replicas` (broker id → count, from Cruise Control's load); the lower
/// id on a tie, so that every replica of the receiver picks the same one.
pub fn fewest_replicas(cluster: &ValidatedCluster, replicas: &BTreeMap<i32, i64>) -> Result<i32, Rejection> {
    cluster
        .brokers
        .iter()
        .filter(|b| b.is_broker() && !(cluster.is_kraft() && b.is_controller()))
        .filter_map(|b| Some((*replicas.get(&b.id)?, b.id)))
        .min()
        .map(|(_, id)| id)
        .ok_or_else(|| Rejection::Refused("Cruise Control reports no load for any removable broker".to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::actions::fixtures::cluster;

    fn ids(change: &SpecChange) -> Vec<i32> {
        change.brokers.iter().map(|b| b.id).collect()
    }

    #[test]
    fn a_new_broker_takes_the_next_id_and_the_most_used_broker_group() {
        let change = add_broker(&cluster(json!({})), None, &NewBrokerSettings::DefaultGroup).expect("added");
        assert_eq!(change.broker_id, 11);
        assert_eq!(ids(&change), [0, 1, 2, 10, 11]);
        assert_eq!(change.brokers[4].broker_config_group.as_deref(), Some("broker"));
    }

    #[test]
    fn an_id_the_status_still_tracks_is_not_reused() {
        let mut status = KafkaClusterStatus::default();
        status.brokers_state.insert("12".into(), Default::default());
        let change = add_broker(&cluster(json!({})), Some(&status), &NewBrokerSettings::DefaultGroup).expect("added");
        assert_eq!(change.broker_id, 13);
    }

    #[test]
    fn explicit_settings_sit_over_the_default_group_and_unknown_groups_are_not_found() {
        let settings = NewBrokerSettings::Explicit { image: Some("kafka:3.9.1".into()), storage: vec![] };
        let change = add_broker(&cluster(json!({})), None, &settings).expect("added");
        let added = change.brokers.last().expect("a broker");
        assert_eq!(added.broker_config.as_ref().and_then(|c| c.image.as_deref()), Some("kafka:3.9.1"));
        assert_eq!(added.broker_config_group.as_deref(), Some("broker"));
        let missing = add_broker(&cluster(json!({})), None, &NewBrokerSettings::Group("fast".into()));
        assert!(matches!(missing, Err(Rejection::NotFound(_))), "{missing:?}");
    }

    #[test]
    fn the_up_scale_limit_refuses_a_new_broker() {
        let limited = cluster(json!({"alertManagerConfig": {"upScaleLimit": 4}}));
        let refused = add_broker(&limited, None, &NewBrokerSettings::DefaultGroup).expect_err("limit");
        assert!(refused.to_string().starts_with("upScaleLimit 4 reached"), "{refused}");
    }

    #[test]
    fn removal_keeps_controllers_and_respects_the_down_scale_limit() {
        let change = remove_broker(&cluster(json!({})), None, 1).expect("removed");
        assert_eq!(ids(&change), [0, 2, 10]);
        assert!(matches!(remove_broker(&cluster(json!({})), None, 10), Err(Rejection::Refused(_))));
        assert!(matches!(remove_broker(&cluster(json!({})), None, 7), Err(Rejection::NotFound(_))));
        let limited = cluster(json!({"alertManagerConfig": {"downScaleLimit": 4}}));
        assert!(matches!(remove_broker(&limited, None, 1), Err(Rejection::Refused(_))));
        let mut status = KafkaClusterStatus::default();
        status.brokers_state.insert("7".into(), Default::default());
        assert!(matches!(remove_broker(&cluster(json!({})), Some(&status), 7), Err(Rejection::AlreadyHolds(_))));
    }

    #[test]
    fn the_broker_with_fewest_replicas_is_chosen_among_removable_ones() {
        let loads = BTreeMap::from([(0, 40), (1, 12), (2, 12), (10, 0)]);
        assert_eq!(fewest_replicas(&cluster(json!({})), &loads), Ok(1));
        assert!(fewest_replicas(&cluster(json!({})), &BTreeMap::new()).is_err());
    }
}
