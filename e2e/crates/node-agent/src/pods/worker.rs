//! One task per pod: sandbox, volumes, init and app containers, restarts,
//! probes, status and graceful deletion — the kubelet's pod worker.

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::core::v1::{Container, Pod},
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, Preconditions},
};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::{process::Child, sync::watch, task::JoinHandle, time::sleep};

use super::{
    container::{self, CreateError, PodRuntime},
    probes::{self, ProbeState, ProbeTarget},
    status::{Conditions, ContainerState, ContainerView, Termination, container_status},
    volumes::{self, VolumeState},
};
use crate::{
    context::{Context, field_reference, pod_reference},
    env::RuntimeFacts,
    network::{self, NodeInfo},
};

const VOLUME_RESYNC: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const SHUTDOWN_GRACE_CAP: i64 = 10;

struct Process {
    child: Child,
    pid: u32,
    probes: Arc<Mutex<ProbeState>>,
    probe_task: JoinHandle<()>,
    env: Vec<(String, String)>,
    kill_deadline: Option<Instant>,
    started_at: String,
}

struct Slot {
    spec: Container,
    init: bool,
    state: ContainerState,
    last_termination: Option<Termination>,
    restart_count: i32,
    ever_started: bool,
    image_id: String,
    process: Option<Process>,
    next_attempt: Instant,
    failures: u32,
    done: bool,
    last_event: String,
}

impl Slot {
    fn new(spec: Container, init: bool) -> Self {
        Self {
            spec,
            init,
            state: ContainerState::Waiting {
                reason: if init { "PodInitializing" } else { "ContainerCreating" }.into(),
                message: String::new(),
            },
            last_termination: None,
            restart_count: 0,
            ever_started: false,
            image_id: String::new(),
            process: None,
            next_attempt: Instant::now(),
            failures: 0,
            done: false,
            last_event: String::new(),
        }
    }

    fn ready(&self) -> bool {
        self.process.as_ref().is_some_and(|p| p.probes.lock().map(|s| s.started && s.ready).unwrap_or(false))
    }

    fn backoff(&mut self) -> Duration {
        self.failures += 1;
        (Duration::from_secs(10) * 2u32.saturating_pow(self.failures.saturating_sub(1))).min(MAX_BACKOFF)
    }
}

pub struct Worker {
    ctx: Arc<Context>,
    rx: watch::Receiver<Option<Pod>>,
    pod: Pod,
    node: NodeInfo,
    uid: String,
    pod_dir: PathBuf,
    ip: Option<Ipv4Addr>,
    netns: Option<String>,
    volumes: VolumeState,
    volumes_synced: Option<Instant>,
    slots: Vec<Slot>,
    start_time: String,
    conditions: Conditions,
    last_status: Option<Value>,
    terminal: bool,
    init_failed: bool,
}

fn now() -> String {
    Timestamp::now().to_string()
}

impl Worker {
    pub fn new(ctx: Arc<Context>, rx: watch::Receiver<Option<Pod>>, pod: Pod, node: NodeInfo) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let mut slots: Vec<Slot> = spec.init_containers.iter().flatten().map(|c| Slot::new(c.clone(), true)).collect();
        slots.extend(spec.containers.iter().map(|c| Slot::new(c.clone(), false)));
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        let start_time =
            pod.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0.to_string()).unwrap_or_else(now);
        Self {
            pod_dir: ctx.state_dir.join("pods").join(&uid),
            ctx,
            rx,
            node,
            uid,
            ip: None,
            netns: None,
            volumes: VolumeState::default(),
            volumes_synced: None,
            slots,
            start_time,
            conditions: Conditions::default(),
            last_status: None,
            terminal: phase == "Succeeded" || phase == "Failed",
            init_failed: false,
            pod,
        }
    }

    fn name(&self) -> String {
        format!(
            "{}/{}",
            self.pod.metadata.namespace.as_deref().unwrap_or(""),
            self.pod.metadata.name.as_deref().unwrap_or("")
        )
    }

    pub async fn run(mut self) {
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            if *shutdown.borrow() {
                let grace = self.grace_seconds().min(SHUTDOWN_GRACE_CAP);
                self.stop_all(grace).await;
                self.teardown().await;
                return;
            }
            let Some(pod) = self.rx.borrow().clone() else {
                self.stop_all(0).await;
                self.teardown().await;
                return;
            };
            self.pod = pod;
            if self.pod.metadata.deletion_timestamp.is_some() {
                self.stop_all(self.grace_seconds()).await;
                self.teardown().await;
                self.confirm_deletion().await;
                return;
            }
            if !self.terminal {
                self.step().await;
            }
            self.publish_status().await;
            tokio::select! {
                changed = self.rx.changed() => if changed.is_err() { self.rx = watch::channel(None).1; },
                _ = shutdown.changed() => {},
                _ = sleep(TICK) => {},
            }
        }
    }

    fn grace_seconds(&self) -> i64 {
        self.pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| self.pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(0)
    }

    fn host_network(&self) -> bool {
        self.pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false)
    }

    fn hostname(&self) -> String {
        let spec = self.pod.spec.as_ref();
        spec.and_then(|s| s.hostname.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| self.pod.metadata.name.clone().unwrap_or_default())
    }

    async fn ensure_sandbox(&mut self) -> bool {
        if self.ip.is_some() {
            return true;
        }
        let reference = pod_reference(&self.pod);
        if self.host_network() {
            self.ip = Some(self.node.internal_ip());
        } else {
            let Some(ip) = self.ctx.ips.allocate(&self.node) else {
                self.ctx.event(&reference, true, "FailedCreatePodSandBox", "pod CIDR exhausted".into()).await;
                return false;
            };
            match network::setup_pod(&self.uid, ip).await {
                Ok(netns) => {
                    self.netns = Some(netns);
                    self.ip = Some(ip);
                }
                Err(error) => {
                    self.ctx.ips.release(ip);
                    network::teardown_pod(&self.uid).await;
                    self.ctx.event(&reference, true, "FailedCreatePodSandBox", format!("{error:#}")).await;
                    return false;
                }
            }
        }
        if let Err(error) = self.write_etc_files() {
            tracing::warn!(pod = %self.name(), %error, "failed to write /etc files");
        }
        true
    }

    fn write_etc_files(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.pod_dir)?;
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let hostname = self.hostname();
        let ip = self.ip.map(|i| i.to_string()).unwrap_or_default();
        let subdomain = self.pod.spec.as_ref().and_then(|s| s.subdomain.clone()).filter(|s| !s.is_empty());
        let names = match subdomain {
            Some(sub) => format!("{hostname}.{sub}.{namespace}.svc.cluster.local\t{hostname}"),
            None => hostname.clone(),
        };
        let hosts = format!(
            "# Kubernetes-managed hosts file (node-agent).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{ip}\t{names}\n"
        );
        std::fs::write(self.pod_dir.join("hosts"), hosts)?;
        std::fs::write(
            self.pod_dir.join("resolv.conf"),
            format!(
                "search {namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver {}\noptions ndots:5\n",
                network::BRIDGE_IP
            ),
        )?;
        std::fs::write(self.pod_dir.join("hostname"), format!("{hostname}\n"))?;
        std::fs::create_dir_all(self.pod_dir.join("containers"))
    }

    async fn step(&mut self) {
        if !self.ensure_sandbox().await {
            return;
        }
        let due = self.volumes_synced.is_none_or(|t| t.elapsed() >= VOLUME_RESYNC);
        if due {
            let ip = self.ip.map(|i| i.to_string()).unwrap_or_default();
            let host_ip = self.node.internal_ip().to_string();
            let facts = RuntimeFacts { pod_ip: &ip, host_ip: &host_ip };
            match volumes::sync(&self.ctx, &self.pod, &self.pod_dir, &facts, &mut self.volumes).await {
                Ok(()) => self.volumes_synced = Some(Instant::now()),
                Err(message) if self.volumes_synced.is_none() => {
                    if self.slots.first().is_some_and(|s| s.last_event != message) {
                        self.ctx.event(&pod_reference(&self.pod), true, "FailedMount", message.clone()).await;
                        if let Some(first) = self.slots.first_mut() {
                            first.last_event = message;
                        }
                    }
                    return;
                }
                Err(message) => tracing::warn!(pod = %self.name(), %message, "volume refresh failed"),
            }
        }
        for index in 0..self.slots.len() {
            if self.slots[index].init {
                if self.slots[index].done {
                    continue;
                }
                self.drive(index).await;
                if !self.slots[index].done {
                    return;
                }
            } else {
                self.drive(index).await;
            }
        }
        let mains = self.slots.iter().filter(|s| !s.init);
        if self.init_failed || mains.clone().all(|s| s.done) {
            self.terminal = true;
            self.release_network().await;
        }
    }

    fn restart_policy(&self) -> String {
        self.pod.spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into())
    }

    async fn drive(&mut self, index: usize) {
        let policy = self.restart_policy();
        let reference = field_reference(&self.pod, &self.slots[index].spec.name);
        let slot = &mut self.slots[index];
        if let Some(process) = slot.process.as_mut() {
            match process.child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9));
                    let finished = Termination {
                        exit_code: code,
                        reason: if code == 0 { "Completed".into() } else { "Error".into() },
                        message: String::new(),
                        started_at: process.started_at.clone(),
                        finished_at: now(),
                    };
                    process.probe_task.abort();
                    slot.process = None;
                    let restart = match policy.as_str() {
                        "Never" => false,
                        "OnFailure" => code != 0,
                        _ => !slot.init || code != 0,
                    };
                    if slot.init && code == 0 {
                        slot.done = true;
                        slot.state = ContainerState::Terminated(finished);
                    } else if restart {
                        let delay = slot.backoff();
                        slot.last_termination = Some(finished);
                        slot.next_attempt = Instant::now() + delay;
                        let message = format!(
                            "back-off {}s restarting failed container={} pod={}",
                            delay.as_secs(),
                            slot.spec.name,
                            self.pod.metadata.name.as_deref().unwrap_or("")
                        );
                        slot.state =
                            ContainerState::Waiting { reason: "CrashLoopBackOff".into(), message: message.clone() };
                        self.ctx
                            .event(
                                &reference,
                                true,
                                "BackOff",
                                format!("Back-off restarting failed container {}", slot.spec.name),
                            )
                            .await;
                    } else {
                        slot.done = true;
                        if slot.init {
                            self.init_failed = true;
                        }
                        slot.state = ContainerState::Terminated(finished);
                    }
                }
                Ok(None) => {
                    let failed = process.probes.lock().ok().and_then(|s| s.failed.clone());
                    match (failed, process.kill_deadline) {
                        (Some(message), None) => {
                            let grace = self
                                .pod
                                .spec
                                .as_ref()
                                .and_then(|s| s.termination_grace_period_seconds)
                                .unwrap_or(30)
                                .max(0);
                            process.kill_deadline = Some(Instant::now() + Duration::from_secs(grace as u64));
                            container::signal_group(process.pid, Signal::SIGTERM);
                            self.ctx.event(&reference, false, "Killing", message).await;
                        }
                        (_, Some(deadline)) if Instant::now() >= deadline => {
                            container::signal_group(process.pid, Signal::SIGKILL)
                        }
                        _ => {}
                    }
                }
                Err(error) => tracing::warn!(%error, "try_wait failed"),
            }
            return;
        }
        if slot.done || Instant::now() < slot.next_attempt {
            return;
        }
        self.start(index).await;
    }

    async fn start(&mut self, index: usize) {
        let reference = field_reference(&self.pod, &self.slots[index].spec.name);
        let image_name = self.slots[index].spec.image.clone().unwrap_or_default();
        let image = match container::resolve_image(&self.ctx, &self.slots[index].spec) {
            Ok(image) => image,
            Err(CreateError::Image(message) | CreateError::Config(message) | CreateError::Other(message)) => {
                let slot = &mut self.slots[index];
                let reason = if slot.failures == 0 { "ErrImagePull" } else { "ImagePullBackOff" };
                let delay = slot.backoff();
                slot.next_attempt = Instant::now() + delay;
                slot.state = ContainerState::Waiting { reason: reason.into(), message: message.clone() };
                self.ctx
                    .event(&reference, true, "Failed", format!("Failed to pull image \"{image_name}\": {message}"))
                    .await;
                if reason == "ImagePullBackOff" {
                    self.ctx
                        .event(&reference, false, "BackOff", format!("Back-off pulling image \"{image_name}\""))
                        .await;
                }
                return;
            }
        };
        if self.slots[index].image_id.is_empty() {
            self.slots[index].image_id = image.image_id.clone();
            self.ctx
                .event(
                    &reference,
                    false,
                    "Pulled",
                    format!("Container image \"{image_name}\" already present on machine (mapped by images.yaml)"),
                )
                .await;
        }
        let ip = self.ip.map(|i| i.to_string()).unwrap_or_default();
        let host_ip = self.node.internal_ip().to_string();
        let runtime = PodRuntime {
            netns: self.netns.clone(),
            hostname: self.hostname(),
            pod_dir: self.pod_dir.clone(),
            volumes: &self.volumes.paths,
            facts: RuntimeFacts { pod_ip: &ip, host_ip: &host_ip },
        };
        let spec = container::build_spec(&self.ctx, &self.pod, &self.slots[index].spec, &image, &runtime);
        let spec = match spec {
            Ok(spec) => spec,
            Err(CreateError::Config(message) | CreateError::Image(message) | CreateError::Other(message)) => {
                let slot = &mut self.slots[index];
                slot.next_attempt = Instant::now() + Duration::from_secs(2);
                slot.state =
                    ContainerState::Waiting { reason: "CreateContainerConfigError".into(), message: message.clone() };
                if slot.last_event != message {
                    slot.last_event = message.clone();
                    self.ctx.event(&reference, true, "Failed", format!("Error: {message}")).await;
                }
                return;
            }
        };
        let slot = &mut self.slots[index];
        let name = slot.spec.name.clone();
        let pod_name = self.pod.metadata.name.clone().unwrap_or_default();
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let log = self.ctx.state_dir.join("logs").join(format!("{namespace}_{pod_name}_{name}.log"));
        let spec_path = self.pod_dir.join("containers").join(format!("{name}.json"));
        match container::spawn(&self.ctx, &spec, &spec_path, &log) {
            Ok(child) => {
                let pid = child.id().unwrap_or_default();
                let target = ProbeTarget { pid, ip: ip.clone(), env: spec.env.clone() };
                let (probes, probe_task) =
                    probes::spawn(self.ctx.clone(), reference.clone(), slot.spec.clone(), target);
                if slot.ever_started {
                    slot.restart_count += 1;
                }
                slot.ever_started = true;
                let started_at = now();
                slot.state = ContainerState::Running { started_at: started_at.clone() };
                slot.process =
                    Some(Process { child, pid, probes, probe_task, env: spec.env, kill_deadline: None, started_at });
                slot.last_event.clear();
                self.ctx.event(&reference, false, "Created", format!("Created container {name}")).await;
                self.ctx.event(&reference, false, "Started", format!("Started container {name}")).await;
            }
            Err(error) => {
                slot.next_attempt = Instant::now() + slot.backoff();
                slot.state = ContainerState::Waiting { reason: "RunContainerError".into(), message: error.to_string() };
                self.ctx.event(&reference, true, "Failed", format!("Error: {error}")).await;
            }
        }
    }

    /// preStop hooks, SIGTERM, wait up to the grace period, SIGKILL.
    async fn stop_all(&mut self, grace: i64) {
        let deadline = Instant::now() + Duration::from_secs(grace as u64);
        let mut hooks = Vec::new();
        for slot in &self.slots {
            let Some(process) = &slot.process else { continue };
            let reference = field_reference(&self.pod, &slot.spec.name);
            self.ctx.event(&reference, false, "Killing", format!("Stopping container {}", slot.spec.name)).await;
            let Some(pre_stop) = slot.spec.lifecycle.as_ref().and_then(|l| l.pre_stop.clone()) else { continue };
            if grace == 0 {
                continue;
            }
            let target = ProbeTarget {
                pid: process.pid,
                ip: self.ip.map(|i| i.to_string()).unwrap_or_default(),
                env: process.env.clone(),
            };
            hooks.push(async move {
                if let Some(exec) = &pre_stop.exec {
                    let _ = probes::exec_in(&target, exec.command.as_deref().unwrap_or_default()).await;
                } else if let Some(http) = &pre_stop.http_get {
                    if let k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(port) = http.port {
                        let host = http.host.clone().unwrap_or(target.ip.clone());
                        let _ = probes::http_get(&host, port as u16, http.path.as_deref().unwrap_or("/"), &[]).await;
                    }
                } else if let Some(sleep_action) = &pre_stop.sleep {
                    sleep(Duration::from_secs(sleep_action.seconds.max(0) as u64)).await;
                }
            });
        }
        let _ = tokio::time::timeout_at(deadline.into(), futures::future::join_all(hooks)).await;
        for slot in &self.slots {
            if let Some(process) = &slot.process {
                container::signal_group(process.pid, if grace == 0 { Signal::SIGKILL } else { Signal::SIGTERM });
            }
        }
        loop {
            let mut running = false;
            for slot in &mut self.slots {
                if let Some(process) = slot.process.as_mut() {
                    match process.child.try_wait() {
                        Ok(Some(_)) | Err(_) => {
                            process.probe_task.abort();
                            slot.process = None;
                        }
                        Ok(None) => running = true,
                    }
                }
            }
            if !running {
                return;
            }
            if Instant::now() >= deadline {
                for slot in &mut self.slots {
                    if let Some(mut process) = slot.process.take() {
                        container::signal_group(process.pid, Signal::SIGKILL);
                        let _ = process.child.kill().await;
                        process.probe_task.abort();
                    }
                }
                return;
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    async fn release_network(&mut self) {
        if let Some(ip) = self.ip.take() {
            if self.netns.take().is_some() {
                network::teardown_pod(&self.uid).await;
                self.ctx.ips.release(ip);
            }
            self.ip = Some(ip);
        }
    }

    async fn teardown(&mut self) {
        self.release_network().await;
        let _ = std::fs::remove_dir_all(&self.pod_dir);
    }

    async fn confirm_deletion(&self) {
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(self.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        if let Err(error) = api.delete(self.pod.metadata.name.as_deref().unwrap_or(""), &params).await {
            tracing::debug!(pod = %self.name(), %error, "final delete failed (already gone?)");
        }
    }

    fn phase(&self) -> &'static str {
        let mains: Vec<&Slot> = self.slots.iter().filter(|s| !s.init).collect();
        if self.init_failed {
            return "Failed";
        }
        if mains.iter().all(|s| s.done) {
            let ok = mains.iter().all(|s| matches!(&s.state, ContainerState::Terminated(t) if t.exit_code == 0));
            return if ok { "Succeeded" } else { "Failed" };
        }
        let initialized = self.slots.iter().filter(|s| s.init).all(|s| s.done);
        if initialized && mains.iter().any(|s| s.ever_started) { "Running" } else { "Pending" }
    }

    async fn publish_status(&mut self) {
        if self.terminal && self.last_status.is_some() {
            return;
        }
        let statuses = |init: bool| -> Vec<Value> {
            self.slots
                .iter()
                .filter(|s| s.init == init)
                .map(|s| {
                    container_status(&ContainerView {
                        name: &s.spec.name,
                        image: s.spec.image.as_deref().unwrap_or(""),
                        image_id: &s.image_id,
                        state: &s.state,
                        last_termination: s.last_termination.as_ref(),
                        ready: s.ready() || (s.init && s.done),
                        started: s
                            .process
                            .as_ref()
                            .is_some_and(|p| p.probes.lock().map(|x| x.started).unwrap_or(false)),
                        restart_count: s.restart_count,
                    })
                })
                .collect()
        };
        let initialized = self.slots.iter().filter(|s| s.init).all(|s| s.done);
        let ready = self.slots.iter().filter(|s| !s.init).all(Slot::ready) && !self.terminal;
        let stamp = now();
        let conditions = self.conditions.render(
            &stamp,
            &[("PodScheduled", true), ("Initialized", initialized), ("ContainersReady", ready), ("Ready", ready)],
        );
        let host_ip = self.node.internal_ip().to_string();
        let mut status = json!({
            "phase": self.phase(),
            "conditions": conditions,
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "startTime": self.start_time,
            "containerStatuses": statuses(false),
            "initContainerStatuses": statuses(true),
        });
        if let Some(ip) = self.ip {
            status["podIP"] = json!(ip.to_string());
            status["podIPs"] = json!([{"ip": ip.to_string()}]);
        }
        let comparable = strip_times(&status);
        if self.last_status.as_ref() == Some(&comparable) {
            return;
        }
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &namespace);
        let name = self.pod.metadata.name.clone().unwrap_or_default();
        // The uid makes the patch fail on a new pod that took this one's name (the cluster
        // controller names a broker's pod deterministically), as the kubelet checks the uid
        // before it writes a status: else the new pod would look Running and Ready at once.
        let patch = json!({"metadata": {"uid": self.uid}, "status": status});
        match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => self.last_status = Some(comparable),
            Err(error) => tracing::debug!(pod = %self.name(), %error, "status update failed"),
        }
    }
}

/// Condition timestamps alone never justify a write.
fn strip_times(status: &Value) -> Value {
    let mut copy = status.clone();
    if let Some(conditions) = copy.get_mut("conditions").and_then(Value::as_array_mut) {
        for condition in conditions {
            if let Some(object) = condition.as_object_mut() {
                object.remove("lastTransitionTime");
            }
        }
    }
    copy
}
