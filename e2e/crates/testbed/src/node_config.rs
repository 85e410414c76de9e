//! The configuration files of one kubelet node: containerd, CNI, kubelet and kube-proxy.
//! Pure: every function returns a file's text.

use std::path::{Path, PathBuf};

use crate::settings::{NodeSpec, Settings};

/// The pause image every pod sandbox runs (built here by the bootstrap, never pulled).
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10.1";

/// Where one node keeps its files on the host: `target/testbed/nodes/<name>`.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    pub dir: PathBuf,
}

impl NodeFiles {
    pub fn new(nodes_dir: &Path, node: &NodeSpec) -> Self {
        Self { dir: nodes_dir.join(&node.name) }
    }

    pub fn containerd_config(&self) -> PathBuf {
        self.dir.join("containerd/config.toml")
    }

    /// Kept across `down`/`up`: the imported images live here.
    pub fn containerd_root(&self) -> PathBuf {
        self.dir.join("containerd/root")
    }

    /// On the host's file system (not the node's private /run), so `ctr` works from the host.
    pub fn containerd_socket(&self) -> PathBuf {
        self.dir.join("containerd/containerd.sock")
    }

    pub fn cni_config_dir(&self) -> PathBuf {
        self.dir.join("cni/net.d")
    }

    pub fn kubelet_config(&self) -> PathBuf {
        self.dir.join("kubelet/config.yaml")
    }

    pub fn kubelet_kubeconfig(&self) -> PathBuf {
        self.dir.join("kubelet/kubeconfig")
    }

    /// The resolv.conf kubelet bases pods' DNS on (no upstream server: the test bed answers
    /// for its own names only).
    pub fn kubelet_resolv_conf(&self) -> PathBuf {
        self.dir.join("kubelet/resolv.conf")
    }

    pub fn volume_plugin_dir(&self) -> PathBuf {
        self.dir.join("kubelet/volume-plugins")
    }

    pub fn kube_proxy_config(&self) -> PathBuf {
        self.dir.join("kube-proxy/config.yaml")
    }

    pub fn kube_proxy_kubeconfig(&self) -> PathBuf {
        self.dir.join("kube-proxy/kubeconfig")
    }
}

/// containerd 1.6 (Debian's), CRI plugin only as far as the kubelet needs it.
pub fn containerd_toml(files: &NodeFiles, cni_bin_dir: &Path) -> String {
    format!(
        r#"version = 2
root = "{root}"
# The node's private /run (see node_namespaces.rs).
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{socket}"

[plugins."io.containerd.internal.v1.opt"]
  # Default /opt/containerd, on the host's file system.
  path = "{opt}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # This machine grants no CAP_SYS_RESOURCE, so no process may lower its oom_score_adj; the
  # sandbox's -998 would fail every pod. Guaranteed pods get 0 instead of -997.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
"#,
        root = files.containerd_root().display(),
        socket = files.containerd_socket().display(),
        opt = files.dir.join("containerd/opt").display(),
        cni_bin = cni_bin_dir.display(),
        cni_conf = files.cni_config_dir().display(),
    )
}

/// A bridge per node holding the node's pod /24; no masquerading, since other nodes and the
/// host route pod addresses as they are. portmap serves hostPort.
pub fn cni_conflist(node: &NodeSpec) -> String {
    format!(
        r#"{{
  "cniVersion": "1.0.0",
  "name": "testbed",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{"subnet": "{subnet}", "gateway": "{gateway}"}}]],
        "routes": [{{"dst": "0.0.0.0/0"}}]
      }}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}}
  ]
}}
"#,
        subnet = node.pod_cidr,
        gateway = node.pod_gateway,
    )
}

/// The kubelet's configuration. Paths that kubelet hard-codes (`/var/lib/kubelet`,
/// `/var/log/pods`) are the node's own through its mount namespace.
pub fn kubelet_yaml(
    settings: &Settings,
    node: &NodeSpec,
    files: &NodeFiles,
    ca_cert: &Path,
    serving: (&Path, &Path),
) -> String {
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {node_ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: {node_ip}
healthzPort: 10248
tlsCertFile: {serving_cert}
tlsPrivateKeyFile: {serving_key}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {ca}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://{runtime}
cgroupDriver: cgroupfs
cgroupRoot: {cgroup_root}
# The machine runs cgroup v1 (kubelet 1.35 refuses it unless told so) and has swap off.
failCgroupV1: false
failSwapOn: false
# Writes to the kernel tunables land in files of the node's mount namespace.
protectKernelDefaults: false
clusterDomain: cluster.local
clusterDNS:
- {dns}
resolvConf: {resolv}
volumePluginDir: {plugins}
# The disk is shared with everything else on the machine: evict on memory pressure only, and
# never collect images (none can be pulled again).
evictionHard:
  memory.available: 100Mi
  nodefs.available: 0%
  imagefs.available: 0%
  nodefs.inodesFree: 0%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
"#,
        node_ip = node.ip,
        serving_cert = serving.0.display(),
        serving_key = serving.1.display(),
        ca = ca_cert.display(),
        runtime = files.containerd_socket().display(),
        cgroup_root = node.cgroup_root,
        dns = settings.dns_service_ip(),
        resolv = files.kubelet_resolv_conf().display(),
        plugins = files.volume_plugin_dir().display(),
    )
}

/// kube-proxy in iptables mode (the kernel has no IPVS). Conntrack limits and timeouts stay as
/// they are: some of them are machine-wide.
pub fn kube_proxy_yaml(settings: &Settings, node: &NodeSpec, files: &NodeFiles) -> String {
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {kubeconfig}
hostnameOverride: {name}
bindAddress: 0.0.0.0
healthzBindAddress: {node_ip}:10256
metricsBindAddress: 127.0.0.1:10249
mode: iptables
clusterCIDR: {cluster_cidr}
detectLocalMode: ClusterCIDR
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  minSyncPeriod: 1s
  syncPeriod: 30s
"#,
        kubeconfig = files.kube_proxy_kubeconfig().display(),
        name = node.name,
        node_ip = node.ip,
        cluster_cidr = settings.cluster_cidr(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_two() -> (Settings, NodeSpec, NodeFiles) {
        let settings = Settings { slot: 0 };
        let node = settings.nodes().remove(1);
        let files = NodeFiles::new(Path::new("/repo/target/testbed/nodes"), &node);
        (settings, node, files)
    }

    #[test]
    fn containerd_keeps_its_files_in_the_node_directory() {
        let (_, _, files) = node_two();
        let toml = containerd_toml(&files, Path::new("/usr/lib/cni"));
        assert!(toml.contains(r#"root = "/repo/target/testbed/nodes/testbed-node-2/containerd/root""#));
        assert!(toml.contains(r#"address = "/repo/target/testbed/nodes/testbed-node-2/containerd/containerd.sock""#));
        assert!(toml.contains("restrict_oom_score_adj = true"));
        assert!(toml.contains(&format!(r#"sandbox_image = "{PAUSE_IMAGE}""#)));
    }

    #[test]
    fn cni_hands_out_the_nodes_own_range() {
        let (_, node, _) = node_two();
        let conflist = cni_conflist(&node);
        assert!(conflist.contains(r#""subnet": "100.72.2.0/24", "gateway": "100.72.2.1""#));
        assert!(conflist.contains(r#""ipMasq": false"#));
    }

    #[test]
    fn kubelet_serves_on_the_node_address_and_points_pods_at_cluster_dns() {
        let (settings, node, files) = node_two();
        let yaml = kubelet_yaml(&settings, &node, &files, Path::new("/pki/ca.crt"), (Path::new("/c"), Path::new("/k")));
        assert!(yaml.contains("address: 100.73.0.12\n"));
        assert!(yaml.contains("cgroupRoot: /ktb0-node-2\n"));
        assert!(yaml.contains("clusterDNS:\n- 100.74.0.10\n"));
        assert!(yaml.contains("failCgroupV1: false"));
    }

    #[test]
    fn kube_proxy_masquerades_what_comes_from_outside_the_cluster() {
        let (settings, node, files) = node_two();
        let yaml = kube_proxy_yaml(&settings, &node, &files);
        assert!(yaml.contains("clusterCIDR: 100.72.0.0/16\n"));
        assert!(yaml.contains("hostnameOverride: testbed-node-2\n"));
        assert!(yaml.contains("maxPerCore: 0\n"));
    }
}
