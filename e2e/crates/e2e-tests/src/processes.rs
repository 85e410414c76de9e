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
