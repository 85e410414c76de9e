//! Just enough of the DNS wire format (RFC 1035) to answer A queries (pure).

use std::net::Ipv4Addr;

pub const TYPE_A: u16 = 1;
pub const RCODE_NXDOMAIN: u16 = 3;
pub const RCODE_SERVFAIL: u16 = 2;
const TTL_SECONDS: u32 = 5;

#[derive(Debug, PartialEq)]
pub struct Question {
    pub id: u16,
    pub flags: u16,
    /// Lower-case, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// The raw question section, echoed back in the answer.
    pub raw_question: Vec<u8>,
}

/// Parses a query with exactly one question; anything else is rejected.
pub fn parse_query(packet: &[u8]) -> Option<Question> {
    if packet.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let flags = u16::from_be_bytes([packet[2], packet[3]]);
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    if qdcount != 1 || flags & 0x8000 != 0 {
        return None;
    }
    let mut labels = Vec::new();
    let mut pos = 12;
    loop {
        let len = *packet.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        let label = packet.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let tail = packet.get(pos..pos + 4)?;
    Some(Question {
        id,
        flags,
        name: labels.join("."),
        qtype: u16::from_be_bytes([tail[0], tail[1]]),
        qclass: u16::from_be_bytes([tail[2], tail[3]]),
        raw_question: packet[12..pos + 4].to_vec(),
    })
}

/// Builds an authoritative response with the given A records (empty = NODATA).
pub fn build_response(question: &Question, rcode: u16, addresses: &[Ipv4Addr]) -> Vec<u8> {
    let recursion_desired = question.flags & 0x0100;
    let opcode = question.flags & 0x7800;
    let flags: u16 = 0x8000 | opcode | 0x0400 | recursion_desired | 0x0080 | (rcode & 0xf);
    let mut out = Vec::with_capacity(64 + addresses.len() * 16);
    out.extend_from_slice(&question.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&question.raw_question);
    for address in addresses {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&TTL_SECONDS.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&address.octets());
    }
    out
}

#[cfg(test)]
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = vec![];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let query = encode_query(0xbeef, "Kafka-0.Kafka.default.svc.cluster.local", TYPE_A);
        let question = parse_query(&query).expect("parses");
        assert_eq!(question.name, "kafka-0.kafka.default.svc.cluster.local");
        assert_eq!(question.qtype, TYPE_A);
        let response = build_response(&question, 0, &[Ipv4Addr::new(100, 64, 1, 2)]);
        assert_eq!(&response[0..2], &[0xbe, 0xef]);
        assert_eq!(response[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([response[6], response[7]]), 1, "one answer");
        assert_eq!(&response[response.len() - 4..], &[100, 64, 1, 2]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_query(&[1, 2, 3]).is_none());
        let mut truncated = encode_query(1, "a.b", TYPE_A);
        truncated.truncate(15);
        assert!(parse_query(&truncated).is_none());
    }
}
