//! Background processes that outlive `testbed up`: each runs in its own process group
//! with output appended to its log file, and is remembered by a pid file holding the pid
//! and the program path (so a recycled pid is never mistaken for our process).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How to run one component.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub working_dir: PathBuf,
    pub log_file: PathBuf,
    pub pid_file: PathBuf,
    /// The pid file of a process whose mount and network namespaces this one joins (a
    /// node's namespace holder), through `nsenter`, which then execs the program itself.
    pub namespaces_of: Option<PathBuf>,
    /// The niceness it runs at (`nice -n`); 0 leaves the scheduler's default.
    pub nice: i32,
}

/// Starts the process detached from our terminal's process group.
pub fn spawn(launch: &Launch) -> Result<Child> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log_file)
        .with_context(|| format!("failed to open {}", launch.log_file.display()))?;
    writeln!(log, "\n===== testbed: starting {} {}", launch.program.display(), launch.args.join(" "))?;
    let mut command = match &launch.namespaces_of {
        None => Command::new(&launch.program),
        Some(holder_pid_file) => {
            let holder = running_pid(holder_pid_file)
                .with_context(|| format!("no namespace holder runs ({})", holder_pid_file.display()))?;
            let mut nsenter = Command::new("nsenter");
            nsenter.args(["-t", &holder.to_string(), "--mount", "--net", "--"]).arg(&launch.program);
            nsenter
        }
    };
    if launch.nice != 0 {
        // `nice` execs the command, which keeps the niceness for every thread it starts.
        let inner = command;
        command = Command::new("nice");
        command.arg("-n").arg(launch.nice.to_string()).arg(inner.get_program()).args(inner.get_args());
    }
    let child = command
        .args(&launch.args)
        .current_dir(&launch.working_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Own process group: Ctrl-C on `testbed up` does not reach it, and `down` can
        // signal the component together with anything it forked.
        .process_group(0)
        .spawn()
        .with_context(|| format!("failed to start {}", launch.program.display()))?;
    std::fs::write(&launch.pid_file, format!("{}\n{}\n", child.id(), launch.program.display()))
        .with_context(|| format!("failed to write {}", launch.pid_file.display()))?;
    Ok(child)
}

/// The pid of the component recorded in `pid_file`, if that process still runs the
/// recorded program. A stale pid file is removed.
pub fn running_pid(pid_file: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    let mut lines = text.lines();
    let pid: Option<i32> = lines.next().and_then(|line| line.trim().parse().ok());
    let program = lines.next().unwrap_or_default().trim().to_string();
    match pid {
        Some(pid) if is_alive(pid) && runs_program(pid, &program) => Some(pid),
        _ => {
            let _ = std::fs::remove_file(pid_file);
            None
        }
    }
}

/// Sends SIGTERM to the component, waits up to `grace` for it and its process group to
/// exit, then SIGKILLs the group. Removes the pid file.
pub fn stop(pid_file: &Path, grace: Duration) -> Result<Option<i32>> {
    let Some(pid) = running_pid(pid_file) else {
        return Ok(None);
    };
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    if !wait_until_gone(pid, grace) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        wait_until_gone(pid, Duration::from_secs(5));
    }
    // Anything the component forked into its group and left behind.
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    std::fs::remove_file(pid_file).ok();
    Ok(Some(pid))
}

fn wait_until_gone(pgid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !is_alive(pgid) && !group_has_live_members(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Alive and not a zombie.
pub fn is_alive(pid: i32) -> bool {
    process_stat(pid).is_some_and(|stat| stat.state != 'Z')
}

fn runs_program(pid: i32, program: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    // An empty cmdline is a process caught between fork and exec: it is ours, not a reused pid.
    let first = cmdline.split(|byte| *byte == 0).next().unwrap_or_default();
    program.is_empty() || cmdline.is_empty() || first == program.as_bytes()
}

fn group_has_live_members(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(process_stat)
        .any(|stat| stat.process_group == pgid && stat.state != 'Z')
}

struct ProcessStat {
    state: char,
    process_group: i32,
}

fn process_stat(pid: i32) -> Option<ProcessStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `/proc/<pid>/stat` is "pid (comm) state ppid pgrp ...", and comm may hold spaces or
/// parentheses, so fields are counted after the last ')'.
fn parse_stat(text: &str) -> Option<ProcessStat> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let process_group = fields.next()?.parse().ok()?;
    Some(ProcessStat { state, process_group })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = parse_stat("42 (kube (x) y) S 1 42 42 0 -1").expect("stat");
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.process_group, 42);
    }

    #[test]
    fn spawns_detached_and_stops_with_sigterm() {
        let dir = std::env::temp_dir().join(format!("testbed-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let launch = Launch {
            program: PathBuf::from("/bin/sleep"),
            args: vec!["300".into()],
            working_dir: dir.clone(),
            log_file: dir.join("sleep.log"),
            pid_file: dir.join("sleep.pid"),
            namespaces_of: None,
            nice: 0,
        };
        let mut child = spawn(&launch).expect("spawn");
        assert_eq!(running_pid(&launch.pid_file), Some(child.id() as i32));
        // Our own child turns into a zombie until reaped; reap it in the background.
        let reaper = std::thread::spawn(move || child.wait());
        let stopped = stop(&launch.pid_file, Duration::from_secs(5)).expect("stop");
        assert!(stopped.is_some());
        assert!(!launch.pid_file.exists());
        reaper.join().expect("reaper").expect("wait");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_pid_file_for_another_program_is_stale() {
        let dir = std::env::temp_dir().join(format!("testbed-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pid_file = dir.join("x.pid");
        std::fs::write(&pid_file, format!("{}\n/not/this/program\n", std::process::id())).expect("write");
        assert_eq!(running_pid(&pid_file), None);
        assert!(!pid_file.exists());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
