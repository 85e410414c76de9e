//! Cluster DNS semantics, the CoreDNS `kubernetes` plugin way (pure).

use std::net::Ipv4Addr;

pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// What the DNS needs to know about one Service.
#[derive(Debug, Clone, Default)]
pub struct ServiceRecord {
    pub cluster_ip: Option<Ipv4Addr>,
    pub headless: bool,
    pub publish_not_ready: bool,
    pub endpoints: Vec<EndpointRecord>,
}

#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub ip: Ipv4Addr,
    pub hostname: Option<String>,
    pub ready: bool,
}

pub trait ServiceDirectory {
    fn service(&self, namespace: &str, name: &str) -> Option<ServiceRecord>;
}

#[derive(Debug, PartialEq)]
pub enum Answer {
    /// The name exists (possibly with no A records: NODATA).
    Records(Vec<Ipv4Addr>),
    NxDomain,
    /// Not ours: forward upstream (or NXDOMAIN when there is no upstream).
    NotCluster,
}

pub fn answer(name: &str, directory: &dyn ServiceDirectory) -> Answer {
    let Some(local) = name.strip_suffix(CLUSTER_DOMAIN).map(|n| n.trim_end_matches('.')) else {
        return Answer::NotCluster;
    };
    let labels: Vec<&str> = if local.is_empty() { vec![] } else { local.split('.').collect() };
    match labels.as_slice() {
        [service, namespace, "svc"] => match directory.service(namespace, service) {
            None => Answer::NxDomain,
            Some(record) if !record.headless => Answer::Records(record.cluster_ip.into_iter().collect()),
            Some(record) => Answer::Records(
                record.endpoints.iter().filter(|e| e.ready || record.publish_not_ready).map(|e| e.ip).collect(),
            ),
        },
        [hostname, service, namespace, "svc"] => {
            let Some(record) = directory.service(namespace, service) else { return Answer::NxDomain };
            let ips: Vec<Ipv4Addr> = record
                .endpoints
                .iter()
                .filter(|e| e.ready || record.publish_not_ready)
                .filter(|e| e.hostname.as_deref() == Some(*hostname))
                .map(|e| e.ip)
                .collect();
            if ips.is_empty() { Answer::NxDomain } else { Answer::Records(ips) }
        }
        [dashed, _namespace, "pod"] => match dashed.replace('-', ".").parse::<Ipv4Addr>() {
            Ok(ip) => Answer::Records(vec![ip]),
            Err(_) => Answer::NxDomain,
        },
        // Zone apex and intermediate names exist but carry no A records.
        [] | ["svc"] | [_, "svc"] | ["pod"] | [_, "pod"] => Answer::Records(vec![]),
        _ => Answer::NxDomain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Directory;
    impl ServiceDirectory for Directory {
        fn service(&self, namespace: &str, name: &str) -> Option<ServiceRecord> {
            let endpoint =
                |ip: [u8; 4], host: &str, ready| EndpointRecord { ip: ip.into(), hostname: Some(host.into()), ready };
            match (namespace, name) {
                ("kafka", "kafka") => {
                    Some(ServiceRecord { cluster_ip: Some([100, 96, 0, 10].into()), ..Default::default() })
                }
                ("kafka", "kafka-headless") => Some(ServiceRecord {
                    headless: true,
                    endpoints: vec![
                        endpoint([100, 64, 1, 2], "kafka-0", true),
                        endpoint([100, 64, 2, 2], "kafka-1", false),
                    ],
                    ..Default::default()
                }),
                ("kafka", "kafka-all") => Some(ServiceRecord {
                    headless: true,
                    publish_not_ready: true,
                    endpoints: vec![endpoint([100, 64, 2, 2], "kafka-1", false)],
                    ..Default::default()
                }),
                _ => None,
            }
        }
    }

    fn a(ips: &[[u8; 4]]) -> Answer {
        Answer::Records(ips.iter().map(|ip| Ipv4Addr::from(*ip)).collect())
    }

    #[test]
    fn cluster_ip_services() {
        assert_eq!(answer("kafka.kafka.svc.cluster.local", &Directory), a(&[[100, 96, 0, 10]]));
        assert_eq!(answer("nope.kafka.svc.cluster.local", &Directory), Answer::NxDomain);
    }

    #[test]
    fn headless_services_and_pod_hostnames() {
        assert_eq!(answer("kafka-headless.kafka.svc.cluster.local", &Directory), a(&[[100, 64, 1, 2]]));
        assert_eq!(answer("kafka-0.kafka-headless.kafka.svc.cluster.local", &Directory), a(&[[100, 64, 1, 2]]));
        assert_eq!(answer("kafka-1.kafka-headless.kafka.svc.cluster.local", &Directory), Answer::NxDomain);
        assert_eq!(answer("kafka-1.kafka-all.kafka.svc.cluster.local", &Directory), a(&[[100, 64, 2, 2]]));
    }

    #[test]
    fn search_path_expansions_and_foreign_names() {
        assert_eq!(answer("kafka.kafka.svc.cluster.local.kafka.svc.cluster.local", &Directory), Answer::NxDomain);
        assert_eq!(answer("example.com", &Directory), Answer::NotCluster);
        assert_eq!(answer("100-64-1-2.kafka.pod.cluster.local", &Directory), a(&[[100, 64, 1, 2]]));
        assert_eq!(answer("svc.cluster.local", &Directory), Answer::Records(vec![]));
    }
}
