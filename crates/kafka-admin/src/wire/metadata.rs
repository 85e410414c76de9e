//! Metadata v9 (API key 3), the first flexible version: every Kafka from 2.4 to 4.x answers it.
//! Which brokers are registered and where they listen, and each partition's leader, replicas
//! and in-sync replicas. Pure: bytes in, bytes out.

use super::{DecodeError, Decoder, Encoder};

pub const METADATA: i16 = 3;
pub const METADATA_VERSION: i16 = 9;

/// A registered broker and the address it advertises on the listener asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddress {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

impl BrokerAddress {
    /// `host:port`, as a connection wants it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicAnswer {
    pub name: String,
    pub error_code: i16,
    pub partitions: Vec<PartitionAnswer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionAnswer {
    pub index: i32,
    /// -1 while the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataAnswer {
    pub brokers: Vec<BrokerAddress>,
    /// The broker that takes topic and SCRAM writes in ZooKeeper mode; in KRaft mode a broker
    /// that forwards them to the active controller (KIP-590). -1 when none is known.
    pub controller_id: i32,
    pub topics: Vec<TopicAnswer>,
}

/// Metadata v9 for every topic (`all_topics`, internal ones included) or for none (only the
/// brokers). Never creates a topic.
pub fn request(all_topics: bool) -> Vec<u8> {
    let mut encoder = Encoder::default();
    // A null topic array asks for every topic, an empty one for none.
    encoder.unsigned_varint(if all_topics { 0 } else { 1 });
    // AllowAutoTopicCreation, IncludeClusterAuthorizedOperations, IncludeTopicAuthorizedOperations.
    encoder.bool(false).bool(false).bool(false).no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`request`].
pub fn response(body: &[u8]) -> Result<MetadataAnswer, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let brokers = decoder.compact_array(|d| {
        let broker = BrokerAddress { id: d.i32()?, host: d.compact_string()?, port: d.i32()? };
        let _rack = d.compact_nullable_string()?;
        d.skip_tagged_fields()?;
        Ok(broker)
    })?;
    let _cluster_id = decoder.compact_nullable_string()?;
    let controller_id = decoder.i32()?;
    let topics = decoder.compact_array(|d| {
        let error_code = d.i16()?;
        let name = d.compact_string()?;
        let _is_internal = d.bool()?;
        let partitions = d.compact_array(|d| {
            let _error_code = d.i16()?;
            let index = d.i32()?;
            let leader = d.i32()?;
            let _leader_epoch = d.i32()?;
            let replicas = d.compact_array(Decoder::i32)?;
            let isr = d.compact_array(Decoder::i32)?;
            let _offline = d.compact_array(Decoder::i32)?;
            d.skip_tagged_fields()?;
            Ok(PartitionAnswer { index, leader, replicas, isr })
        })?;
        let _topic_authorized_operations = d.i32()?;
        d.skip_tagged_fields()?;
        Ok(TopicAnswer { name, error_code, partitions })
    })?;
    let _cluster_authorized_operations = decoder.i32()?;
    decoder.skip_tagged_fields()?;
    Ok(MetadataAnswer { brokers, controller_id, topics })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Metadata v9 answer as Kafka writes it: brokers 1 and 2, one topic with two partitions.
    fn answer() -> Vec<u8> {
        let mut e = Encoder::default();
        e.i32(0);
        e.compact_array(&[1, 2], |e, id| {
            e.i32(*id).compact_string(&format!("kafka-{id}.kafka.svc")).i32(29092).compact_nullable_string(Some("a"));
            e.no_tagged_fields();
        });
        e.compact_nullable_string(Some("cluster-id")).i32(1);
        e.compact_array(&[()], |e, ()| {
            e.i16(0).compact_string("orders").bool(false);
            e.compact_array(
                &[(0, 1, vec![1, 2], vec![1, 2]), (1, -1, vec![2, 1], vec![])],
                |e, (index, leader, replicas, isr)| {
                    e.i16(0).i32(*index).i32(*leader).i32(3);
                    e.compact_array(replicas, |e, id| {
                        e.i32(*id);
                    });
                    e.compact_array(isr, |e, id| {
                        e.i32(*id);
                    });
                    e.compact_array(&[] as &[i32], |e, id| {
                        e.i32(*id);
                    });
                    e.no_tagged_fields();
                },
            );
            e.i32(i32::MIN).no_tagged_fields();
        });
        e.i32(i32::MIN).no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn reads_brokers_and_partitions() {
        let answer = response(&answer()).unwrap();
        assert_eq!(
            answer.brokers,
            vec![
                BrokerAddress { id: 1, host: "kafka-1.kafka.svc".into(), port: 29092 },
                BrokerAddress { id: 2, host: "kafka-2.kafka.svc".into(), port: 29092 },
            ]
        );
        assert_eq!(answer.brokers[0].address(), "kafka-1.kafka.svc:29092");
        assert_eq!(answer.topics.len(), 1);
        let topic = &answer.topics[0];
        assert_eq!((topic.name.as_str(), topic.error_code), ("orders", 0));
        assert_eq!(
            topic.partitions,
            vec![
                PartitionAnswer { index: 0, leader: 1, replicas: vec![1, 2], isr: vec![1, 2] },
                PartitionAnswer { index: 1, leader: -1, replicas: vec![2, 1], isr: vec![] },
            ]
        );
    }

    #[test]
    fn a_truncated_answer_is_an_error() {
        let bytes = answer();
        assert!(response(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn asks_for_all_topics_with_a_null_array_and_for_none_with_an_empty_one() {
        assert_eq!(request(true), vec![0, 0, 0, 0, 0]);
        assert_eq!(request(false), vec![1, 0, 0, 0, 0]);
    }
}
