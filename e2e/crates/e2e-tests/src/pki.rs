//! Certificates as a client outside the operator sees them, checked with openssl alone: the PEM
//! files of a certificate Secret, `openssl verify`/`x509`/`s_client`, and a client certificate
//! issued with openssl from a cluster's CA, with the settings kcat and Kafka's own tools read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use tokio::process::Command;

use crate::host_command::{self, CommandOutput};

/// A TLS handshake and the certificate printout, through the cluster's DNS.
const S_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Client certificates live as long as a test.
const CLIENT_CERTIFICATE_DAYS: &str = "1";

/// `ca.crt`, `tls.crt` and `tls.key` of a certificate Secret (cert-manager's keys, which the
/// operator's CA writes too).
pub struct PemSecret {
    pub ca: String,
    pub certificate: String,
    pub key: String,
}

/// Reads a certificate Secret; each key required, non-empty and PEM.
pub async fn pem_secret(client: &Client, namespace: &str, name: &str) -> Result<PemSecret> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace).get(name).await?;
    let data = secret.data.unwrap_or_default();
    let text = |key: &str| -> Result<String> {
        let bytes = data.get(key).with_context(|| format!("Secret {namespace}/{name} has no {key}"))?;
        ensure!(!bytes.0.is_empty(), "{key} of Secret {namespace}/{name} is empty");
        String::from_utf8(bytes.0.clone()).with_context(|| format!("{key} of Secret {namespace}/{name} is not PEM"))
    };
    let key = text("tls.key")?;
    ensure!(key.contains("PRIVATE KEY-----"), "tls.key of Secret {namespace}/{name} is no PEM private key");
    Ok(PemSecret { ca: text("ca.crt")?, certificate: text("tls.crt")?, key })
}

/// A directory for the files openssl and the clients read, one per test namespace, under the
/// temporary directory (`e2e/testbed exec` sees the host's).
pub fn work_dir(namespace: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(namespace);
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    Ok(dir)
}

/// Removes [`work_dir`] (it holds keys, a CA's among them) once a test passed; a failed test's
/// stays for debugging.
pub fn remove_work_dir(namespace: &str) {
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(namespace));
}

/// `openssl verify -CAfile <ca> <leaf>`: fails unless openssl says OK.
pub async fn verify(dir: &Path, name: &str, ca: &str, leaf: &str) -> Result<()> {
    let ca_file = write(dir, &format!("{name}-ca.crt"), ca)?;
    let leaf_file = write(dir, &format!("{name}-tls.crt"), leaf)?;
    let output = Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca_file).arg(&leaf_file).output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !stdout.trim_end().ends_with(": OK") {
        bail!("openssl verify of the {name} certificate failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// `openssl x509 -in <certificate> ARGS`: its output.
pub async fn x509(dir: &Path, name: &str, certificate: &str, args: &[&str]) -> Result<String> {
    let file = write(dir, &format!("{name}-x509.crt"), certificate)?;
    let output = Command::new("openssl").arg("x509").arg("-in").arg(&file).args(args).output().await?;
    ensure!(output.status.success(), "openssl x509 {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The certificate's subject as openssl prints it in a chain (`CN = name`).
pub async fn subject(dir: &Path, name: &str, certificate: &str) -> Result<String> {
    let line = x509(dir, name, certificate, &["-noout", "-subject"]).await?;
    let subject = line.trim().strip_prefix("subject=").with_context(|| format!("openssl printed {line}"))?;
    Ok(subject.trim().to_owned())
}

/// The DNS names among the certificate's subject alternative names.
pub async fn dns_names(dir: &Path, name: &str, certificate: &str) -> Result<Vec<String>> {
    let san = x509(dir, name, certificate, &["-noout", "-ext", "subjectAltName"]).await?;
    // "X509v3 Subject Alternative Name:" then one line "DNS:a, DNS:b, URI:c".
    let entries: String = san.lines().skip(1).collect();
    Ok(entries.split(',').filter_map(|entry| entry.trim().strip_prefix("DNS:")).map(str::to_owned).collect())
}

/// Whether the certificate is valid for `host` as openssl's host name check (RFC 6125
/// wildcards) sees it.
pub async fn matches_host(dir: &Path, certificate: &str, host: &str) -> Result<bool> {
    let answer = x509(dir, "host", certificate, &["-noout", "-checkhost", host]).await?;
    if answer.contains("does NOT match") {
        Ok(false)
    } else if answer.contains("does match") {
        Ok(true)
    } else {
        bail!("unexpected answer of openssl x509 -checkhost {host}: {answer}")
    }
}

/// A client's PEM files: the CA it trusts, its certificate and its PKCS#8 key.
pub struct ClientFiles {
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl ClientFiles {
    /// A key and a certificate `CN=<common_name>` for TLS client authentication, signed with
    /// openssl by the CA whose certificate and key `ca` holds (`tls.crt`, `tls.key`), as a user
    /// of the cluster would make one.
    pub async fn issue(dir: &Path, ca: &PemSecret, common_name: &str) -> Result<Self> {
        let files = Self {
            ca: write(dir, "ca.crt", &ca.ca)?,
            certificate: dir.join(format!("{common_name}.crt")),
            key: dir.join(format!("{common_name}.key")),
        };
        let extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n";
        sign(dir, ca, common_name, extensions).await?;
        Ok(files)
    }

    /// The PEM files of Secret `name` (a KafkaUser's, or cert-manager's), which must hold
    /// exactly the keys `expected`, written into `dir` named after the Secret.
    pub async fn from_secret(
        client: &Client,
        namespace: &str,
        dir: &Path,
        name: &str,
        expected: &[&str],
    ) -> Result<Self> {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace).get(name).await?;
        let data = secret.data.unwrap_or_default();
        let keys: std::collections::BTreeSet<&str> = data.keys().map(String::as_str).collect();
        ensure!(keys == expected.iter().copied().collect(), "Secret {name}: keys {keys:?}");
        let write = |key: &str| -> Result<PathBuf> {
            let path = dir.join(format!("{name}-{key}"));
            std::fs::write(&path, &data[key].0).with_context(|| format!("failed to write {}", path.display()))?;
            Ok(path)
        };
        Ok(Self { ca: write("ca.crt")?, certificate: write("tls.crt")?, key: write("tls.key")? })
    }

    /// librdkafka settings for TLS with this certificate and host name verification.
    pub fn kcat_settings(&self) -> Vec<String> {
        let mut settings = tls_without_certificate(&self.ca);
        settings.push(format!("ssl.certificate.location={}", self.certificate.display()));
        settings.push(format!("ssl.key.location={}", self.key.display()));
        settings
    }

    /// A `client.properties` for Kafka's own tools: TLS with host name verification, key
    /// store and trust store as PEM written into the file (Kafka reads an unencrypted key only
    /// inline: a PEM key store file needs `ssl.key.password`).
    pub fn write_kafka_properties(&self, path: &Path) -> Result<()> {
        let read =
            |file: &Path| std::fs::read_to_string(file).with_context(|| format!("failed to read {}", file.display()));
        let properties = [
            "security.protocol=SSL".to_owned(),
            "ssl.endpoint.identification.algorithm=https".to_owned(),
            "ssl.keystore.type=PEM".to_owned(),
            property("ssl.keystore.certificate.chain", &read(&self.certificate)?),
            property("ssl.keystore.key", &read(&self.key)?),
            "ssl.truststore.type=PEM".to_owned(),
            property("ssl.truststore.certificates", &read(&self.ca)?),
        ];
        std::fs::write(path, properties.join("\n") + "\n")
            .with_context(|| format!("failed to write {}", path.display()))
    }
}

/// A CA made with openssl, as a user bringing their own certificates would (`CN=<common_name>`,
/// a day long): `ca` and `certificate` its certificate, `key` its PKCS#8 key.
pub async fn self_signed_ca(dir: &Path, common_name: &str) -> Result<PemSecret> {
    let (certificate, key) = (dir.join(format!("{common_name}.crt")), dir.join(format!("{common_name}.key")));
    let subject = format!("/CN={common_name}");
    run_openssl(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                CLIENT_CERTIFICATE_DAYS,
                "-subj",
                &subject,
            ])
            .args(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&certificate),
    )
    .await?;
    let read =
        |file: &Path| std::fs::read_to_string(file).with_context(|| format!("failed to read {}", file.display()));
    let certificate = read(&certificate)?;
    Ok(PemSecret { ca: certificate.clone(), certificate, key: read(&key)? })
}

/// A new key and a certificate `CN=<common_name>` with `extensions`, signed with openssl by the
/// CA whose certificate and key `ca` holds: `<common_name>.crt` and `<common_name>.key` in `dir`.
/// OpenSSL 3 writes the key as unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), which both librdkafka
/// and Kafka's PEM key store read.
async fn sign(dir: &Path, ca: &PemSecret, common_name: &str, extensions: &str) -> Result<(PathBuf, PathBuf)> {
    let ca_certificate = write(dir, &format!("{common_name}-issuer.crt"), &ca.certificate)?;
    let ca_key = write(dir, &format!("{common_name}-issuer.key"), &ca.key)?;
    let (certificate, key, request) = (
        dir.join(format!("{common_name}.crt")),
        dir.join(format!("{common_name}.key")),
        dir.join(format!("{common_name}.csr")),
    );
    let extensions = write(dir, &format!("{common_name}.ext"), extensions)?;
    let subject = format!("/CN={common_name}");
    run_openssl(
        Command::new("openssl")
            .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", &subject])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&request),
    )
    .await?;
    run_openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-CAcreateserial", "-days", CLIENT_CERTIFICATE_DAYS])
            .arg("-in")
            .arg(&request)
            .arg("-CA")
            .arg(&ca_certificate)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&extensions)
            .arg("-out")
            .arg(&certificate),
    )
    .await?;
    Ok((certificate, key))
}

/// A leaf certificate `CN=<common_name>` with `dns_names`, for TLS servers and clients both (a
/// broker's certificate is also its client certificate towards other brokers), signed with
/// openssl by `ca`: (certificate, PKCS#8 key) as PEM.
pub async fn issue_leaf(
    dir: &Path,
    ca: &PemSecret,
    common_name: &str,
    dns_names: &[String],
) -> Result<(String, String)> {
    let mut extensions = String::from(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth,clientAuth\n",
    );
    if !dns_names.is_empty() {
        let names: Vec<String> = dns_names.iter().map(|name| format!("DNS:{name}")).collect();
        extensions.push_str(&format!("subjectAltName={}\n", names.join(",")));
    }
    let (certificate, key) = sign(dir, ca, common_name, &extensions).await?;
    let read =
        |file: &Path| std::fs::read_to_string(file).with_context(|| format!("failed to read {}", file.display()));
    Ok((read(&certificate)?, read(&key)?))
}

/// Koperator's JKS layout of a listener's `serverSSLCertSecret`, made with openssl and Java's
/// keytool as a user would: (`keystore.jks` holding `certificate` with `key` and the CA chain,
/// `truststore.jks` holding the CA), both under `password`.
pub async fn jks_stores(
    dir: &Path,
    name: &str,
    ca: &PemSecret,
    certificate: &str,
    key: &str,
    password: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (certificate_file, key_file, ca_file) = (
        write(dir, &format!("{name}-jks.crt"), certificate)?,
        write(dir, &format!("{name}-jks.key"), key)?,
        write(dir, &format!("{name}-jks-ca.crt"), &ca.certificate)?,
    );
    let (pkcs12, key_store, trust_store) = (
        dir.join(format!("{name}.p12")),
        dir.join(format!("{name}-keystore.jks")),
        dir.join(format!("{name}-truststore.jks")),
    );
    for file in [&pkcs12, &key_store, &trust_store] {
        let _ = std::fs::remove_file(file);
    }
    let pass = format!("pass:{password}");
    run_openssl(
        Command::new("openssl")
            .args(["pkcs12", "-export", "-name", name, "-passout", &pass])
            .arg("-in")
            .arg(&certificate_file)
            .arg("-inkey")
            .arg(&key_file)
            .arg("-certfile")
            .arg(&ca_file)
            .arg("-out")
            .arg(&pkcs12),
    )
    .await?;
    run_openssl(
        Command::new("keytool")
            .args(["-importkeystore", "-noprompt", "-srcstoretype", "PKCS12", "-deststoretype", "JKS"])
            .args(["-srcstorepass", password, "-deststorepass", password])
            .arg("-srckeystore")
            .arg(&pkcs12)
            .arg("-destkeystore")
            .arg(&key_store),
    )
    .await?;
    run_openssl(
        Command::new("keytool")
            .args(["-importcert", "-noprompt", "-alias", "ca", "-storetype", "JKS", "-storepass", password])
            .arg("-file")
            .arg(&ca_file)
            .arg("-keystore")
            .arg(&trust_store),
    )
    .await?;
    let read = |file: &Path| std::fs::read(file).with_context(|| format!("failed to read {}", file.display()));
    Ok((read(&key_store)?, read(&trust_store)?))
}

/// librdkafka settings for TLS that trusts `ca` and verifies host names, without a client
/// certificate.
pub fn tls_without_certificate(ca: &Path) -> Vec<String> {
    vec![
        "security.protocol=ssl".to_owned(),
        format!("ssl.ca.location={}", ca.display()),
        "ssl.endpoint.identification.algorithm=https".to_owned(),
    ]
}

/// `openssl s_client` to `address` (host:port) through the cluster's DNS, trusting only the
/// client's CA, presenting its certificate, and requiring the server's certificate to name
/// `host`; `-showcerts` prints the chain. A failed verification is a non-zero exit.
pub async fn s_client(address: &str, host: &str, client: &ClientFiles) -> Result<CommandOutput> {
    let server_name = address.rsplit_once(':').map_or(address, |(name, _)| name);
    let (ca, certificate, key) =
        (client.ca.to_string_lossy(), client.certificate.to_string_lossy(), client.key.to_string_lossy());
    let args = [
        "openssl",
        "s_client",
        "-connect",
        address,
        "-servername",
        server_name,
        "-CAfile",
        &ca,
        "-verify_hostname",
        host,
        "-verify_return_error",
        "-cert",
        &certificate,
        "-key",
        &key,
        "-showcerts",
    ];
    // The cluster's DNS may answer "try again" (EAI_AGAIN) while the machine is loaded: the
    // suite saw it once for a Ready pod's name. Only that answer is retried, for a while.
    let deadline = tokio::time::Instant::now() + S_CLIENT_TIMEOUT;
    loop {
        let output = host_command::run(&args, Some(b""), S_CLIENT_TIMEOUT).await?;
        let dns_said_try_again = output.stderr.contains("Temporary failure in name resolution");
        if !dns_said_try_again || tokio::time::Instant::now() >= deadline {
            return Ok(output);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A Java properties line whose value is a PEM block: each PEM line after a backslash line
/// continuation (Kafka's PEM parser ignores the missing line breaks).
fn property(key: &str, pem: &str) -> String {
    format!("{key}={}", pem.trim().lines().collect::<Vec<_>>().join(" \\\n"))
}

fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(path)
}

/// Runs openssl (or keytool); fails with its error output.
async fn run_openssl(command: &mut Command) -> Result<()> {
    let output = command.output().await.with_context(|| format!("failed to run {command:?}"))?;
    ensure!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_block_becomes_one_continued_property() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n";
        assert_eq!(
            property("ssl.truststore.certificates", pem),
            "ssl.truststore.certificates=-----BEGIN CERTIFICATE----- \\\nAAAA \\\nBBBB \\\n-----END CERTIFICATE-----"
        );
    }
}
