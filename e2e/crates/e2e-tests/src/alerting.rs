//! The alerting path on the host: alert-receiver replicas, a real Prometheus scraping the
//! brokers' JMX exporter and a real Alertmanager (Debian packages `prometheus` and
//! `prometheus-alertmanager`) posting to the receivers, plus Alertmanager-shaped webhook
//! payloads for posting directly.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::controller_process::ControllerProcess;
use crate::testbed::repo_root;
use crate::wait::{self, Check};

/// The one series the test's Prometheus fetches from each broker (always present on a broker);
/// the test's alert rules are written over it.
pub const SCRAPED_METRIC: &str = "kafka_server_replicamanager_partitioncount";

/// A loopback port nothing listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Writes a fresh bearer token for a test's receivers; returns its path and value.
pub fn write_token(namespace: &str) -> Result<(PathBuf, String)> {
    let dir = repo_root().join("target/e2e-logs");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{namespace}-alert-receiver.token"));
    let token = format!("e2e-{namespace}-{}", std::process::id());
    std::fs::write(&path, format!("{token}\n"))?;
    Ok((path, token))
}

/// One alert-receiver replica.
pub struct Receiver {
    pub process: ControllerProcess,
    /// `http://127.0.0.1:<port>/webhook`, or `http://127.0.0.1:<port>/` (Koperator's path) for
    /// a replica that accepts unauthenticated webhooks.
    pub url: String,
}

impl Receiver {
    /// Starts a replica asking the cluster controller at `grpc` and waits until it answers.
    pub async fn start(namespace: &str, token_file: &Path, token: &str, grpc: &str) -> Result<Self> {
        let token_path = token_file.display().to_string();
        Self::start_with(namespace, grpc, &["--token-file", &token_path], "/webhook", Some(token)).await
    }

    /// Like [`start`](Self::start), with `extra_args` (e.g. `--otlp-endpoint`).
    pub async fn start_with_args(
        namespace: &str,
        grpc: &str,
        token_file: &Path,
        token: &str,
        extra_args: &[&str],
    ) -> Result<Self> {
        let token_path = token_file.display().to_string();
        let mut args = vec!["--token-file", token_path.as_str()];
        args.extend_from_slice(extra_args);
        Self::start_with(namespace, grpc, &args, "/webhook", Some(token)).await
    }

    /// Starts a replica as a Koperator user migrating would: `--accept-unauthenticated-webhooks`,
    /// no token, Alertmanager posting to `/`.
    pub async fn start_unauthenticated(namespace: &str, grpc: &str) -> Result<Self> {
        Self::start_with(namespace, grpc, &["--accept-unauthenticated-webhooks"], "/", None).await
    }

    async fn start_with(
        namespace: &str,
        grpc: &str,
        auth_args: &[&str],
        path: &str,
        token: Option<&str>,
    ) -> Result<Self> {
        let listen = format!("127.0.0.1:{}", free_port()?);
        let endpoint = format!("http://{grpc}");
        let mut args = vec!["--listen-addr", &listen, "--cluster-actions-endpoint", &endpoint];
        args.extend_from_slice(auth_args);
        // A caller choosing its metrics address replaces the default one.
        let process = if args.contains(&"--metrics-addr") {
            ControllerProcess::start_with("alert-receiver", namespace, &args).await?
        } else {
            ControllerProcess::start("alert-receiver", namespace, &args).await?
        };
        let receiver = Self { process, url: format!("http://{listen}{path}") };
        let url = receiver.url.clone();
        wait::eventually("the alert receiver answers", Duration::from_secs(60), || async {
            Ok(match post(&url, token, &payload(&[])).await {
                Ok((200, _)) => Check::Done(()),
                other => Check::Pending(format!("{other:?}")),
            })
        })
        .await
        .with_context(|| receiver.process.log_tail(20))?;
        Ok(receiver)
    }
}

/// Posts `body` to a receiver; the status code and the answer's text.
pub async fn post(url: &str, token: Option<&str>, body: &Value) -> Result<(u16, String)> {
    post_bytes(url, token, serde_json::to_vec(body)?).await
}

pub async fn post_bytes(url: &str, token: Option<&str>, body: Vec<u8>) -> Result<(u16, String)> {
    let client = reqwest::Client::new();
    let mut request = client.post(url).header("content-type", "application/json").body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.timeout(Duration::from_secs(30)).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// A version 4 webhook body carrying `alerts`.
pub fn payload(alerts: &[Value]) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing", "receiver": "koperator",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager",
        "alerts": alerts,
    })
}

/// A firing alert as Alertmanager sends it.
pub fn alert(name: &str, fingerprint: &str, labels: Value, annotations: Value) -> Value {
    let mut labels = labels;
    labels["alertname"] = json!(name);
    json!({
        "status": "firing", "labels": labels, "annotations": annotations,
        "startsAt": "2026-11-22T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint,
    })
}

/// Where Alertmanager posts: a receiver's URL and, unless it is configured the Koperator way,
/// the file with the bearer token it sends.
pub struct Webhook {
    pub url: String,
    pub token_file: Option<PathBuf>,
}

impl Webhook {
    fn config(&self) -> Value {
        let mut config = json!({"url": self.url, "send_resolved": true, "max_alerts": 0});
        if let Some(token_file) = &self.token_file {
            config["http_config"] = json!({"authorization": {"type": "Bearer", "credentials_file": token_file}});
        }
        config
    }
}

/// Prometheus and Alertmanager, as host processes with their state in a temporary directory.
pub struct Monitoring {
    dir: PathBuf,
    prometheus: Child,
    alertmanager: Child,
    prometheus_url: String,
}

impl Monitoring {
    /// Prometheus scraping `targets` (host:port of JMX exporters) as job `kafka` and evaluating
    /// `rules.yml` every second; Alertmanager sending every alert to each of `webhooks`, except
    /// alerts named by a key of `routed`, which go to its webhooks only.
    pub async fn start(
        namespace: &str,
        targets: &[String],
        webhooks: &[Webhook],
        routed: &[(&str, &[Webhook])],
    ) -> Result<Self> {
        // A timed out scrape marks the series stale and would resolve the alert: the job
        // fetches only the series the test's rules read (`name[]`), since the full page of
        // the default rules (~9,000 series, ~0.9 MB) takes the exporter seconds on a busy
        // test bed, and the timeout is generous.
        let scrape_configs = json!([{"job_name": "kafka", "static_configs": [{"targets": targets}],
            "params": {"name[]": [SCRAPED_METRIC]}}]);
        Self::start_with(namespace, &scrape_configs, webhooks, routed).await
    }

    /// Like [`start`](Self::start), with the test's own `scrape_configs`.
    pub async fn start_with(
        namespace: &str,
        scrape_configs: &Value,
        webhooks: &[Webhook],
        routed: &[(&str, &[Webhook])],
    ) -> Result<Self> {
        let dir = repo_root().join("target/e2e-logs").join(format!("{namespace}-monitoring"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let (prometheus_port, alertmanager_port) = (free_port()?, free_port()?);
        let configs = |webhooks: &[Webhook]| webhooks.iter().map(Webhook::config).collect::<Vec<Value>>();
        let mut receivers = vec![json!({"name": "koperator", "webhook_configs": configs(webhooks)})];
        let mut routes = Vec::new();
        for (alertname, webhooks) in routed {
            receivers.push(json!({"name": alertname, "webhook_configs": configs(webhooks)}));
            routes.push(json!({"receiver": alertname, "matchers": [format!("alertname=\"{alertname}\"")]}));
        }
        let alertmanager_config = json!({
            "route": {"receiver": "koperator", "group_by": ["alertname"], "group_wait": "1s",
                "group_interval": "1s", "repeat_interval": "1h", "routes": routes},
            "receivers": receivers,
        });
        std::fs::write(dir.join("alertmanager.yml"), serde_yaml::to_string(&alertmanager_config)?)?;
        let prometheus_config = json!({
            "global": {"scrape_interval": "10s", "scrape_timeout": "9s", "evaluation_interval": "1s"},
            "rule_files": [dir.join("rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [format!("127.0.0.1:{alertmanager_port}")]}]}]},
            "scrape_configs": scrape_configs,
        });
        std::fs::write(dir.join("prometheus.yml"), serde_yaml::to_string(&prometheus_config)?)?;
        std::fs::write(dir.join("rules.yml"), "groups: []\n")?;

        let alertmanager = spawn(
            &dir,
            "alertmanager",
            &[
                "prometheus-alertmanager".into(),
                format!("--config.file={}", dir.join("alertmanager.yml").display()),
                format!("--storage.path={}", dir.join("alertmanager-data").display()),
                format!("--web.listen-address=127.0.0.1:{alertmanager_port}"),
                // A single instance: no gossip port to collide with other tests' instances.
                "--cluster.listen-address=".into(),
            ],
        )?;
        let prometheus = spawn(
            &dir,
            "prometheus",
            &[
                "prometheus".into(),
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("prometheus-data").display()),
                format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
                "--web.enable-lifecycle".into(),
                // A reload re-discovers Alertmanager; alerts that fire meanwhile are dropped and by
                // default sent again only a minute later.
                "--rules.alert.resend-delay=2s".into(),
            ],
        )?;
        let monitoring =
            Self { dir, prometheus, alertmanager, prometheus_url: format!("http://127.0.0.1:{prometheus_port}") };
        let ready = format!("{}/-/ready", monitoring.prometheus_url);
        wait::eventually("Prometheus is ready", Duration::from_secs(60), || async {
            Ok(match reqwest::get(&ready).await {
                Ok(response) if response.status().is_success() => Check::Done(()),
                other => Check::Pending(format!("{:?}", other.map(|r| r.status()))),
            })
        })
        .await?;
        Ok(monitoring)
    }

    /// Replaces the alerting rules and makes Prometheus load them.
    pub async fn set_rules(&self, rules: &Value) -> Result<()> {
        self.set_rule_file(&serde_yaml::to_string(&json!({"groups": [{"name": "koperator", "rules": rules}]}))?).await
    }

    /// Replaces the rule file (`groups: ...` YAML) and makes Prometheus load it.
    pub async fn set_rule_file(&self, text: &str) -> Result<()> {
        std::fs::write(self.dir.join("rules.yml"), text)?;
        let response = reqwest::Client::new().post(format!("{}/-/reload", self.prometheus_url)).send().await?;
        if !response.status().is_success() {
            bail!("Prometheus rejected the rules: {}", response.text().await?);
        }
        Ok(())
    }

    /// Evaluates a PromQL instant query; the result vector.
    pub async fn query(&self, promql: &str) -> Result<Vec<Value>> {
        let url = format!("{}/api/v1/query", self.prometheus_url);
        // A form body: this reqwest build has no `query`/`form` helpers.
        let encoded: String = promql
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("query={encoded}"))
            .send()
            .await?;
        let answer: Value = serde_json::from_str(&response.text().await?)?;
        Ok(answer["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Prometheus' alerts (`/api/v1/alerts`): each with `labels`, `annotations`, `state`
    /// (pending or firing) and `activeAt`.
    pub async fn alerts(&self) -> Result<Vec<Value>> {
        let url = format!("{}/api/v1/alerts", self.prometheus_url);
        let answer: Value = serde_json::from_str(&reqwest::get(url).await?.text().await?)?;
        Ok(answer["data"]["alerts"].as_array().cloned().unwrap_or_default())
    }

    /// The metric families Prometheus has seen in its scrapes (`/api/v1/metadata`), with or
    /// without samples: OpenMetrics names counters without `_total`.
    pub async fn metric_families(&self) -> Result<std::collections::BTreeSet<String>> {
        let url = format!("{}/api/v1/metadata", self.prometheus_url);
        let answer: Value = serde_json::from_str(&reqwest::get(url).await?.text().await?)?;
        Ok(answer["data"].as_object().map(|families| families.keys().cloned().collect()).unwrap_or_default())
    }

    /// Each scrape target's health and last error (`/api/v1/targets`), for what a wait shows.
    pub async fn target_health(&self) -> Result<Vec<String>> {
        let url = format!("{}/api/v1/targets", self.prometheus_url);
        let answer: Value = serde_json::from_str(&reqwest::get(url).await?.text().await?)?;
        let targets = answer["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
        Ok(targets
            .iter()
            .map(|t| format!("{} {} {}", t["scrapeUrl"], t["health"], t["lastError"]).replace('"', ""))
            .collect())
    }

    /// The last lines of both logs, for failure messages.
    pub fn log_tails(&self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(10)..].join("\n")
        };
        format!("prometheus:\n{}\nalertmanager:\n{}", tail("prometheus"), tail("alertmanager"))
    }
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        let _ = self.prometheus.start_kill();
        let _ = self.alertmanager.start_kill();
    }
}

/// Runs `args` through `e2e/testbed exec` (cluster DNS for the scrape targets), logging to
/// `<dir>/<name>.log`.
fn spawn(dir: &Path, name: &str, args: &[String]) -> Result<Child> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
    Command::new(repo_root().join("e2e/testbed"))
        .arg("exec")
        .arg("--")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {name}"))
}
