//! Bearer token authentication. The token comes from a file (a mounted Secret), so it can be
//! rotated by replacing the Secret and restarting; mTLS is not implemented yet. Koperator's
//! receiver checks nothing, so an Alertmanager configured for it sends no credentials: the
//! operator may switch the check off ([`WebhookAuth::Unauthenticated`]) while migrating.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("failed to read the token file {path}")]
    Read { path: String, source: std::io::Error },
    #[error("the token file {0} is empty")]
    Empty(String),
}

/// The expected token.
#[derive(Clone)]
pub struct Token(std::sync::Arc<[u8]>);

impl Token {
    pub fn read(path: &Path) -> Result<Self, TokenError> {
        let display = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| TokenError::Read { path: display.clone(), source })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty(display));
        }
        Ok(Self(token.as_bytes().into()))
    }

    #[cfg(test)]
    pub fn from_text(text: &str) -> Self {
        Self(text.as_bytes().into())
    }

    /// Compares in time independent of where the first difference is, so the token cannot be
    /// guessed byte by byte from response times.
    fn matches(&self, presented: &[u8]) -> bool {
        presented.len() == self.0.len()
            && presented.iter().zip(self.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Who may post webhooks.
#[derive(Clone)]
pub enum WebhookAuth {
    /// Only requests with `Authorization: Bearer <token>` (the default).
    BearerToken(Token),
    /// Anyone who can reach the port, as with Koperator's receiver.
    Unauthenticated,
}

/// Middleware: 401 unless the request is authorized; runs before the body is read.
pub async fn require_token(State(auth): State<WebhookAuth>, request: Request, next: Next) -> Response {
    let WebhookAuth::BearerToken(token) = auth else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii);
    match presented {
        Some(presented) if token.matches(presented) => next.run(request).await,
        Some(_) => (StatusCode::UNAUTHORIZED, "wrong bearer token\n").into_response(),
        None => (StatusCode::UNAUTHORIZED, "missing bearer token (Authorization: Bearer <token>)\n").into_response(),
    }
}
