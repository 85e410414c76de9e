//! Finds the control-plane binaries that `e2e/bootstrap/bootstrap.sh` built.
//!
//! An environment variable with the tool's key (`KUBE_APISERVER=/path ...`) wins; otherwise
//! the key is read from `$KOPERATOR_CACHE/toolchain.env` (default `~/.cache/koperator`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub struct Toolchain {
    entries: BTreeMap<String, String>,
    source: PathBuf,
}

impl Toolchain {
    pub fn load() -> Result<Self> {
        let source = cache_dir().join("toolchain.env");
        let entries = match std::fs::read_to_string(&source) {
            Ok(text) => parse_env_file(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => {
                return Err(error).with_context(|| format!("failed to read {}", source.display()));
            }
        };
        Ok(Self { entries, source })
    }

    /// The executable recorded under `key`, checked to exist.
    pub fn binary(&self, key: &str) -> Result<PathBuf> {
        let value = std::env::var(key).ok().or_else(|| self.entries.get(key).cloned());
        let Some(value) = value else {
            bail!(
                "{key} is not set and not in {}; run e2e/bootstrap/bootstrap.sh etcd kubernetes",
                self.source.display()
            );
        };
        let path = PathBuf::from(value);
        if !is_executable(&path) {
            bail!("{key}={} is not an executable file; re-run e2e/bootstrap/bootstrap.sh", path.display());
        }
        Ok(path)
    }
}

impl Toolchain {
    /// The directory recorded under `key`, checked to exist.
    pub fn directory(&self, key: &str) -> Result<PathBuf> {
        let path = PathBuf::from(self.value(key)?);
        if !path.is_dir() {
            bail!("{key}={} is not a directory; re-run e2e/bootstrap/bootstrap.sh", path.display());
        }
        Ok(path)
    }

    /// A file recorded under `key`, checked to exist.
    pub fn file(&self, key: &str) -> Result<PathBuf> {
        let path = PathBuf::from(self.value(key)?);
        if !path.is_file() {
            bail!("{key}={} is not a file; re-run e2e/bootstrap/bootstrap.sh", path.display());
        }
        Ok(path)
    }

    fn value(&self, key: &str) -> Result<String> {
        match std::env::var(key).ok().or_else(|| self.entries.get(key).cloned()) {
            Some(value) => Ok(value),
            None => bail!("{key} is not set and not in {}; run e2e/bootstrap/bootstrap.sh", self.source.display()),
        }
    }
}

/// `$KOPERATOR_CACHE`, by default `~/.cache/koperator`.
pub fn cache_dir() -> PathBuf {
    if let Some(cache) = std::env::var_os("KOPERATOR_CACHE") {
        return PathBuf::from(cache);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache").join("koperator")
}

fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().trim_matches('"').to_string()))
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_value_lines_and_strips_quotes() {
        let entries = parse_env_file("# comment\nETCD=/c/etcd\n\nKAFKA_VERSIONS=\"3.9.0 4.4.0\"\n");
        assert_eq!(entries["ETCD"], "/c/etcd");
        assert_eq!(entries["KAFKA_VERSIONS"], "3.9.0 4.4.0");
        assert_eq!(entries.len(), 2);
    }
}
