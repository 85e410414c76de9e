//! Readiness, liveness and startup probes (exec via nsenter, tcpSocket, httpGet).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use k8s_openapi::{
    api::core::v1::{Container, ObjectReference, Probe},
    apimachinery::pkg::util::intstr::IntOrString,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::Command,
    task::JoinHandle,
    time::{sleep, timeout},
};

use crate::context::Context;

#[derive(Debug, Default, Clone)]
pub struct ProbeState {
    pub started: bool,
    pub ready: bool,
    /// Set when liveness (or startup) failed: the worker restarts the container.
    pub failed: Option<String>,
}

pub struct ProbeTarget {
    pub pid: u32,
    pub ip: String,
    pub env: Vec<(String, String)>,
}

pub fn spawn(
    ctx: Arc<Context>,
    reference: ObjectReference,
    container: Container,
    target: ProbeTarget,
) -> (Arc<Mutex<ProbeState>>, JoinHandle<()>) {
    let state = Arc::new(Mutex::new(ProbeState {
        started: container.startup_probe.is_none(),
        ready: container.readiness_probe.is_none(),
        failed: None,
    }));
    let shared = state.clone();
    let handle = tokio::spawn(async move {
        let target = Arc::new(target);
        let mut tasks = Vec::new();
        if let Some(probe) = container.startup_probe.clone() {
            tasks.push(tokio::spawn(run(
                ctx.clone(),
                reference.clone(),
                container.clone(),
                probe,
                Kind::Startup,
                target.clone(),
                shared.clone(),
            )));
        }
        if let Some(probe) = container.readiness_probe.clone() {
            tasks.push(tokio::spawn(run(
                ctx.clone(),
                reference.clone(),
                container.clone(),
                probe,
                Kind::Readiness,
                target.clone(),
                shared.clone(),
            )));
        }
        if let Some(probe) = container.liveness_probe.clone() {
            tasks.push(tokio::spawn(run(
                ctx.clone(),
                reference.clone(),
                container.clone(),
                probe,
                Kind::Liveness,
                target.clone(),
                shared.clone(),
            )));
        }
        let _guard = AbortOnDrop(tasks);
        std::future::pending::<()>().await;
    });
    (state, handle)
}

struct AbortOnDrop(Vec<JoinHandle<()>>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Startup,
    Readiness,
    Liveness,
}

async fn run(
    ctx: Arc<Context>,
    reference: ObjectReference,
    container: Container,
    probe: Probe,
    kind: Kind,
    target: Arc<ProbeTarget>,
    state: Arc<Mutex<ProbeState>>,
) {
    let seconds = |v: Option<i32>, default: i32| Duration::from_secs(v.unwrap_or(default).max(0) as u64);
    let period = seconds(probe.period_seconds, 10).max(Duration::from_secs(1));
    let probe_timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    let success_threshold = probe.success_threshold.unwrap_or(1).max(1);
    let failure_threshold = probe.failure_threshold.unwrap_or(3).max(1);
    sleep(seconds(probe.initial_delay_seconds, 0)).await;
    let (mut successes, mut failures) = (0, 0);
    loop {
        let started = state.lock().map(|s| s.started).unwrap_or(false);
        if kind != Kind::Startup && !started {
            sleep(Duration::from_millis(500)).await;
            continue;
        }
        let outcome = match timeout(probe_timeout, check(&probe, &container, &target)).await {
            Ok(result) => result,
            Err(_) => Err(format!("timeout after {}s", probe_timeout.as_secs())),
        };
        match outcome {
            Ok(()) => {
                successes += 1;
                failures = 0;
                if successes >= success_threshold {
                    if let Ok(mut s) = state.lock() {
                        match kind {
                            Kind::Startup => s.started = true,
                            Kind::Readiness => s.ready = true,
                            Kind::Liveness => {}
                        }
                    }
                    if kind == Kind::Startup {
                        return;
                    }
                }
            }
            Err(message) => {
                failures += 1;
                successes = 0;
                ctx.event(&reference, true, "Unhealthy", format!("{kind:?} probe failed: {message}")).await;
                if failures >= failure_threshold {
                    if let Ok(mut s) = state.lock() {
                        match kind {
                            Kind::Readiness => s.ready = false,
                            Kind::Startup | Kind::Liveness => {
                                s.failed = Some(format!(
                                    "Container {} failed {kind:?} probe, will be restarted",
                                    container.name
                                ));
                            }
                        }
                    }
                    if kind != Kind::Readiness {
                        return;
                    }
                }
            }
        }
        sleep(period).await;
    }
}

fn port_number(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|e| e.to_string()),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("port {name} not found")),
    }
}

async fn check(probe: &Probe, container: &Container, target: &ProbeTarget) -> Result<(), String> {
    if let Some(exec) = &probe.exec {
        return exec_in(target, exec.command.as_deref().unwrap_or_default()).await;
    }
    if let Some(tcp) = &probe.tcp_socket {
        let host = tcp.host.clone().unwrap_or_else(|| target.ip.clone());
        let port = port_number(&tcp.port, container)?;
        return TcpStream::connect((host.as_str(), port))
            .await
            .map(|_| ())
            .map_err(|e| format!("dial tcp {host}:{port}: {e}"));
    }
    if let Some(http) = &probe.http_get {
        let host = http.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| target.ip.clone());
        let port = port_number(&http.port, container)?;
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> =
            http.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect();
        return http_get(&host, port, &path, &headers).await;
    }
    if let Some(grpc) = &probe.grpc {
        return TcpStream::connect((target.ip.as_str(), grpc.port as u16)).await.map(|_| ()).map_err(|e| e.to_string());
    }
    Err("probe has no handler".into())
}

/// Runs a command inside the container's namespaces (like `kubectl exec`).
pub async fn exec_in(target: &ProbeTarget, command: &[String]) -> Result<(), String> {
    let output = Command::new("nsenter")
        .args(["--target", &target.pid.to_string(), "--mount", "--net", "--uts", "--"])
        .args(command)
        .env_clear()
        .envs(target.env.iter().cloned())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        Err(format!("command {command:?} exited with {}: {}", output.status, text.trim()))
    }
}

/// A minimal HTTP/1.1 GET: success is a status in 200..400, as for the kubelet.
pub async fn http_get(host: &str, port: u16, path: &str, headers: &[(String, String)]) -> Result<(), String> {
    let mut stream =
        TcpStream::connect((host, port)).await.map_err(|e| format!("Get http://{host}:{port}{path}: {e}"))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.34\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut head = vec![0u8; 64];
    let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]).into_owned();
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("malformed HTTP response")?;
    if (200..400).contains(&status) { Ok(()) } else { Err(format!("HTTP probe failed with statuscode: {status}")) }
}
