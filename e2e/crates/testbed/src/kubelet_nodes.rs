//! Kubelet nodes: per node a namespace holder, containerd, kubelet and kube-proxy, all in the
//! node's network and mount namespaces, and the images the test bed built imported into the
//! node's containerd.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cgroups;
use crate::components::Component;
use crate::health::Probe;
use crate::kubeconfig;
use crate::layout::Layout;
use crate::node_config::{self, NodeFiles};
use crate::node_namespaces::NodeMounts;
use crate::pki::{NodeCerts, Pki};
use crate::process::{self, Launch};
use crate::settings::{NodeSpec, Settings};
use crate::toolchain::Toolchain;

/// Stop order within a node and SIGTERM grace: what uses containerd first, the holder last.
const STOP_ORDER: [(&str, Duration); 3] = [
    ("kube-proxy", Duration::from_secs(10)),
    ("kubelet", Duration::from_secs(20)),
    ("containerd", Duration::from_secs(10)),
];

pub struct KubeletNodes<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    pub pki: &'a Pki,
}

impl KubeletNodes<'_> {
    fn files(&self, node: &NodeSpec) -> NodeFiles {
        NodeFiles::new(&self.layout.nodes(), node)
    }

    fn component_name(node: &NodeSpec, part: &str) -> String {
        format!("{}-{part}", node.name)
    }

    /// Writes every configuration file and kubeconfig of the node and creates its cgroup.
    pub fn prepare(&self, certs: &NodeCerts, toolchain: &Toolchain) -> Result<()> {
        let node = &certs.node;
        let files = self.files(node);
        for dir in [
            files.containerd_root(),
            files.cni_config_dir(),
            files.volume_plugin_dir(),
            files.kube_proxy_config().parent().expect("a file in a directory").to_path_buf(),
        ] {
            std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
        }
        // A running holder keeps its mounts (and its ready file) as they are.
        let holder_pid_file = self.layout.pid_file(&Self::component_name(node, "namespaces"));
        if process::running_pid(&holder_pid_file).is_none() {
            NodeMounts::under(&files.dir).prepare()?;
        }
        let cni_bin_dir = toolchain.directory("CNI_BIN_DIR")?;
        write(&files.containerd_config(), &node_config::containerd_toml(&files, &cni_bin_dir))?;
        write(&files.cni_config_dir().join("10-testbed.conflist"), &node_config::cni_conflist(node))?;
        let serving = (certs.serving.cert.as_path(), certs.serving.key.as_path());
        write(
            &files.kubelet_config(),
            &node_config::kubelet_yaml(self.settings, node, &files, &self.pki.ca.cert, serving),
        )?;
        write(&files.kubelet_resolv_conf(), "# cluster names only: CoreDNS has no upstream here\n")?;
        write(&files.kube_proxy_config(), &node_config::kube_proxy_yaml(self.settings, node, &files))?;
        let server = self.settings.apiserver_url();
        kubeconfig::write(&files.kubelet_kubeconfig(), &server, &self.pki.ca.cert, &certs.client)?;
        kubeconfig::write(&files.kube_proxy_kubeconfig(), &server, &self.pki.ca.cert, &self.pki.kube_proxy_client)?;
        cgroups::create(&node.cgroup_root)
    }

    /// The node's namespace holder: started before, and stopped after, everything else.
    pub fn holder(&self, node: &NodeSpec) -> Result<Component> {
        let name = Self::component_name(node, "namespaces");
        let files = self.files(node);
        let mounts = NodeMounts::under(&files.dir);
        let program = std::env::current_exe().context("failed to find the testbed binary")?;
        Ok(Component {
            launch: Launch {
                program,
                args: vec![
                    "node-namespaces".into(),
                    "--netns".into(),
                    node.netns.clone(),
                    "--node-dir".into(),
                    files.dir.display().to_string(),
                ],
                working_dir: self.layout.root.clone(),
                log_file: self.layout.log_file(&name),
                pid_file: self.layout.pid_file(&name),
                namespaces_of: None,
                nice: 0,
            },
            name,
            probe: Probe::FileExists(mounts.ready_file),
            startup_timeout: Duration::from_secs(10),
        })
    }

    /// containerd, kubelet and kube-proxy, in start order.
    pub fn daemons(&self, node: &NodeSpec, toolchain: &Toolchain) -> Result<Vec<Component>> {
        let files = self.files(node);
        let holder_pid_file = self.layout.pid_file(&Self::component_name(node, "namespaces"));
        let launch = |part: &str, program: PathBuf, args: Vec<String>| {
            let name = Self::component_name(node, part);
            Launch {
                program,
                args,
                working_dir: self.layout.root.clone(),
                log_file: self.layout.log_file(&name),
                pid_file: self.layout.pid_file(&name),
                namespaces_of: Some(holder_pid_file.clone()),
                nice: 0,
            }
        };
        let path = |p: PathBuf| p.display().to_string();
        let containerd = Component {
            name: Self::component_name(node, "containerd"),
            launch: launch(
                "containerd",
                toolchain.binary("CONTAINERD")?,
                vec![format!("--config={}", path(files.containerd_config()))],
            ),
            probe: Probe::UnixSocket(files.containerd_socket()),
            startup_timeout: Duration::from_secs(30),
        };
        let kubelet = Component {
            name: Self::component_name(node, "kubelet"),
            launch: launch(
                "kubelet",
                toolchain.binary("KUBELET")?,
                vec![
                    format!("--config={}", path(files.kubelet_config())),
                    format!("--kubeconfig={}", path(files.kubelet_kubeconfig())),
                    format!("--hostname-override={}", node.name),
                    format!("--node-ip={}", node.ip),
                    format!("--node-labels=topology.kubernetes.io/zone={}", node.zone),
                    "--root-dir=/var/lib/kubelet".into(),
                    "--v=1".into(),
                ],
            ),
            probe: Probe::Http { address: node.ip, port: 10248, path: "/healthz" },
            startup_timeout: Duration::from_secs(60),
        };
        let kube_proxy = Component {
            name: Self::component_name(node, "kube-proxy"),
            launch: launch(
                "kube-proxy",
                toolchain.binary("KUBE_PROXY")?,
                vec![format!("--config={}", path(files.kube_proxy_config())), "--v=1".into()],
            ),
            probe: Probe::Http { address: node.ip, port: 10256, path: "/healthz" },
            startup_timeout: Duration::from_secs(60),
        };
        Ok(vec![containerd, kubelet, kube_proxy])
    }

    /// Imports every image archive listed in `images_list` (lines `<archive> <image>
    /// [<other name>...]`) that this node's containerd has not imported yet (archives are named
    /// by their content, so a rebuilt image is a new file), tags it with its other names and
    /// pins it: kubelet never garbage-collects a pinned image, and none could be pulled again.
    pub fn import_images(&self, node: &NodeSpec, toolchain: &Toolchain, images_list: &Path) -> Result<()> {
        let files = self.files(node);
        let record = files.dir.join("containerd/imported");
        let imported = std::fs::read_to_string(&record).unwrap_or_default();
        let wanted = std::fs::read_to_string(images_list)
            .with_context(|| format!("failed to read {}", images_list.display()))?;
        let ctr = toolchain.binary("CTR")?;
        let socket = files.containerd_socket();
        let ctr_command = |args: &[&str]| {
            let mut command = Command::new(&ctr);
            command.arg("--address").arg(&socket).args(["--namespace", "k8s.io"]).args(args);
            command
        };
        let pending: Vec<&str> = wanted
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .filter(|line| !imported.lines().any(|done| Some(done) == line.split_whitespace().next()))
            .collect();
        ensure_disk_space(&files.dir, &node.name, &pending)?;
        for line in pending {
            let mut words = line.split_whitespace();
            let (Some(archive), Some(image)) = (words.next(), words.next()) else {
                bail!("{}: `{line}` is not `<archive> <image> [<other name>...]`", images_list.display());
            };
            run(ctr_command(&["images", "import", archive]))
                .with_context(|| format!("failed to import {archive} into {}", node.name))?;
            for other_name in words {
                run(ctr_command(&["images", "tag", "--force", image, other_name]))?;
            }
            for name in line.split_whitespace().skip(1) {
                run(ctr_command(&["images", "label", name, "io.cri-containerd.pinned=pinned"]))?;
            }
            let mut record_file = std::fs::OpenOptions::new().create(true).append(true).open(&record)?;
            std::io::Write::write_all(&mut record_file, format!("{archive}\n").as_bytes())?;
        }
        Ok(())
    }

    /// Stops the node's daemons, kills what they leave (containerd's shims, the containers),
    /// removes the node's cgroup, then stops the holder, which ends the mount namespace.
    pub fn stop(&self, node: &NodeSpec) -> Result<()> {
        for (part, grace) in STOP_ORDER {
            let name = Self::component_name(node, part);
            if let Some(pid) = process::stop(&self.layout.pid_file(&name), grace)? {
                println!("{name}: stopped (pid {pid})");
            }
        }
        cgroups::remove(&node.cgroup_root)?;
        let holder_pid_file = self.layout.pid_file(&Self::component_name(node, "namespaces"));
        if let Some(holder) = process::running_pid(&holder_pid_file) {
            kill_mount_namespace_members(holder)?;
        }
        let name = Self::component_name(node, "namespaces");
        if let Some(pid) = process::stop(&holder_pid_file, Duration::from_secs(5))? {
            println!("{name}: stopped (pid {pid})");
        }
        Ok(())
    }
}

/// containerd's shims detach from containerd: they are found by the mount namespace they
/// share with the holder.
fn kill_mount_namespace_members(holder: i32) -> Result<()> {
    let namespace = std::fs::read_link(format!("/proc/{holder}/ns/mnt"))?;
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        if pid == holder {
            continue;
        }
        if std::fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|ns| ns == namespace) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    Ok(())
}

/// Writes only what changed: kube-proxy exits when its configuration file is written to.
fn write(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|current| current == text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

fn run(mut command: Command) -> Result<()> {
    let output = command.output().with_context(|| format!("failed to run {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Room kept free beside the images: the pods' volumes, logs and containerd's own state.
const DISK_MARGIN: u64 = 2 << 30;

/// Fails, naming the sizes, unless `dir`'s file system can take the `pending` image lines:
/// containerd keeps each layer twice (the archive's blob and the unpacked snapshot), and a
/// disk that fills half-way through an import fails later steps in ways that hide the cause.
fn ensure_disk_space(dir: &Path, node: &str, pending: &[&str]) -> Result<()> {
    let archives: u64 = pending
        .iter()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|archive| std::fs::metadata(archive).ok())
        .map(|metadata| metadata.len())
        .sum();
    if archives == 0 {
        return Ok(());
    }
    let stats = nix::sys::statvfs::statvfs(dir).with_context(|| format!("failed to stat {}", dir.display()))?;
    let free = stats.blocks_available() * stats.fragment_size();
    let needed = 2 * archives + DISK_MARGIN;
    if free < needed {
        let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
        bail!(
            "{node}: importing {} images needs about {:.1} GiB on {}, {:.1} GiB are free; free space \
             first (e2e/prune-target-dirs removes other checkouts' build directories; `e2e/testbed down \
             --purge` in another checkout removes its nodes' images)",
            pending.len(),
            gib(needed),
            dir.display(),
            gib(free)
        );
    }
    Ok(())
}
