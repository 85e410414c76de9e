//! `testbed node-namespaces`: the process that holds one kubelet node's mount namespace
//! (inside the node's network namespace), so the node's containerd, kubelet and kube-proxy
//! can join it with `nsenter`.
//!
//! kubelet, containerd and the CNI plugins write to fixed host paths whatever their
//! configuration says (`/var/lib/kubelet/device-plugins`, `/var/lib/cni`, `/var/log/pods`,
//! `/run/containerd`), and kubelet sets kernel tunables for the whole machine
//! (`vm.overcommit_memory`, `kernel.panic`, ...). In this namespace those paths are the node's
//! own directories, and the tunables are files holding the machine's current values, so three
//! nodes do not collide and the machine is left as it was.
//!
//! Each node also sees [`NODE_CPUS`] CPUs in /sys/devices/system/cpu (and no NUMA nodes), which
//! is where kubelet's cAdvisor counts them: the machine has two cores for three nodes, and
//! Koperator's brokers request a whole CPU each, so real capacities would leave most test
//! clusters unschedulable. Limits are still enforced by the cgroups; only scheduling believes in
//! the larger nodes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{SigSet, Signal};

/// Tunables kubelet rewrites when they differ from what it wants (its `setupKernelTunables`).
pub const KERNEL_TUNABLES: [&str; 6] = [
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

/// The CPUs each node reports (its `status.capacity.cpu`).
pub const NODE_CPUS: u32 = 8;

/// What the holder mounts; all paths are the node's directories on the host.
pub struct NodeMounts {
    /// Over /var/lib (kubelet's root and certificates, CNI's results).
    pub var_lib: PathBuf,
    /// Over /var/log (pod and container logs).
    pub var_log: PathBuf,
    /// One file per entry of [`KERNEL_TUNABLES`], named with `/` replaced by `.`.
    pub tunables: PathBuf,
    /// Over /sys/devices/system/cpu: `cpu<n>/topology/{core_id,physical_package_id}` for
    /// [`NODE_CPUS`] CPUs, and the machine's list of online CPUs.
    pub cpus: PathBuf,
    /// An empty directory over /sys/devices/system/node.
    pub numa_nodes: PathBuf,
    /// Written once every mount is in place.
    pub ready_file: PathBuf,
}

impl NodeMounts {
    pub fn under(node_dir: &Path) -> Self {
        Self {
            var_lib: node_dir.join("var-lib"),
            var_log: node_dir.join("var-log"),
            tunables: node_dir.join("kernel-tunables"),
            cpus: node_dir.join("sys-cpus"),
            numa_nodes: node_dir.join("sys-numa-nodes"),
            ready_file: node_dir.join("namespaces.ready"),
        }
    }

    pub fn tunable_file(&self, key: &str) -> PathBuf {
        self.tunables.join(key.replace('/', "."))
    }

    /// Creates the directories and the tunable files (with the machine's current values).
    pub fn prepare(&self) -> Result<()> {
        for dir in [&self.var_lib, &self.var_log, &self.tunables, &self.numa_nodes] {
            std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
        }
        for cpu in 0..NODE_CPUS {
            let topology = self.cpus.join(format!("cpu{cpu}")).join("topology");
            std::fs::create_dir_all(&topology)?;
            std::fs::write(topology.join("core_id"), format!("{cpu}\n"))?;
            std::fs::write(topology.join("physical_package_id"), "0\n")?;
        }
        // cAdvisor counts every cpu<n> directory, but only the online ones make up the CPU set
        // kubelet gives the pods' cgroup, which must name CPUs that exist.
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
            .context("failed to read /sys/devices/system/cpu/online")?;
        std::fs::write(self.cpus.join("online"), online)?;
        for key in KERNEL_TUNABLES {
            let current = std::fs::read_to_string(Path::new("/proc/sys").join(key))
                .with_context(|| format!("failed to read /proc/sys/{key}"))?;
            std::fs::write(self.tunable_file(key), current)?;
        }
        std::fs::remove_file(&self.ready_file).or_else(ignore_missing)?;
        Ok(())
    }
}

/// Joins `netns`, makes the mount namespace, mounts, then waits for SIGTERM.
pub fn hold(netns: &str, mounts: &NodeMounts) -> Result<()> {
    // Block the signals first, so that one sent while mounting is not lost.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.thread_block()?;

    let netns_path = Path::new("/run/netns").join(netns);
    let netns_file =
        std::fs::File::open(&netns_path).with_context(|| format!("failed to open {}", netns_path.display()))?;
    setns(&netns_file, CloneFlags::CLONE_NEWNET).context("failed to join the node's network namespace")?;
    unshare(CloneFlags::CLONE_NEWNS).context("failed to make a mount namespace (needs root)")?;
    // The host's mounts still show here, ours never show on the host.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)
        .context("failed to make / a slave mount")?;
    // A private /run: containerd's shim sockets and runc's state (/run/containerd, /run/runc),
    // iptables' lock.
    mount(Some("tmpfs"), "/run", Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=755"))
        .context("failed to mount a tmpfs on /run")?;
    bind(&mounts.var_lib, Path::new("/var/lib"))?;
    bind(&mounts.var_log, Path::new("/var/log"))?;
    for key in KERNEL_TUNABLES {
        bind(&mounts.tunable_file(key), &Path::new("/proc/sys").join(key))?;
    }
    bind(&mounts.cpus, Path::new("/sys/devices/system/cpu"))?;
    bind(&mounts.numa_nodes, Path::new("/sys/devices/system/node"))?;
    std::fs::write(&mounts.ready_file, "ready\n")?;

    signals.wait()?;
    Ok(())
}

fn bind(source: &Path, target: &Path) -> Result<()> {
    mount(Some(source), target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .with_context(|| format!("failed to bind {} over {}", source.display(), target.display()))
}

fn ignore_missing(error: std::io::Error) -> std::io::Result<()> {
    if error.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(error) }
}
