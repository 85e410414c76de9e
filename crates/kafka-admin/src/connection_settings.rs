//! How to reach one Kafka cluster, for either client: its bootstrap servers and TLS material.

use std::time::Duration;

/// How to reach one Kafka cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub bootstrap_servers: Vec<String>,
    /// Kafka's `client.id`: shows in broker logs, quotas and request metrics.
    pub client_id: String,
    /// How long Kafka may take to answer one request before it fails as a whole. Creates,
    /// deletes and partition growth also give the controller this long to apply the change
    /// before it answers, so one of their requests may take up to twice this.
    pub request_timeout: Duration,
    /// TLS to the listener, when it uses TLS; `None` for plaintext.
    pub tls: Option<TlsSettings>,
}

/// TLS to a cluster, from PEM text as certificate Secrets hold it (`ca.crt`, `tls.crt`,
/// `tls.key`). Brokers' certificates are verified against `ca_pem` and the name the client
/// connects to.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The CA (or CAs, concatenated) that signed the brokers' certificates.
    pub ca_pem: String,
    /// The client's certificate, for listeners that ask for one (`sslClientAuth`).
    pub client: Option<ClientCertificate>,
}

/// A client certificate (chain) and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub certificate_pem: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for TlsSettings {
    /// Never the private key: settings end up in logs.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlsSettings")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

/// A client for no cluster: [`ConnectionSettings::bootstrap_servers`] is empty. The only way
/// [`WireAdmin::connect`](crate::WireAdmin::connect) fails, so its callers hold no librdkafka
/// error (a `ConnectError` of the `librdkafka` feature's ClusterAdmin may hold one).
#[derive(Debug, thiserror::Error)]
#[error("failed to create a kafka client: no bootstrap servers given")]
pub struct NoBootstrapServers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_the_key_out() {
        let client = ClientCertificate {
            certificate_pem: "-----BEGIN CERTIFICATE-----\nleaf\n".into(),
            private_key_pem: "-----BEGIN PRIVATE KEY-----\nkey\n".into(),
        };
        let tls = TlsSettings { ca_pem: "-----BEGIN CERTIFICATE-----\nca\n".into(), client: Some(client) };
        let settings = ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:9".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: Duration::from_secs(1),
            tls: Some(tls),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("PRIVATE KEY") && !shown.contains("CERTIFICATE"), "{shown}");
        assert!(shown.contains("client_certificate: true"), "{shown}");
    }
}
