//! Userspace service proxy: one TCP listener per ClusterIP:port (addresses on
//! `kdummy0`) and per node IP:nodePort, forwarding to ready endpoints.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use k8s_openapi::{
    api::core::v1::{Service, ServicePort},
    apimachinery::pkg::util::intstr::IntOrString,
};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use crate::{cluster::ClusterCache, network};

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct ListenKey {
    address: SocketAddr,
    namespace: String,
    service: String,
    port_name: String,
}

pub struct ServiceProxy {
    cache: ClusterCache,
    node_ips: Vec<Ipv4Addr>,
    /// The apiserver, target of `default/kubernetes`.
    apiserver: SocketAddr,
}

impl ServiceProxy {
    pub fn new(cache: ClusterCache, node_ips: Vec<Ipv4Addr>, apiserver: SocketAddr) -> Arc<Self> {
        Arc::new(Self { cache, node_ips, apiserver })
    }

    fn desired(&self) -> Vec<(ListenKey, Option<Ipv4Addr>)> {
        let mut out = Vec::new();
        for service in self.cache.services.state() {
            let Some(spec) = service.spec.as_ref() else { continue };
            let namespace = service.metadata.namespace.clone().unwrap_or_default();
            let name = service.metadata.name.clone().unwrap_or_default();
            let cluster_ip = spec.cluster_ip.as_deref().and_then(|ip| ip.parse::<Ipv4Addr>().ok());
            for port in spec.ports.iter().flatten().filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP") {
                let key = |address: SocketAddr| ListenKey {
                    address,
                    namespace: namespace.clone(),
                    service: name.clone(),
                    port_name: port.name.clone().unwrap_or_default(),
                };
                if let Some(ip) = cluster_ip {
                    out.push((key(SocketAddr::from((ip, port.port as u16))), Some(ip)));
                }
                if let Some(node_port) = port.node_port {
                    for ip in &self.node_ips {
                        out.push((key(SocketAddr::from((*ip, node_port as u16))), None));
                    }
                }
            }
        }
        out
    }

    pub async fn run(self: Arc<Self>) {
        let mut listeners: HashMap<ListenKey, JoinHandle<()>> = HashMap::new();
        let mut addresses: HashMap<Ipv4Addr, ()> = HashMap::new();
        loop {
            let desired = self.desired();
            let wanted_ips: HashMap<Ipv4Addr, ()> = desired.iter().filter_map(|(_, ip)| ip.map(|i| (i, ()))).collect();
            for ip in wanted_ips.keys().filter(|ip| !addresses.contains_key(ip)).copied().collect::<Vec<_>>() {
                match network::set_service_address(ip, true).await {
                    Ok(()) => {
                        addresses.insert(ip, ());
                    }
                    Err(error) => tracing::warn!(%ip, %error, "failed to add service address"),
                }
            }
            let keys: Vec<ListenKey> = desired.into_iter().map(|(k, _)| k).collect();
            listeners.retain(|key, handle| {
                let keep = keys.contains(key) && !handle.is_finished();
                if !keep {
                    handle.abort();
                }
                keep
            });
            for key in keys {
                if listeners.contains_key(&key) {
                    continue;
                }
                match TcpListener::bind(key.address).await {
                    Ok(listener) => {
                        let proxy = self.clone();
                        let task_key = key.clone();
                        listeners.insert(key, tokio::spawn(async move { proxy.accept_loop(listener, task_key).await }));
                    }
                    Err(error) => tracing::debug!(address = %key.address, %error, "bind failed, will retry"),
                }
            }
            for ip in addresses.keys().filter(|ip| !wanted_ips.contains_key(ip)).copied().collect::<Vec<_>>() {
                let _ = network::set_service_address(ip, false).await;
                addresses.remove(&ip);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener, key: ListenKey) {
        let counter = AtomicUsize::new(0);
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { continue };
            let Some(backend) = self.pick_backend(&key, counter.fetch_add(1, Ordering::Relaxed)) else {
                tracing::debug!(service = %key.service, "no ready endpoints");
                continue;
            };
            tokio::spawn(async move {
                let connect = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(backend)).await;
                if let Ok(Ok(mut outbound)) = connect {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    }

    fn pick_backend(&self, key: &ListenKey, turn: usize) -> Option<SocketAddr> {
        if key.namespace == "default" && key.service == "kubernetes" {
            return Some(self.apiserver);
        }
        let service: Arc<Service> = self.cache.service(&key.namespace, &key.service)?;
        let port: ServicePort = service
            .spec
            .as_ref()?
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.clone().unwrap_or_default() == key.port_name)?
            .clone();
        let backends: Vec<SocketAddr> = self
            .cache
            .endpoints(&key.namespace, &key.service)
            .into_iter()
            .filter(|(e, _)| e.ready)
            .filter_map(|(e, ports)| {
                let target_port = match &port.target_port {
                    Some(IntOrString::Int(n)) => Some(*n as u16),
                    _ => None,
                };
                let number = ports.get(&key.port_name).copied().or(target_port)?;
                Some(SocketAddr::from((e.ip, number)))
            })
            .collect();
        (!backends.is_empty()).then(|| backends[turn % backends.len()])
    }
}
