//! The KRaft metadata quorum as Kafka describes it (KIP-853): who votes, who observes, how far
//! each replica has come, and the voters' controller endpoints.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A log directory's id (Kafka's `Uuid`), written as Kafka writes it: 22 characters of
/// URL-safe base64 without padding (`directory.id` in `meta.properties`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirectoryId(pub [u8; 16]);

impl DirectoryId {
    /// A stable id derived from `seed` (the cluster id and node id), so the operator can name an
    /// initial controller's directory in `kafka-storage format --initial-controllers` before the
    /// node exists, and every node's format command agrees. Kafka reserves ids whose first
    /// eight bytes are zero (ZERO, ONE, MIGRATING, LOST); the first byte is never zero here.
    pub fn derived_from(seed: &str) -> Self {
        // SHA-256: stable across builds and platforms (unlike std's hasher), and ids of seeds
        // that differ in one character look as unrelated as Kafka's random ones.
        let digest = Sha256::digest(seed.as_bytes());
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[0] |= 0x80;
        Self(bytes)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Display for DirectoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// A voter's endpoint: the controller listener's name, host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoterEndpoint {
    pub listener: String,
    pub host: String,
    pub port: u16,
}

/// One replica of the metadata log, voter or observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumReplica {
    pub id: i32,
    pub directory_id: DirectoryId,
    /// -1 when the leader does not know it (yet).
    pub log_end_offset: i64,
    pub last_fetch_timestamp: i64,
    /// When the replica last held everything the leader had; -1 when unknown.
    pub last_caught_up_timestamp: i64,
}

/// The quorum as its leader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumDescription {
    pub leader_id: Option<i32>,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<QuorumReplica>,
    /// Brokers and controllers that replicate the log without a vote.
    pub observers: Vec<QuorumReplica>,
    /// The voters' endpoints by node id (Kafka 3.9+; empty from a static quorum).
    pub endpoints: BTreeMap<i32, Vec<VoterEndpoint>>,
}

impl QuorumDescription {
    pub fn voter_ids(&self) -> Vec<i32> {
        self.voters.iter().map(|voter| voter.id).collect()
    }

    /// Records of the committed log that `id` (voter or observer) does not hold yet; None when
    /// the node is not a replica or the leader does not know its offset.
    pub fn lag_of(&self, id: i32) -> Option<i64> {
        let replica = self.voters.iter().chain(&self.observers).find(|replica| replica.id == id)?;
        (replica.log_end_offset >= 0).then(|| (self.high_watermark - replica.log_end_offset).max(0))
    }

    /// A controller observing the log: id and directory, as AddRaftVoter wants them.
    pub fn observer(&self, id: i32) -> Option<&QuorumReplica> {
        self.observers.iter().find(|replica| replica.id == id)
    }

    pub fn voter(&self, id: i32) -> Option<&QuorumReplica> {
        self.voters.iter().find(|replica| replica.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_ids_print_and_parse_as_kafka_writes_them() {
        let id = DirectoryId::derived_from("cluster-1/3");
        let text = id.to_string();
        assert_eq!(text.len(), 22);
        assert_eq!(DirectoryId::parse(&text), Some(id));
        assert_eq!(DirectoryId::parse("not base64!"), None);
        // Kafka's own sample (kafka-storage random-uuid style).
        assert_eq!(
            DirectoryId::parse("J8aAPcfLQt2bqs1JT_rMgQ").map(|id| id.to_string()).as_deref(),
            Some("J8aAPcfLQt2bqs1JT_rMgQ")
        );
    }

    #[test]
    fn derived_ids_are_stable_distinct_and_never_reserved() {
        let a = DirectoryId::derived_from("cluster-1/1");
        assert_eq!(a, DirectoryId::derived_from("cluster-1/1"));
        assert_ne!(a, DirectoryId::derived_from("cluster-1/2"));
        assert_ne!(a, DirectoryId::derived_from("cluster-2/1"));
        for seed in ["", "a", "cluster/0"] {
            assert!(DirectoryId::derived_from(seed).0[0] & 0x80 != 0);
        }
    }

    #[test]
    fn lag_counts_from_the_high_watermark() {
        let replica = |id, log_end_offset| QuorumReplica {
            id,
            directory_id: DirectoryId([1; 16]),
            log_end_offset,
            last_fetch_timestamp: -1,
            last_caught_up_timestamp: -1,
        };
        let quorum = QuorumDescription {
            leader_id: Some(1),
            leader_epoch: 3,
            high_watermark: 100,
            voters: vec![replica(1, 100), replica(2, -1)],
            observers: vec![replica(4, 90)],
            endpoints: BTreeMap::new(),
        };
        assert_eq!(quorum.lag_of(1), Some(0));
        assert_eq!(quorum.lag_of(2), None);
        assert_eq!(quorum.lag_of(4), Some(10));
        assert_eq!(quorum.lag_of(9), None);
        assert_eq!(quorum.voter_ids(), vec![1, 2]);
    }
}
