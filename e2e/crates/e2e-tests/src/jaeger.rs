//! A real Jaeger (v2, built by the bootstrap from its Go module) on the host: an OTLP/gRPC
//! receiver for the deployables' traces and the query API to read them back.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::alerting::free_port;
use crate::testbed::repo_root;
use crate::wait::{self, Check};

/// One Jaeger with in-memory storage on free loopback ports.
pub struct Jaeger {
    child: Child,
    log: PathBuf,
    otlp_port: u16,
    query_port: u16,
}

impl Jaeger {
    /// Starts Jaeger (`JAEGER_BIN` from toolchain.env) and waits until its query API answers.
    pub async fn start(namespace: &str) -> Result<Self> {
        let binary = crate::helm::tool("JAEGER_BIN")?;
        let dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("{namespace}-jaeger.log"));
        let (otlp_port, query_port) = (free_port()?, free_port()?);
        let log_file = std::fs::File::create(&log)?;
        // The bootstrap's configuration: OTLP in, memory storage, the query API; ports from
        // the environment, 0 (any) for the listeners the test does not use.
        let child = Command::new(binary)
            .arg(format!("--config={}", repo_root().join("e2e/bootstrap/jaeger-config.yaml").display()))
            .env("JAEGER_OTLP_GRPC_PORT", otlp_port.to_string())
            .env("JAEGER_QUERY_HTTP_PORT", query_port.to_string())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .context("failed to start jaeger")?;
        let jaeger = Self { child, log, otlp_port, query_port };
        let services = format!("{}/api/services", jaeger.query_url());
        wait::eventually("Jaeger's query API answers", Duration::from_secs(60), || async {
            Ok(match reqwest::get(&services).await {
                Ok(response) if response.status().is_success() => Check::Done(()),
                other => Check::Pending(format!("{:?}", other.map(|r| r.status()))),
            })
        })
        .await
        .with_context(|| jaeger.log_tail(20))?;
        Ok(jaeger)
    }

    /// Where the deployables export to (`--otlp-endpoint`).
    pub fn otlp_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_port)
    }

    fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.query_port)
    }

    /// The traces holding spans of `service` (query API `GET /api/traces`): each with `spans`
    /// (`operationName`, `processID`) and `processes` (`serviceName` by process id).
    pub async fn traces(&self, service: &str) -> Result<Vec<Value>> {
        let url = format!("{}/api/traces?service={service}&limit=100&lookback=1h", self.query_url());
        let answer: Value = serde_json::from_str(&reqwest::get(url).await?.text().await?)?;
        Ok(answer["data"].as_array().cloned().unwrap_or_default())
    }

    /// The services whose spans a trace holds.
    pub fn services(trace: &Value) -> BTreeSet<String> {
        let processes = trace["processes"].as_object();
        processes.into_iter().flatten().filter_map(|(_, p)| p["serviceName"].as_str().map(str::to_owned)).collect()
    }

    /// `service: operation` of each span of a trace.
    pub fn span_names(trace: &Value) -> Vec<String> {
        let spans = trace["spans"].as_array().cloned().unwrap_or_default();
        spans
            .iter()
            .map(|span| {
                let process = span["processID"].as_str().unwrap_or_default();
                let service = trace["processes"][process]["serviceName"].as_str().unwrap_or("?");
                format!("{service}: {}", span["operationName"].as_str().unwrap_or("?"))
            })
            .collect()
    }

    /// The last lines of Jaeger's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
