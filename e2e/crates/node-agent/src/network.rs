//! Host and pod networking with iproute2: bridge `kbr0`, dummy `kdummy0` for
//! ClusterIPs, one network namespace + veth pair per pod.
//!
//! Everything lives in 100.64.0.0/10 (pods, node IPs) and the service CIDR, with
//! an `unreachable` route for the rest of 100.64.0.0/10 so no packet leaves the host.

use std::{
    collections::{BTreeSet, HashMap},
    net::Ipv4Addr,
    sync::Mutex,
};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

pub const BRIDGE: &str = "kbr0";
pub const SERVICE_DUMMY: &str = "kdummy0";
pub const BRIDGE_IP: Ipv4Addr = Ipv4Addr::new(100, 64, 0, 1);
const NETNS_PREFIX: &str = "kpod-";
const VETH_PREFIX: &str = "kv";

#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub zone: String,
    /// 1-based position in `--nodes`; picks the node IP and pod CIDR.
    pub index: u8,
}

impl NodeInfo {
    pub fn internal_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(100, 64, 0, 10 + self.index)
    }
    pub fn pod_cidr(&self) -> String {
        format!("100.64.{}.0/24", self.index)
    }
}

pub async fn ip(args: &[&str]) -> Result<()> {
    let output = Command::new("ip").args(args).output().await.context("failed to run ip")?;
    if !output.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

async fn ip_output(args: &[&str]) -> String {
    match Command::new("ip").args(args).output().await {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => String::new(),
    }
}

/// Creates the bridge (with the node IPs) and the ClusterIP dummy interface.
pub async fn setup_host(nodes: &[NodeInfo]) -> Result<()> {
    teardown_host().await;
    ip(&["link", "add", BRIDGE, "type", "bridge"]).await?;
    ip(&["addr", "add", "100.64.0.1/16", "dev", BRIDGE]).await?;
    for node in nodes {
        ip(&["addr", "add", &format!("{}/16", node.internal_ip()), "dev", BRIDGE]).await?;
    }
    ip(&["link", "set", BRIDGE, "up"]).await?;
    // Some kernels lack the dummy module; a port-less bridge holds local addresses as well.
    if ip(&["link", "add", SERVICE_DUMMY, "type", "dummy"]).await.is_err() {
        ip(&["link", "add", SERVICE_DUMMY, "type", "bridge"]).await?;
    }
    ip(&["link", "set", SERVICE_DUMMY, "up"]).await?;
    ip(&["route", "replace", "unreachable", "100.64.0.0/10"]).await?;
    Ok(())
}

/// Removes every interface and namespace the agent may have created (idempotent).
pub async fn teardown_host() {
    for netns in ip_output(&["netns", "list"]).await.lines() {
        let name = netns.split_whitespace().next().unwrap_or_default();
        if name.starts_with(NETNS_PREFIX) {
            let _ = ip(&["netns", "delete", name]).await;
        }
    }
    for line in ip_output(&["-o", "link", "show"]).await.lines() {
        let name = line.split(':').nth(1).unwrap_or_default().trim();
        let name = name.split('@').next().unwrap_or_default();
        if name.starts_with(VETH_PREFIX) && name.len() == 14 {
            let _ = ip(&["link", "delete", name]).await;
        }
    }
    let _ = ip(&["link", "delete", BRIDGE]).await;
    let _ = ip(&["link", "delete", SERVICE_DUMMY]).await;
    let _ = ip(&["route", "delete", "unreachable", "100.64.0.0/10"]).await;
}

/// Adds or removes ClusterIP /32 addresses on the dummy interface.
pub async fn set_service_address(address: Ipv4Addr, present: bool) -> Result<()> {
    let cidr = format!("{address}/32");
    if present {
        ip(&["addr", "replace", &cidr, "dev", SERVICE_DUMMY]).await
    } else {
        ip(&["addr", "del", &cidr, "dev", SERVICE_DUMMY]).await
    }
}

pub fn netns_name(uid: &str) -> String {
    format!("{NETNS_PREFIX}{}", short_id(uid))
}

fn short_id(uid: &str) -> String {
    uid.chars().filter(|c| c.is_ascii_alphanumeric()).take(12).collect()
}

/// Creates the pod's namespace, veth pair and addressing.
pub async fn setup_pod(uid: &str, address: Ipv4Addr) -> Result<String> {
    let netns = netns_name(uid);
    let veth = format!("{VETH_PREFIX}{}", short_id(uid));
    let _ = ip(&["netns", "delete", &netns]).await;
    let _ = ip(&["link", "delete", &veth]).await;
    ip(&["netns", "add", &netns]).await?;
    ip(&["link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &netns]).await?;
    ip(&["link", "set", &veth, "master", BRIDGE, "up"]).await?;
    let inside = |args: &[&str]| {
        let mut full = vec!["-n", netns.as_str()];
        full.extend_from_slice(args);
        full.into_iter().map(String::from).collect::<Vec<_>>()
    };
    for args in [
        inside(&["link", "set", "lo", "up"]),
        inside(&["addr", "add", &format!("{address}/16"), "dev", "eth0"]),
        inside(&["link", "set", "eth0", "up"]),
        inside(&["route", "add", "default", "via", &BRIDGE_IP.to_string()]),
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&refs).await?;
    }
    Ok(netns)
}

pub async fn teardown_pod(uid: &str) {
    let _ = ip(&["netns", "delete", &netns_name(uid)]).await;
    let _ = ip(&["link", "delete", &format!("{VETH_PREFIX}{}", short_id(uid))]).await;
}

/// Hands out pod IPs from each node's /24 (.2 – .254).
#[derive(Default)]
pub struct IpAllocator {
    used: Mutex<HashMap<u8, BTreeSet<u8>>>,
}

impl IpAllocator {
    pub fn allocate(&self, node: &NodeInfo) -> Option<Ipv4Addr> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let taken = used.entry(node.index).or_default();
        let host = (2..=254u8).find(|h| !taken.contains(h))?;
        taken.insert(host);
        Some(Ipv4Addr::new(100, 64, node.index, host))
    }

    pub fn release(&self, address: Ipv4Addr) {
        let [_, _, node, host] = address.octets();
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(taken) = used.get_mut(&node) {
            taken.remove(&host);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_from_the_node_cidr_and_reuses_released_addresses() {
        let node = NodeInfo { name: "n".into(), zone: "z".into(), index: 2 };
        let allocator = IpAllocator::default();
        assert_eq!(allocator.allocate(&node), Some(Ipv4Addr::new(100, 64, 2, 2)));
        assert_eq!(allocator.allocate(&node), Some(Ipv4Addr::new(100, 64, 2, 3)));
        allocator.release(Ipv4Addr::new(100, 64, 2, 2));
        assert_eq!(allocator.allocate(&node), Some(Ipv4Addr::new(100, 64, 2, 2)));
        assert_eq!(node.internal_ip(), Ipv4Addr::new(100, 64, 0, 12));
        assert_eq!(netns_name("1234abcd-ef56-7890"), "kpod-1234abcdef56");
    }
}
