//! Where a cluster's Cruise Control listens: an explicit `cruiseControlEndpoint` from the
//! KafkaCluster, or the Service Koperator creates for the Cruise Control it deploys.

use std::fmt;

/// Cruise Control's port in Koperator's deployment (`webserver.http.port`).
pub const DEFAULT_PORT: u16 = 8090;
/// Every REST endpoint lives under this path.
pub const PATH_PREFIX: &str = "/kafkacruisecontrol/";

/// The base URL of one Cruise Control, e.g. `http://kafka-cruisecontrol-svc.kafka.svc.cluster.local:8090`
/// (no trailing slash; [`PATH_PREFIX`] and the endpoint name are appended per request).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CruiseControlEndpoint {
    base: String,
}

/// Why an explicit endpoint cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid Cruise Control endpoint {endpoint:?}: {reason}")]
pub struct InvalidEndpoint {
    pub endpoint: String,
    pub reason: &'static str,
}

impl CruiseControlEndpoint {
    /// The endpoint of cluster `cluster` in `namespace`: `explicit` when the KafkaCluster sets
    /// `cruiseControlConfig.cruiseControlEndpoint`, else Koperator's Service
    /// `<cluster>-cruisecontrol-svc.<namespace>.svc.<domain>:8090` (`domain` defaults to
    /// `cluster.local`, like `kubernetesClusterDomain`).
    pub fn for_cluster(
        cluster: &str,
        namespace: &str,
        explicit: Option<&str>,
        cluster_domain: Option<&str>,
    ) -> Result<Self, InvalidEndpoint> {
        match explicit.map(str::trim).filter(|endpoint| !endpoint.is_empty()) {
            Some(endpoint) => Self::parse(endpoint),
            None => Ok(Self::koperator_service(cluster, namespace, cluster_domain)),
        }
    }

    /// The Service Koperator creates next to the Cruise Control Deployment it runs.
    pub fn koperator_service(cluster: &str, namespace: &str, cluster_domain: Option<&str>) -> Self {
        let domain = cluster_domain.map(str::trim).filter(|d| !d.is_empty()).unwrap_or("cluster.local");
        Self { base: format!("http://{cluster}-cruisecontrol-svc.{namespace}.svc.{domain}:{DEFAULT_PORT}") }
    }

    /// Accepts `host:port` (Koperator's documented form, plain HTTP), a bare host (port 8090),
    /// or a full `http(s)://host[:port][/prefix]` URL. A trailing `/kafkacruisecontrol` is
    /// dropped, since users often paste the whole API path.
    pub fn parse(endpoint: &str) -> Result<Self, InvalidEndpoint> {
        let invalid = |reason| InvalidEndpoint { endpoint: endpoint.to_owned(), reason };
        let trimmed = endpoint.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
                (scheme.to_ascii_lowercase(), rest)
            }
            Some(_) => return Err(invalid("only http and https are supported")),
            None => ("http".to_owned(), trimmed),
        };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        if authority.contains(['?', '#', ' ', '@']) {
            return Err(invalid("the host may not contain '?', '#', '@' or spaces"));
        }
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix("kafkacruisecontrol").unwrap_or(path).trim_end_matches('/');
        let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok());
        if !has_port && authority.contains(':') && !authority.ends_with(']') {
            return Err(invalid("the port is not a number"));
        }
        let authority = if has_port { authority.to_owned() } else { format!("{authority}:{DEFAULT_PORT}") };
        let base =
            if path.is_empty() { format!("{scheme}://{authority}") } else { format!("{scheme}://{authority}/{path}") };
        Ok(Self { base })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The full URL of `path_and_query` (which starts with [`PATH_PREFIX`]).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

impl fmt::Display for CruiseControlEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(endpoint: &str) -> String {
        CruiseControlEndpoint::parse(endpoint).expect("valid endpoint").base_url().to_owned()
    }

    #[test]
    fn koperator_service_is_the_default() {
        let endpoint = CruiseControlEndpoint::for_cluster("kafka", "ns", None, None).expect("valid");
        assert_eq!(endpoint.base_url(), "http://kafka-cruisecontrol-svc.ns.svc.cluster.local:8090");
        let endpoint =
            CruiseControlEndpoint::for_cluster("kafka", "ns", Some("  "), Some("corp.example")).expect("valid");
        assert_eq!(endpoint.base_url(), "http://kafka-cruisecontrol-svc.ns.svc.corp.example:8090");
    }

    #[test]
    fn explicit_endpoint_wins() {
        let endpoint = CruiseControlEndpoint::for_cluster("kafka", "ns", Some("cc.tools:9090"), None).expect("valid");
        assert_eq!(endpoint.base_url(), "http://cc.tools:9090");
    }

    #[test]
    fn accepts_the_forms_users_write() {
        assert_eq!(parsed("cc:8090"), "http://cc:8090");
        assert_eq!(parsed("cc"), "http://cc:8090");
        assert_eq!(parsed("https://cc.example.com"), "https://cc.example.com:8090");
        assert_eq!(parsed("HTTP://cc:1234/"), "http://cc:1234");
        assert_eq!(parsed("http://cc:1234/kafkacruisecontrol/"), "http://cc:1234");
        assert_eq!(parsed("http://gw:80/cc/kafkacruisecontrol"), "http://gw:80/cc");
        assert_eq!(parsed("[::1]:8090"), "http://[::1]:8090");
    }

    #[test]
    fn rejects_what_cannot_be_a_base_url() {
        assert!(CruiseControlEndpoint::parse("ftp://cc").is_err());
        assert!(CruiseControlEndpoint::parse("http://").is_err());
        assert!(CruiseControlEndpoint::parse("cc:port").is_err());
        assert!(CruiseControlEndpoint::parse("cc:8090?x=1").is_err());
    }
}
