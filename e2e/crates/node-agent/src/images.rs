//! The image map (`e2e/images.yaml`): image references → host directories and env.
//!
//! There is no container runtime, so an "image" is a set of bind mounts of host
//! paths at the container paths the real image uses, plus environment variables.

use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, Result, bail};
use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImagesFile {
    #[serde(default)]
    defaults: BTreeMap<String, String>,
    images: Vec<RawImage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawImage {
    #[serde(rename = "match")]
    pattern: String,
    #[serde(default)]
    mounts: Vec<RawMount>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    entrypoint: Vec<String>,
    #[serde(default)]
    cmd: Vec<String>,
    #[serde(default)]
    working_dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMount {
    host_path: String,
    container_path: String,
}

/// A resolved image: what to mount and which environment it brings.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedImage {
    pub mounts: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    /// Stands in for the digest in `containerStatuses[].imageID`.
    pub image_id: String,
}

pub struct ImageMap {
    rules: Vec<(Regex, RawImage)>,
    variables: BTreeMap<String, String>,
}

impl ImageMap {
    /// Parses the YAML; `environment` supplies `${VAR}` values (process env, toolchain.env).
    pub fn parse(yaml: &str, environment: BTreeMap<String, String>) -> Result<Self> {
        let file: ImagesFile = serde_yaml::from_str(yaml).context("failed to parse images.yaml")?;
        let mut variables = BTreeMap::new();
        for (key, value) in file.defaults {
            let value = environment.get(&key).cloned().unwrap_or_else(|| substitute(&value, &environment, &variables));
            variables.insert(key, value);
        }
        for (key, value) in environment {
            variables.entry(key).or_insert(value);
        }
        let mut rules = Vec::new();
        for raw in file.images {
            let anchored = format!("^(?:{})$", raw.pattern);
            let regex = Regex::new(&anchored).with_context(|| format!("bad image pattern {}", raw.pattern))?;
            rules.push((regex, raw));
        }
        Ok(Self { rules, variables })
    }

    pub fn load(path: &Path, environment: BTreeMap<String, String>) -> Result<Self> {
        let yaml = std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
        Self::parse(&yaml, environment)
    }

    /// Maps an image reference; errors read like an image pull failure.
    pub fn resolve(&self, image: &str) -> Result<ResolvedImage> {
        let normalized = image.strip_prefix("docker.io/").unwrap_or(image);
        for (regex, raw) in &self.rules {
            let Some(captures) = regex.captures(normalized) else { continue };
            let mut vars = self.variables.clone();
            for name in regex.capture_names().flatten() {
                if let Some(m) = captures.name(name) {
                    vars.insert(name.to_string(), m.as_str().to_string());
                }
            }
            let sub = |s: &str| substitute(s, &vars, &BTreeMap::new());
            let mounts: Vec<(String, String)> =
                raw.mounts.iter().map(|m| (sub(&m.host_path), sub(&m.container_path))).collect();
            for (host, _) in &mounts {
                if !Path::new(host).exists() {
                    bail!("image {image} maps to {host}, which does not exist (is it in the bootstrap cache?)");
                }
            }
            return Ok(ResolvedImage {
                mounts,
                env: raw.env.iter().map(|(k, v)| (k.clone(), sub(v))).collect(),
                entrypoint: raw.entrypoint.iter().map(|s| sub(s)).collect(),
                cmd: raw.cmd.iter().map(|s| sub(s)).collect(),
                working_dir: raw.working_dir.as_deref().map(sub),
                image_id: format!("local://{}", regex.as_str()),
            });
        }
        bail!("image {image} is not mapped in images.yaml (no container runtime: only mapped images can run)")
    }

    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }
}

/// Replaces `${NAME}` from `primary` then `fallback`; unknown names become empty.
fn substitute(input: &str, primary: &BTreeMap<String, String>, fallback: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &rest[start + 2..start + end];
        if let Some(value) = primary.get(name).or_else(|| fallback.get(name)) {
            out.push_str(value);
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Reads `KEY=VALUE` lines (shell-style `toolchain.env`), ignoring comments and `export`.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').trim_matches('\'').to_string()))
        })
        .collect()
}

/// The image map as the file says now: images.yaml is re-read when it changes, the way a
/// kubelet sees an image that was pushed after it started, so adding a mapping needs no
/// restart of the test bed.
pub struct ImageCatalog {
    path: std::path::PathBuf,
    environment: BTreeMap<String, String>,
    loaded: std::sync::Mutex<(Option<std::time::SystemTime>, std::sync::Arc<ImageMap>)>,
}

impl ImageCatalog {
    pub fn load(path: &Path, environment: BTreeMap<String, String>) -> Result<Self> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let map = ImageMap::load(path, environment.clone())?;
        Ok(Self {
            path: path.to_path_buf(),
            environment,
            loaded: std::sync::Mutex::new((modified, std::sync::Arc::new(map))),
        })
    }

    /// The current map; a file that no longer parses keeps the last good map (and says so).
    pub fn current(&self) -> std::sync::Arc<ImageMap> {
        let mut loaded = self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified != loaded.0 {
            match ImageMap::load(&self.path, self.environment.clone()) {
                Ok(map) => *loaded = (modified, std::sync::Arc::new(map)),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "images.yaml changed but does not parse; keeping the previous map");
                    loaded.0 = modified;
                }
            }
        }
        loaded.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(dir: &str) -> ImageMap {
        let yaml = r#"
defaults:
  KOPERATOR_CACHE: ${HOME}/.cache/koperator
images:
  - match: '(ghcr\.io/banzaicloud/kafka|ghcr\.io/adobe/koperator/kafka):2\.13-(?P<version>[0-9.]+)'
    mounts:
      - hostPath: ${KOPERATOR_CACHE}/kafka/${version}
        containerPath: /opt/kafka
    env:
      PATH: /opt/kafka/bin:/usr/bin:/bin
  - match: 'apache/kafka:(?P<version>[0-9.]+)'
    mounts:
      - hostPath: ${KOPERATOR_CACHE}/kafka/${version}
        containerPath: /opt/kafka
    cmd: [/opt/kafka/bin/kafka-server-start.sh]
  - match: 'busybox(:.*)?'
"#;
        let env = BTreeMap::from([("HOME".to_string(), dir.to_string())]);
        ImageMap::parse(yaml, env).expect("valid yaml")
    }

    #[test]
    fn maps_kafka_images_with_captured_version() {
        let dir = std::env::temp_dir().join(format!("images-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".cache/koperator/kafka/3.9.1")).expect("mkdir");
        let images = map(dir.to_str().expect("utf8"));
        for image in [
            "ghcr.io/adobe/koperator/kafka:2.13-3.9.1",
            "ghcr.io/banzaicloud/kafka:2.13-3.9.1",
            "docker.io/apache/kafka:3.9.1",
        ] {
            let resolved = images.resolve(image).expect(image);
            assert_eq!(resolved.mounts[0].0, format!("{}/.cache/koperator/kafka/3.9.1", dir.display()));
            assert_eq!(resolved.mounts[0].1, "/opt/kafka");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unmapped_or_missing_images_fail_like_pull_errors() {
        let images = map("/nonexistent");
        assert!(images.resolve("nginx:1.27").unwrap_err().to_string().contains("not mapped"));
        assert!(images.resolve("apache/kafka:9.9.9").unwrap_err().to_string().contains("does not exist"));
        assert!(images.resolve("busybox").is_ok());
        assert!(images.resolve("busybox:1.36").is_ok());
        assert!(images.resolve("xbusybox").is_err(), "patterns are anchored");
    }

    #[test]
    fn env_file_parsing() {
        let parsed = parse_env_file("# c\nexport A=1\nB=\"two\"\n\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("two"));
    }
}
