//! Renders kubeconfig files that point at the test bed's apiserver with a client certificate.

use std::path::Path;

use anyhow::{Context, Result};

use crate::pki::CertFiles;

/// A kubeconfig with one cluster, one user and one context, all named `testbed`.
/// File paths are written absolute so the kubeconfig works from any working directory.
pub fn render(server: &str, ca_cert: &Path, client: &CertFiles) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: testbed
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: testbed
  context:
    cluster: testbed
    user: testbed
    namespace: default
current-context: testbed
",
        ca = ca_cert.display(),
        cert = client.cert.display(),
        key = client.key.display(),
    )
}

/// Leaves an unchanged file alone (components may watch theirs).
pub fn write(path: &Path, server: &str, ca_cert: &Path, client: &CertFiles) -> Result<()> {
    let text = render(server, ca_cert, client);
    if std::fs::read_to_string(path).is_ok_and(|current| current == text) {
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("failed to write kubeconfig {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn points_at_the_server_with_absolute_certificate_paths() {
        let client = CertFiles { cert: PathBuf::from("/pki/admin.crt"), key: PathBuf::from("/pki/admin.key") };
        let text = render("https://127.0.0.1:16443", Path::new("/pki/ca.crt"), &client);
        assert!(text.contains("server: https://127.0.0.1:16443"));
        assert!(text.contains("certificate-authority: /pki/ca.crt"));
        assert!(text.contains("client-key: /pki/admin.key"));
        assert!(text.contains("current-context: testbed"));
    }
}
