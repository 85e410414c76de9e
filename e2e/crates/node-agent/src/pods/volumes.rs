//! Materializes pod volumes under `<state>/pods/<uid>/volumes/<name>` and keeps
//! configMap/secret/downwardAPI/projected contents in sync (kubelet AtomicWriter
//! layout: `..data` symlink swapped atomically, so bind mounts see updates).

use std::{
    collections::{BTreeMap, HashMap},
    os::unix::fs::{PermissionsExt, symlink},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use k8s_openapi::api::{
    authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec},
    core::v1::{KeyToPath, Pod, ServiceAccount, Volume},
};
use kube::{Api, api::PostParams};

use crate::{
    context::Context,
    env::{RuntimeFacts, field_value},
};

type Files = BTreeMap<String, (Vec<u8>, u32)>;

#[derive(Default)]
pub struct VolumeState {
    pub paths: HashMap<String, PathBuf>,
    tokens: HashMap<String, (String, Instant, Duration)>,
}

/// Creates or refreshes every volume; returns a message for the first failure.
pub async fn sync(
    ctx: &Context,
    pod: &Pod,
    pod_dir: &Path,
    facts: &RuntimeFacts<'_>,
    state: &mut VolumeState,
) -> Result<(), String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = pod_dir.join("volumes").join(&volume.name);
        let path = sync_one(ctx, pod, &namespace, volume, &dir, facts, state)
            .await
            .map_err(|e| format!("MountVolume.SetUp failed for volume \"{}\" : {e}", volume.name))?;
        state.paths.insert(volume.name.clone(), path);
    }
    Ok(())
}

async fn sync_one(
    ctx: &Context,
    pod: &Pod,
    namespace: &str,
    volume: &Volume,
    dir: &Path,
    facts: &RuntimeFacts<'_>,
    state: &mut VolumeState,
) -> Result<PathBuf, String> {
    let io = |e: std::io::Error| e.to_string();
    if volume.empty_dir.is_some() {
        std::fs::create_dir_all(dir).map_err(io)?;
        return Ok(dir.to_path_buf());
    }
    if let Some(host) = &volume.host_path {
        let path = PathBuf::from(&host.path);
        match host.type_.as_deref() {
            Some("DirectoryOrCreate") => std::fs::create_dir_all(&path).map_err(io)?,
            Some("FileOrCreate") if !path.exists() => {
                std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).map_err(io)?;
                std::fs::write(&path, b"").map_err(io)?;
            }
            _ if !path.exists() => return Err(format!("hostPath {} does not exist", host.path)),
            _ => {}
        }
        return Ok(path);
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let pvc = ctx
            .cache
            .claim(namespace, &claim.claim_name)
            .ok_or_else(|| format!("persistentvolumeclaim \"{}\" not found", claim.claim_name))?;
        let pv_name = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("persistentvolumeclaim \"{}\" is not bound", claim.claim_name))?;
        let pv = ctx.cache.volume(&pv_name).ok_or_else(|| format!("persistentvolume {pv_name} not found"))?;
        let spec = pv.spec.as_ref();
        let path = spec
            .and_then(|s| {
                s.host_path.as_ref().map(|h| h.path.clone()).or_else(|| s.local.as_ref().map(|l| l.path.clone()))
            })
            .ok_or_else(|| format!("persistentvolume {pv_name} is neither hostPath nor local"))?;
        std::fs::create_dir_all(&path).map_err(io)?;
        return Ok(PathBuf::from(path));
    }
    let mut files = Files::new();
    if let Some(source) = &volume.config_map {
        let mode = source.default_mode.unwrap_or(0o644) as u32;
        match ctx.cache.config_map_bytes(namespace, &source.name) {
            Some(data) => add_items(&mut files, data, &source.items, mode, source.optional, "configmap", &source.name)?,
            None if source.optional.unwrap_or(false) => {}
            None => return Err(format!("configmap \"{}\" not found", source.name)),
        }
    } else if let Some(source) = &volume.secret {
        let name = source.secret_name.clone().unwrap_or_default();
        let mode = source.default_mode.unwrap_or(0o644) as u32;
        match ctx.cache.secret_bytes(namespace, &name) {
            Some(data) => add_items(&mut files, data, &source.items, mode, source.optional, "secret", &name)?,
            None if source.optional.unwrap_or(false) => {}
            None => return Err(format!("secret \"{name}\" not found")),
        }
    } else if let Some(source) = &volume.downward_api {
        let mode = source.default_mode.unwrap_or(0o644) as u32;
        add_downward(&mut files, pod, source.items.iter().flatten(), mode, facts)?;
    } else if let Some(projected) = &volume.projected {
        let default_mode = projected.default_mode.unwrap_or(0o644) as u32;
        for source in projected.sources.iter().flatten() {
            if let Some(cm) = &source.config_map {
                match ctx.cache.config_map_bytes(namespace, &cm.name) {
                    Some(data) => {
                        add_items(&mut files, data, &cm.items, default_mode, cm.optional, "configmap", &cm.name)?
                    }
                    None if cm.optional.unwrap_or(false) => {}
                    None => return Err(format!("configmap \"{}\" not found", cm.name)),
                }
            }
            if let Some(secret) = &source.secret {
                match ctx.cache.secret_bytes(namespace, &secret.name) {
                    Some(data) => add_items(
                        &mut files,
                        data,
                        &secret.items,
                        default_mode,
                        secret.optional,
                        "secret",
                        &secret.name,
                    )?,
                    None if secret.optional.unwrap_or(false) => {}
                    None => return Err(format!("secret \"{}\" not found", secret.name)),
                }
            }
            if let Some(downward) = &source.downward_api {
                add_downward(&mut files, pod, downward.items.iter().flatten(), default_mode, facts)?;
            }
            if let Some(token) = &source.service_account_token {
                let expiration = token.expiration_seconds.unwrap_or(3600).max(600);
                let value =
                    service_account_token(ctx, pod, token.audience.clone(), expiration, &token.path, state).await?;
                files.insert(token.path.clone(), (value.into_bytes(), default_mode));
            }
        }
    } else {
        return Err("unsupported volume type (node-agent supports configMap, secret, emptyDir, downwardAPI, projected, hostPath, persistentVolumeClaim)".into());
    }
    write_atomic(dir, &files).map_err(io)?;
    Ok(dir.to_path_buf())
}

fn add_items(
    files: &mut Files,
    data: BTreeMap<String, Vec<u8>>,
    items: &Option<Vec<KeyToPath>>,
    mode: u32,
    optional: Option<bool>,
    kind: &str,
    name: &str,
) -> Result<(), String> {
    match items {
        None => files.extend(data.into_iter().map(|(k, v)| (k, (v, mode)))),
        Some(items) => {
            for item in items {
                match data.get(&item.key) {
                    Some(v) => {
                        files.insert(item.path.clone(), (v.clone(), item.mode.map(|m| m as u32).unwrap_or(mode)));
                    }
                    None if optional.unwrap_or(false) => {}
                    None => {
                        return Err(format!(
                            "configmap references non-existent config key: {} ({kind} {name})",
                            item.key
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn add_downward<'a>(
    files: &mut Files,
    pod: &Pod,
    items: impl Iterator<Item = &'a k8s_openapi::api::core::v1::DownwardAPIVolumeFile>,
    mode: u32,
    facts: &RuntimeFacts,
) -> Result<(), String> {
    for item in items {
        let value = match (&item.field_ref, &item.resource_field_ref) {
            (Some(field), _) => field_value(pod, field, facts)?,
            (None, Some(resource)) => {
                let container = pod
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .find(|c| Some(&c.name) == resource.container_name.as_ref())
                    .ok_or("downwardAPI resourceFieldRef needs containerName")?;
                let env = crate::env::resolve_env(pod, &with_resource_env(container, resource), &NoConfig, facts)?;
                env.into_iter().next().map(|(_, v)| v).unwrap_or_default()
            }
            (None, None) => continue,
        };
        files.insert(item.path.clone(), (value.into_bytes(), item.mode.map(|m| m as u32).unwrap_or(mode)));
    }
    Ok(())
}

/// Reuses the env resolver for resource values by asking for one synthetic variable.
fn with_resource_env(
    container: &k8s_openapi::api::core::v1::Container,
    resource: &k8s_openapi::api::core::v1::ResourceFieldSelector,
) -> k8s_openapi::api::core::v1::Container {
    let mut copy = container.clone();
    copy.env_from = None;
    copy.env = Some(vec![k8s_openapi::api::core::v1::EnvVar {
        name: "VALUE".into(),
        value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
            resource_field_ref: Some(resource.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    copy
}

struct NoConfig;
impl crate::env::ConfigSource for NoConfig {
    fn config_map(&self, _: &str, _: &str) -> Option<BTreeMap<String, String>> {
        None
    }
    fn secret(&self, _: &str, _: &str) -> Option<BTreeMap<String, String>> {
        None
    }
}

async fn service_account_token(
    ctx: &Context,
    pod: &Pod,
    audience: Option<String>,
    expiration: i64,
    path: &str,
    state: &mut VolumeState,
) -> Result<String, String> {
    // Refresh at 80% of the lifetime, as the kubelet does.
    if let Some((token, fetched, lifetime)) = state.tokens.get(path)
        && fetched.elapsed() < lifetime.mul_f64(0.8)
    {
        return Ok(token.clone());
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let account = pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_else(|| "default".into());
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.into_iter().collect(),
            expiration_seconds: Some(expiration),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..Default::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &namespace);
    let response: TokenRequest = api
        .create_subresource("token", &account, &PostParams::default(), &request)
        .await
        .map_err(|e| format!("failed to fetch token for serviceaccount {account}: {e}"))?;
    let token = response.status.map(|s| s.token).unwrap_or_default();
    state.tokens.insert(path.to_string(), (token.clone(), Instant::now(), Duration::from_secs(expiration as u64)));
    Ok(token)
}

/// Writes `files` into `dir` the kubelet way; a no-op when nothing changed.
pub fn write_atomic(dir: &Path, files: &Files) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let data_link = dir.join("..data");
    if data_link.exists() && unchanged(&data_link, files) {
        return Ok(());
    }
    let stamp = format!(
        "..{}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
    );
    let version = dir.join(&stamp);
    std::fs::create_dir_all(&version)?;
    for (path, (content, mode)) in files {
        let file = version.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, content)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode & 0o777))?;
    }
    let tmp_link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp_link);
    symlink(&stamp, &tmp_link)?;
    std::fs::rename(&tmp_link, &data_link)?;
    let top_level: std::collections::BTreeSet<String> =
        files.keys().filter_map(|p| p.split('/').next().map(String::from)).collect();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") {
            if name != "..data" && name != stamp {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        } else if !top_level.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for name in top_level {
        let link = dir.join(&name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(format!("..data/{name}"), &link)?;
        }
    }
    Ok(())
}

fn unchanged(data: &Path, files: &Files) -> bool {
    let mut count = 0;
    let mut stack = vec![data.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { return false };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            count += 1;
            let relative = path.strip_prefix(data).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            let Some((content, mode)) = files.get(&relative) else { return false };
            let same_mode =
                std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777 == mode & 0o777).unwrap_or(false);
            if !same_mode || std::fs::read(&path).ok().as_ref() != Some(content) {
                return false;
            }
        }
    }
    count == files.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writer_swaps_contents() {
        let dir = std::env::temp_dir().join(format!("atomic-{}", std::process::id()));
        let mut files = Files::new();
        files.insert("server.properties".into(), (b"a=1".to_vec(), 0o644));
        files.insert("sub/x".into(), (b"x".to_vec(), 0o600));
        write_atomic(&dir, &files).expect("write");
        assert_eq!(std::fs::read(dir.join("server.properties")).expect("read"), b"a=1");
        assert!(unchanged(&dir.join("..data"), &files));
        files.remove("sub/x");
        files.insert("server.properties".into(), (b"a=2".to_vec(), 0o644));
        write_atomic(&dir, &files).expect("rewrite");
        assert_eq!(std::fs::read(dir.join("server.properties")).expect("read"), b"a=2");
        assert!(std::fs::symlink_metadata(dir.join("sub")).is_err(), "stale entries removed");
        std::fs::remove_dir_all(dir).ok();
    }
}
