//! The HTTP side: one `reqwest` client per Cruise Control, reads that tolerate Cruise
//! Control's asynchronous answers, and task submissions that can be polled.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::endpoint::{CruiseControlEndpoint, PATH_PREFIX};
use crate::error::Error;
use crate::request::{TaskOptions, TaskRequest};
use crate::responses::{
    ClusterLoad, CruiseControlState, ErrorBody, KafkaClusterState, OptimizationResult, Progress, StopResult, UserTask,
    UserTasks,
};

/// The header Cruise Control names a user task by, in answers and in polls.
pub const USER_TASK_ID_HEADER: &str = "User-Task-ID";

#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Whole-request timeout. Cruise Control answers task requests within
    /// `webserver.request.maxBlockTimeMs` (10 s by default) with 200 or 202, so this must be longer.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: String,
    /// A read (or stop request) Cruise Control answers with 202 is sent again this often, with
    /// its User-Task-ID…
    pub read_poll_interval: Duration,
    /// …at most this many times before [`Error::StillComputing`].
    pub read_poll_attempts: u32,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            user_agent: concat!("koperator-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            read_poll_interval: Duration::from_secs(1),
            read_poll_attempts: 5,
        }
    }
}

/// A task request Cruise Control accepted: 202 while it computes the proposal (`result` is
/// `None`), 200 once the proposal is computed and its execution started.
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    pub request: TaskRequest,
    pub user_task_id: String,
    pub http_status: u16,
    pub result: Option<OptimizationResult>,
    pub progress: Option<Progress>,
}

#[derive(Clone, Debug)]
pub struct CruiseControlClient {
    http: reqwest::Client,
    endpoint: CruiseControlEndpoint,
    settings: ClientSettings,
}

/// One HTTP answer, before its body is interpreted.
struct Answer {
    url: String,
    status: StatusCode,
    user_task_id: Option<String>,
    body: String,
}

impl CruiseControlClient {
    pub fn new(endpoint: CruiseControlEndpoint, settings: ClientSettings) -> Result<Self, Error> {
        // reqwest is built without a default TLS provider (the workspace uses ring, not aws-lc);
        // installing ring fails harmlessly when another component installed a provider first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent.clone());
        // Plain HTTP (Koperator's in-cluster Service) needs no trust store: without this, the
        // client reads the system's and fails to build in an image that has none.
        if endpoint.base_url().starts_with("http://") {
            builder = builder.tls_certs_only([]);
        }
        let http = builder.build().map_err(Error::Client)?;
        Ok(Self { http, endpoint, settings })
    }

    pub fn endpoint(&self) -> &CruiseControlEndpoint {
        &self.endpoint
    }

    /// Executor, monitor and analyzer state.
    pub async fn state(&self) -> Result<CruiseControlState, Error> {
        self.read("state?substates=executor,monitor,analyzer&json=true").await
    }

    pub async fn kafka_cluster_state(&self) -> Result<KafkaClusterState, Error> {
        self.read("kafka_cluster_state?json=true").await
    }

    pub async fn load(&self) -> Result<ClusterLoad, Error> {
        self.read("load?json=true").await
    }

    /// The user tasks with these ids (all recent tasks when `ids` is empty). Tasks Cruise
    /// Control no longer remembers are simply absent.
    pub async fn user_tasks(&self, ids: &[&str]) -> Result<Vec<UserTask>, Error> {
        let query = if ids.is_empty() {
            "user_tasks?json=true".to_owned()
        } else {
            format!("user_tasks?json=true&{}", crate::request::encode_query(&[("user_task_ids", &ids.join(","))]))
        };
        Ok(self.read::<UserTasks>(&query).await?.user_tasks)
    }

    pub async fn add_broker(&self, broker_ids: &[i32], options: TaskOptions) -> Result<Submitted, Error> {
        self.submit(&TaskRequest::add_broker(broker_ids, options)).await
    }

    pub async fn remove_broker(&self, broker_ids: &[i32], options: TaskOptions) -> Result<Submitted, Error> {
        self.submit(&TaskRequest::remove_broker(broker_ids, options)).await
    }

    pub async fn rebalance(&self, options: TaskOptions) -> Result<Submitted, Error> {
        self.submit(&TaskRequest::rebalance(options)).await
    }

    pub async fn remove_disks(&self, disks: &[(i32, &str)], options: TaskOptions) -> Result<Submitted, Error> {
        self.submit(&TaskRequest::remove_disks(disks, options)).await
    }

    /// Sends a task request (always with `dryrun=false&json=true`).
    pub async fn submit(&self, request: &TaskRequest) -> Result<Submitted, Error> {
        self.send_task(request, None).await
    }

    /// Sends the request of `submitted` again with its User-Task-ID: Cruise Control answers 202
    /// while the proposal is computed and 200 with the result after.
    pub async fn poll(&self, submitted: &Submitted) -> Result<Submitted, Error> {
        self.send_task(&submitted.request, Some(&submitted.user_task_id)).await
    }

    /// Stops the ongoing execution; the interrupted task ends CompletedWithError. The endpoint
    /// takes no `dryrun` parameter (Cruise Control rejects parameters an endpoint does not know).
    pub async fn stop_proposal_execution(&self) -> Result<StopResult, Error> {
        let answer = self.answered(Method::POST, "stop_proposal_execution?json=true").await?;
        let mut result: StopResult = parse(&answer)?;
        result.user_task_id = answer.user_task_id;
        Ok(result)
    }

    async fn send_task(&self, request: &TaskRequest, user_task_id: Option<&str>) -> Result<Submitted, Error> {
        let answer = self.send(Method::POST, &request.path_and_query(), user_task_id).await?;
        let answer = error_for_status(answer)?;
        let Some(id) = answer.user_task_id.clone().or_else(|| user_task_id.map(str::to_owned)) else {
            return Err(Error::MissingUserTaskId { url: answer.url });
        };
        let (result, progress) = if answer.status == StatusCode::ACCEPTED {
            (None, Some(parse::<Progress>(&answer)?))
        } else {
            (Some(parse::<OptimizationResult>(&answer)?), None)
        };
        Ok(Submitted {
            request: request.clone(),
            user_task_id: id,
            http_status: answer.status.as_u16(),
            result,
            progress,
        })
    }

    /// A GET whose 202 answers are followed up with the User-Task-ID until Cruise Control has
    /// the result, as a read must not leave one more user task behind on every call.
    async fn read<T: DeserializeOwned>(&self, endpoint_and_query: &str) -> Result<T, Error> {
        parse(&self.answered(Method::GET, endpoint_and_query).await?)
    }

    /// The final answer to a request Cruise Control may answer with 202 first.
    async fn answered(&self, method: Method, endpoint_and_query: &str) -> Result<Answer, Error> {
        let path_and_query = format!("{PATH_PREFIX}{endpoint_and_query}");
        let mut answer = error_for_status(self.send(method.clone(), &path_and_query, None).await?)?;
        let mut attempts = 0;
        while answer.status == StatusCode::ACCEPTED {
            let Some(id) = answer.user_task_id.clone() else {
                return Err(Error::MissingUserTaskId { url: answer.url });
            };
            if attempts >= self.settings.read_poll_attempts {
                return Err(Error::StillComputing { url: answer.url, user_task_id: id });
            }
            attempts += 1;
            tokio::time::sleep(self.settings.read_poll_interval).await;
            answer = error_for_status(self.send(method.clone(), &path_and_query, Some(&id)).await?)?;
        }
        Ok(answer)
    }

    async fn send(&self, method: Method, path_and_query: &str, user_task_id: Option<&str>) -> Result<Answer, Error> {
        let url = self.endpoint.url(path_and_query);
        let mut request = self.http.request(method, &url);
        if let Some(id) = user_task_id {
            request = request.header(USER_TASK_ID_HEADER, id);
        }
        let transport = |source| Error::Transport { url: url.clone(), source };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let user_task_id = response
            .headers()
            .get(USER_TASK_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        let body = response.text().await.map_err(transport)?;
        Ok(Answer { url, status, user_task_id, body })
    }
}

/// Error statuses become [`Error::Status`] carrying Cruise Control's `errorMessage` (or the
/// start of the body when it is not Cruise Control's error JSON, e.g. a proxy's page).
fn error_for_status(answer: Answer) -> Result<Answer, Error> {
    if answer.status.is_success() {
        return Ok(answer);
    }
    let from_json = serde_json::from_str::<ErrorBody>(&answer.body).ok().and_then(|body| body.error_message);
    let message = from_json.unwrap_or_else(|| {
        let text = answer.body.trim();
        if text.is_empty() {
            answer.status.canonical_reason().unwrap_or("no reason given").to_owned()
        } else {
            text.chars().take(500).collect()
        }
    });
    Err(Error::Status { url: answer.url, status: answer.status.as_u16(), message, user_task_id: answer.user_task_id })
}

fn parse<T: DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_str(&answer.body).map_err(|source| Error::Parse { url: answer.url.clone(), source })
}
