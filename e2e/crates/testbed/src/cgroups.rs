//! The cgroup each kubelet node puts its pods under (its `cgroupRoot`), in every hierarchy the
//! machine mounts: kubelet requires it to exist, and `down` empties and removes it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Mount points of the cgroup hierarchies (v1 controllers and the v2 tree).
fn hierarchies() -> Result<Vec<PathBuf>> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").context("failed to read mountinfo")?;
    Ok(parse_hierarchies(&mountinfo))
}

fn parse_hierarchies(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fstype = after.split_whitespace().next()?;
            let mount_point = before.split_whitespace().nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .collect()
}

/// CPU weight of a node's cgroup (cgroup v1 `cpu.shares`), against the machine's other
/// processes. The default, 1024, would weigh all of a node's pods like one busy host thread: the
/// scheduler shares CPU between a cgroup and each thread beside it in the root, and the
/// apiserver, etcd, kubelets and test processes run dozens of threads there. Brokers' JVMs then
/// starved (readiness never came, rolls timed out) once several test clusters ran at once.
/// Too much starves the control plane instead: at 32 times the default, three nodes busy
/// starting JVMs left etcd and the apiserver so little that requests timed out. Eight busy
/// threads per node, with the control plane reniced (`components::CONTROL_PLANE_NICE`).
pub const NODE_CPU_SHARES: u64 = 8 * 1024;
/// The same for cgroup v2 (`cpu.weight`, where 100 is the default 1024 shares).
const NODE_CPU_WEIGHT: u64 = 8 * 100;

/// Creates `root` (like `/ktb0-node-1`) in every hierarchy, with [`NODE_CPU_SHARES`]. A new
/// cpuset cgroup starts with no CPUs and no memory nodes, so it gets its parent's.
pub fn create(root: &str) -> Result<()> {
    for hierarchy in hierarchies()? {
        let dir = hierarchy.join(root.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).with_context(|| format!("failed to create cgroup {}", dir.display()))?;
        for (file, value) in [("cpu.shares", NODE_CPU_SHARES), ("cpu.weight", NODE_CPU_WEIGHT)] {
            let path = dir.join(file);
            if path.exists() {
                std::fs::write(&path, value.to_string())
                    .with_context(|| format!("failed to write {}", path.display()))?;
            }
        }
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let own = dir.join(file);
            if own.exists() && std::fs::read_to_string(&own)?.trim().is_empty() {
                let parent = std::fs::read_to_string(hierarchy.join(file))?;
                std::fs::write(&own, parent.trim()).with_context(|| format!("failed to write {}", own.display()))?;
            }
        }
    }
    Ok(())
}

/// Kills every process in `root`'s tree (in any hierarchy), then removes the tree.
pub fn remove(root: &str) -> Result<()> {
    let trees: Vec<PathBuf> = hierarchies()?
        .into_iter()
        .map(|hierarchy| hierarchy.join(root.trim_start_matches('/')))
        .filter(|dir| dir.is_dir())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pids: Vec<i32> = trees.iter().flat_map(|tree| processes_in(tree)).collect();
        if pids.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("processes {pids:?} in cgroup {root} survived SIGKILL for 20 s");
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for tree in &trees {
        remove_tree(tree)?;
    }
    Ok(())
}

fn processes_in(tree: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut pending = vec![tree.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|line| line.trim().parse::<i32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            pending.extend(entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()));
        }
    }
    pids
}

/// Children first: a cgroup directory can only go once it has no children and no processes.
fn remove_tree(dir: &Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for child in entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()) {
            remove_tree(&child)?;
        }
    }
    std::fs::remove_dir(dir).with_context(|| format!("failed to remove cgroup {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_and_v2_hierarchies_and_nothing_else() {
        let mountinfo = "\
25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 29 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
31 29 0:27 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw
32 29 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755";
        assert_eq!(
            parse_hierarchies(mountinfo),
            vec![PathBuf::from("/sys/fs/cgroup/memory"), PathBuf::from("/sys/fs/cgroup/unified")]
        );
    }
}
