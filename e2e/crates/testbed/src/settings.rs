//! Names, ports and address ranges of one test bed on this machine.
//!
//! Every node is a real kubelet on containerd with a kube-proxy, in a network and mount
//! namespace of its own. `TESTBED_SLOT` (0 by default, from the environment) shifts every port,
//! namespace, bridge and cgroup name and address range, so a second test bed (slot 1, say,
//! while the test bed itself is being changed) can run next to the default one.

use std::net::Ipv4Addr;

use anyhow::{Result, bail};

/// Slots 0..=MAX_SLOT keep every range inside 100.72.0.0/13.
const MAX_SLOT: u8 = 2;
const NODE_COUNT: u8 = 3;
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub slot: u8,
}

/// One node: a kubelet, its containerd and kube-proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// 1, 2, 3.
    pub index: u8,
    /// The Node object's name, `testbed-node-<index>`.
    pub name: String,
    pub zone: &'static str,
    /// On the test bed's bridge; the apiserver reaches the kubelet here.
    pub ip: Ipv4Addr,
    /// This node's pod addresses, a /24 of the cluster CIDR.
    pub pod_cidr: String,
    /// The first address of `pod_cidr`: the node's CNI bridge.
    pub pod_gateway: Ipv4Addr,
    /// The network namespace (`ip netns`) holding the node's interfaces.
    pub netns: String,
    /// The cgroup (in every hierarchy) under which the kubelet puts its pods.
    pub cgroup_root: String,
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        let slot = match std::env::var("TESTBED_SLOT").as_deref() {
            Err(_) | Ok("") => 0,
            Ok(text) => match text.parse::<u8>() {
                Ok(slot) if slot <= MAX_SLOT => slot,
                _ => bail!("TESTBED_SLOT={text} is not a slot: use 0 to {MAX_SLOT}"),
            },
        };
        Ok(Self { slot })
    }

    /// One line that changes whenever addresses or certificates would: stored next to the
    /// state, so state made for other settings is not reused.
    pub fn fingerprint(&self) -> String {
        format!("nodes=kubelet slot={}", self.slot)
    }

    fn port(&self, base: u16) -> u16 {
        base + 1000 * u16::from(self.slot)
    }

    pub fn etcd_client_port(&self) -> u16 {
        self.port(12379)
    }

    pub fn etcd_peer_port(&self) -> u16 {
        self.port(12380)
    }

    pub fn apiserver_port(&self) -> u16 {
        self.port(16443)
    }

    pub fn controller_manager_port(&self) -> u16 {
        self.port(10257)
    }

    pub fn scheduler_port(&self) -> u16 {
        self.port(10259)
    }

    /// Second octet of this slot's ranges: pods, nodes and services are three /16s in a row.
    fn octet(&self) -> u8 {
        72 + 8 * self.slot
    }

    /// Where the apiserver listens: kubelets in their own network namespaces reach it on the
    /// host's end of the test bed's bridge.
    pub fn apiserver_address(&self) -> Ipv4Addr {
        self.host_ip()
    }

    pub fn apiserver_url(&self) -> String {
        format!("https://{}:{}", self.apiserver_address(), self.apiserver_port())
    }

    /// Pods' addresses (`--cluster-cidr`); every node has a /24 of it.
    pub fn cluster_cidr(&self) -> String {
        format!("100.{}.0.0/16", self.octet())
    }

    /// ClusterIPs (`--service-cluster-ip-range`).
    pub fn service_cidr(&self) -> String {
        format!("100.{}.0.0/16", self.octet() + 2)
    }

    /// The first address of the service range: the `kubernetes` Service's ClusterIP.
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(100, self.octet() + 2, 0, 1)
    }

    /// The cluster DNS Service's ClusterIP (kubelet `clusterDNS`).
    pub fn dns_service_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(100, self.octet() + 2, 0, 10)
    }

    /// The network joining the host and the nodes (a /24).
    pub fn node_network(&self) -> String {
        format!("100.{}.0.0/24", self.octet() + 1)
    }

    /// The host's address on the node network.
    pub fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(100, self.octet() + 1, 0, 1)
    }

    /// The addresses MetalLB gives LoadBalancer Services: on the node network, so the host
    /// reaches them as a client on the same LAN would (the node announcing one answers ARP).
    pub fn load_balancer_pool(&self) -> String {
        let prefix = format!("100.{}.0", self.octet() + 1);
        format!("{prefix}.200-{prefix}.250")
    }

    /// Network namespace holding the bridge that joins the host and the nodes.
    pub fn fabric_netns(&self) -> String {
        format!("ktb{}-fabric", self.slot)
    }

    /// The host's end of its link into the fabric namespace.
    pub fn host_link(&self) -> String {
        format!("ktb{}", self.slot)
    }

    pub fn nodes(&self) -> Vec<NodeSpec> {
        (1..=NODE_COUNT)
            .map(|index| NodeSpec {
                index,
                name: format!("testbed-node-{index}"),
                zone: ZONES[usize::from(index - 1)],
                ip: Ipv4Addr::new(100, self.octet() + 1, 0, 10 + index),
                pod_cidr: format!("100.{}.{index}.0/24", self.octet()),
                pod_gateway: Ipv4Addr::new(100, self.octet(), index, 1),
                netns: format!("ktb{}-node-{index}", self.slot),
                cgroup_root: format!("/ktb{}-node-{index}", self.slot),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubelet(slot: u8) -> Settings {
        Settings { slot }
    }

    #[test]
    fn slot_zero_keeps_the_usual_ports() {
        let settings = kubelet(0);
        assert_eq!(settings.apiserver_port(), 16443);
        assert_eq!(settings.etcd_client_port(), 12379);
        assert_eq!(settings.apiserver_url(), "https://100.73.0.1:16443");
    }

    #[test]
    fn another_slot_shares_no_port_name_or_range() {
        let (zero, one) = (kubelet(0), kubelet(1));
        assert_eq!(one.apiserver_port(), 17443);
        assert_ne!(zero.fabric_netns(), one.fabric_netns());
        assert_ne!(zero.nodes()[0].cgroup_root, one.nodes()[0].cgroup_root);
        assert_eq!(one.cluster_cidr(), "100.80.0.0/16");
        assert_eq!(one.service_cidr(), "100.82.0.0/16");
        assert_eq!(one.node_network(), "100.81.0.0/24");
        assert_eq!(one.load_balancer_pool(), "100.81.0.200-100.81.0.250");
    }

    #[test]
    fn nodes_get_a_pod_range_and_an_address_each() {
        let nodes = kubelet(0).nodes();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2].name, "testbed-node-3");
        assert_eq!(nodes[2].zone, "zone-c");
        assert_eq!(nodes[2].ip, Ipv4Addr::new(100, 73, 0, 13));
        assert_eq!(nodes[2].pod_cidr, "100.72.3.0/24");
        assert_eq!(nodes[2].pod_gateway, Ipv4Addr::new(100, 72, 3, 1));
        assert_eq!(nodes[2].netns, "ktb0-node-3");
    }

    #[test]
    fn the_highest_slot_stays_inside_its_range() {
        let settings = kubelet(MAX_SLOT);
        assert_eq!(settings.service_cidr(), "100.90.0.0/16");
    }
}
