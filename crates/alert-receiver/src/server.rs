//! The webhook endpoint: `POST /webhook` (Alertmanager's `webhook_configs.url`) and `POST /`
//! (the path Koperator's receiver serves, so an Alertmanager configured for Koperator keeps
//! working), behind the bearer token (unless switched off) and a body size limit.
//!
//! Answers: 200 with what became of each alert (refusals included: a retry would not change
//! them); 400 with the reason for a body that is not a version 4 payload; 401 without the right
//! token; 413 above the size limit; 503 when the cluster controller could not be asked, so
//! Alertmanager retries (with the same idempotency keys).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde::Serialize;
use tracing::field::Empty;

use crate::actions::{Executor, Outcome};
use crate::auth::{self, WebhookAuth};
use crate::commands;
use crate::payload;

#[derive(Serialize)]
struct AlertReport<'a> {
    alert: &'a str,
    command: &'a str,
    #[serde(flatten)]
    outcome: Outcome,
}

/// The paths Alertmanager may post to: ours and Koperator's.
pub const WEBHOOK_PATHS: [&str; 2] = ["/webhook", "/"];

pub fn router(executor: Arc<Executor>, auth: WebhookAuth, max_body_bytes: usize) -> Router {
    let metrics = executor.metrics.clone();
    WEBHOOK_PATHS
        .iter()
        .fold(Router::new(), |router, path| router.route(path, post(webhook)))
        .with_state(executor)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(auth, auth::require_token))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let metrics = metrics.clone();
            async move {
                let response = next.run(request).await;
                metrics.request(response.status().as_u16());
                response
            }
        }))
}

/// One span per post: the parent of the ClusterActions calls it makes, whose client spans
/// send its context along, so that an alert and what the cluster controller did about it are
/// one trace.
#[tracing::instrument(name = "alertmanager webhook", skip_all, fields(alert_count = Empty, firing = Empty))]
async fn webhook(State(executor): State<Arc<Executor>>, body: Bytes) -> Response {
    let notification = match payload::parse(&body) {
        Ok(notification) => notification,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    };
    let firing: Vec<&str> = notification.alerts.iter().filter(|alert| alert.is_firing()).map(|a| a.name()).collect();
    let span = tracing::Span::current();
    span.record("alert_count", notification.alerts.len());
    span.record("firing", firing.join(","));
    let mut reports = Vec::new();
    let mut unavailable = None;
    for alert in notification.alerts.iter().filter(|alert| alert.is_firing()) {
        let Some(command) = commands::command(alert) else { continue };
        let name = command.as_ref().map_or("unknown", |c| c.name());
        match executor.command(alert, command).await {
            Ok(outcome) => reports.push(AlertReport { alert: alert.name(), command: name, outcome }),
            Err(error) => unavailable = Some(error),
        }
    }
    if let Err(error) = executor.rolling_upgrade_alerts(&notification.alerts).await {
        unavailable = Some(error);
    }
    if let Some(error) = unavailable {
        tracing::warn!(%error, "answering 503 so that Alertmanager retries");
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response();
    }
    Json(serde_json::json!({ "alerts": reports })).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;
    use crate::metrics::Metrics;

    use crate::auth::Token;

    /// A router whose cluster controller is never reached: these requests end before any call.
    async fn router_for_test(auth: WebhookAuth) -> Router {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("uri"));
        let kube = kube::Client::try_from(config).expect("client");
        let executor =
            Executor::new("http://127.0.0.1:9", kube, Duration::from_secs(60), Metrics::default()).expect("executor");
        router(Arc::new(executor), auth, 1024)
    }

    async fn post(body: &str, token: Option<&str>) -> (StatusCode, String) {
        post_to(WebhookAuth::BearerToken(Token::from_text("secret")), "/webhook", body, token).await
    }

    async fn post_to(auth: WebhookAuth, path: &str, body: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::post(path).header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = router_for_test(auth)
            .await
            .oneshot(request.body(Body::from(body.to_owned())).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn requests_without_the_right_token_are_unauthorized() {
        assert_eq!(post(r#"{"version":"4","alerts":[]}"#, None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(post(r#"{"version":"4","alerts":[]}"#, Some("guess")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(post(r#"{"version":"4","alerts":[]}"#, Some("secret")).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn koperators_path_serves_webhooks_behind_the_same_token() {
        let empty = r#"{"version":"4","alerts":[]}"#;
        let with_token = || WebhookAuth::BearerToken(Token::from_text("secret"));
        assert_eq!(post_to(with_token(), "/", empty, None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(post_to(with_token(), "/", empty, Some("secret")).await.0, StatusCode::OK);
        assert_eq!(post_to(with_token(), "/other", empty, Some("secret")).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn unauthenticated_mode_accepts_webhooks_without_a_token_on_both_paths() {
        let empty = r#"{"version":"4","alerts":[]}"#;
        for path in WEBHOOK_PATHS {
            assert_eq!(post_to(WebhookAuth::Unauthenticated, path, empty, None).await.0, StatusCode::OK, "{path}");
        }
        let (status, reason) = post_to(WebhookAuth::Unauthenticated, "/", r#"{"version":"3"}"#, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reason}");
    }

    #[tokio::test]
    async fn malformed_and_oversize_bodies_are_rejected_with_a_reason() {
        let (status, reason) = post(r#"{"version":"4","alerts":"#, Some("secret")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(reason.contains("not an Alertmanager webhook payload"), "{reason}");
        let big = format!(r#"{{"version":"4","alerts":[],"pad":"{}"}}"#, "x".repeat(2048));
        assert_eq!(post(&big, Some("secret")).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn an_alert_that_names_no_cluster_is_reported_not_acted_on() {
        let body = r#"{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":{"command":"upScale"}}]}"#;
        let (status, answer) = post(body, Some("secret")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(answer.contains(r#""outcome":"invalid""#) && answer.contains("kafka_cr"), "{answer}");
    }
}
