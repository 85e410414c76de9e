//! Reads only, and the one place that talks to Kafka: which replicas are in sync (the rolling
//! restart's gate), which controller is active, the dynamic broker configuration, and changing it
//! (for `apply`). A pass makes one admin client for its cluster and drops it when it ends: a
//! `WireAdmin` speaks Kafka's protocol on a connection per request, so a settled cluster, looked
//! at every few minutes, costs no thread, buffer or connection between passes, and a client made
//! afresh never talks to brokers by stale addresses or with a replaced certificate. (The cluster
//! controller links no librdkafka: its client kept a thread per broker, 0.7 MiB for a settled
//! cluster and 1.4 MiB for one whose brokers did not answer, measured.)

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kafka_admin::{ClientCertificate, ConnectionSettings, NoBootstrapServers, RequestCounter, TlsSettings, WireAdmin};
use kube::runtime::reflector::{ObjectRef, Store};

use crate::reconcile::decide::{RaftView, Unavailable};

use crd_types::kafka_cluster::{InternalListenerConfig, SecurityProtocol};

use crate::build;
use crate::build::pki::PkiError;
use crate::build::pki::names::controller_certificate_secret_name;
use crate::build::pki::secrets::{CA_CERTIFICATE_KEY, read_key_and_certificate, read_text};
use crate::model::{METRICS_PORT, ValidatedCluster, pki_source, user_certificates};

/// How long one Kafka request may take; a roll waits rather than act on a slow answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one controller's metrics page may take to answer. The JMX exporter walks every
/// MBean before it filters by name, and a combined node has thousands. With 5 s, a roll on a
/// loaded machine (two cores, a dozen JVMs) stood still for minutes on failed scrapes of one
/// controller, most likely timeouts (the status did not yet name the cause).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(15);
/// The JMX exporter's name (with the operator's default rules) for
/// `kafka.controller:type=KafkaController,name=ActiveControllerCount`: 1 on the active controller.
const ACTIVE_CONTROLLER_METRIC: &str = "kafka_controller_kafkacontroller_activecontrollercount";
/// `kafka.server:type=raft-metrics` `current-state`, one series per state, 1 while held.
const RAFT_STATE_METRIC_PREFIX: &str = "kafka_server_raft_metrics_current_state_";
/// The states a Raft member of Kafka 3.9 and 4.x can hold.
const RAFT_STATES: [&str; 8] =
    ["leader", "follower", "candidate", "prospective", "voted", "unattached", "resigned", "observer"];
const HIGH_WATERMARK_METRIC: &str = "kafka_server_raft_metrics_high_watermark";
const LOG_END_OFFSET_METRIC: &str = "kafka_server_raft_metrics_log_end_offset";

/// Why the cluster controller cannot talk to a cluster's Kafka.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("no internal listener has usedForInnerBrokerCommunication: true")]
    NoAdminListener,
    #[error(
        "listener {listener} uses {protocol:?}; the cluster controller talks to Kafka over PLAINTEXT and SSL listeners only so far"
    )]
    UnsupportedProtocol { listener: String, protocol: SecurityProtocol },
    #[error(
        "listener {listener} uses TLS, and the operator makes no certificates for it (spec.listenersConfig.sslSecrets)"
    )]
    NoCertificates { listener: String },
    #[error("waiting for Secret {secret} (the operator's client certificate) to be issued or checked")]
    CertificateMissing { secret: String },
    #[error("the operator's client certificate cannot be read")]
    CertificateUnreadable(#[source] PkiError),
    #[error("the admin listener {listener} has no broker addresses")]
    NoAddresses { listener: String },
    #[error("failed to create a Kafka admin client")]
    Connect(#[source] NoBootstrapServers),
}

pub struct KafkaAccess {
    /// The admin client of each cluster whose pass is running.
    admins: Mutex<HashMap<(String, String), Arc<WireAdmin>>>,
    requests: RequestCounter,
    http: reqwest::Client,
    /// Certificates' Secrets (the operator's client certificate among them).
    secrets: Store<Secret>,
    /// Client settings from the user's certificates (`sslSecrets.create` false), per cluster:
    /// their Secret is the user's, unlabelled, so outside `secrets`; each pass hands in what it
    /// read and checked.
    provided: Mutex<HashMap<(String, String), TlsSettings>>,
}

impl KafkaAccess {
    pub fn new(requests: RequestCounter, secrets: Store<Secret>) -> Self {
        // Plain HTTP only (the brokers' metrics): no trust store, so nothing is read from the
        // system's, which an image may not have.
        let http = reqwest::Client::builder()
            .timeout(SCRAPE_TIMEOUT)
            .tls_certs_only([])
            .build()
            .expect("a plain HTTP client with a timeout and no trust store builds");
        Self { admins: Mutex::default(), requests, http, secrets, provided: Mutex::default() }
    }

    /// Drops the admin client of a cluster whose pass ended (requests still in flight keep it
    /// until they finish).
    pub fn end_pass(&self, namespace: &str, name: &str) {
        let mut admins = self.admins.lock().unwrap_or_else(PoisonError::into_inner);
        admins.remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// Forgets the client settings kept for a cluster that is gone (its admin client goes when
    /// the pass ends, as every pass's does).
    pub fn forget(&self, namespace: &str, name: &str) {
        let mut provided = self.provided.lock().unwrap_or_else(PoisonError::into_inner);
        provided.remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// The client settings of the user's certificates, checked this pass.
    pub fn use_provided(&self, cluster: &ValidatedCluster, tls: TlsSettings) {
        let mut provided = self.provided.lock().unwrap_or_else(PoisonError::into_inner);
        provided.insert((cluster.namespace.clone(), cluster.name.clone()), tls);
    }

    /// The cluster's admin client for this pass, created on first use (it connects per request).
    pub fn admin(&self, cluster: &ValidatedCluster) -> Result<Arc<WireAdmin>, AccessError> {
        let listener = admin_listener(cluster)?;
        let bootstrap_servers = bootstrap_servers(cluster, listener)?;
        let certificate = match listener.common.security_protocol {
            SecurityProtocol::Plaintext => None,
            SecurityProtocol::Ssl if pki_source(&cluster.spec).is_some() => {
                let name = controller_certificate_secret_name(cluster);
                let secret = self
                    .secrets
                    .get(&ObjectRef::new(&name).within(&cluster.namespace))
                    .ok_or(AccessError::CertificateMissing { secret: name })?;
                Some(ClientMaterial::Issued(secret))
            }
            SecurityProtocol::Ssl if let Some(name) = user_certificates(&cluster.spec) => {
                let provided = self.provided.lock().unwrap_or_else(PoisonError::into_inner);
                let key = (cluster.namespace.clone(), cluster.name.clone());
                let client = provided.get(&key).ok_or(AccessError::CertificateMissing { secret: name.to_owned() })?;
                Some(ClientMaterial::Provided(client.clone()))
            }
            SecurityProtocol::Ssl => {
                return Err(AccessError::NoCertificates { listener: listener.common.name.clone() });
            }
            protocol => {
                return Err(AccessError::UnsupportedProtocol { listener: listener.common.name.clone(), protocol });
            }
        };
        let key = (cluster.namespace.clone(), cluster.name.clone());
        let mut admins = self.admins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(admin) = admins.get(&key) {
            return Ok(Arc::clone(admin));
        }
        let tls =
            certificate.map(ClientMaterial::into_settings).transpose().map_err(AccessError::CertificateUnreadable)?;
        let settings = ConnectionSettings {
            bootstrap_servers,
            client_id: "koperator-rs-cluster-controller".to_owned(),
            request_timeout: REQUEST_TIMEOUT,
            tls,
        };
        let admin = WireAdmin::connect(&settings, self.requests.clone()).map(Arc::new).map_err(AccessError::Connect)?;
        admins.insert(key, Arc::clone(&admin));
        Ok(admin)
    }

    /// Each controller's Raft state from its metrics page; an error for one that does not answer.
    pub async fn controller_states(
        &self,
        cluster: &ValidatedCluster,
        controllers: &[i32],
    ) -> BTreeMap<i32, Result<RaftView, Unavailable>> {
        let filter = raft_series_filter();
        let scrapes = controllers.iter().map(|&id| {
            let filter = &filter;
            async move {
                let url = format!("http://{}:{METRICS_PORT}/metrics", build::broker_host(cluster, id));
                // Only the series the gate reads: the full page of the default rules is ~9,000
                // series (~0.9 MB), and serving it to every reconcile exhausts a small broker heap.
                let page =
                    async { self.http.get(format!("{url}?{filter}")).send().await?.error_for_status()?.text().await };
                let view = page.await.map(|page| raft_view(&page)).map_err(|error: reqwest::Error| {
                    // The URL is named once, without the long series filter.
                    let cause = operator_runtime::error_chain(&error.without_url());
                    Unavailable(format!("controller {id}'s metrics ({url}): {cause}"))
                });
                (id, view)
            }
        });
        futures::future::join_all(scrapes).await.into_iter().collect()
    }
}

/// The exporter's `name[]` filter (a query string) for the series `raft_view` reads; the
/// names need no escaping.
fn raft_series_filter() -> String {
    let states = RAFT_STATES.iter().map(|state| format!("{RAFT_STATE_METRIC_PREFIX}{state}"));
    [ACTIVE_CONTROLLER_METRIC, HIGH_WATERMARK_METRIC, LOG_END_OFFSET_METRIC]
        .into_iter()
        .map(str::to_owned)
        .chain(states)
        .map(|name| format!("name%5B%5D={name}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The listener the operator uses for admin work: the one marked
/// `usedForKafkaAdminCommunication`, else the inter-broker one.
fn admin_listener(cluster: &ValidatedCluster) -> Result<&InternalListenerConfig, AccessError> {
    let listeners = &cluster.spec.listeners_config.internal_listeners;
    listeners
        .iter()
        .find(|l| l.common.used_for_kafka_admin_communication == Some(true))
        .or_else(|| listeners.iter().find(|l| l.common.used_for_inner_broker_communication == Some(true)))
        .ok_or(AccessError::NoAdminListener)
}

/// Per-broker addresses of `listener` (the names the brokers' certificates carry).
fn bootstrap_servers(
    cluster: &ValidatedCluster,
    listener: &InternalListenerConfig,
) -> Result<Vec<String>, AccessError> {
    let addresses = build::listener_addresses(cluster);
    let listener_addresses = addresses
        .get(&listener.common.name)
        .ok_or_else(|| AccessError::NoAddresses { listener: listener.common.name.clone() })?;
    Ok(listener_addresses.per_node.values().cloned().collect())
}

/// The client side of TLS from a certificate's Secret (`ca.crt`, `tls.crt`, `tls.key`).
/// Where the operator's client certificate comes from.
enum ClientMaterial {
    /// The Secret cert-manager or the operator's CA wrote (`<cluster>-controller`).
    Issued(Arc<Secret>),
    /// The user's certificates, read and checked by the pass.
    Provided(TlsSettings),
}

impl ClientMaterial {
    fn into_settings(self) -> Result<TlsSettings, PkiError> {
        match self {
            Self::Issued(secret) => tls_settings(&secret),
            Self::Provided(settings) => Ok(settings),
        }
    }
}

fn tls_settings(secret: &Secret) -> Result<TlsSettings, PkiError> {
    let key_and_certificate = read_key_and_certificate(secret)?;
    Ok(TlsSettings {
        ca_pem: read_text(secret, CA_CERTIFICATE_KEY)?,
        client: Some(ClientCertificate {
            certificate_pem: key_and_certificate.certificate_pem,
            private_key_pem: key_and_certificate.private_key_pem,
        }),
    })
}

/// The value of the first sample of `name` on a Prometheus text page (labels ignored).
fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '{'])))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// A controller's Raft state as the operator's default JMX exporter rules export it.
fn raft_view(page: &str) -> RaftView {
    let state = page.lines().filter_map(|line| line.strip_prefix(RAFT_STATE_METRIC_PREFIX)).find_map(|rest| {
        let (name, value) = rest.split_once([' ', '{'])?;
        let value: f64 = value.rsplit(' ').next()?.parse().ok()?;
        (value >= 1.0).then(|| name.to_owned())
    });
    RaftView {
        active: sample(page, ACTIVE_CONTROLLER_METRIC).is_some_and(|value| value >= 1.0),
        state,
        high_watermark: sample(page, HIGH_WATERMARK_METRIC),
        log_end_offset: sample(page, LOG_END_OFFSET_METRIC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_controllers_raft_state() {
        let page = "# HELP kafka_controller_kafkacontroller_activecontrollercount x\n\
                    kafka_controller_kafkacontroller_activecontrollercount 1.0\n\
                    kafka_server_raft_metrics_current_state_follower 0.0\n\
                    kafka_server_raft_metrics_current_state_leader 1.0\n\
                    kafka_server_raft_metrics_high_watermark 1200.0\n\
                    kafka_server_raft_metrics_high_watermark_other 5.0\n\
                    kafka_server_raft_metrics_log_end_offset 1195.0\n";
        let view = raft_view(page);
        assert!(view.active);
        assert_eq!(view.state.as_deref(), Some("leader"));
        assert_eq!(view.behind(), Some(5.0));
        assert_eq!(view.in_quorum(), Some(true));
        let bare = raft_view("kafka_server_other 1.0\n");
        let filter = raft_series_filter();
        assert!(filter.starts_with("name%5B%5D=kafka_controller_kafkacontroller_activecontrollercount&"));
        assert!(filter.contains("&name%5B%5D=kafka_server_raft_metrics_current_state_observer"));
        assert_eq!((bare.active, bare.state.clone(), bare.behind()), (false, None, None));
    }
}
