//! Flags every deployable shares; a binary flattens [`RuntimeArgs`] into its own `clap`
//! parser. Every flag can also be set through the environment variable named in `--help`.
//! The Kubernetes client itself follows kube's standard config inference (`KUBECONFIG`,
//! `~/.kube/config`, then the in-cluster service account).

use std::{net::SocketAddr, time::Duration};

use clap::{ArgAction, Args, ValueEnum};

/// Flags shared by all deployables.
#[derive(Args, Clone, Debug)]
pub struct RuntimeArgs {
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_ADDR", visible_alias = "health-addr", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// OTLP/gRPC endpoint to export traces to, e.g. http://otel-collector:4317.
    /// Traces are not exported when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Namespace to watch; empty means all namespaces.
    #[arg(long, env = "WATCH_NAMESPACE", default_value = "")]
    pub namespace: String,
}

impl RuntimeArgs {
    /// The watch scope as kube wants it: `None` for all namespaces.
    pub fn watch_namespace(&self) -> Option<&str> {
        Some(self.namespace.as_str()).filter(|namespace| !namespace.is_empty())
    }
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Leader election flags, flattened separately by the deployables that elect a leader
/// (the alert receiver scales horizontally and has none).
#[derive(Args, Clone, Debug)]
pub struct LeaderElectionArgs {
    /// Hold a Lease so only one replica runs controllers; `--leader-election=false` for
    /// local runs.
    #[arg(
        id = "leader_election",
        long = "leader-election",
        env = "LEADER_ELECTION",
        action = ArgAction::Set,
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true"
    )]
    pub enabled: bool,

    /// Namespace of the Lease; defaults to the namespace of the kube config (the pod's own
    /// namespace in a cluster).
    #[arg(id = "leader_election_namespace", long = "leader-election-namespace", env = "LEADER_ELECTION_NAMESPACE")]
    pub namespace: Option<String>,

    /// Name of the Lease; defaults to the binary name.
    #[arg(id = "leader_election_id", long = "leader-election-id", env = "LEADER_ELECTION_ID")]
    pub lease_name: Option<String>,

    /// Holder identity of this replica; defaults to the pod name (POD_NAME) or hostname-pid.
    #[arg(id = "leader_election_identity", long = "leader-election-identity", env = "POD_NAME")]
    pub identity: Option<String>,

    /// How long followers wait after the last renewal before taking over (e.g. 15s).
    #[arg(long, env = "LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// How long the leader keeps leading without a successful renewal; must be shorter
    /// than --lease-duration.
    #[arg(long, env = "RENEW_DEADLINE", default_value = "10s", value_parser = parse_duration)]
    pub renew_deadline: Duration,

    /// Pause between attempts to acquire or renew the Lease.
    #[arg(long, env = "RETRY_PERIOD", default_value = "2s", value_parser = parse_duration)]
    pub retry_period: Duration,
}

/// A flag value that is not a duration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDuration {
    #[error("{0:?} is not a duration like 15s")]
    NotANumber(String),
    #[error("unknown unit {unit:?} in {text:?}; use ms, s or m")]
    UnknownUnit { unit: String, text: String },
}

/// Parses `500ms`, `15s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| InvalidDuration::NotANumber(text.to_owned()))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        _ => Err(InvalidDuration::UnknownUnit { unit: unit.to_owned(), text: text.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        runtime: RuntimeArgs,
        #[command(flatten)]
        leader_election: LeaderElectionArgs,
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn defaults_and_leader_election_switch() {
        let cli = TestCli::try_parse_from(["test"]).expect("defaults parse");
        assert!(cli.leader_election.enabled);
        assert_eq!(cli.runtime.watch_namespace(), None);
        assert_eq!(cli.leader_election.lease_duration, Duration::from_secs(15));

        let cli =
            TestCli::try_parse_from(["test", "--leader-election=false", "--namespace", "kafka"]).expect("flags parse");
        assert!(!cli.leader_election.enabled);
        assert_eq!(cli.runtime.watch_namespace(), Some("kafka"));

        let cli = TestCli::try_parse_from(["test", "--health-addr", "127.0.0.1:9000", "--leader-election"])
            .expect("alias parses");
        assert_eq!(cli.runtime.metrics_addr.port(), 9000);
        assert!(cli.leader_election.enabled);
    }
}
