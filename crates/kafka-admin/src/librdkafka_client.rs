//! A ClusterAdmin's librdkafka client, and the thread that serves its logs and errors (the
//! `librdkafka` feature).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, ProducerContext};

use crate::connection_settings::{ConnectionSettings, NoBootstrapServers};
use crate::error_code::ErrorCode;

/// Why [`ClusterAdmin::connect`](crate::ClusterAdmin::connect) failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    NoBootstrapServers(#[from] NoBootstrapServers),
    #[error("failed to create the kafka client for {bootstrap}")]
    Client {
        bootstrap: String,
        #[source]
        source: KafkaError,
    },
    #[error("failed to start the thread serving librdkafka events for {bootstrap}")]
    EventThread {
        bootstrap: String,
        #[source]
        source: std::io::Error,
    },
}

/// librdkafka has only producer and consumer clients; a producer that never produces is the
/// lighter one (no group coordinator), and admin requests work on either. rust-rdkafka's
/// `BaseProducer` is used rather than a bare `Client` because its `poll` serves the main queue,
/// where rust-rdkafka routes librdkafka's logs and errors.
pub(crate) type KafkaClient = BaseProducer<ClientEvents>;

/// How long one poll of the main queue blocks: the delay before a dropped client's thread
/// notices and lets go of the client. Events wake the poll at once.
const EVENT_POLL_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) fn create(settings: &ConnectionSettings, bootstrap: &str) -> Result<Arc<KafkaClient>, ConnectError> {
    if settings.bootstrap_servers.is_empty() {
        return Err(NoBootstrapServers.into());
    }
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", &settings.client_id)
        // Brokers close idle connections (connections.max.idle.ms, 10 min); an admin client is
        // idle most of the time, so logging each close would be noise. Real failures still
        // show as request errors and as error events.
        .set("log.connection.close", "false")
        // Info is librdkafka's most verbose level without `debug` contexts; `ClientEvents::log`
        // decides what reaches which tracing level.
        .set_log_level(RDKafkaLogLevel::Info);
    if let Some(tls) = &settings.tls {
        config
            .set("security.protocol", "ssl")
            .set("ssl.ca.pem", &tls.ca_pem)
            // librdkafka's default since 2.0; set so that no build of it skips the check.
            .set("ssl.endpoint.identification.algorithm", "https");
        if let Some(client) = &tls.client {
            config.set("ssl.certificate.pem", &client.certificate_pem).set("ssl.key.pem", &client.private_key_pem);
        }
    }
    let events = ClientEvents { bootstrap: bootstrap.to_owned() };
    let client: KafkaClient = config
        .create_with_context(events)
        .map_err(|source| ConnectError::Client { bootstrap: bootstrap.to_owned(), source })?;
    Ok(Arc::new(client))
}

/// Serves the client's main queue (logs, errors) until `stop` is set, on a thread of its own:
/// librdkafka queues log lines there and nothing else would ever poll it, so they would pile up.
/// The thread holds a reference to the client, so when the `ClusterAdmin` is dropped the client
/// is destroyed here (that blocks while librdkafka joins its threads) and not on an async task.
pub(crate) fn serve_events(
    client: Arc<KafkaClient>,
    stop: Arc<AtomicBool>,
    bootstrap: &str,
) -> Result<(), ConnectError> {
    std::thread::Builder::new()
        .name("kafka-admin-events".to_owned())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                client.poll(EVENT_POLL_INTERVAL);
            }
        })
        .map(drop)
        .map_err(|source| ConnectError::EventThread { bootstrap: bootstrap.to_owned(), source })
}

/// Receives librdkafka's logs and client-wide errors and passes them to `tracing`, tagged with
/// the cluster so that an operator managing several clusters can tell them apart.
pub(crate) struct ClientEvents {
    bootstrap: String,
}

/// librdkafka repeats a client-wide error on every reconnect attempt (all brokers down: up to
/// 20 times a second while a cluster is unreachable), and rust-rdkafka's producer passes each
/// one on twice. One warning per error code and interval is enough to notice; the repeats go to
/// debug.
const ERROR_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// When each cluster's client-wide errors were last logged as warnings, by bootstrap servers and
/// error code. Process-wide, because a caller may make a client per pass: a client's own memory
/// would warn again on every pass.
#[derive(Default)]
struct WarningLimiter {
    warned: Mutex<HashMap<(String, Option<ErrorCode>), Instant>>,
}

static CLIENT_WARNINGS: LazyLock<WarningLimiter> = LazyLock::new(WarningLimiter::default);

impl WarningLimiter {
    fn first_in_interval(&self, bootstrap: &str, code: Option<ErrorCode>, now: Instant) -> bool {
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (bootstrap.to_owned(), code);
        match warned.get(&key) {
            Some(&last) if now.duration_since(last) < ERROR_WARNING_INTERVAL => false,
            _ => {
                warned.insert(key, now);
                true
            }
        }
    }
}

impl ClientContext for ClientEvents {
    /// librdkafka logs broker connection failures at error level and retries by itself; to an
    /// operator they are warnings until a request fails, which callers see and report. Its
    /// info-level lines are routine (e.g. metadata refreshes) and go to debug.
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let bootstrap = self.bootstrap.as_str();
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", bootstrap, facility, "{message}")
            }
            RDKafkaLogLevel::Notice => tracing::info!(target: "librdkafka", bootstrap, facility, "{message}"),
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", bootstrap, facility, "{message}")
            }
        }
    }

    /// Client-wide errors (all brokers down, authentication failures). librdkafka keeps
    /// retrying; requests made meanwhile fail with their own error.
    fn error(&self, error: KafkaError, reason: &str) {
        let bootstrap = self.bootstrap.as_str();
        if CLIENT_WARNINGS.first_in_interval(bootstrap, error.rdkafka_error_code().map(ErrorCode::from), Instant::now())
        {
            tracing::warn!(target: "librdkafka", bootstrap, %error, "{reason} (repeats within a minute are logged at debug)");
        } else {
            tracing::debug!(target: "librdkafka", bootstrap, %error, "{reason}");
        }
    }
}

impl ProducerContext for ClientEvents {
    type DeliveryOpaque = ();

    /// Never called: the client produces nothing.
    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection_settings::{ClientCertificate, TlsSettings};

    fn settings(tls: TlsSettings) -> ConnectionSettings {
        ConnectionSettings {
            bootstrap_servers: vec!["127.0.0.1:9".into()],
            client_id: "kafka-admin-test".into(),
            request_timeout: Duration::from_secs(1),
            tls: Some(tls),
        }
    }

    /// A CA and a client certificate it signed, as the operator's CA makes them (ECDSA P-256,
    /// PKCS#8 key).
    fn material() -> (String, ClientCertificate) {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params").signed_by(&key, &issuer);
        let client =
            ClientCertificate { certificate_pem: leaf.expect("leaf").pem(), private_key_pem: key.serialize_pem() };
        (ca.pem(), client)
    }

    #[test]
    fn a_client_with_a_ca_and_a_client_certificate_is_created() {
        let (ca_pem, client) = material();
        let created = create(&settings(TlsSettings { ca_pem, client: Some(client) }), "127.0.0.1:9");
        assert!(created.is_ok(), "{:?}", created.err());
    }

    /// librdkafka reads the PEM when the client is created: bad material fails there, naming
    /// what it could not read, rather than on every connection.
    #[test]
    fn unreadable_tls_material_fails_the_client() {
        let (ca_pem, client) = material();
        let bad_ca = TlsSettings { ca_pem: "not a certificate".into(), client: None };
        let error = create(&settings(bad_ca), "127.0.0.1:9").err().expect("refused").to_string();
        assert!(error.starts_with("failed to create the kafka client for 127.0.0.1:9"), "{error}");
        let (_, other) = material();
        let mismatched = ClientCertificate { private_key_pem: other.private_key_pem, ..client };
        let refused = create(&settings(TlsSettings { ca_pem, client: Some(mismatched) }), "127.0.0.1:9");
        assert!(refused.is_err(), "a key that is not the certificate's must be refused");
    }

    /// rdkafka's `ssl` feature: a librdkafka built without OpenSSL refuses the setting when the
    /// client is created ("OpenSSL not available at build time"), so no component could reach a
    /// TLS listener.
    #[test]
    fn librdkafka_is_built_with_tls() {
        let client: Result<BaseProducer, KafkaError> = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("security.protocol", "ssl")
            .set("ssl.endpoint.identification.algorithm", "https")
            .create();
        assert!(client.is_ok(), "{:?}", client.err());
    }

    #[test]
    fn repeated_client_errors_warn_once_per_interval() {
        let limiter = WarningLimiter::default();
        let start = Instant::now();
        let down = Some(ErrorCode::ALL_BROKERS_DOWN);
        assert!(limiter.first_in_interval("kafka:9092", down, start));
        assert!(!limiter.first_in_interval("kafka:9092", down, start));
        assert!(!limiter.first_in_interval("kafka:9092", down, start + Duration::from_secs(59)));
        assert!(limiter.first_in_interval("other:9092", down, start), "another cluster warns on its own");
        assert!(limiter.first_in_interval("kafka:9092", Some(ErrorCode::SASL_AUTHENTICATION_FAILED), start));
        assert!(limiter.first_in_interval("kafka:9092", down, start + ERROR_WARNING_INTERVAL));
    }
}
