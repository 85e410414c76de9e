//! `status.brokersState[id].configurationBackup`: the broker's `spec.brokers` entry, kept so
//! that a broker removed from the spec can still be rebuilt (its ConfigMap, its pod) while
//! Cruise Control drains it. Koperator's encoding — base64 (standard alphabet) of the gzipped
//! JSON of the Broker — so a status written by either operator is read by the other.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crd_types::kafka_cluster::Broker;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the configuration backup is not base64")]
    Base64(#[source] base64::DecodeError),
    #[error("the configuration backup is not gzip")]
    Gzip(#[source] std::io::Error),
    #[error("the configuration backup is not a broker's JSON")]
    Json(#[source] serde_json::Error),
}

/// The backup of `broker`. Deterministic (gzip's header carries no time here), so an unchanged
/// broker yields an unchanged status.
pub fn encode(broker: &Broker) -> String {
    let json = serde_json::to_vec(broker).expect("a Broker serializes (string keys only)");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = encoder.write_all(&json).and_then(|()| encoder.finish()).expect("gzip into memory cannot fail");
    STANDARD.encode(compressed)
}

pub fn decode(backup: &str) -> Result<Broker, Error> {
    let compressed = STANDARD.decode(backup.trim()).map_err(Error::Base64)?;
    let mut json = Vec::new();
    GzDecoder::new(compressed.as_slice()).read_to_end(&mut json).map_err(Error::Gzip)?;
    serde_json::from_slice(&json).map_err(Error::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crd_types::kafka_cluster::{BrokerConfig, ProcessRole};

    fn broker() -> Broker {
        Broker {
            id: 3,
            broker_config_group: Some("default".into()),
            read_only_config: Some("log.retention.hours=12\n".into()),
            broker_config: Some(BrokerConfig { process_roles: vec![ProcessRole::Broker], ..Default::default() }),
        }
    }

    #[test]
    fn round_trips_and_is_stable() {
        let backup = encode(&broker());
        assert_eq!(decode(&backup).expect("decodes"), broker());
        assert_eq!(backup, encode(&broker()));
    }

    /// A backup as Koperator writes it: Go's gzip (another compression level) of
    /// `json.Marshal(broker)`, with fields of Koperator versions we do not model.
    #[test]
    fn reads_koperator_backups() {
        let go_json =
            br#"{"id":3,"brokerConfigGroup":"default","brokerConfig":{"processRoles":["broker"],"futureField":{}}}"#;
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(go_json).expect("write");
        let backup = STANDARD.encode(encoder.finish().expect("finish"));
        let restored = decode(&backup).expect("decodes");
        assert_eq!(restored.id, 3);
        assert_eq!(restored.broker_config_group.as_deref(), Some("default"));
        assert_eq!(restored.broker_config.expect("config").process_roles, vec![ProcessRole::Broker]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(decode("not base64!"), Err(Error::Base64(_))));
        assert!(matches!(decode(&STANDARD.encode(b"plain")), Err(Error::Gzip(_))));
    }
}
