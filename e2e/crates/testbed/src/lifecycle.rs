//! `up`, `down` and `status`: start the components in order and wait for each to be
//! healthy, stop them in reverse order, report their state.

use std::net::TcpListener;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::addons;
use crate::components::{self, Component};
use crate::health::{Probe, Prober};
use crate::host_exec;
use crate::kubeconfig;
use crate::kubelet_nodes::KubeletNodes;
use crate::layout::Layout;
use crate::network;
use crate::pki::Pki;
use crate::process;
use crate::settings::Settings;
use crate::toolchain::{self, Toolchain};

/// Everything the commands need, built once.
pub struct TestBed {
    layout: Layout,
    settings: Settings,
    pki: Pki,
}

impl TestBed {
    pub fn new(layout: Layout, settings: Settings) -> Self {
        let pki = Pki::at(&layout.pki(), &settings);
        Self { layout, settings, pki }
    }

    fn kubelet_nodes(&self) -> KubeletNodes<'_> {
        KubeletNodes { layout: &self.layout, settings: &self.settings, pki: &self.pki }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Starts whatever is not running yet; returns quickly when all of it is.
    pub fn up(&self) -> Result<()> {
        let started_at = Instant::now();
        self.layout.create_dirs()?;
        self.forget_state_of_other_settings()?;
        // The apiserver listens on the host's end of the nodes' bridge.
        network::ensure(&self.settings)?;
        if self.pki.ensure()? {
            println!("generated certificates in {}", self.layout.pki().display());
        }
        self.write_kubeconfigs()?;
        let prober = self.admin_prober()?;
        let toolchain = Toolchain::load()?;

        for component in components::control_plane(&self.layout, &self.pki, &toolchain, &self.settings)? {
            self.ensure_running(&component, &prober)?;
        }
        self.wait_for_default_service_account(&prober)?;
        self.cert_manager_up(&toolchain, &prober)?;

        self.kubelet_nodes_up(&toolchain, &prober)?;

        println!(
            "test bed up in {:.1}s; export KUBECONFIG={}",
            started_at.elapsed().as_secs_f64(),
            self.layout.admin_kubeconfig().display()
        );
        Ok(())
    }

    /// cert-manager's CRDs (server-side applied on every `up`: cheap, and a newer bootstrap's
    /// CRDs replace older ones), its namespace, then its controller. Skipped with a note when
    /// the bootstrap has not built it (`e2e/bootstrap/bootstrap.sh cert-manager`).
    fn cert_manager_up(&self, toolchain: &Toolchain, prober: &Prober) -> Result<()> {
        let (Some(controller), Ok(crds)) =
            (components::cert_manager(&self.layout, toolchain), toolchain.directory("CERT_MANAGER_CRDS"))
        else {
            println!("cert-manager: not bootstrapped, skipped (e2e/bootstrap/bootstrap.sh cert-manager)");
            return Ok(());
        };
        let started = Instant::now();
        let manifest = addons::cert_manager_manifest(&crds, components::CERT_MANAGER_NAMESPACE)?;
        addons::apply(&toolchain.binary("KUBECTL")?, &self.layout.admin_kubeconfig(), &manifest)?;
        println!("cert-manager: CRDs applied in {:.1}s", started.elapsed().as_secs_f64());
        self.ensure_running(&controller, prober)
    }

    /// Starts each node's holder, containerd (and imports the images), kubelet and kube-proxy,
    /// then cluster DNS, and waits until every node is Ready.
    fn kubelet_nodes_up(&self, toolchain: &Toolchain, prober: &Prober) -> Result<()> {
        let nodes = self.kubelet_nodes();
        let images_list = toolchain.file("TESTBED_IMAGES")?;
        for certs in &self.pki.nodes {
            nodes.prepare(certs, toolchain)?;
            self.ensure_running(&nodes.holder(&certs.node)?, prober)?;
            let mut daemons = nodes.daemons(&certs.node, toolchain)?.into_iter();
            let containerd = daemons.next().expect("containerd comes first");
            self.ensure_running(&containerd, prober)?;
            let started = Instant::now();
            nodes.import_images(&certs.node, toolchain, &images_list)?;
            println!("{}: images imported in {:.1}s", certs.node.name, started.elapsed().as_secs_f64());
            for daemon in daemons {
                self.ensure_running(&daemon, prober)?;
            }
        }
        let kafka_home = host_exec::default_kafka_home(&toolchain::cache_dir());
        host_exec::prepare(&self.layout, &self.settings, kafka_home.as_deref())?;
        let kubectl = toolchain.binary("KUBECTL")?;
        let kubeconfig = self.layout.admin_kubeconfig();
        addons::apply(&kubectl, &kubeconfig, &addons::coredns_manifest(&self.settings))?;
        let volume_dirs = addons::VolumeDirs {
            shared: self.layout.base.join("volumes"),
            per_node: self
                .settings
                .nodes()
                .into_iter()
                .map(|node| {
                    let dir = self.layout.nodes().join(&node.name).join("volumes");
                    (node.name, dir)
                })
                .collect(),
        };
        for dir in std::iter::once(&volume_dirs.shared).chain(volume_dirs.per_node.iter().map(|(_, dir)| dir)) {
            std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
        }
        addons::apply(&kubectl, &kubeconfig, &addons::local_path_manifest(&volume_dirs))?;
        let metallb = toolchain.file("METALLB_MANIFEST")?;
        let released =
            std::fs::read_to_string(&metallb).with_context(|| format!("failed to read {}", metallb.display()))?;
        addons::apply(&kubectl, &kubeconfig, &addons::metallb_manifest(&released)?)?;
        let started = Instant::now();
        addons::wait(&kubectl, &kubeconfig, &["--for=condition=Ready", "node", "--all", "--timeout=120s"])?;
        addons::wait(
            &kubectl,
            &kubeconfig,
            &["--for=condition=Established", "crd/ipaddresspools.metallb.io", "crd/l2advertisements.metallb.io"],
        )?;
        addons::apply(&kubectl, &kubeconfig, &addons::metallb_pool_manifest(&self.settings.load_balancer_pool()))?;
        // After a restart the API still shows the old pods ready: only an answer counts.
        self.wait_for_cluster_dns()?;
        println!("nodes Ready and cluster DNS answering after {:.1}s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Until the host resolves the `kubernetes` Service through kube-proxy and CoreDNS, as
    /// every `testbed exec` command will.
    fn wait_for_cluster_dns(&self) -> Result<()> {
        let name = "kubernetes.default.svc.cluster.local";
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let output = std::process::Command::new(std::env::current_exe()?)
                .arg("--root")
                .arg(&self.layout.root)
                .args(["exec", "--", "getent", "hosts", name])
                .output()
                .context("failed to run testbed exec")?;
            if output.status.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "cluster DNS does not answer for {name} after 120 s: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The state under target/testbed (etcd's objects, certificates) holds addresses of the
    /// settings it was made with: made for other settings, it goes, unless it is in use.
    fn forget_state_of_other_settings(&self) -> Result<()> {
        let file = self.layout.settings_file();
        let wanted = self.settings.fingerprint();
        let recorded = std::fs::read_to_string(&file).unwrap_or_default();
        if recorded.trim() == wanted {
            return Ok(());
        }
        if !recorded.is_empty() {
            if process::running_pid(&self.layout.pid_file("kube-apiserver")).is_some() {
                bail!(
                    "the running test bed was started with `{}`, not `{wanted}`: stop it first (e2e/testbed down)",
                    recorded.trim()
                );
            }
            println!("state made for `{}`: removing etcd's data and the certificates", recorded.trim());
            for dir in [self.layout.etcd_data(), self.layout.pki()] {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).with_context(|| format!("failed to remove {}", dir.display()))?;
                }
            }
            self.layout.create_dirs()?;
        }
        std::fs::write(&file, format!("{wanted}\n")).with_context(|| format!("failed to write {}", file.display()))
    }

    /// Imports the image archives of `images_list` (testbed.list's format) into every node's
    /// containerd, pinned, skipping what a node has imported already: how images built after
    /// `up` (our deployables, e2e/images/deployables.sh) reach the nodes.
    pub fn import_images(&self, images_list: &Path) -> Result<()> {
        let toolchain = Toolchain::load()?;
        let nodes = self.kubelet_nodes();
        for certs in &self.pki.nodes {
            let started = Instant::now();
            nodes.import_images(&certs.node, &toolchain, images_list)?;
            println!(
                "{}: {} imported in {:.1}s",
                certs.node.name,
                images_list.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Stops the nodes first (they stop pods), then the control plane in reverse order, then
    /// removes the nodes' network.
    pub fn down(&self, purge: bool) -> Result<()> {
        for node in self.settings.nodes() {
            self.kubelet_nodes().stop(&node)?;
        }
        // cert-manager before the apiserver it talks to.
        let stop_order =
            std::iter::once(("cert-manager", Duration::from_secs(10))).chain(components::CONTROL_PLANE_STOP_ORDER);
        for (name, grace) in stop_order {
            let started = Instant::now();
            match process::stop(&self.layout.pid_file(name), grace)? {
                Some(pid) => println!("{name}: stopped (pid {pid}) in {:.1}s", started.elapsed().as_secs_f64()),
                None => println!("{name}: not running"),
            }
        }
        if purge && self.layout.base.exists() {
            std::fs::remove_dir_all(&self.layout.base)
                .with_context(|| format!("failed to remove {}", self.layout.base.display()))?;
            println!("removed {}", self.layout.base.display());
        }
        network::remove(&self.settings)?;
        Ok(())
    }

    /// Prints one line per component; fails when any is down or unhealthy.
    pub fn status(&self) -> Result<()> {
        let prober = self.admin_prober().ok();
        let toolchain = Toolchain::load()?;
        let mut components = components::control_plane(&self.layout, &self.pki, &toolchain, &self.settings)?;
        components.extend(components::cert_manager(&self.layout, &toolchain));
        let nodes = self.kubelet_nodes();
        for node in self.settings.nodes() {
            components.push(nodes.holder(&node)?);
            components.extend(nodes.daemons(&node, &toolchain)?);
        }
        let mut healthy = true;
        for component in &components {
            let line = match process::running_pid(&component.launch.pid_file) {
                None => {
                    healthy = false;
                    "not running".to_string()
                }
                Some(pid) => match prober.as_ref().map(|p| p.check(&component.probe)) {
                    Some(Ok(())) => format!("running (pid {pid}), healthy"),
                    Some(Err(error)) => {
                        healthy = false;
                        format!("running (pid {pid}), unhealthy: {error:#}")
                    }
                    None => format!("running (pid {pid}), no certificates to probe with"),
                },
            };
            println!("{:<28} {line}", component.name);
        }
        println!("{:<28} {}", "kubeconfig", self.layout.admin_kubeconfig().display());
        if !healthy {
            bail!("the test bed is not fully up; see {}", self.layout.logs().display());
        }
        Ok(())
    }

    fn write_kubeconfigs(&self) -> Result<()> {
        let server = self.settings.apiserver_url();
        let ca = &self.pki.ca.cert;
        kubeconfig::write(&self.layout.admin_kubeconfig(), &server, ca, &self.pki.admin)?;
        let dir = self.layout.kubeconfigs();
        kubeconfig::write(
            &dir.join("kube-controller-manager.kubeconfig"),
            &server,
            ca,
            &self.pki.controller_manager_client,
        )?;
        kubeconfig::write(&dir.join("kube-scheduler.kubeconfig"), &server, ca, &self.pki.scheduler_client)
    }

    fn admin_prober(&self) -> Result<Prober> {
        Prober::new(&self.pki.ca.cert, &self.pki.admin)
    }

    fn ensure_running(&self, component: &Component, prober: &Prober) -> Result<()> {
        if let Some(pid) = process::running_pid(&component.launch.pid_file) {
            wait_healthy(component, prober, None)?;
            println!("{}: already running (pid {pid})", component.name);
            return Ok(());
        }
        // Otherwise a foreign process on the port (say, another test bed's etcd) would
        // answer our health probe.
        if let Probe::Http { address, port, .. } | Probe::Https { address, port, .. } = component.probe
            && component.launch.namespaces_of.is_none()
            && TcpListener::bind((address, port)).is_err()
        {
            bail!(
                "{}: port {port} on {address} is taken by a process that is not this test bed's \
                 (another test bed? `ss -ltnp sport = :{port}` shows it)",
                component.name
            );
        }
        let started = Instant::now();
        let mut attempt = 1;
        let mut child = process::spawn(&component.launch)?;
        while let Err(error) = wait_healthy(component, prober, Some(&mut child)) {
            let exited = child.try_wait()?.is_some();
            let _ = process::stop(&component.launch.pid_file, Duration::from_secs(5));
            let _ = child.wait();
            if exited && attempt < START_ATTEMPTS {
                // A daemon may exit on a neighbour that is not quite ready: a kubelet started
                // the moment containerd's socket accepts can be told "server is not
                // initialized yet" by the CRI plugin, which is still loading its state.
                println!("{}: exited while starting ({error:#}); starting it again", component.name);
                std::thread::sleep(Duration::from_secs(2));
                attempt += 1;
                child = process::spawn(&component.launch)?;
                continue;
            }
            return Err(error.context(format!(
                "{} did not become healthy; last lines of {}:\n{}",
                component.name,
                component.launch.log_file.display(),
                log_tail(&component.launch.log_file, 20)
            )));
        }
        println!(
            "{}: started (pid {}), healthy after {:.1}s",
            component.name,
            child.id(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Pods are rejected until the service-account controller created `default`, so
    /// `up` only returns once the cluster can take a pod.
    fn wait_for_default_service_account(&self, prober: &Prober) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let path = "/api/v1/namespaces/default/serviceaccounts/default";
            match prober.get(self.settings.apiserver_address(), self.settings.apiserver_port(), path, true) {
                Ok((200, _)) => return Ok(()),
                result if Instant::now() >= deadline => {
                    bail!("the default service account never appeared (last answer: {result:?})")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

/// How often a component that exits while starting is started before `up` gives up.
const START_ATTEMPTS: u32 = 3;

/// Polls the probe until it succeeds; when `child` is ours, an early exit fails at once.
/// A component without an endpoint must stay alive for its whole startup window.
fn wait_healthy(component: &Component, prober: &Prober, mut child: Option<&mut Child>) -> Result<()> {
    let deadline = Instant::now() + component.startup_timeout;
    if matches!(component.probe, Probe::Alive) {
        let Some(child) = child else { return Ok(()) };
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                bail!("{} exited with {status}", component.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(());
    }
    loop {
        let last_error = match prober.check(&component.probe) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if let Some(child) = child.as_deref_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!("{} exited with {status}", component.name);
        }
        if Instant::now() >= deadline {
            return Err(last_error.context(format!(
                "{} not healthy after {}s",
                component.name,
                component.startup_timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
