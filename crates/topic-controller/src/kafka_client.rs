//! A cluster's Kafka admin client, kept between passes and replaced only when how to reach
//! the cluster changed: other bootstrap servers, or other TLS material (a renewed
//! certificate; librdkafka reads the PEM once, when the client is created). No API client.

use std::sync::Arc;

use kafka_admin::{ClusterAdmin, ConnectError, ConnectionSettings, RequestCounter};

/// The client and the settings it was created with.
pub struct KafkaClient {
    admin: Arc<ClusterAdmin>,
    settings: ConnectionSettings,
}

impl KafkaClient {
    pub fn admin(&self) -> Arc<ClusterAdmin> {
        self.admin.clone()
    }
}

/// The client for `settings`: the one in `slot` when it was created with the same settings,
/// else a new one, which replaces it (the old one closes when its last pass lets go of it).
pub fn reuse_or_connect(
    slot: &mut Option<KafkaClient>,
    settings: ConnectionSettings,
    requests: &RequestCounter,
) -> Result<Arc<ClusterAdmin>, ConnectError> {
    if let Some(current) = slot.as_ref().filter(|current| current.settings == settings) {
        return Ok(current.admin.clone());
    }
    if let Some(previous) = slot.as_ref() {
        let tls_changed = previous.settings.tls != settings.tls;
        tracing::info!(bootstrap = %settings.bootstrap_servers.join(","), tls_changed, "reconnecting to Kafka");
    }
    let admin = Arc::new(ClusterAdmin::connect(&settings, requests.clone())?);
    *slot = Some(KafkaClient { admin: admin.clone(), settings });
    Ok(admin)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kafka_admin::{ClientCertificate, TlsSettings};

    use super::*;

    /// A CA PEM librdkafka accepts (it parses the PEM when the client is created).
    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).expect("CA").pem()
    }

    fn settings(bootstrap: &str, tls: Option<TlsSettings>) -> ConnectionSettings {
        ConnectionSettings {
            bootstrap_servers: vec![bootstrap.into()],
            client_id: "topic-controller-test".into(),
            request_timeout: Duration::from_secs(1),
            tls,
        }
    }

    #[test]
    fn the_client_is_replaced_when_servers_or_tls_material_change() {
        let requests = RequestCounter::default();
        let mut slot = None;
        let tls = TlsSettings { ca_pem: ca_pem(), client: None };
        let first = reuse_or_connect(&mut slot, settings("127.0.0.1:9", Some(tls.clone())), &requests).expect("client");
        let again = reuse_or_connect(&mut slot, settings("127.0.0.1:9", Some(tls.clone())), &requests).expect("client");
        assert!(Arc::ptr_eq(&first, &again), "unchanged settings keep the client");

        let renewed = TlsSettings { ca_pem: ca_pem(), client: None };
        let after_renewal = reuse_or_connect(&mut slot, settings("127.0.0.1:9", Some(renewed)), &requests).expect("c");
        assert!(!Arc::ptr_eq(&first, &after_renewal), "a renewed CA makes a new client");

        let moved = reuse_or_connect(&mut slot, settings("127.0.0.2:9", None), &requests).expect("client");
        assert!(!Arc::ptr_eq(&after_renewal, &moved), "other bootstrap servers make a new client");
        assert_eq!(moved.wire().bootstrap_servers(), ["127.0.0.2:9"]);
    }

    #[test]
    fn material_librdkafka_refuses_keeps_the_old_client() {
        let requests = RequestCounter::default();
        let mut slot = None;
        let working = reuse_or_connect(&mut slot, settings("127.0.0.1:9", None), &requests).expect("client");
        let unreadable = TlsSettings {
            ca_pem: ca_pem(),
            client: Some(ClientCertificate { certificate_pem: "garbage".into(), private_key_pem: "garbage".into() }),
        };
        let refused = reuse_or_connect(&mut slot, settings("127.0.0.1:9", Some(unreadable)), &requests);
        assert!(refused.is_err(), "librdkafka reads the certificate when the client is created");
        let kept = slot.as_ref().map(|current| current.admin.clone()).expect("old client kept");
        assert!(Arc::ptr_eq(&working, &kept));
    }
}
