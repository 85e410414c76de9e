//! Turns a container spec into a sandbox spec and a running process.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Stdio,
};

use k8s_openapi::api::core::v1::{Container, Pod};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tokio::process::{Child, Command};

use crate::{
    context::Context,
    env::{RuntimeFacts, resolve_env},
    expand::expand,
    images::ResolvedImage,
    sandbox::{MountSpec, SandboxSpec},
};

/// Why a container could not be created: the kubelet's waiting reasons.
pub enum CreateError {
    Image(String),
    Config(String),
    Other(String),
}

pub struct PodRuntime<'a> {
    pub netns: Option<String>,
    pub hostname: String,
    pub pod_dir: PathBuf,
    pub volumes: &'a HashMap<String, PathBuf>,
    pub facts: RuntimeFacts<'a>,
}

pub fn resolve_image(ctx: &Context, container: &Container) -> Result<ResolvedImage, CreateError> {
    let image = container.image.as_deref().unwrap_or_default();
    ctx.images.current().resolve(image).map_err(|e| CreateError::Image(format!("{e:#}")))
}

pub fn build_spec(
    ctx: &Context,
    pod: &Pod,
    container: &Container,
    image: &ResolvedImage,
    runtime: &PodRuntime,
) -> Result<SandboxSpec, CreateError> {
    let mut env: Vec<(String, String)> = image.env.clone();
    let set = |env: &mut Vec<(String, String)>, k: String, v: String| match env.iter_mut().find(|(n, _)| *n == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k, v)),
    };
    if !env.iter().any(|(k, _)| k == "PATH") {
        set(&mut env, "PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    set(&mut env, "HOSTNAME".into(), runtime.hostname.clone());
    if let Some(api) = ctx.cache.service("default", "kubernetes") {
        let ip = api.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default();
        set(&mut env, "KUBERNETES_SERVICE_HOST".into(), ip);
        set(&mut env, "KUBERNETES_SERVICE_PORT".into(), "443".into());
    }
    let resolved = resolve_env(pod, container, &ctx.cache, &runtime.facts).map_err(CreateError::Config)?;
    for (k, v) in resolved {
        set(&mut env, k, v);
    }
    let lookup: HashMap<String, String> = env.iter().cloned().collect();
    let expand_all = |items: &[String]| items.iter().map(|s| expand(s, |n| lookup.get(n).cloned())).collect::<Vec<_>>();
    let (command, args) = match (&container.command, &container.args) {
        (Some(command), args) => (command.clone(), args.clone().unwrap_or_default()),
        (None, Some(args)) => (image.entrypoint.clone(), args.clone()),
        (None, None) => (image.entrypoint.clone(), image.cmd.clone()),
    };
    let mut argv = expand_all(&command);
    argv.extend(expand_all(&args));
    if argv.is_empty() {
        return Err(CreateError::Config("no command specified and the image map has no entrypoint".into()));
    }
    let mut mounts: Vec<MountSpec> = image
        .mounts
        .iter()
        .map(|(host, target)| MountSpec { source: host.into(), target: target.into(), read_only: false })
        .collect();
    for mount in container.volume_mounts.iter().flatten() {
        let base = runtime
            .volumes
            .get(&mount.name)
            .ok_or_else(|| CreateError::Config(format!("volume {} not found", mount.name)))?;
        let mut source = base.clone();
        if let Some(sub) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            source = base.join(expand(sub, |n| lookup.get(n).cloned()));
            if !source.exists() {
                std::fs::create_dir_all(&source).map_err(|e| CreateError::Other(e.to_string()))?;
            }
            source = source.canonicalize().map_err(|e| CreateError::Other(e.to_string()))?;
        }
        mounts.push(MountSpec {
            source,
            target: mount.mount_path.clone().into(),
            read_only: mount.read_only.unwrap_or(false),
        });
    }
    for file in ["hosts", "resolv.conf", "hostname"] {
        let source = runtime.pod_dir.join(file);
        if !mounts.iter().any(|m| m.target == Path::new("/etc").join(file)) {
            mounts.push(MountSpec { source, target: Path::new("/etc").join(file), read_only: false });
        }
    }
    let working_dir = container.working_dir.clone().or_else(|| image.working_dir.clone());
    Ok(SandboxSpec {
        netns: runtime.netns.clone(),
        hostname: runtime.hostname.clone(),
        staging_dir: ctx.state_dir.join("sandbox-root"),
        mounts,
        env,
        working_dir,
        argv,
    })
}

/// Starts `node-agent sandbox-exec` in its own process group, output to the log file.
pub fn spawn(ctx: &Context, spec: &SandboxSpec, spec_path: &Path, log_path: &Path) -> std::io::Result<Child> {
    std::fs::write(spec_path, serde_json::to_vec_pretty(spec)?)?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path)?;
    Command::new(&ctx.self_exe)
        .arg("sandbox-exec")
        .arg(spec_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
}

pub fn signal_group(pid: u32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pid as i32), signal);
}
