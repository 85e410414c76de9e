//! Health probes: a minimal HTTP/1.1 GET over plain TCP (etcd on loopback) or over TLS
//! verified against the test bed's CA, optionally with a client certificate.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::pki::CertFiles;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Where and how to ask a component whether it is healthy.
#[derive(Debug, Clone)]
pub enum Probe {
    Http {
        address: Ipv4Addr,
        port: u16,
        path: &'static str,
    },
    Https {
        address: Ipv4Addr,
        port: u16,
        path: &'static str,
    },
    /// A Unix socket that accepts connections (containerd's API).
    UnixSocket(PathBuf),
    /// A file the process writes once it is ready (a node's namespace holder).
    FileExists(PathBuf),
    /// No endpoint: being alive is all we can check.
    Alive,
}

/// Performs probes; the TLS configuration is built once.
pub struct Prober {
    tls: Arc<ClientConfig>,
}

impl Prober {
    pub fn new(ca_cert: &Path, client: &CertFiles) -> Result<Self> {
        let mut roots = RootCertStore::empty();
        for cert in
            CertificateDer::pem_file_iter(ca_cert).with_context(|| format!("failed to read {}", ca_cert.display()))?
        {
            roots.add(cert?)?;
        }
        let chain = CertificateDer::pem_file_iter(&client.cert)?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&client.key)
            .with_context(|| format!("failed to read {}", client.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(Self { tls: Arc::new(tls) })
    }

    /// `Ok(())` when the endpoint answers 200; otherwise why not.
    pub fn check(&self, probe: &Probe) -> Result<()> {
        let (status, body) = match probe {
            Probe::Http { address, port, path } => self.get(*address, *port, path, false)?,
            Probe::Https { address, port, path } => self.get(*address, *port, path, true)?,
            Probe::UnixSocket(path) => {
                std::os::unix::net::UnixStream::connect(path)
                    .with_context(|| format!("failed to connect to {}", path.display()))?;
                return Ok(());
            }
            Probe::FileExists(path) => {
                if !path.exists() {
                    bail!("{} does not exist yet", path.display());
                }
                return Ok(());
            }
            Probe::Alive => return Ok(()),
        };
        if status != 200 {
            bail!("HTTP {status}: {}", body.lines().last().unwrap_or_default());
        }
        Ok(())
    }

    /// GET http(s)://<address>:<port><path>, returning status code and body.
    pub fn get(&self, address: Ipv4Addr, port: u16, path: &str, tls: bool) -> Result<(u16, String)> {
        let tcp = TcpStream::connect_timeout(&SocketAddr::from((address, port)), TIMEOUT)?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        tcp.set_write_timeout(Some(TIMEOUT))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {address}:{port}\r\nConnection: close\r\n\r\n");
        let response = if tls {
            let server_name = ServerName::from(std::net::IpAddr::V4(address));
            let connection = ClientConnection::new(self.tls.clone(), server_name)?;
            exchange(StreamOwned::new(connection, tcp), &request)?
        } else {
            exchange(tcp, &request)?
        };
        parse_response(&response)
    }
}

fn exchange(mut stream: impl Read + Write, request: &str) -> Result<Vec<u8>> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // Servers may close without a TLS close_notify once the body is sent.
        Err(error) if error.kind() == ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(error) => return Err(error.into()),
    }
    Ok(response)
}

fn parse_response(response: &[u8]) -> Result<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP response: {:.80}", text))?;
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let (status, body) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").expect("parse");
        assert_eq!(status, 200);
        assert_eq!(body, "ok");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_response(b"garbage").is_err());
    }
}
