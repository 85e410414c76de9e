//! The test bed's certificates: one CA signs the apiserver's serving certificate, the
//! client certificates of the admin and the control-plane components, and the serving
//! certificates of controller-manager and scheduler (so health checks verify TLS too).
//!
//! With kubelet nodes the set also holds, per node, the kubelet's client certificate
//! (`system:node:<name>` in `system:nodes`, what the Node authorizer expects) and its serving
//! certificate (the node's name and address, so the apiserver verifies it for logs, exec and
//! port-forward), the apiserver's client certificate towards kubelets, and kube-proxy's.
//!
//! Generated once as a set and reused while every file exists: the admin kubeconfig and
//! service-account tokens stored in etcd stay valid across `down`/`up`.

use std::path::{Path, PathBuf};

use crate::settings::{NodeSpec, Settings};
use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The only client name the apiserver trusts for request-header (front proxy) authentication.
pub const FRONT_PROXY_CLIENT_NAME: &str = "front-proxy-client";

/// A certificate and its private key as files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every file of the test bed's PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: CertFiles,
    pub apiserver: CertFiles,
    pub admin: CertFiles,
    pub controller_manager_client: CertFiles,
    pub scheduler_client: CertFiles,
    pub controller_manager_serving: CertFiles,
    pub scheduler_serving: CertFiles,
    /// The apiserver's identity towards aggregated API servers (front proxy).
    pub front_proxy_client: CertFiles,
    pub service_account_key: PathBuf,
    pub service_account_public_key: PathBuf,
    /// The apiserver's identity towards kubelets (logs, exec, port-forward).
    pub apiserver_kubelet_client: CertFiles,
    pub kube_proxy_client: CertFiles,
    pub nodes: Vec<NodeCerts>,
    /// Names and addresses the apiserver's serving certificate must hold.
    apiserver_names: Vec<String>,
}

/// A kubelet's certificates.
#[derive(Debug, Clone)]
pub struct NodeCerts {
    pub node: NodeSpec,
    pub client: CertFiles,
    pub serving: CertFiles,
}

impl Pki {
    pub fn at(dir: &Path, settings: &Settings) -> Self {
        let pair =
            |name: &str| CertFiles { cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) };
        let mut apiserver_names: Vec<String> = [
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        .map(String::from)
        .into();
        apiserver_names.push(settings.kubernetes_service_ip().to_string());
        apiserver_names.push(settings.apiserver_address().to_string());
        apiserver_names.dedup();
        let nodes = settings
            .nodes()
            .into_iter()
            .map(|node| NodeCerts {
                client: pair(&format!("{}-client", node.name)),
                serving: pair(&format!("{}-serving", node.name)),
                node,
            })
            .collect();
        Self {
            ca: pair("ca"),
            apiserver: pair("apiserver"),
            admin: pair("admin"),
            controller_manager_client: pair("kube-controller-manager-client"),
            scheduler_client: pair("kube-scheduler-client"),
            controller_manager_serving: pair("kube-controller-manager-serving"),
            scheduler_serving: pair("kube-scheduler-serving"),
            front_proxy_client: pair("front-proxy-client"),
            service_account_key: dir.join("service-account.key"),
            service_account_public_key: dir.join("service-account.pub"),
            apiserver_kubelet_client: pair("apiserver-kubelet-client"),
            kube_proxy_client: pair("kube-proxy-client"),
            nodes,
            apiserver_names,
        }
    }

    fn all_files(&self) -> Vec<&Path> {
        let mut files = vec![self.service_account_key.as_path(), self.service_account_public_key.as_path()];
        for pair in [
            &self.ca,
            &self.apiserver,
            &self.admin,
            &self.controller_manager_client,
            &self.scheduler_client,
            &self.controller_manager_serving,
            &self.scheduler_serving,
            &self.front_proxy_client,
            &self.apiserver_kubelet_client,
            &self.kube_proxy_client,
        ]
        .into_iter()
        .chain(self.nodes.iter().flat_map(|node| [&node.client, &node.serving]))
        {
            files.push(&pair.cert);
            files.push(&pair.key);
        }
        files
    }

    /// Writes the whole set unless it is already complete. Returns whether it generated.
    pub fn ensure(&self) -> Result<bool> {
        if self.all_files().iter().all(|file| file.is_file()) {
            return Ok(false);
        }
        self.generate()?;
        Ok(true)
    }

    fn generate(&self) -> Result<()> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name = distinguished_name("testbed-ca", None);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        write_pair(&self.ca, &ca_cert.pem(), &ca_key.serialize_pem())?;
        let issuer = Issuer::new(ca_params, ca_key);

        let local = || vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let mut leaves = vec![
            (&self.apiserver, "kube-apiserver".to_string(), None, self.apiserver_names.clone(), Usage::Server),
            (&self.admin, "testbed-admin".into(), Some("system:masters"), vec![], Usage::Client),
            (&self.controller_manager_client, "system:kube-controller-manager".into(), None, vec![], Usage::Client),
            (&self.scheduler_client, "system:kube-scheduler".into(), None, vec![], Usage::Client),
            (&self.controller_manager_serving, "kube-controller-manager".into(), None, local(), Usage::Server),
            (&self.scheduler_serving, "kube-scheduler".into(), None, local(), Usage::Server),
            (&self.front_proxy_client, FRONT_PROXY_CLIENT_NAME.into(), None, vec![], Usage::Client),
            (
                &self.apiserver_kubelet_client,
                "kube-apiserver-kubelet-client".into(),
                Some("system:masters"),
                vec![],
                Usage::Client,
            ),
            // The default ClusterRoleBinding system:node-proxier binds this user.
            (&self.kube_proxy_client, "system:kube-proxy".into(), None, vec![], Usage::Client),
        ];
        for node in &self.nodes {
            let name = &node.node.name;
            leaves.push((&node.client, format!("system:node:{name}"), Some("system:nodes"), vec![], Usage::Client));
            let names = vec![name.clone(), node.node.ip.to_string()];
            leaves.push((&node.serving, name.clone(), None, names, Usage::Server));
        }
        for (files, common_name, organization, names, usage) in leaves {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name = distinguished_name(&common_name, organization);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
            params.extended_key_usages = match usage {
                Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
                Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            };
            let cert = params.signed_by(&key, &issuer)?;
            write_pair(files, &cert.pem(), &key.serialize_pem())?;
        }

        let service_account = KeyPair::generate()?;
        write_private(&self.service_account_key, &service_account.serialize_pem())?;
        std::fs::write(&self.service_account_public_key, service_account.public_key_pem())
            .context("failed to write the service-account public key")?;
        Ok(())
    }
}

enum Usage {
    Server,
    Client,
}

fn distinguished_name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    if let Some(organization) = organization {
        name.push(DnType::OrganizationName, organization);
    }
    name
}

fn write_pair(files: &CertFiles, cert_pem: &str, key_pem: &str) -> Result<()> {
    std::fs::write(&files.cert, cert_pem).with_context(|| format!("failed to write {}", files.cert.display()))?;
    write_private(&files.key, key_pem)
}

fn write_private(path: &Path, pem: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_has_every_component_and_node_pair() {
        let pki = Pki::at(Path::new("/pki"), &Settings { slot: 0 });
        // The service-account key pair, ten component pairs, a client and a serving pair per node.
        assert_eq!(pki.all_files().len(), 2 + 10 * 2 + 3 * 2 * 2);
        assert!(pki.all_files().contains(&pki.kube_proxy_client.cert.as_path()));
        assert!(pki.apiserver_names.contains(&"100.73.0.1".to_string()));
    }

    #[test]
    fn generates_once_and_then_reuses_the_set() {
        let dir = std::env::temp_dir().join(format!("testbed-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let settings = Settings { slot: 0 };
        let pki = Pki::at(&dir, &settings);
        assert_eq!(pki.nodes.len(), 3);
        assert!(pki.ensure().expect("first generation"));
        let ca = std::fs::read_to_string(&pki.ca.cert).expect("ca");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!pki.ensure().expect("second call"));
        assert_eq!(std::fs::read_to_string(&pki.ca.cert).expect("ca"), ca);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
