//! `node-agent sandbox-exec SPEC.json`: the container launcher.
//!
//! Runs as a child of the agent: joins the pod's network namespace, unshares a
//! mount and UTS namespace, builds the container's view of the filesystem on a
//! tmpfs (host top-level directories bind-mounted in, volumes on top), pivots
//! into it and execs the container command. No directory is ever created on the
//! host: a missing mount point inside a host directory "splices" that directory
//! (tmpfs copy whose entries are binds of the originals).

use std::{
    collections::HashSet,
    ffi::CString,
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use nix::{
    mount::{MntFlags, MsFlags, mount, umount2},
    sched::{CloneFlags, setns, unshare},
    unistd::{chdir, execve, pivot_root, sethostname},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// `ip netns` name; `None` shares the host network (hostNetwork pods).
    pub netns: Option<String>,
    pub hostname: String,
    /// An existing empty directory the launcher mounts its private tmpfs root on.
    pub staging_dir: PathBuf,
    pub mounts: Vec<MountSpec>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountSpec {
    pub source: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

pub fn run(spec_path: &Path) -> Result<()> {
    let spec: SandboxSpec = serde_json::from_slice(&fs::read(spec_path)?).context("failed to read sandbox spec")?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    if let Some(netns) = &spec.netns {
        let file = fs::File::open(format!("/run/netns/{netns}")).with_context(|| format!("no netns {netns}"))?;
        setns(file, CloneFlags::CLONE_NEWNET).context("failed to join netns")?;
    }
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS).context("failed to unshare")?;
    sethostname(&spec.hostname).context("failed to set hostname")?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)?;
    let root = &spec.staging_dir;
    mount(Some("tmpfs"), root, Some("tmpfs"), MsFlags::empty(), Some("mode=0755"))
        .context("failed to mount the root tmpfs")?;
    let mut view = View { root: root.clone(), owned: HashSet::from([PathBuf::from("/")]), bound: HashSet::new() };
    view.populate_from_host(Path::new("/"))?;
    let mut mounts = spec.mounts.clone();
    mounts.sort_by_key(|m| m.target.components().count());
    for m in &mounts {
        view.mount(m).with_context(|| format!("failed to mount {} at {}", m.source.display(), m.target.display()))?;
    }
    enter(root)?;
    let cwd = spec.working_dir.as_deref().filter(|d| !d.is_empty()).unwrap_or("/");
    chdir(cwd).with_context(|| format!("failed to enter working dir {cwd}"))?;
    exec(&spec)
}

fn enter(root: &Path) -> Result<()> {
    chdir(root)?;
    if pivot_root(".", ".").is_ok() {
        umount2(".", MntFlags::MNT_DETACH)?;
    } else {
        nix::unistd::chroot(".")?;
    }
    chdir("/")?;
    Ok(())
}

fn exec(spec: &SandboxSpec) -> Result<()> {
    let Some(program) = spec.argv.first() else { bail!("container has no command") };
    let path_var = spec.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
    let resolved =
        resolve_program(program, path_var.unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
            .with_context(|| format!("executable file not found: {program}"))?;
    let c = |s: &str| CString::new(s).context("nul byte in argument");
    let args = spec.argv.iter().map(|a| c(a)).collect::<Result<Vec<_>>>()?;
    let env = spec.env.iter().map(|(k, v)| c(&format!("{k}={v}"))).collect::<Result<Vec<_>>>()?;
    execve(&c(&resolved)?, &args, &env)?;
    unreachable!("execve returned without error")
}

pub fn resolve_program(program: &str, path: &str) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_string());
    }
    path.split(':').map(|dir| format!("{dir}/{program}")).find(|candidate| {
        fs::metadata(candidate).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}

/// The container's filesystem under construction, with container-absolute paths.
struct View {
    root: PathBuf,
    /// Directories that are ours to write into (tmpfs or pod volumes).
    owned: HashSet<PathBuf>,
    /// Entries that are bind mounts of the host path with the same name.
    bound: HashSet<PathBuf>,
}

impl View {
    fn at(&self, path: &Path) -> PathBuf {
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// Fills the owned directory `dir` with binds of the host's `dir` entries.
    fn populate_from_host(&mut self, dir: &Path) -> Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let host = entry.path();
            let inside = self.at(&host);
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&host)?, &inside)?;
                continue;
            }
            if host == Path::new("/proc/self") {
                continue;
            }
            if kind.is_dir() {
                fs::create_dir(&inside)?;
            } else {
                fs::File::create(&inside)?;
            }
            if mount(Some(&host), &inside, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>).is_ok() {
                self.bound.insert(host);
            }
        }
        Ok(())
    }

    /// Makes `dir` writable: a host-bound directory is replaced by its splice.
    fn own(&mut self, dir: &Path) -> Result<()> {
        if self.owned.contains(dir) {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(Path::new("/"));
        self.own(parent)?;
        let inside = self.at(dir);
        if self.bound.remove(dir) {
            let mode = fs::metadata(dir).map(|m| m.mode() & 0o7777).unwrap_or(0o755);
            umount2(&inside, MntFlags::MNT_DETACH)?;
            fs::set_permissions(&inside, fs::Permissions::from_mode(mode))?;
            self.populate_from_host(dir)?;
        } else if fs::symlink_metadata(&inside).is_err() {
            fs::create_dir_all(&inside)?;
        } else if !inside.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
        self.owned.insert(dir.to_path_buf());
        Ok(())
    }

    /// Resolves symlinks in `dir` against the container root, never the host's.
    fn resolve(&self, dir: &Path) -> Result<PathBuf> {
        let mut resolved = PathBuf::from("/");
        let mut pending: Vec<PathBuf> = dir
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::ParentDir))
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect();
        pending.reverse();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if component == Path::new("..") {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&component);
            match fs::symlink_metadata(self.at(&candidate)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        bail!("too many symlinks in {}", dir.display());
                    }
                    let link = fs::read_link(self.at(&candidate))?;
                    if link.is_absolute() {
                        resolved = PathBuf::from("/");
                    }
                    let mut parts: Vec<PathBuf> = link
                        .components()
                        .filter(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::ParentDir))
                        .map(|c| PathBuf::from(c.as_os_str()))
                        .collect();
                    parts.reverse();
                    pending.extend(parts);
                }
                _ => resolved = candidate,
            }
        }
        Ok(resolved)
    }

    fn mount(&mut self, spec: &MountSpec) -> Result<()> {
        let parent = self.resolve(spec.target.parent().unwrap_or(Path::new("/")))?;
        let target = &parent.join(spec.target.file_name().context("mount target has no name")?);
        self.own(&parent)?;
        let inside = self.at(target);
        if self.bound.remove(target) {
            umount2(&inside, MntFlags::MNT_DETACH)?;
        }
        let source_is_dir = fs::metadata(&spec.source)?.is_dir();
        match fs::symlink_metadata(&inside) {
            Ok(meta) if meta.is_dir() == source_is_dir && !meta.file_type().is_symlink() => {}
            Ok(meta) => {
                if meta.is_dir() {
                    fs::remove_dir_all(&inside)?
                } else {
                    fs::remove_file(&inside)?
                }
                create_placeholder(&inside, source_is_dir)?;
            }
            Err(_) => create_placeholder(&inside, source_is_dir)?,
        }
        mount(Some(&spec.source), &inside, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)?;
        if spec.read_only {
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            mount(None::<&str>, &inside, None::<&str>, flags, None::<&str>)?;
        }
        if source_is_dir {
            self.owned.insert(target.to_path_buf());
        }
        Ok(())
    }
}

fn create_placeholder(path: &Path, dir: bool) -> Result<()> {
    if dir {
        fs::create_dir_all(path)?;
    } else {
        fs::File::create(path)?;
    }
    Ok(())
}
