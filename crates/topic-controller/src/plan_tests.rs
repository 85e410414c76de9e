use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use kafka_admin::{ClusterMetadata, OperationError, TopicMetadata};

use super::*;
use crate::request::ResourceKey;

pub(crate) fn request(name: &str, topic: &str) -> TopicRequest {
    TopicRequest {
        resource: ResourceKey { namespace: "apps".into(), name: name.into() },
        uid: format!("uid-{name}"),
        generation: Some(1),
        created: Some(Timestamp::from_second(1_000).expect("valid")),
        topic: topic.into(),
        partitions: 3,
        replication_factor: 2,
        config: BTreeMap::from([("retention.ms".to_owned(), "60000".to_owned())]),
        adopt: false,
        keep_on_delete: false,
        deleting: false,
        has_finalizer: false,
        managed: false,
        status: Default::default(),
    }
}

fn managed(mut request: TopicRequest) -> TopicRequest {
    request.managed = true;
    request.has_finalizer = true;
    request.status.observed_generation = request.generation;
    request
}

struct Kafka {
    metadata: ClusterMetadata,
    overrides: BTreeMap<String, Result<BTreeMap<String, String>, OperationError>>,
    created_here: CreatedHere,
    configured_here: ConfiguredHere,
}

impl Kafka {
    fn with_brokers(count: i32) -> Self {
        Self {
            metadata: ClusterMetadata { broker_ids: (0..count).collect(), topics: BTreeMap::new() },
            overrides: BTreeMap::new(),
            created_here: CreatedHere::new(),
            configured_here: ConfiguredHere::new(),
        }
    }

    fn topic(mut self, name: &str, partitions: i32, replication_factor: i32, overrides: &[(&str, &str)]) -> Self {
        self.metadata.topics.insert(name.into(), TopicMetadata { partitions, replication_factor, error: None });
        let overrides = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.overrides.insert(name.into(), Ok(overrides));
        self
    }

    fn plan(&self, requests: &[TopicRequest]) -> Plan {
        let view = KafkaView {
            metadata: &self.metadata,
            overrides: &self.overrides,
            spec_broker_count: self.metadata.broker_ids.len(),
            created_here: &self.created_here,
            configured_here: &self.configured_here,
        };
        plan(&requests.iter().collect::<Vec<_>>(), &view)
    }
}

fn only_problem(plan: &Plan, name: &str) -> (ProblemKind, String) {
    let outcome = &plan.outcomes[&ResourceKey { namespace: "apps".into(), name: name.into() }];
    assert_eq!(outcome.problems.len(), 1, "{outcome:?}");
    (outcome.problems[0].kind, outcome.problems[0].message.clone())
}

#[test]
fn a_new_topic_gets_its_finalizer_and_is_created_with_its_config() {
    let plan = Kafka::with_brokers(3).plan(&[request("orders", "orders")]);
    assert_eq!(plan.finalizers_to_add.len(), 1);
    assert_eq!(plan.creates.len(), 1);
    let (_, spec) = &plan.creates[0];
    assert_eq!((spec.partitions, spec.replication_factor), (3, 2));
    assert_eq!(spec.config["retention.ms"], "60000");
}

#[test]
fn an_in_sync_topic_needs_nothing_at_all() {
    let kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    assert!(plan.finalizers_to_add.is_empty() && plan.creates.is_empty() && plan.growths.is_empty());
    assert!(plan.config_changes.is_empty() && plan.deletes.is_empty() && plan.releases.is_empty());
    assert!(plan.outcomes.values().all(Outcome::in_sync));
}

#[test]
fn partitions_grow_but_never_shrink() {
    let kafka = Kafka::with_brokers(3).topic("orders", 2, 2, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    assert_eq!(plan.growths[0].1.total_partitions, 3);

    let kafka = Kafka::with_brokers(3).topic("orders", 6, 2, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    assert!(plan.growths.is_empty());
    let (kind, message) = only_problem(&plan, "orders");
    assert_eq!(kind, ProblemKind::InvalidSpec);
    assert!(message.contains("spec.partitions 3 is below the 6 partitions"), "{message}");
}

#[test]
fn a_changed_replication_factor_is_reported_not_acted_on() {
    let kafka = Kafka::with_brokers(3).topic("orders", 3, 1, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    let (kind, message) = only_problem(&plan, "orders");
    assert_eq!(kind, ProblemKind::InvalidSpec);
    assert!(message.contains("set spec.replicationFactor back to 1"), "{message}");
}

#[test]
fn config_drift_is_set_back_and_foreign_overrides_removed() {
    let kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[("retention.ms", "1000"), ("segment.bytes", "1048576")]);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    let (_, change, cause) = &plan.config_changes[0];
    assert_eq!(change.set, BTreeMap::from([("retention.ms".to_owned(), "60000".to_owned())]));
    assert_eq!(change.delete, vec!["segment.bytes".to_owned()]);
    assert_eq!(*cause, ConfigChangeCause::Drift);
}

#[test]
fn a_spec_edit_is_a_config_change_not_drift() {
    let kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[("retention.ms", "1000")]);
    let mut edited = managed(request("orders", "orders"));
    edited.generation = Some(2);
    let plan = kafka.plan(&[edited]);
    assert_eq!(plan.config_changes[0].2, ConfigChangeCause::SpecChanged);
}

#[test]
fn a_configuration_just_set_that_kafka_does_not_show_yet_is_looked_at_again_not_drift() {
    // The pass before set retention.ms=60000; the broker answering still has the old value.
    let mut kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[("retention.ms", "1000")]);
    let applied = AppliedConfig {
        config: BTreeMap::from([("retention.ms".to_owned(), "60000".to_owned())]),
        before: BTreeMap::from([("retention.ms".to_owned(), "1000".to_owned())]),
        passes_unseen: 1,
    };
    kafka.configured_here.insert(("orders".to_owned(), "uid-orders".to_owned()), applied);
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    assert!(plan.config_changes.is_empty(), "{:?}", plan.config_changes);
    let outcome = &plan.outcomes[&ResourceKey { namespace: "apps".into(), name: "orders".into() }];
    assert!(outcome.recheck && outcome.retry_soon(), "{outcome:?}");

    // What was applied is not what the spec asks now: the difference is acted on.
    let mut edited = managed(request("orders", "orders"));
    edited.config.insert("segment.ms".to_owned(), "7200000".to_owned());
    let plan = kafka.plan(&[edited]);
    assert_eq!(plan.config_changes.len(), 1);

    // Kafka shows neither the old nor the applied values: someone changed it since, drift.
    let drifted = Kafka { configured_here: kafka.configured_here.clone(), ..Kafka::with_brokers(3) }.topic(
        "orders",
        3,
        2,
        &[("retention.ms", "5")],
    );
    let plan = drifted.plan(&[managed(request("orders", "orders"))]);
    assert_eq!(plan.config_changes.len(), 1);
    assert_eq!(plan.config_changes[0].2, ConfigChangeCause::Drift);
    assert_eq!(plan.config_before[&plan.config_changes[0].0]["retention.ms"], "5");
}

#[test]
fn an_existing_topic_is_left_alone_unless_adoption_is_asked() {
    let kafka = Kafka::with_brokers(3).topic("legacy", 3, 2, &[]);
    let plan = kafka.plan(&[request("legacy", "legacy")]);
    assert!(plan.finalizers_to_add.is_empty() && plan.config_changes.is_empty() && plan.creates.is_empty());
    let (kind, message) = only_problem(&plan, "legacy");
    assert_eq!(kind, ProblemKind::TopicExists);
    assert!(message.contains("managedBy: koperator"), "{message}");

    let mut adopting = request("legacy", "legacy");
    adopting.adopt = true;
    let plan = kafka.plan(&[adopting]);
    assert_eq!(plan.adoptions.len(), 1);
    assert_eq!(plan.finalizers_to_add.len(), 1);
    assert_eq!(plan.config_changes.len(), 1, "the adopted topic takes the spec's configuration");
}

#[test]
fn a_topic_created_by_this_process_is_managed_before_its_status_says_so() {
    let mut kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[("retention.ms", "60000")]);
    kafka.created_here.insert(("orders".into(), "uid-orders".into()), true);
    let mut fresh = request("orders", "orders");
    fresh.has_finalizer = true;
    let plan = kafka.plan(&[fresh]);
    assert!(plan.outcomes.values().all(Outcome::in_sync), "{:?}", plan.outcomes);
}

#[test]
fn the_older_of_two_kafkatopics_naming_one_topic_wins() {
    let first = request("first", "shared");
    let mut second = request("second", "shared");
    second.created = Some(Timestamp::from_second(2_000).expect("valid"));
    let plan = Kafka::with_brokers(3).plan(&[second, first]);
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.creates[0].0.name, "first");
    let (kind, message) = only_problem(&plan, "second");
    assert_eq!(kind, ProblemKind::Conflict);
    assert!(message.contains("apps/first"), "{message}");
}

#[test]
fn the_kafkatopic_already_managing_a_topic_keeps_it_against_an_older_newcomer() {
    let mut newcomer = request("newcomer", "shared");
    newcomer.created = Some(Timestamp::from_second(1).expect("valid"));
    let owner = managed(request("owner", "shared"));
    let kafka = Kafka::with_brokers(3).topic("shared", 3, 2, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[newcomer, owner]);
    assert_eq!(only_problem(&plan, "newcomer").0, ProblemKind::Conflict);
}

#[test]
fn deleting_a_managed_topic_deletes_it_in_kafka_first() {
    let kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[]);
    let mut deleting = managed(request("orders", "orders"));
    deleting.deleting = true;
    let plan = kafka.plan(&[deleting.clone()]);
    assert_eq!(plan.deletes, vec![(deleting.resource.clone(), "orders".to_owned())]);
    assert!(plan.releases.is_empty(), "the finalizer stays until Kafka confirmed the deletion");

    deleting.keep_on_delete = true;
    let plan = kafka.plan(&[deleting]);
    assert!(plan.deletes.is_empty());
    assert_eq!(plan.releases[0].1, Release::KeptInKafka);
}

#[test]
fn deleting_a_kafkatopic_that_never_managed_its_topic_leaves_kafka_alone() {
    let kafka = Kafka::with_brokers(3).topic("shared", 3, 2, &[]);
    let owner = managed(request("owner", "shared"));
    let mut loser = request("loser", "shared");
    loser.created = Some(Timestamp::from_second(5_000).expect("valid"));
    loser.deleting = true;
    loser.has_finalizer = true;
    let plan = kafka.plan(&[owner, loser]);
    assert!(plan.deletes.is_empty(), "another KafkaTopic's topic must survive");
    assert_eq!(plan.releases[0].1, Release::NothingToDelete);
}

#[test]
fn replication_above_the_cluster_size_is_invalid_but_above_live_brokers_waits() {
    let mut too_many = request("orders", "orders");
    too_many.replication_factor = 5;
    let plan = Kafka::with_brokers(3).plan(&[too_many]);
    assert!(plan.creates.is_empty());
    let (kind, message) = only_problem(&plan, "orders");
    assert_eq!(kind, ProblemKind::InvalidSpec);
    assert!(message.contains("at most 3"), "{message}");

    let kafka = Kafka::with_brokers(1);
    let view = KafkaView {
        metadata: &kafka.metadata,
        overrides: &kafka.overrides,
        spec_broker_count: 3,
        created_here: &kafka.created_here,
        configured_here: &kafka.configured_here,
    };
    let plan = super::plan(&[&request("orders", "orders")], &view);
    assert!(plan.creates.is_empty());
    assert_eq!(only_problem(&plan, "orders").0, ProblemKind::WaitingForCluster);
}

#[test]
fn broker_defaults_are_passed_through() {
    let mut defaults = request("orders", "orders");
    defaults.partitions = -1;
    defaults.replication_factor = -1;
    let plan = Kafka::with_brokers(1).plan(&[defaults.clone()]);
    assert_eq!((plan.creates[0].1.partitions, plan.creates[0].1.replication_factor), (-1, -1));

    let kafka = Kafka::with_brokers(1).topic("orders", 12, 1, &[("retention.ms", "60000")]);
    let plan = kafka.plan(&[managed(defaults)]);
    assert!(plan.outcomes.values().all(Outcome::in_sync), "-1 accepts whatever Kafka chose");
}

proptest::proptest! {
    /// Whatever Kafka holds, applying the planned change leaves exactly the desired overrides.
    #[test]
    fn config_change_converges(
        desired in proptest::collection::btree_map("[a-d]", "[0-2]", 0..4),
        actual in proptest::collection::btree_map("[a-d]", "[0-2]", 0..4),
    ) {
        let mut result = actual.clone();
        if let Some(change) = config_change("t", &desired, &actual) {
            for key in &change.delete { result.remove(key); }
            result.extend(change.set.clone());
        }
        proptest::prop_assert_eq!(result, desired);
    }
}

#[test]
fn a_topic_one_broker_has_not_learnt_of_yet_is_looked_at_again_without_a_verdict() {
    let mut kafka = Kafka::with_brokers(3).topic("orders", 3, 2, &[]);
    kafka.overrides.insert(
        "orders".into(),
        Err(OperationError::new(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Broker: Unknown topic or partition")),
    );
    let plan = kafka.plan(&[managed(request("orders", "orders"))]);
    let outcome = plan.outcomes.values().next().expect("one outcome");
    assert!(outcome.recheck && outcome.problems.is_empty() && outcome.retry_soon());
    assert!(plan.config_changes.is_empty());
}

#[test]
fn a_topic_created_by_an_earlier_pass_but_not_listed_yet_is_not_created_twice() {
    let mut kafka = Kafka::with_brokers(3);
    kafka.created_here.insert(("orders".into(), "uid-orders".into()), true);
    let mut fresh = request("orders", "orders");
    fresh.has_finalizer = true;
    let plan = kafka.plan(&[fresh]);
    assert!(plan.creates.is_empty());
    let outcome = plan.outcomes.values().next().expect("one outcome");
    assert!(outcome.recheck && outcome.problems.is_empty());
}

#[test]
fn a_creation_without_a_definite_answer_is_tried_again_and_a_found_topic_counts_as_ours() {
    let mut kafka = Kafka::with_brokers(3);
    kafka.created_here.insert(("orders".into(), "uid-orders".into()), false);
    let mut fresh = request("orders", "orders");
    fresh.has_finalizer = true;
    let plan = kafka.plan(&[fresh.clone()]);
    assert_eq!(plan.creates.len(), 1, "not known to exist: create again");

    let kafka = Kafka { created_here: kafka.created_here, ..Kafka::with_brokers(3) }.topic(
        "orders",
        3,
        2,
        &[("retention.ms", "60000")],
    );
    let plan = kafka.plan(&[fresh]);
    assert!(plan.outcomes.values().all(Outcome::in_sync), "{:?}", plan.outcomes);
}

#[test]
fn a_managed_topic_missing_from_metadata_is_created_again_and_marked_as_ours() {
    let plan = Kafka::with_brokers(3).plan(&[managed(request("orders", "orders"))]);
    assert_eq!(plan.creates.len(), 1);
    assert!(plan.creates_of_managed.contains(&plan.creates[0].0));
    let plan = Kafka::with_brokers(3).plan(&[request("fresh", "fresh")]);
    assert!(plan.creates_of_managed.is_empty());
}
