//! Where the test bed keeps its state: everything lives under `<repo>/target/testbed`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Paths of one test bed, all derived from the repository root.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub base: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf) -> Self {
        let base = root.join("target").join("testbed");
        Self { root, base }
    }

    /// Uses `--root` when given, otherwise walks up from the working directory to the
    /// workspace root (the directory holding `Cargo.toml` and `e2e/`).
    pub fn discover(explicit_root: Option<PathBuf>) -> Result<Self> {
        let root = match explicit_root {
            Some(root) => root,
            None => find_repo_root(&std::env::current_dir()?)?,
        };
        let root =
            root.canonicalize().with_context(|| format!("failed to resolve repository root {}", root.display()))?;
        Ok(Self::new(root))
    }

    pub fn etcd_data(&self) -> PathBuf {
        self.base.join("etcd")
    }

    pub fn pki(&self) -> PathBuf {
        self.base.join("pki")
    }

    pub fn logs(&self) -> PathBuf {
        self.base.join("logs")
    }

    pub fn run(&self) -> PathBuf {
        self.base.join("run")
    }

    pub fn kubeconfigs(&self) -> PathBuf {
        self.base.join("kubeconfigs")
    }

    /// The admin kubeconfig handed to users and tests.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.base.join("kubeconfig")
    }

    /// One directory per kubelet node (configuration, containerd's images, pod volumes).
    pub fn nodes(&self) -> PathBuf {
        self.base.join("nodes")
    }

    /// Which settings the state under `base` was made for.
    pub fn settings_file(&self) -> PathBuf {
        self.base.join("settings")
    }

    pub fn log_file(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }

    pub fn pid_file(&self, component: &str) -> PathBuf {
        self.run().join(format!("{component}.pid"))
    }

    pub fn create_dirs(&self) -> Result<()> {
        for dir in [self.logs(), self.run(), self.pki(), self.kubeconfigs()] {
            std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
        }
        Ok(())
    }
}

fn find_repo_root(start: &Path) -> Result<PathBuf> {
    for dir in start.ancestors() {
        if dir.join("e2e").is_dir() && is_workspace_manifest(&dir.join("Cargo.toml")) {
            return Ok(dir.to_path_buf());
        }
    }
    bail!("no repository root (a Cargo workspace with an e2e/ folder) above {}; pass --root", start.display())
}

fn is_workspace_manifest(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains("[workspace]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_workspace_root_from_a_subdirectory() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = find_repo_root(here).expect("repository root");
        assert!(root.join("e2e").join("crates").join("testbed").is_dir());
    }

    #[test]
    fn keeps_everything_under_target_testbed() {
        let layout = Layout::new(PathBuf::from("/repo"));
        assert_eq!(layout.admin_kubeconfig(), Path::new("/repo/target/testbed/kubeconfig"));
        assert_eq!(layout.log_file("etcd"), Path::new("/repo/target/testbed/logs/etcd.log"));
        assert_eq!(layout.pid_file("etcd"), Path::new("/repo/target/testbed/run/etcd.pid"));
    }
}
