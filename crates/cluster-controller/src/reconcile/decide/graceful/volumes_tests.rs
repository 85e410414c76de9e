use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::build::tests::kraft_combined;
use crate::model::validate;
use crd_types::kafka_cluster::BrokerState;

fn claim(name: &str, mount_path: &str) -> Arc<PersistentVolumeClaim> {
    Arc::new(PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some([(crd_types::labels::MOUNT_PATH_ANNOTATION.to_owned(), mount_path.to_owned())].into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec { storage_class_name: Some("standard".into()), ..Default::default() }),
        status: None,
    })
}

fn mount_paths(cluster: &ValidatedCluster, id: i32) -> Vec<String> {
    let broker = cluster.brokers.iter().find(|b| b.id == id).expect("broker");
    broker.config.storage_configs.iter().map(|s| s.mount_path.clone()).collect()
}

#[test]
fn a_removed_volume_stays_until_its_data_moved_off() {
    let cluster = validate(&kraft_combined()).expect("valid");
    let mut observed = ObservedCluster::default();
    observed
        .claims
        .insert(0, vec![claim("kafka-0-storage-0-aaaaa", "/kafka-logs"), claim("kafka-0-storage-1-bbbbb", "/old")]);

    let built = with_volumes_being_removed(&cluster, &observed, None);
    assert_eq!(mount_paths(&built, 0), ["/kafka-logs", "/old"]);
    assert_eq!(mount_paths(&built, 1), ["/kafka-logs"], "other brokers are untouched");
    let kept = &built.brokers[0].config.storage_configs[1];
    assert_eq!(kept.pvc_spec.as_ref().and_then(|s| s.storage_class_name.as_deref()), Some("standard"));

    let mut status = KafkaClusterStatus::default();
    let mut broker = BrokerState::default();
    broker.graceful_action_state.volume_states.insert(
        "/old".into(),
        VolumeState { cruise_control_volume_state: Some(State::GracefulDiskRemovalSucceeded), ..Default::default() },
    );
    status.brokers_state.insert("0".into(), broker);
    let built = with_volumes_being_removed(&cluster, &observed, Some(&status));
    assert_eq!(mount_paths(&built, 0), ["/kafka-logs"], "drained: the pod is rebuilt without it");
}
