//! One request and its response over a fresh connection to one broker, plaintext or TLS (the
//! cluster's CA and, for mutual TLS, the operator's client certificate). A controller's pass
//! sends a handful of requests (two dozen at 10,000 topics) and then waits for minutes, so no
//! connection is kept: nothing per broker stays open between passes.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{DecodeError, Decoder, Encoder};
use crate::connection_settings::TlsSettings;

/// A response larger than this is refused (client quota answers are a few kilobytes).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("cannot reach {address}: {source}")]
    Connect { address: String, source: std::io::Error },
    #[error("TLS settings: {0}")]
    Tls(String),
    #[error("TLS handshake with {address}: {source}")]
    Handshake { address: String, source: std::io::Error },
    #[error("{address}: {source}")]
    Io { address: String, source: std::io::Error },
    /// Reset or end of stream before the whole answer: a broker shutting down, a listener of
    /// another protocol, or something that is not Kafka. One message whichever way the peer
    /// closed, so a status that names it does not change between passes.
    #[error("{address} closed the connection without answering")]
    Closed { address: String },
    #[error("{address} did not answer within {timeout:?}")]
    TimedOut { address: String, timeout: Duration },
    #[error("{address} answered correlation id {got}, not {expected}")]
    Correlation { address: String, expected: i32, got: i32 },
    #[error("{address} answered {length} bytes, more than this client reads")]
    TooLarge { address: String, length: usize },
    #[error("{address}: {source}")]
    Decode { address: String, source: DecodeError },
}

impl ExchangeError {
    /// The broker could not be reached or went away: another broker may answer, and the same
    /// request may work later.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::TimedOut { .. } | Self::Closed { .. })
    }
}

/// An API request to send: key, version, body.
pub struct Request<'a> {
    pub api_key: i16,
    pub api_version: i16,
    /// A flexible version: request header v2 and response header v1 (both with tagged fields).
    pub flexible: bool,
    pub body: &'a [u8],
}

/// ApiVersions answers with response header v0 even in its flexible versions, so a client that
/// does not know the broker's versions yet can read the answer.
const API_VERSIONS: i16 = 18;

/// Sends `request` to `address` (`host:port`) and returns the response body (after the
/// correlation id). TLS verifies the broker's certificate against the CA and the host name.
pub async fn exchange(
    address: &str,
    client_id: &str,
    tls: Option<&TlsSettings>,
    request: Request<'_>,
    timeout: Duration,
) -> Result<Vec<u8>, ExchangeError> {
    let timed_out = || ExchangeError::TimedOut { address: address.to_owned(), timeout };
    tokio::time::timeout(timeout, async {
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|source| ExchangeError::Connect { address: address.to_owned(), source })?;
        match tls {
            None => round_trip(tcp, address, client_id, request).await,
            Some(settings) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(settings)?));
                let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|error| ExchangeError::Tls(format!("{host} is not a server name: {error}")))?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|source| ExchangeError::Handshake { address: address.to_owned(), source })?;
                round_trip(stream, address, client_id, request).await
            }
        }
    })
    .await
    .map_err(|_| timed_out())?
}

/// Correlation id of the one request a connection carries.
const CORRELATION_ID: i32 = 1;

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    address: &str,
    client_id: &str,
    request: Request<'_>,
) -> Result<Vec<u8>, ExchangeError> {
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof => ExchangeError::Closed { address: address.to_owned() },
        _ => ExchangeError::Io { address: address.to_owned(), source },
    };
    // Request header v1: api key, api version, correlation id, client id; v2 adds tagged fields.
    let mut header = Encoder::default();
    header.i16(request.api_key).i16(request.api_version).i32(CORRELATION_ID).nullable_string(Some(client_id));
    if request.flexible {
        header.no_tagged_fields();
    }
    let header = header.into_bytes();
    let size = (header.len() + request.body.len()) as i32;
    let mut frame = Vec::with_capacity(4 + size as usize);
    frame.extend(size.to_be_bytes());
    frame.extend(header);
    frame.extend(request.body);
    stream.write_all(&frame).await.map_err(io)?;
    stream.flush().await.map_err(io)?;

    let length = stream.read_i32().await.map_err(io)?;
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    if length > MAX_RESPONSE_BYTES {
        return Err(ExchangeError::TooLarge { address: address.to_owned(), length });
    }
    let mut response = vec![0; length];
    stream.read_exact(&mut response).await.map_err(io)?;
    let _ = stream.shutdown().await;
    // Response header v0: the correlation id; v1 adds tagged fields.
    let decode = |source| ExchangeError::Decode { address: address.to_owned(), source };
    let mut decoder = Decoder::new(&response);
    let got = decoder.i32().map_err(decode)?;
    if got != CORRELATION_ID {
        return Err(ExchangeError::Correlation { address: address.to_owned(), expected: CORRELATION_ID, got });
    }
    if request.flexible && request.api_key != API_VERSIONS {
        decoder.skip_tagged_fields().map_err(decode)?;
    }
    let header_length = response.len() - decoder.remaining();
    response.drain(..header_length);
    Ok(response)
}

fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, ExchangeError> {
    let tls = |what: &str, error: &dyn std::fmt::Display| ExchangeError::Tls(format!("{what}: {error}"));
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(settings.ca_pem.as_bytes()) {
        let certificate = certificate.map_err(|error| tls("the CA PEM", &error))?;
        roots.add(certificate).map_err(|error| tls("the CA certificate", &error))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| tls("protocol versions", &error))?
        .with_root_certificates(roots);
    match &settings.client {
        None => Ok(builder.with_no_client_auth()),
        Some(client) => {
            let chain = CertificateDer::pem_slice_iter(client.certificate_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| tls("the client certificate PEM", &error))?;
            let key = PrivateKeyDer::from_pem_slice(client.private_key_pem.as_bytes())
                .map_err(|error| tls("the client key PEM", &error))?;
            builder.with_client_auth_cert(chain, key).map_err(|error| tls("the client certificate", &error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the peer resets the connection or ends the stream depends on timing; both are
    /// the same answer to a caller.
    #[tokio::test]
    async fn a_peer_that_closes_without_answering_is_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.expect("accept");
                drop(stream);
            }
        });
        for _ in 0..2 {
            let request = Request { api_key: API_VERSIONS, api_version: 0, flexible: false, body: &[] };
            let error = exchange(&address, "test", None, request, Duration::from_secs(5)).await.expect_err("closed");
            assert!(matches!(error, ExchangeError::Closed { .. }), "{error:?}");
            assert_eq!(error.to_string(), format!("{address} closed the connection without answering"));
        }
    }
}
