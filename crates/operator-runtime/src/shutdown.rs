//! Graceful shutdown: SIGTERM (what the kubelet sends) and SIGINT (Ctrl-C) cancel one token
//! that every task observes; a second signal exits at once for an impatient operator.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// The signal handler could not be installed.
    #[error("failed to install the {signal} handler")]
    InstallHandler {
        /// SIGTERM or SIGINT.
        signal: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Exit code after a second signal: 128 + SIGINT, as shells report it.
const FORCED_EXIT_CODE: i32 = 130;

/// Returns a token cancelled on the first SIGTERM or SIGINT. Must be called inside a tokio
/// runtime.
pub fn on_signals() -> Result<CancellationToken, ShutdownError> {
    let install = |kind, name| signal(kind).map_err(|source| ShutdownError::InstallHandler { signal: name, source });
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        for attempt in 0.. {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            if attempt == 0 {
                tracing::info!(signal = name, "shutdown requested; draining");
                cancel.cancel();
            } else {
                tracing::warn!(signal = name, "second signal; exiting without draining");
                std::process::exit(FORCED_EXIT_CODE);
            }
        }
    });
    Ok(token)
}
