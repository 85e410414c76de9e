//! The kubelet nodes' network: a bridge in a namespace of its own (the "fabric") joins the
//! host and one network namespace per node. Each node routes its pods' /24 on a CNI bridge
//! and the other nodes' /24s through their node addresses; the host routes every node's pods
//! to that node and the service range to node 1, whose kube-proxy translates ClusterIPs
//! (masquerading the host's packets, which come from outside the cluster CIDR, so answers
//! return the same way).
//!
//! On the host this adds only one link (its end into the fabric, which goes away with the
//! fabric namespace, taking its routes along) and the namespace names under /run/netns; every
//! sysctl and packet filter rule the nodes need is set inside their own namespaces.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::settings::{NodeSpec, Settings};

/// The bridge inside the fabric namespace.
const FABRIC_BRIDGE: &str = "br0";
/// The host's link as seen from the fabric namespace.
const FABRIC_HOST_PORT: &str = "host";

/// Builds the network unless all of it is there already.
pub fn ensure(settings: &Settings) -> Result<()> {
    if is_complete(settings) {
        return Ok(());
    }
    // Half of a network (an interrupted `up`) is taken down and built again.
    remove(settings)?;
    build(settings).context("failed to build the test bed's network")
}

/// Deletes the namespaces (and with them every link, route and rule inside) and the host's
/// link. Processes still inside a namespace keep it alive until they exit.
pub fn remove(settings: &Settings) -> Result<()> {
    for node in settings.nodes() {
        delete_netns(&node.netns)?;
    }
    delete_netns(&settings.fabric_netns())?;
    // Normally gone with its peer in the fabric namespace.
    if link_exists(&settings.host_link()) {
        ip(&["link", "del", &settings.host_link()])?;
    }
    Ok(())
}

pub fn is_complete(settings: &Settings) -> bool {
    netns_exists(&settings.fabric_netns())
        && link_exists(&settings.host_link())
        && settings.nodes().iter().all(|node| netns_exists(&node.netns))
}

fn build(settings: &Settings) -> Result<()> {
    let fabric = settings.fabric_netns();
    let host_link = settings.host_link();
    let prefix_length = settings.node_network().rsplit_once('/').map(|(_, bits)| bits.to_string()).expect("a CIDR");

    ip(&["netns", "add", &fabric])?;
    ip_in(&fabric, &["link", "set", "lo", "up"])?;
    ip_in(&fabric, &["link", "add", FABRIC_BRIDGE, "type", "bridge"])?;
    ip_in(&fabric, &["link", "set", FABRIC_BRIDGE, "up"])?;
    // Frames between nodes are only switched here: no packet filter on this bridge.
    write_sysctl_in(&fabric, "net/bridge/bridge-nf-call-iptables", "0")?;

    ip(&["link", "add", &host_link, "type", "veth", "peer", "name", FABRIC_HOST_PORT, "netns", &fabric])?;
    ip_in(&fabric, &["link", "set", FABRIC_HOST_PORT, "master", FABRIC_BRIDGE, "up"])?;
    ip(&["addr", "add", &format!("{}/{prefix_length}", settings.host_ip()), "dev", &host_link])?;
    ip(&["link", "set", &host_link, "up"])?;

    let nodes = settings.nodes();
    for node in &nodes {
        build_node(settings, node, &nodes, &prefix_length)?;
    }
    for node in &nodes {
        ip(&["route", "replace", &node.pod_cidr, "via", &node.ip.to_string(), "dev", &host_link])?;
    }
    ip(&["route", "replace", &settings.service_cidr(), "via", &nodes[0].ip.to_string(), "dev", &host_link])?;
    Ok(())
}

fn build_node(settings: &Settings, node: &NodeSpec, nodes: &[NodeSpec], prefix_length: &str) -> Result<()> {
    let fabric = settings.fabric_netns();
    let port = format!("node-{}", node.index);
    ip(&["netns", "add", &node.netns])?;
    ip(&["link", "add", &port, "netns", &fabric, "type", "veth", "peer", "name", "eth0", "netns", &node.netns])?;
    ip_in(&fabric, &["link", "set", &port, "master", FABRIC_BRIDGE, "up"])?;
    ip_in(&node.netns, &["link", "set", "lo", "up"])?;
    ip_in(&node.netns, &["addr", "add", &format!("{}/{prefix_length}", node.ip), "dev", "eth0"])?;
    ip_in(&node.netns, &["link", "set", "eth0", "up"])?;
    ip_in(&node.netns, &["route", "add", "default", "via", &settings.host_ip().to_string()])?;
    for other in nodes.iter().filter(|other| other.index != node.index) {
        ip_in(&node.netns, &["route", "add", &other.pod_cidr, "via", &other.ip.to_string()])?;
    }
    // A node forwards between its pods, the other nodes and the host; kube-proxy needs the
    // bridge's frames to pass through iptables (a pod reaching a Service on its own node).
    write_sysctl_in(&node.netns, "net/ipv4/ip_forward", "1")?;
    write_sysctl_in(&node.netns, "net/bridge/bridge-nf-call-iptables", "1")?;
    Ok(())
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn delete_netns(name: &str) -> Result<()> {
    if netns_exists(name) {
        ip(&["netns", "del", name])?;
    }
    Ok(())
}

/// A sysctl of one network namespace (they are per namespace, so the host's stay as they are).
fn write_sysctl_in(netns: &str, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{key}");
    run(Command::new("ip").args(["netns", "exec", netns, "sh", "-c", &format!("echo {value} > {path}")]))
}

fn ip(args: &[&str]) -> Result<()> {
    run(Command::new("ip").args(args))
}

fn ip_in(netns: &str, args: &[&str]) -> Result<()> {
    run(Command::new("ip").args(["-n", netns]).args(args))
}

fn run(command: &mut Command) -> Result<()> {
    let output = command.output().with_context(|| format!("failed to run {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}
