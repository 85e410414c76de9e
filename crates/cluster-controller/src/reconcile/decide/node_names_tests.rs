use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::build::tests::{kraft_combined, kraft_dedicated, zookeeper};
use crate::model::validate;

/// A pod of node `id` of cluster `kafka` in `layout`, at `ip`.
fn pod(cluster: &ValidatedCluster, id: i32, layout: Layout, ip: &str) -> Arc<Pod> {
    let node = cluster.brokers.iter().find(|b| b.id == id).expect("a node of the spec");
    let controller = build::has_controller_role(cluster, node);
    let subdomain = match (layout, controller) {
        (Layout::Koperator, true) => "kafka-controller-headless",
        _ => "kafka-headless",
    };
    let mut annotations = BTreeMap::from([(CONFIG_HASH_ANNOTATION.to_owned(), "hash".to_owned())]);
    if layout == Layout::Koperator {
        annotations.insert(NODE_NAMES_ANNOTATION.to_owned(), "koperator".to_owned());
    }
    let labels = BTreeMap::from([
        ("app".to_owned(), "kafka".to_owned()),
        ("kafka_cr".to_owned(), "kafka".to_owned()),
        ("brokerId".to_owned(), id.to_string()),
        ("isControllerNode".to_owned(), controller.to_string()),
        ("isBrokerNode".to_owned(), node.is_broker().to_string()),
    ]);
    Arc::new(Pod {
        metadata: ObjectMeta {
            name: Some(format!("kafka-{id}-{}", if layout == Layout::Koperator { "new" } else { "old" })),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(PodSpec {
            hostname: Some(format!("kafka-{id}")),
            subdomain: Some(subdomain.to_owned()),
            ..Default::default()
        }),
        status: Some(PodStatus { pod_ip: Some(ip.to_owned()), ..Default::default() }),
    })
}

fn observed(pods: Vec<Arc<Pod>>) -> ObservedCluster {
    let mut observed = ObservedCluster::default();
    for pod in pods {
        let id: i32 = pod.labels()["brokerId"].parse().expect("id");
        observed.pods.entry(id).or_default().push(pod);
    }
    observed
}

fn hostnames(names: &NodeNames, service: &str) -> Vec<String> {
    names.bridges.get(service).into_iter().flatten().map(|n| format!("{}={}", n.hostname, n.ip)).collect()
}

#[test]
fn one_layout_needs_no_bridge_and_koperators_selector() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    let pods = (0..6).map(|id| pod(&cluster, id, Layout::Koperator, &format!("10.0.0.{id}"))).collect();
    let names = decide(&cluster, &observed(pods));
    assert_eq!(names, NodeNames { headless: HeadlessSelection::BrokerRole, bridges: BTreeMap::new() });

    // A cluster of the earlier layout only: its names all resolve through the old selector.
    let pods = (0..6).map(|id| pod(&cluster, id, Layout::Earlier, &format!("10.0.0.{id}"))).collect();
    let names = decide(&cluster, &observed(pods));
    assert_eq!(names, NodeNames { headless: HeadlessSelection::EveryNode, bridges: BTreeMap::new() });
}

#[test]
fn mid_roll_each_layout_reaches_the_controllers_of_the_other() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    // Controller 3 restarted with Koperator's names; 4 and 5 and the brokers not yet.
    let mut pods: Vec<Arc<Pod>> =
        [0, 1, 2, 4, 5].iter().map(|&id| pod(&cluster, id, Layout::Earlier, &format!("10.0.0.{id}"))).collect();
    pods.push(pod(&cluster, 3, Layout::Koperator, "10.0.1.3"));
    let names = decide(&cluster, &observed(pods));
    assert_eq!(names.headless, HeadlessSelection::EveryNode, "4 and 5 still take their records from kafka-headless");
    assert_eq!(hostnames(&names, "kafka-headless"), ["kafka-3=10.0.1.3"], "the old name of the restarted controller");
    assert_eq!(
        hostnames(&names, "kafka-controller-headless"),
        ["kafka-4=10.0.0.4", "kafka-5=10.0.0.5"],
        "the new names of the controllers not restarted yet"
    );
}

#[test]
fn once_every_controller_moved_old_names_are_bridged_until_the_brokers_moved_too() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    let mut pods: Vec<Arc<Pod>> =
        [0, 1, 2].iter().map(|&id| pod(&cluster, id, Layout::Earlier, &format!("10.0.0.{id}"))).collect();
    pods.extend([3, 4, 5].iter().map(|&id| pod(&cluster, id, Layout::Koperator, &format!("10.0.1.{id}"))));
    let names = decide(&cluster, &observed(pods));
    assert_eq!(names.headless, HeadlessSelection::BrokerRole, "no controller takes its record from kafka-headless");
    assert_eq!(hostnames(&names, "kafka-headless"), ["kafka-3=10.0.1.3", "kafka-4=10.0.1.4", "kafka-5=10.0.1.5"]);
    assert!(hostnames(&names, "kafka-controller-headless").is_empty());
}

#[test]
fn combined_nodes_move_like_controllers_and_a_terminating_pod_still_counts() {
    let cluster = validate(&kraft_combined()).expect("valid");
    let mut leaving = (*pod(&cluster, 0, Layout::Earlier, "10.0.0.0")).clone();
    leaving.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1).expect("valid"),
    ));
    let pods = vec![
        Arc::new(leaving),
        pod(&cluster, 1, Layout::Earlier, "10.0.0.1"),
        pod(&cluster, 2, Layout::Koperator, "10.0.1.2"),
    ];
    let names = decide(&cluster, &observed(pods));
    assert_eq!(names.headless, HeadlessSelection::EveryNode);
    assert_eq!(hostnames(&names, "kafka-headless"), ["kafka-2=10.0.1.2"]);
    assert_eq!(hostnames(&names, "kafka-controller-headless"), ["kafka-0=10.0.0.0", "kafka-1=10.0.0.1"]);
}

#[test]
fn pods_another_operator_made_use_koperators_names() {
    let cluster = validate(&kraft_dedicated()).expect("valid");
    let pods = (0..6)
        .map(|id| {
            let mut made = (*pod(&cluster, id, Layout::Koperator, &format!("10.0.0.{id}"))).clone();
            made.metadata.annotations = None;
            Arc::new(made)
        })
        .collect();
    assert_eq!(decide(&cluster, &observed(pods)), NodeNames::default());
}

#[test]
fn zookeeper_mode_and_per_node_services_never_bridge() {
    let cluster = validate(&zookeeper()).expect("valid");
    let pods = (0..3).map(|id| pod(&cluster, id, Layout::Earlier, &format!("10.0.0.{id}"))).collect();
    assert_eq!(decide(&cluster, &observed(pods)), NodeNames::default());
    let mut spec = kraft_dedicated();
    spec.spec.headless_service_enabled = false;
    let cluster = validate(&spec).expect("valid");
    let pods = (0..6).map(|id| pod(&cluster, id, Layout::Earlier, &format!("10.0.0.{id}"))).collect();
    assert_eq!(decide(&cluster, &observed(pods)), NodeNames::default());
}
