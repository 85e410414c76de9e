//! The cluster DNS server on the bridge address (UDP and TCP port 53).

pub mod records;
pub mod wire;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, UdpSocket},
};

use crate::cluster::ClusterCache;
use records::{Answer, answer};
use wire::{RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A, build_response, parse_query};

pub struct DnsServer {
    cache: ClusterCache,
    /// Forwarding is opt-in: the test bed may only talk to addresses it owns.
    upstream: Option<SocketAddr>,
}

impl DnsServer {
    pub fn new(cache: ClusterCache, upstream: Option<SocketAddr>) -> Arc<Self> {
        Arc::new(Self { cache, upstream })
    }

    pub async fn serve(self: Arc<Self>, listen: SocketAddr) -> Result<()> {
        // The bridge address may appear late (or the previous agent may still hold it).
        let mut attempts = 0;
        let udp = loop {
            match UdpSocket::bind(listen).await {
                Ok(socket) => break Arc::new(socket),
                Err(_) if attempts < 30 => attempts += 1,
                Err(error) => return Err(error).with_context(|| format!("failed to bind udp {listen}")),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let tcp = TcpListener::bind(listen).await.with_context(|| format!("failed to bind tcp {listen}"))?;
        let server = self.clone();
        tokio::spawn(async move { server.serve_tcp(tcp).await });
        let mut buffer = vec![0u8; 4096];
        loop {
            let Ok((len, peer)) = udp.recv_from(&mut buffer).await else { continue };
            let packet = buffer[..len].to_vec();
            let (server, udp) = (self.clone(), udp.clone());
            tokio::spawn(async move {
                if let Some(response) = server.respond(&packet).await {
                    let _ = udp.send_to(&response, peer).await;
                }
            });
        }
    }

    async fn serve_tcp(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let server = self.clone();
            tokio::spawn(async move {
                loop {
                    let Ok(len) = stream.read_u16().await else { return };
                    let mut packet = vec![0u8; len as usize];
                    if stream.read_exact(&mut packet).await.is_err() {
                        return;
                    }
                    let Some(response) = server.respond(&packet).await else { return };
                    if stream.write_u16(response.len() as u16).await.is_err()
                        || stream.write_all(&response).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    }

    async fn respond(&self, packet: &[u8]) -> Option<Vec<u8>> {
        let question = parse_query(packet)?;
        match answer(&question.name, &self.cache) {
            Answer::Records(ips) if question.qtype == TYPE_A => Some(build_response(&question, 0, &ips)),
            Answer::Records(_) => Some(build_response(&question, 0, &[])),
            Answer::NxDomain => Some(build_response(&question, RCODE_NXDOMAIN, &[])),
            Answer::NotCluster => match self.upstream {
                Some(upstream) => Some(
                    forward(packet, upstream).await.unwrap_or_else(|| build_response(&question, RCODE_SERVFAIL, &[])),
                ),
                None => Some(build_response(&question, RCODE_NXDOMAIN, &[])),
            },
        }
    }
}

async fn forward(packet: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("0.0.0.0:0").await.ok()?;
    socket.send_to(packet, upstream).await.ok()?;
    let mut buffer = vec![0u8; 4096];
    let len = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buffer)).await.ok()?.ok()?;
    buffer.truncate(len);
    Some(buffer)
}
