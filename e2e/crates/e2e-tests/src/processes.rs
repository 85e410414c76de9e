//! Host processes of pods: containers are processes of this machine (in their own PID
//! namespaces, visible from the host's), so a test can see whether a container's process still
//! exists, stop it, or read what the kernel says about it.

use std::fs;

/// Pids of processes whose environment holds `name=value` (set the variable in the pod spec).
pub fn with_environment(name: &str, value: &str) -> Vec<u32> {
    let wanted = format!("{name}={value}");
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|byte| *byte == 0).any(|entry| entry == wanted.as_bytes()))
        })
        .collect()
}

/// Pids of the processes in pod `uid`'s containers: the kubelet puts each pod in cgroup
/// `.../pod<uid>/...` (the cgroupfs driver's name; the systemd driver writes `_` for `-`).
pub fn in_pod(uid: &str) -> Vec<u32> {
    let names = [format!("/pod{uid}/"), format!("pod{}.slice", uid.replace('-', "_"))];
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .is_ok_and(|cgroups| names.iter().any(|name| cgroups.contains(name.as_str())))
        })
        .collect()
}
