//! The requests that make Cruise Control move data, and their exact URLs.
//!
//! A task request must be sent again byte for byte to poll it (Cruise Control matches the
//! `User-Task-ID` header against the original request), and its URL is recorded in the
//! CruiseControlOperation status; so the query string is a pure, deterministic function of
//! the endpoint and its parameters.

use std::collections::BTreeMap;
use std::fmt;

use crate::endpoint::PATH_PREFIX;
use crate::parameters;

/// The Cruise Control endpoints that start an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskEndpoint {
    AddBroker,
    RemoveBroker,
    Rebalance,
    RemoveDisks,
}

impl TaskEndpoint {
    /// The endpoint's path segment (also Koperator's operation name).
    pub fn name(self) -> &'static str {
        match self {
            Self::AddBroker => "add_broker",
            Self::RemoveBroker => "remove_broker",
            Self::Rebalance => "rebalance",
            Self::RemoveDisks => "remove_disks",
        }
    }

    /// Whether Cruise Control's endpoint takes `parameter` (it refuses a request naming one it
    /// does not: "Unrecognized endpoint parameters"). Names compare case-insensitively, as
    /// Cruise Control compares them.
    pub fn accepts(self, parameter: &str) -> bool {
        let known: &[&str] = match self {
            Self::AddBroker => parameters::ADD_BROKER,
            Self::RemoveBroker => parameters::REMOVE_BROKER,
            Self::Rebalance => parameters::REBALANCE,
            Self::RemoveDisks => parameters::REMOVE_DISKS,
        };
        known.iter().any(|name| name.eq_ignore_ascii_case(parameter))
    }

    /// The parameter that says what to act on, written first so URLs read naturally.
    fn subject_parameter(self) -> Option<&'static str> {
        match self {
            Self::AddBroker | Self::RemoveBroker => Some("brokerid"),
            Self::RemoveDisks => Some("brokerid_and_logdirs"),
            Self::Rebalance => None,
        }
    }
}

impl fmt::Display for TaskEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Typed options shared by the task endpoints; anything else goes into `extra` verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskOptions {
    /// Regex of topics whose replicas must not move.
    pub excluded_topics: Option<String>,
    /// Upper bound on the bandwidth used to move replicas, in bytes per second.
    pub replication_throttle: Option<u64>,
    /// `rebalance` only: balance the disks inside each broker (JBOD) instead of across brokers.
    pub rebalance_disk: bool,
    /// Further Cruise Control parameters, sent as given.
    pub extra: BTreeMap<String, String>,
}

impl TaskOptions {
    fn into_parameters(self) -> BTreeMap<String, String> {
        let mut parameters = self.extra;
        if let Some(topics) = self.excluded_topics {
            parameters.insert("excluded_topics".to_owned(), topics);
        }
        if let Some(throttle) = self.replication_throttle {
            parameters.insert("replication_throttle".to_owned(), throttle.to_string());
        }
        if self.rebalance_disk {
            parameters.insert("rebalance_disk".to_owned(), "true".to_owned());
        }
        parameters
    }
}

/// One task request: an endpoint and its parameters, without `dryrun` and `json` (always
/// `dryrun=false&json=true`: Cruise Control's POSTs default to a dry run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRequest {
    pub endpoint: TaskEndpoint,
    pub parameters: BTreeMap<String, String>,
}

impl TaskRequest {
    /// A request with parameters as a CruiseControlOperation carries them.
    pub fn new(endpoint: TaskEndpoint, mut parameters: BTreeMap<String, String>) -> Self {
        // These two decide whether anything happens and how the answer is parsed: not the caller's.
        parameters.remove("dryrun");
        parameters.remove("json");
        Self { endpoint, parameters }
    }

    /// Like [`new`](Self::new), but leaves out the parameters the endpoint does not take, and
    /// names them. Koperator sends an operation's parameters this way, so operations written
    /// for it (e.g. `exclude_recently_removed_brokers` on a remove_disks) work unchanged.
    pub fn accepted_only(endpoint: TaskEndpoint, parameters: BTreeMap<String, String>) -> (Self, Vec<String>) {
        let (accepted, left_out): (BTreeMap<_, _>, BTreeMap<_, _>) =
            parameters.into_iter().partition(|(name, _)| endpoint.accepts(name));
        (Self::new(endpoint, accepted), left_out.into_keys().collect())
    }

    pub fn add_broker(broker_ids: &[i32], options: TaskOptions) -> Self {
        Self::with_subject(TaskEndpoint::AddBroker, "brokerid", join_ids(broker_ids), options)
    }

    pub fn remove_broker(broker_ids: &[i32], options: TaskOptions) -> Self {
        Self::with_subject(TaskEndpoint::RemoveBroker, "brokerid", join_ids(broker_ids), options)
    }

    pub fn rebalance(options: TaskOptions) -> Self {
        Self::new(TaskEndpoint::Rebalance, options.into_parameters())
    }

    /// `disks` are (broker id, log directory) pairs, e.g. `(1, "/kafka-logs2/kafka")`.
    pub fn remove_disks(disks: &[(i32, &str)], options: TaskOptions) -> Self {
        let value = disks.iter().map(|(broker, dir)| format!("{broker}-{dir}")).collect::<Vec<_>>().join(",");
        Self::with_subject(TaskEndpoint::RemoveDisks, "brokerid_and_logdirs", value, options)
    }

    fn with_subject(endpoint: TaskEndpoint, key: &str, value: String, options: TaskOptions) -> Self {
        let mut parameters = options.into_parameters();
        parameters.insert(key.to_owned(), value);
        Self::new(endpoint, parameters)
    }

    /// `/kafkacruisecontrol/<endpoint>?<subject>&<other parameters by name>&dryrun=false&json=true`.
    pub fn path_and_query(&self) -> String {
        let subject = self.endpoint.subject_parameter();
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.parameters.len() + 2);
        if let Some((key, value)) = subject.and_then(|key| self.parameters.get_key_value(key)) {
            pairs.push((key, value));
        }
        pairs.extend(
            self.parameters
                .iter()
                .filter(|(key, _)| Some(key.as_str()) != subject)
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        pairs.extend([("dryrun", "false"), ("json", "true")]);
        format!("{PATH_PREFIX}{}?{}", self.endpoint.name(), encode_query(&pairs))
    }

    /// How the request appears in Cruise Control's user task list and in status:
    /// `POST /kafkacruisecontrol/add_broker?brokerid=3&dryrun=false&json=true`.
    pub fn request_line(&self) -> String {
        format!("POST {}", self.path_and_query())
    }
}

fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// `key=value&…`, percent-encoding only what a query value cannot carry as is. Commas, slashes
/// and colons stay readable (`brokerid=3,4`, `brokerid_and_logdirs=1-/kafka-logs/kafka`),
/// as Cruise Control's own examples write them.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(key, value)| format!("{}={}", encode(key), encode(value))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~,/:@!$'()*;".contains(&byte);
        if keep {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_broker_url_puts_the_brokers_first_and_never_dry_runs() {
        let request = TaskRequest::add_broker(&[3, 4], TaskOptions::default());
        assert_eq!(request.path_and_query(), "/kafkacruisecontrol/add_broker?brokerid=3,4&dryrun=false&json=true");
        assert_eq!(request.request_line(), "POST /kafkacruisecontrol/add_broker?brokerid=3,4&dryrun=false&json=true");
    }

    #[test]
    fn options_follow_in_name_order() {
        let options = TaskOptions {
            excluded_topics: Some("__.*|audit".into()),
            replication_throttle: Some(1_000_000),
            rebalance_disk: false,
            extra: BTreeMap::from([("exclude_recently_removed_brokers".into(), "true".into())]),
        };
        let request = TaskRequest::remove_broker(&[2], options);
        assert_eq!(
            request.path_and_query(),
            "/kafkacruisecontrol/remove_broker?brokerid=2&exclude_recently_removed_brokers=true\
             &excluded_topics=__.*%7Caudit&replication_throttle=1000000&dryrun=false&json=true"
        );
    }

    #[test]
    fn remove_disks_names_broker_and_directory() {
        let request = TaskRequest::remove_disks(&[(1, "/kafka-logs2/kafka"), (2, "/x")], TaskOptions::default());
        assert_eq!(
            request.path_and_query(),
            "/kafkacruisecontrol/remove_disks?brokerid_and_logdirs=1-/kafka-logs2/kafka,2-/x&dryrun=false&json=true"
        );
    }

    #[test]
    fn caller_cannot_turn_a_request_into_a_dry_run() {
        let parameters = BTreeMap::from([("dryrun".to_owned(), "true".to_owned()), ("json".into(), "false".into())]);
        let request = TaskRequest::new(TaskEndpoint::Rebalance, parameters);
        assert_eq!(request.path_and_query(), "/kafkacruisecontrol/rebalance?dryrun=false&json=true");
        let disks = TaskRequest::rebalance(TaskOptions { rebalance_disk: true, ..TaskOptions::default() });
        assert_eq!(disks.path_and_query(), "/kafkacruisecontrol/rebalance?rebalance_disk=true&dryrun=false&json=true");
    }

    #[test]
    fn parameters_an_endpoint_does_not_take_are_left_out_on_request() {
        let parameters = BTreeMap::from([
            ("brokerid_and_logdirs".to_owned(), "1-/kafka-logs2/kafka".to_owned()),
            ("exclude_recently_removed_brokers".to_owned(), "true".to_owned()),
            ("excluded_topics".to_owned(), "x".to_owned()),
        ]);
        let (request, left_out) = TaskRequest::accepted_only(TaskEndpoint::RemoveDisks, parameters);
        assert_eq!(left_out, vec!["exclude_recently_removed_brokers", "excluded_topics"]);
        assert_eq!(
            request.path_and_query(),
            "/kafkacruisecontrol/remove_disks?brokerid_and_logdirs=1-/kafka-logs2/kafka&dryrun=false&json=true"
        );
        assert!(TaskEndpoint::Rebalance.accepts("destination_broker_ids"));
        assert!(TaskEndpoint::AddBroker.accepts("DOAS"));
        assert!(!TaskEndpoint::AddBroker.accepts("destination_broker_ids"));
    }

    #[test]
    fn reserved_characters_are_escaped() {
        assert_eq!(encode_query(&[("a b", "x&y=z#%+")]), "a%20b=x%26y%3Dz%23%25%2B");
    }
}
