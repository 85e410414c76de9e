//! The cluster's brokers and topics as one Metadata request sees them.

use std::collections::BTreeMap;

use crate::operation_error::OperationError;
use crate::wire::metadata::MetadataAnswer;

/// Topics Kafka itself owns (its `isInternal` topics, plus the KRaft log): never the operator's
/// to manage, so they are left out of [`ClusterMetadata::topics`]. Metadata responses from
/// librdkafka do not carry Kafka's `isInternal` flag, hence the names.
pub const INTERNAL_TOPICS: [&str; 4] =
    ["__consumer_offsets", "__transaction_state", "__share_group_state", "__cluster_metadata"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Ascending.
    pub broker_ids: Vec<i32>,
    pub topics: BTreeMap<String, TopicMetadata>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    pub partitions: i32,
    /// Replica count of partition 0; 0 if the topic has no partitions.
    pub replication_factor: i32,
    /// Set when Kafka answered for this topic with an error (e.g. `LEADER_NOT_AVAILABLE` while
    /// a new topic's leaders are being elected); the counts may then be incomplete.
    pub error: Option<OperationError>,
}

pub fn is_internal_topic(name: &str) -> bool {
    INTERNAL_TOPICS.contains(&name)
}

impl ClusterMetadata {
    /// One Metadata answer over Kafka's protocol ([`crate::wire::metadata`]); a topic's error
    /// reads as Kafka's error name in words ("leader not available"), not librdkafka's
    /// description, which the wire path does not link.
    pub(crate) fn from_wire(answer: &MetadataAnswer) -> Self {
        let mut broker_ids: Vec<i32> = answer.brokers.iter().map(|broker| broker.id).collect();
        broker_ids.sort_unstable();
        let topics = answer
            .topics
            .iter()
            .filter(|topic| !is_internal_topic(&topic.name))
            .map(|topic| {
                let partitions = topic.partitions.iter().map(|p| (p.index, p.replicas.len()));
                let error = crate::wire::answer_error(topic.error_code, None).err();
                (topic.name.clone(), TopicMetadata::from_partitions(partitions, error))
            })
            .collect();
        Self { broker_ids, topics }
    }
}

/// librdkafka's answer, for a ClusterAdmin.
#[cfg(feature = "librdkafka")]
impl ClusterMetadata {
    pub(crate) fn from_rdkafka(metadata: &rdkafka::metadata::Metadata) -> Self {
        let mut broker_ids: Vec<i32> = metadata.brokers().iter().map(|broker| broker.id()).collect();
        broker_ids.sort_unstable();
        let topics = metadata
            .topics()
            .iter()
            .filter(|topic| !is_internal_topic(topic.name()))
            .map(|topic| {
                let partitions = topic.partitions().iter().map(|p| (p.id(), p.replicas().len()));
                let error = topic.error().map(|code| {
                    let code = crate::ErrorCode::from(code);
                    OperationError::new(code, crate::native::error_description(code))
                });
                (topic.name().to_owned(), TopicMetadata::from_partitions(partitions, error))
            })
            .collect();
        Self { broker_ids, topics }
    }
}

/// Leadership and in-sync replicas of every partition, internal topics included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaHealth {
    /// Brokers registered with the cluster, ascending.
    pub broker_ids: Vec<i32>,
    /// Partitions without a leader, as `topic-partition`.
    pub offline_partitions: Vec<String>,
    /// Broker id → partitions (`topic-partition`) it replicates but is not in sync for.
    pub out_of_sync: BTreeMap<i32, Vec<String>>,
    /// Partition (`topic-partition`) → the brokers holding its replicas, for partitions with
    /// more than one replica: which brokers may be down together without a partition losing
    /// two replicas.
    pub replica_sets: BTreeMap<String, Vec<i32>>,
}

/// One partition as Metadata reports it.
pub(crate) struct PartitionReplicas<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub leader: i32,
    pub replicas: &'a [i32],
    pub isr: &'a [i32],
}

impl ReplicaHealth {
    pub(crate) fn from_partitions<'a>(
        mut broker_ids: Vec<i32>,
        partitions: impl Iterator<Item = PartitionReplicas<'a>>,
    ) -> Self {
        broker_ids.sort_unstable();
        let mut health = ReplicaHealth { broker_ids, ..Default::default() };
        for partition in partitions {
            let name = format!("{}-{}", partition.topic, partition.partition);
            if partition.leader < 0 {
                health.offline_partitions.push(name.clone());
            }
            for replica in partition.replicas.iter().filter(|replica| !partition.isr.contains(replica)) {
                health.out_of_sync.entry(*replica).or_default().push(name.clone());
            }
            if partition.replicas.len() > 1 {
                health.replica_sets.insert(name, partition.replicas.to_vec());
            }
        }
        health
    }
}

impl TopicMetadata {
    /// `partitions` yields (partition id, replica count).
    fn from_partitions(partitions: impl Iterator<Item = (i32, usize)>, error: Option<OperationError>) -> Self {
        let mut count = 0;
        let mut first: Option<(i32, usize)> = None;
        for (id, replicas) in partitions {
            count += 1;
            // Partition 0 if present; librdkafka lists partitions in the broker's order.
            if first.is_none_or(|(first_id, _)| id == 0 && first_id != 0) {
                first = Some((id, replicas));
            }
        }
        let replication_factor = first.map_or(0, |(_, replicas)| i32::try_from(replicas).unwrap_or(i32::MAX));
        Self { partitions: count, replication_factor, error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaderless_partitions_are_offline_and_replicas_outside_the_isr_out_of_sync() {
        let partitions = [
            PartitionReplicas { topic: "orders", partition: 0, leader: 1, replicas: &[1, 2, 3], isr: &[1, 3] },
            PartitionReplicas { topic: "orders", partition: 1, leader: -1, replicas: &[2], isr: &[] },
            PartitionReplicas { topic: "__consumer_offsets", partition: 7, leader: 3, replicas: &[3, 1], isr: &[3, 1] },
        ];
        let health = ReplicaHealth::from_partitions(vec![3, 1, 2], partitions.into_iter());
        assert_eq!(health.broker_ids, vec![1, 2, 3]);
        assert_eq!(health.offline_partitions, vec!["orders-1".to_owned()]);
        assert_eq!(health.out_of_sync, BTreeMap::from([(2, vec!["orders-0".to_owned(), "orders-1".to_owned()])]));
        let sets =
            BTreeMap::from([("__consumer_offsets-7".to_owned(), vec![3, 1]), ("orders-0".to_owned(), vec![1, 2, 3])]);
        assert_eq!(health.replica_sets, sets, "single-replica partitions are left out");
    }

    #[test]
    fn replication_factor_is_partition_zeros_replica_count() {
        let topic = TopicMetadata::from_partitions([(1, 2), (0, 3), (2, 3)].into_iter(), None);
        assert_eq!((topic.partitions, topic.replication_factor), (3, 3));
        let empty = TopicMetadata::from_partitions(std::iter::empty(), None);
        assert_eq!((empty.partitions, empty.replication_factor), (0, 0));
    }

    #[test]
    fn a_wire_answer_reads_like_librdkafkas() {
        use crate::wire::metadata::{BrokerAddress, PartitionAnswer, TopicAnswer};

        let partition = |index, replicas: &[i32]| PartitionAnswer {
            index,
            leader: replicas[0],
            replicas: replicas.to_vec(),
            isr: replicas.to_vec(),
        };
        let broker = |id| BrokerAddress { id, host: format!("kafka-{id}"), port: 9092 };
        let answer = MetadataAnswer {
            brokers: vec![broker(2), broker(1)],
            controller_id: 1,
            topics: vec![
                TopicAnswer {
                    name: "orders".into(),
                    error_code: 0,
                    partitions: vec![partition(1, &[2, 1]), partition(0, &[1, 2])],
                },
                TopicAnswer { name: "__consumer_offsets".into(), error_code: 0, partitions: vec![partition(0, &[1])] },
                TopicAnswer { name: "fresh".into(), error_code: 5, partitions: vec![] },
            ],
        };
        let metadata = ClusterMetadata::from_wire(&answer);
        assert_eq!(metadata.broker_ids, vec![1, 2]);
        assert_eq!(metadata.topics.keys().collect::<Vec<_>>(), ["fresh", "orders"]);
        let orders = &metadata.topics["orders"];
        assert_eq!((orders.partitions, orders.replication_factor, &orders.error), (2, 2, &None));
        let fresh = metadata.topics["fresh"].error.as_ref().map(ToString::to_string);
        assert_eq!(fresh.as_deref(), Some("LEADER_NOT_AVAILABLE: leader not available"));
    }

    #[test]
    fn kafkas_own_topics_are_internal() {
        assert!(is_internal_topic("__consumer_offsets"));
        assert!(is_internal_topic("__transaction_state"));
        assert!(!is_internal_topic("__my_topic"));
        assert!(!is_internal_topic("orders"));
    }
}
