//! The test bed's certificates: one CA signs the apiserver's serving certificate, the
//! client certificates of the admin and the control-plane components, and the serving
//! certificates of controller-manager and scheduler (so health checks verify TLS too).
//!
//! Generated once as a set and reused while every file exists: the admin kubeconfig and
//! service-account tokens stored in etcd stay valid across `down`/`up`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The first address of `--service-cluster-ip-range`: the `kubernetes` Service's ClusterIP.
pub const KUBERNETES_SERVICE_IP: &str = "100.96.0.1";

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
}

impl Pki {
    pub fn at(dir: &Path) -> Self {
        let pair =
            |name: &str| CertFiles { cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) };
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
        ] {
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

        let apiserver_names = [
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            KUBERNETES_SERVICE_IP,
        ];
        let leaves = [
            (&self.apiserver, "kube-apiserver", None, &apiserver_names[..], Usage::Server),
            (&self.admin, "testbed-admin", Some("system:masters"), &[][..], Usage::Client),
            (&self.controller_manager_client, "system:kube-controller-manager", None, &[][..], Usage::Client),
            (&self.scheduler_client, "system:kube-scheduler", None, &[][..], Usage::Client),
            (
                &self.controller_manager_serving,
                "kube-controller-manager",
                None,
                &["127.0.0.1", "localhost"][..],
                Usage::Server,
            ),
            (&self.scheduler_serving, "kube-scheduler", None, &["127.0.0.1", "localhost"][..], Usage::Server),
            (&self.front_proxy_client, FRONT_PROXY_CLIENT_NAME, None, &[][..], Usage::Client),
        ];
        for (files, common_name, organization, names, usage) in leaves {
            let key = KeyPair::generate()?;
            let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name = distinguished_name(common_name, organization);
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
    fn generates_once_and_then_reuses_the_set() {
        let dir = std::env::temp_dir().join(format!("testbed-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pki = Pki::at(&dir);
        assert!(pki.ensure().expect("first generation"));
        let ca = std::fs::read_to_string(&pki.ca.cert).expect("ca");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!pki.ensure().expect("second call"));
        assert_eq!(std::fs::read_to_string(&pki.ca.cert).expect("ca"), ca);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
