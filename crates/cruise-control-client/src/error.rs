//! Everything a Cruise Control request can fail with.

use crate::endpoint::InvalidEndpoint;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Endpoint(#[from] InvalidEndpoint),
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// No answer: connection refused, DNS, TLS, or the request timed out.
    #[error("failed to reach Cruise Control at {url}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Cruise Control answered with an error status; `message` is its `errorMessage`.
    #[error("Cruise Control answered {url} with HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
        /// The `User-Task-ID` header, when Cruise Control created a user task for the request.
        user_task_id: Option<String>,
    },
    #[error("failed to parse Cruise Control's answer to {url}")]
    Parse {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// A task endpoint answered without the header the task is tracked by.
    #[error("Cruise Control answered {url} without a User-Task-ID header")]
    MissingUserTaskId { url: String },
    /// A read that Cruise Control turned into an asynchronous user task did not finish in time.
    #[error("Cruise Control is still computing its answer to {url} (user task {user_task_id})")]
    StillComputing { url: String, user_task_id: String },
}

impl Error {
    /// Cruise Control could not be reached, or did not answer in time: nothing is known about
    /// what it did with the request.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Transport { .. })
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport { source, .. } if source.is_timeout())
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
