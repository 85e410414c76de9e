//! Cruise Control on the test bed: the stand-in (`e2e/cruise-control-standin`, run for any
//! `.../cruise-control:<tag>` image) deployed by hand, its REST API over HTTP, and Kafka's own
//! view of replica placement to check what it did.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use crd_types::KafkaCluster;
use crd_types::kafka_cluster::CruiseControlTopicStatus;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, LogParams};
use serde_json::Value;

use crate::namespace::TestNamespace;
use crate::wait::{self, Check};
use crate::{host_command, kcat};
use crate::{kafka_cluster, manifests};

/// Koperator's default Cruise Control image; the test bed runs the stand-in for it.
pub const IMAGE: &str = "ghcr.io/banzaicloud/cruise-control:2.5.123";
pub const PORT: u16 = 8090;
const TASK_HEADER: &str = "User-Task-ID";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// How often one POST is sent again after a transport error.
const TRANSPORT_RETRIES: u32 = 5;

/// A Cruise Control Deployment + Service + ConfigMap named `{{name}}` (Service
/// `{{name}}-svc`, ConfigMap `{{name}}-config`), the way Koperator lays them out, with
/// `{{properties}}` as cruisecontrol.properties (indented by the caller to 4 spaces).
pub const MANIFEST: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{name}}-config
data:
  cruisecontrol.properties: |
{{properties}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{name}}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{name}}}
  template:
    metadata:
      labels: {app: {{name}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: cruise-control
          image: {{image}}
          ports: [{containerPort: 8090}]
          readinessProbe:
            tcpSocket: {port: 8090}
            periodSeconds: 2
          volumeMounts:
            - {name: config, mountPath: /opt/cruise-control/config}
      volumes:
        - name: config
          configMap: {name: {{name}}-config}
---
apiVersion: v1
kind: Service
metadata:
  name: {{name}}-svc
spec:
  selector: {app: {{name}}}
  ports: [{name: api, port: 8090, targetPort: 8090}]
"#;

/// Applies [`MANIFEST`] with these cruisecontrol.properties lines.
pub async fn deploy(ns: &TestNamespace, name: &str, properties: &[&str]) -> Result<()> {
    let indented: Vec<String> = properties.iter().map(|line| format!("    {line}")).collect();
    let values = [("name", name), ("image", IMAGE), ("properties", &indented.join("\n"))];
    manifests::apply(&ns.client, &ns.name, MANIFEST, &values).await.map(drop)
}

/// One HTTP answer of Cruise Control.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub task_id: Option<String>,
    pub body: Value,
}

/// A client of one Cruise Control's REST API, reached from the host at its Service's ClusterIP
/// (kube-proxy's rules route ClusterIPs from the host too).
pub struct CruiseControl {
    base: String,
    http: reqwest::Client,
}

impl CruiseControl {
    pub async fn for_service(ns: &TestNamespace, service: &str) -> Result<Self> {
        let services: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
        let found = services.get(service).await.with_context(|| format!("no Service {service}"))?;
        let ip =
            found.spec.and_then(|s| s.cluster_ip).with_context(|| format!("Service {service} has no ClusterIP"))?;
        // reqwest is built without a TLS provider (the workspace uses ring); plain HTTP needs none,
        // but the client builder asks for one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
        Ok(Self { base: format!("http://{ip}:{PORT}/kafkacruisecontrol"), http })
    }

    /// `GET <endpoint>?<query>&json=true`; fails unless 200.
    pub async fn get(&self, endpoint: &str, query: &str) -> Result<Value> {
        let url = format!("{}/{endpoint}?json=true{}{query}", self.base, if query.is_empty() { "" } else { "&" });
        let response = self.http.get(&url).send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("GET {url}: {status} {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON: {text}"))
    }

    /// One `POST <endpoint>?<query>&json=true`, resuming `task` when given.
    pub async fn post(&self, endpoint: &str, query: &str, task: Option<&str>) -> Result<Answer> {
        let url = format!("{}/{endpoint}?json=true{}{query}", self.base, if query.is_empty() { "" } else { "&" });
        let mut request = self.http.post(&url);
        if let Some(task) = task {
            request = request.header(TASK_HEADER, task);
        }
        let response = request.send().await.with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        let task_id = response.headers().get(TASK_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await?;
        let body = serde_json::from_str(&text).with_context(|| format!("POST {url}: {status}, not JSON: {text}"))?;
        Ok(Answer { status, task_id, body })
    }

    /// POSTs, then re-sends with the User-Task-ID while the answer is 202; returns every answer
    /// (the last one is final).
    ///
    /// A request that fails in transport is sent again: a resumed task is only read, and a first
    /// POST is repeated only when it never reached Cruise Control (a connection refused), so
    /// that a busy test bed cannot start a second execution.
    pub async fn post_until_answered(&self, endpoint: &str, query: &str) -> Result<Vec<Answer>> {
        let mut answers = vec![self.post_retrying(endpoint, query, None).await?];
        while answers.last().is_some_and(|a| a.status == 202) {
            if answers.len() > 240 {
                bail!("POST {endpoint}?{query} still 202 after {} tries", answers.len());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            let task = answers.last().and_then(|a| a.task_id.clone()).context("a 202 without User-Task-ID")?;
            answers.push(self.post_retrying(endpoint, query, Some(&task)).await?);
        }
        Ok(answers)
    }

    async fn post_retrying(&self, endpoint: &str, query: &str, task: Option<&str>) -> Result<Answer> {
        let mut failures = 0;
        loop {
            match self.post(endpoint, query, task).await {
                Ok(answer) => return Ok(answer),
                Err(error) if failures < TRANSPORT_RETRIES && (task.is_some() || never_sent(&error)) => {
                    failures += 1;
                    eprintln!("e2e: POST {endpoint} failed in transport ({error:#}); sending it again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The user task `id` as user_tasks lists it.
    pub async fn user_task(&self, id: &str) -> Result<Value> {
        let tasks = self.get("user_tasks", &format!("user_task_ids={id}")).await?;
        tasks["userTasks"].as_array().and_then(|t| t.first()).cloned().with_context(|| format!("no task {id}: {tasks}"))
    }

    /// Waits until task `id` has `status`; fails as soon as it ends with another.
    pub async fn wait_task(&self, id: &str, status: &str, timeout: Duration) -> Result<Value> {
        let task = wait::eventually(&format!("user task {id} is {status}"), timeout, || async {
            let task = self.user_task(id).await?;
            let current = task["Status"].as_str().unwrap_or_default();
            Ok(if current == status || current.starts_with("Completed") {
                Check::Done(task)
            } else {
                Check::Pending(task.to_string())
            })
        })
        .await?;
        if task["Status"] != status {
            bail!("user task {id} ended {}, not {status}: {task}", task["Status"]);
        }
        Ok(task)
    }

    /// ExecutorState.state of `GET state`.
    pub async fn executor_state(&self) -> Result<String> {
        let state = self.get("state", "substates=executor").await?;
        Ok(state["ExecutorState"]["state"].as_str().unwrap_or_default().to_owned())
    }
}

/// Partition → replica list of `topic`, as Kafka reports it to kcat (`kcat -L`).
pub async fn replicas(bootstrap: &str, topic: &str) -> Result<BTreeMap<i32, Vec<i32>>> {
    let metadata = kcat::metadata(bootstrap, Some(topic)).await?;
    let found = metadata.topic(topic).with_context(|| format!("kcat does not list topic {topic}"))?;
    Ok(found.partitions.iter().map(|p| (p.partition, p.replicas.iter().map(|r| r.id).collect())).collect())
}

/// The dynamic configs of broker `id` (`kafka-configs --describe`), as `key=value` text.
pub async fn broker_configs(bootstrap: &str, id: i32) -> Result<String> {
    describe_broker(bootstrap, id, &[]).await
}

/// Every config of broker `id`, static ones included (`kafka-configs --describe --all`).
pub async fn all_broker_configs(bootstrap: &str, id: i32) -> Result<String> {
    describe_broker(bootstrap, id, &["--all"]).await
}

async fn describe_broker(bootstrap: &str, id: i32, flags: &[&str]) -> Result<String> {
    let id = id.to_string();
    let mut args = vec!["kafka-configs", "--bootstrap-server", bootstrap, "--describe"];
    args.extend(flags);
    args.extend(["--entity-type", "brokers", "--entity-name", &id]);
    host_command::run_ok(&args, None, TOOL_TIMEOUT).await
}

/// Waits until the operator's Cruise Control Deployment `<cluster>-cruisecontrol` has an
/// available replica (a JVM with the JMX agent starting on the test bed's shared cores).
pub async fn wait_operator_deployment(ns: &TestNamespace, cluster: &str) -> Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    let name = format!("{cluster}-cruisecontrol");
    wait::until(&deployments, &name, "is available", Duration::from_secs(240), |d: &Deployment| {
        d.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0) >= 1
    })
    .await?;
    Ok(())
}

/// Waits until the KafkaCluster reports CruiseControlAvailable True and its metrics topic
/// CruiseControlTopicReady; returns the cluster as it then was.
pub async fn wait_available_with_topic(ns: &TestNamespace, cluster: &str) -> Result<KafkaCluster> {
    wait::until(
        &kafka_cluster::api(ns),
        cluster,
        "reports Cruise Control available and its metrics topic ready",
        Duration::from_secs(180),
        |c: &KafkaCluster| {
            let topic = c.status.as_ref().and_then(|s| s.cruise_control_topic_status);
            let available = kafka_cluster::condition(c, "CruiseControlAvailable").is_some_and(|c| c.status == "True");
            available && topic == Some(CruiseControlTopicStatus::CruiseControlTopicReady)
        },
    )
    .await
}

/// Whether `error` is a reqwest error of a request that never reached the server.
fn never_sent(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_connect))
}

/// The last `lines` of the log of every Cruise Control pod of `cluster` (`app=cruisecontrol`),
/// for a failure report; what cannot be read is said instead.
pub async fn log_tail(ns: &TestNamespace, cluster: &str, lines: i64) -> String {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("app=cruisecontrol,kafka_cr={cluster}");
    let listed = match pods.list(&ListParams::default().labels(&selector)).await {
        Ok(listed) => listed,
        Err(error) => return format!("Cruise Control pods could not be listed: {error}"),
    };
    let mut report = String::new();
    for pod in listed {
        let name = pod.metadata.name.unwrap_or_default();
        let params = LogParams {
            container: Some("kafka-cruisecontrol".to_owned()),
            tail_lines: Some(lines),
            ..LogParams::default()
        };
        let log = pods.logs(&name, &params).await.unwrap_or_else(|error| format!("(no log: {error})"));
        report.push_str(&format!("Cruise Control pod {name} log tail:\n{log}\n"));
    }
    report
}
