//! The KRaft metadata quorum (KIP-853): DescribeQuorum v2 (API key 55), AddRaftVoter v0 (80)
//! and RemoveRaftVoter v0 (81), all flexible. Pure: bytes in, bytes out.

use std::collections::BTreeMap;

use super::{DecodeError, Decoder, Encoder, answer_error};
use crate::error_code::ErrorCode;
use crate::operation_error::OperationError;
use crate::quorum::{DirectoryId, QuorumDescription, QuorumReplica, VoterEndpoint};

pub const DESCRIBE_QUORUM: i16 = 55;
pub const DESCRIBE_QUORUM_VERSION: i16 = 2;
pub const ADD_RAFT_VOTER: i16 = 80;
pub const REMOVE_RAFT_VOTER: i16 = 81;

/// The one topic partition the quorum replicates.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// DescribeQuorum v2 for `__cluster_metadata` partition 0.
pub fn describe_request() -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_array(&[METADATA_TOPIC], |e, topic| {
        e.compact_string(topic);
        e.compact_array(&[0i32], |e, partition| {
            e.i32(*partition).no_tagged_fields();
        });
        e.no_tagged_fields();
    });
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// Kafka's answer to [`describe_request`]: the quorum, or the error (top level or partition).
pub fn describe_response(body: &[u8]) -> Result<Result<QuorumDescription, OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let top_error = answer_error(decoder.i16()?, decoder.compact_nullable_string()?);
    let partitions = decoder.compact_array(|d| {
        let _topic = d.compact_string()?;
        let partitions = d.compact_array(|d| {
            let _index = d.i32()?;
            let error = answer_error(d.i16()?, d.compact_nullable_string()?);
            let leader_id = d.i32()?;
            let leader_epoch = d.i32()?;
            let high_watermark = d.i64()?;
            let voters = d.compact_array(replica)?;
            let observers = d.compact_array(replica)?;
            d.skip_tagged_fields()?;
            Ok((error, leader_id, leader_epoch, high_watermark, voters, observers))
        })?;
        d.skip_tagged_fields()?;
        Ok(partitions)
    })?;
    let nodes = decoder.compact_array(|d| {
        let id = d.i32()?;
        let listeners = d.compact_array(|d| {
            let endpoint = VoterEndpoint { listener: d.compact_string()?, host: d.compact_string()?, port: d.u16()? };
            d.skip_tagged_fields()?;
            Ok(endpoint)
        })?;
        d.skip_tagged_fields()?;
        Ok((id, listeners))
    })?;
    decoder.skip_tagged_fields()?;
    if let Err(error) = top_error {
        return Ok(Err(error));
    }
    let Some((error, leader_id, leader_epoch, high_watermark, voters, observers)) =
        partitions.into_iter().flatten().next()
    else {
        return Ok(Err(OperationError::new(
            ErrorCode::UNKNOWN_SERVER_ERROR,
            "DescribeQuorum answered no partition of __cluster_metadata",
        )));
    };
    if let Err(error) = error {
        return Ok(Err(error));
    }
    Ok(Ok(QuorumDescription {
        leader_id: (leader_id >= 0).then_some(leader_id),
        leader_epoch,
        high_watermark,
        voters,
        observers,
        endpoints: nodes.into_iter().collect::<BTreeMap<_, _>>(),
    }))
}

fn replica(d: &mut Decoder<'_>) -> Result<QuorumReplica, DecodeError> {
    let replica = QuorumReplica {
        id: d.i32()?,
        directory_id: DirectoryId(d.uuid()?),
        log_end_offset: d.i64()?,
        last_fetch_timestamp: d.i64()?,
        last_caught_up_timestamp: d.i64()?,
    };
    d.skip_tagged_fields()?;
    Ok(replica)
}

/// AddRaftVoter v0: `voter` (id, directory) joins the voters, reachable at `endpoints`; the
/// leader answers once the new voter set is committed or `timeout_ms` passed.
pub fn add_voter_request(
    cluster_id: Option<&str>,
    timeout_ms: i32,
    voter: i32,
    directory: DirectoryId,
    endpoints: &[VoterEndpoint],
) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_nullable_string(cluster_id).i32(timeout_ms).i32(voter).uuid(directory.0);
    encoder.compact_array(endpoints, |e, endpoint| {
        e.compact_string(&endpoint.listener).compact_string(&endpoint.host).u16(endpoint.port).no_tagged_fields();
    });
    encoder.no_tagged_fields();
    encoder.into_bytes()
}

/// RemoveRaftVoter v0: `voter` (id, directory) leaves the voters.
pub fn remove_voter_request(cluster_id: Option<&str>, voter: i32, directory: DirectoryId) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.compact_nullable_string(cluster_id).i32(voter).uuid(directory.0).no_tagged_fields();
    encoder.into_bytes()
}

/// The answer of AddRaftVoter v0 and RemoveRaftVoter v0 (the same layout).
pub fn voter_change_response(body: &[u8]) -> Result<Result<(), OperationError>, DecodeError> {
    let mut decoder = Decoder::new(body);
    let _throttle_time_ms = decoder.i32()?;
    let result = answer_error(decoder.i16()?, decoder.compact_nullable_string()?);
    decoder.skip_tagged_fields()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(byte: u8) -> DirectoryId {
        DirectoryId([byte; 16])
    }

    /// A DescribeQuorum v2 answer as Kafka writes it: voters 1 (leader) and 2, observer 3.
    fn answer() -> Vec<u8> {
        let mut e = Encoder::default();
        e.i16(0).compact_nullable_string(None);
        e.compact_array(&[()], |e, ()| {
            e.compact_string(METADATA_TOPIC);
            e.compact_array(&[()], |e, ()| {
                e.i32(0).i16(0).compact_nullable_string(None).i32(1).i32(4).i64(120);
                let replica = |e: &mut Encoder, (id, dir, leo): &(i32, u8, i64)| {
                    e.i32(*id).uuid([*dir; 16]).i64(*leo).i64(-1).i64(1_700).no_tagged_fields();
                };
                e.compact_array(&[(1, 1u8, 120i64), (2, 2, 118)], replica);
                e.compact_array(&[(3, 3u8, 40i64)], replica);
                e.no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.compact_array(&[1, 2], |e, id| {
            e.i32(*id);
            e.compact_array(&[()], |e, ()| {
                e.compact_string("CONTROLLER").compact_string(&format!("kafka-{id}.kafka-headless")).u16(29093);
                e.no_tagged_fields();
            });
            e.no_tagged_fields();
        });
        e.no_tagged_fields();
        e.into_bytes()
    }

    #[test]
    fn describe_quorum_reads_voters_observers_and_their_endpoints() {
        let quorum = describe_response(&answer()).unwrap().unwrap();
        assert_eq!(quorum.leader_id, Some(1));
        assert_eq!(quorum.high_watermark, 120);
        assert_eq!(
            quorum.voters.iter().map(|v| (v.id, v.directory_id)).collect::<Vec<_>>(),
            [(1, directory(1)), (2, directory(2))]
        );
        assert_eq!(quorum.observers[0].id, 3);
        assert_eq!(quorum.observers[0].log_end_offset, 40);
        assert_eq!(
            quorum.endpoints[&2],
            vec![VoterEndpoint { listener: "CONTROLLER".into(), host: "kafka-2.kafka-headless".into(), port: 29093 }]
        );
    }

    #[test]
    fn a_top_level_error_wins_over_the_partitions() {
        let mut e = Encoder::default();
        e.i16(15).compact_nullable_string(Some("no controller"));
        e.compact_array::<()>(&[], |_, _| {}).compact_array::<()>(&[], |_, _| {}).no_tagged_fields();
        let error = describe_response(&e.into_bytes()).unwrap().unwrap_err();
        assert!(error.to_string().contains("no controller"), "{error}");
    }

    #[test]
    fn the_describe_request_names_the_metadata_partition() {
        let body = describe_request();
        let topics = Decoder::new(&body).compact_array(|d| {
            let name = d.compact_string()?;
            let partitions = d.compact_array(|d| {
                let index = d.i32()?;
                d.skip_tagged_fields()?;
                Ok(index)
            })?;
            d.skip_tagged_fields()?;
            Ok((name, partitions))
        });
        assert_eq!(topics, Ok(vec![(METADATA_TOPIC.to_owned(), vec![0])]));
    }

    #[test]
    fn voter_changes_carry_id_directory_and_endpoints() {
        let endpoint = VoterEndpoint { listener: "CONTROLLER".into(), host: "h".into(), port: 9093 };
        let body = add_voter_request(Some("c1"), 30_000, 4, directory(7), &[endpoint]);
        let mut d = Decoder::new(&body);
        assert_eq!(d.compact_nullable_string(), Ok(Some("c1".into())));
        assert_eq!(d.i32(), Ok(30_000));
        assert_eq!(d.i32(), Ok(4));
        assert_eq!(d.uuid(), Ok([7; 16]));
        let endpoints = d.compact_array(|d| {
            let e = (d.compact_string()?, d.compact_string()?, d.u16()?);
            d.skip_tagged_fields()?;
            Ok(e)
        });
        assert_eq!(endpoints, Ok(vec![("CONTROLLER".into(), "h".into(), 9093)]));
        assert_eq!(d.skip_tagged_fields(), Ok(()));
        assert_eq!(d.remaining(), 0);

        let body = remove_voter_request(None, 2, directory(2));
        assert_eq!(body.len(), 1 + 4 + 16 + 1);
    }

    #[test]
    fn a_refused_voter_change_names_kafkas_reason() {
        let mut e = Encoder::default();
        e.i32(0).i16(7).compact_nullable_string(Some("new voter is not caught up")).no_tagged_fields();
        let error = voter_change_response(&e.into_bytes()).unwrap().unwrap_err();
        assert!(error.to_string().contains("not caught up"), "{error}");
    }
}
