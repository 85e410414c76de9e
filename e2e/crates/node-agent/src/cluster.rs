//! Watch caches of the cluster objects the agent reads (configMaps, secrets,
//! services, endpointSlices, PVCs, PVs) and the lookups built on them.

use std::{collections::BTreeMap, net::Ipv4Addr, sync::Arc};

use futures::StreamExt;
use k8s_openapi::{
    api::{
        core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service},
        discovery::v1::EndpointSlice,
    },
    serde::de::DeserializeOwned,
};
use kube::{
    Api, Client, Resource,
    runtime::{
        WatchStreamExt, reflector,
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use crate::{
    dns::records::{EndpointRecord, ServiceDirectory, ServiceRecord},
    env::ConfigSource,
};

#[derive(Clone)]
pub struct ClusterCache {
    pub config_maps: Store<ConfigMap>,
    pub secrets: Store<Secret>,
    pub services: Store<Service>,
    pub endpoint_slices: Store<EndpointSlice>,
    pub claims: Store<PersistentVolumeClaim>,
    pub volumes: Store<PersistentVolume>,
}

fn start<K>(client: &Client) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(Api::<K>::all(client.clone()), watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                tracing::warn!(%error, kind = %K::kind(&()), "watch error");
            }
        }
    });
    reader
}

impl ClusterCache {
    pub async fn start(client: &Client) -> anyhow::Result<Self> {
        let cache = Self {
            config_maps: start(client),
            secrets: start(client),
            services: start(client),
            endpoint_slices: start(client),
            claims: start(client),
            volumes: start(client),
        };
        cache.config_maps.wait_until_ready().await?;
        cache.secrets.wait_until_ready().await?;
        cache.services.wait_until_ready().await?;
        cache.endpoint_slices.wait_until_ready().await?;
        cache.claims.wait_until_ready().await?;
        cache.volumes.wait_until_ready().await?;
        Ok(cache)
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<Arc<Service>> {
        self.services.get(&ObjectRef::new(name).within(namespace))
    }

    pub fn claim(&self, namespace: &str, name: &str) -> Option<Arc<PersistentVolumeClaim>> {
        self.claims.get(&ObjectRef::new(name).within(namespace))
    }

    pub fn volume(&self, name: &str) -> Option<Arc<PersistentVolume>> {
        self.volumes.get(&ObjectRef::new(name))
    }

    /// Endpoints of a service as (ip, hostname, ready, ports by name).
    pub fn endpoints(&self, namespace: &str, service: &str) -> Vec<(EndpointRecord, BTreeMap<String, u16>)> {
        let mut out = Vec::new();
        for slice in self.endpoint_slices.state() {
            let labels = slice.metadata.labels.as_ref();
            if slice.metadata.namespace.as_deref() != Some(namespace)
                || labels.and_then(|l| l.get("kubernetes.io/service-name")).map(String::as_str) != Some(service)
                || slice.address_type != "IPv4"
            {
                continue;
            }
            let ports: BTreeMap<String, u16> = slice
                .ports
                .iter()
                .flatten()
                .filter_map(|p| Some((p.name.clone().unwrap_or_default(), u16::try_from(p.port?).ok()?)))
                .collect();
            for endpoint in &slice.endpoints {
                let ready = endpoint.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                for address in &endpoint.addresses {
                    if let Ok(ip) = address.parse::<Ipv4Addr>() {
                        let record = EndpointRecord { ip, hostname: endpoint.hostname.clone(), ready };
                        out.push((record, ports.clone()));
                    }
                }
            }
        }
        out
    }
}

impl ServiceDirectory for ClusterCache {
    fn service(&self, namespace: &str, name: &str) -> Option<ServiceRecord> {
        let service = ClusterCache::service(self, namespace, name)?;
        let spec = service.spec.as_ref()?;
        let cluster_ip = spec.cluster_ip.as_deref().unwrap_or("None");
        Some(ServiceRecord {
            cluster_ip: cluster_ip.parse().ok(),
            headless: cluster_ip == "None",
            publish_not_ready: spec.publish_not_ready_addresses.unwrap_or(false),
            endpoints: self.endpoints(namespace, name).into_iter().map(|(e, _)| e).collect(),
        })
    }
}

impl ConfigSource for ClusterCache {
    fn config_map(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, String>> {
        let cm = self.config_maps.get(&ObjectRef::new(name).within(namespace))?;
        let mut data = cm.data.clone().unwrap_or_default();
        for (key, value) in cm.binary_data.iter().flatten() {
            data.insert(key.clone(), String::from_utf8_lossy(&value.0).into_owned());
        }
        Some(data)
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, String>> {
        let secret = self.secrets.get(&ObjectRef::new(name).within(namespace))?;
        let mut data: BTreeMap<String, String> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
            .collect();
        data.extend(secret.string_data.clone().unwrap_or_default());
        Some(data)
    }
}

impl ClusterCache {
    /// Raw bytes of configMap/secret entries, for volumes (binary safe).
    pub fn config_map_bytes(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let cm = self.config_maps.get(&ObjectRef::new(name).within(namespace))?;
        let mut data: BTreeMap<String, Vec<u8>> =
            cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
        data.extend(cm.binary_data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())));
        Some(data)
    }

    pub fn secret_bytes(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let secret = self.secrets.get(&ObjectRef::new(name).within(namespace))?;
        Some(secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect())
    }
}
