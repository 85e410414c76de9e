//! A scripted stand-in for Cruise Control's HTTP server: it answers requests in order from a
//! script and records what it was sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use cruise_control_client::{ClientSettings, CruiseControlClient, CruiseControlEndpoint};

/// One scripted answer.
pub struct Reply {
    pub status: u16,
    pub user_task_id: Option<&'static str>,
    pub body: String,
    pub delay: std::time::Duration,
}

impl Reply {
    pub fn fixture(status: u16, name: &str) -> Self {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("fixture {path}: {error}"));
        Self { status, user_task_id: None, body, delay: Default::default() }
    }

    pub fn raw(status: u16, body: &str) -> Self {
        Self { status, user_task_id: None, body: body.to_owned(), delay: Default::default() }
    }

    pub fn after(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_task(mut self, id: &'static str) -> Self {
        self.user_task_id = Some(id);
        self
    }
}

/// What the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub user_task_id: Option<String>,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    recorded: Mutex<Vec<Recorded>>,
}

pub struct FakeCruiseControl {
    script: Arc<Script>,
    pub client: CruiseControlClient,
}

impl FakeCruiseControl {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let settings =
            ClientSettings { read_poll_interval: std::time::Duration::from_millis(10), ..Default::default() };
        Self::start_with(replies, settings).await
    }

    pub async fn start_with(replies: Vec<Reply>, settings: ClientSettings) -> Self {
        let script = Arc::new(Script { replies: Mutex::new(replies.into()), ..Script::default() });
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let endpoint = CruiseControlEndpoint::parse(&address.to_string()).expect("endpoint");
        let client = CruiseControlClient::new(endpoint, settings).expect("client");
        Self { script, client }
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.script.recorded.lock().expect("lock").clone()
    }

    pub fn sent(&self) -> Vec<String> {
        self.recorded().into_iter().map(|r| format!("{} {}", r.method, r.path_and_query)).collect()
    }
}

async fn answer(State(script): State<Arc<Script>>, method: Method, uri: Uri, headers: HeaderMap) -> Response<Body> {
    script.recorded.lock().expect("lock").push(Recorded {
        method: method.to_string(),
        path_and_query: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        user_task_id: headers.get("user-task-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
    });
    let reply = script.replies.lock().expect("lock").pop_front();
    let Some(reply) = reply else {
        return Response::builder()
            .status(StatusCode::NOT_IMPLEMENTED)
            .body(Body::from("script exhausted"))
            .expect("response");
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status).header("content-type", "application/json");
    if let Some(id) = reply.user_task_id {
        response = response.header("User-Task-ID", id);
    }
    response.body(Body::from(reply.body)).expect("response")
}
