//! What a firing alert asks for, from its `command` annotation and labels, named as Koperator
//! names them: upScale, downScale, addPvc, resizePvc. Pure: the PersistentVolumeClaim an alert
//! names is looked up by the caller.

use crate::payload::Alert;

/// Label naming the KafkaCluster (with `namespace`).
pub const KAFKA_CR_LABEL: &str = "kafka_cr";
pub const NAMESPACE_LABEL: &str = "namespace";
/// Label naming a claim of a broker (disk alerts); the claim's labels name the cluster.
pub const PVC_LABEL: &str = "persistentvolumeclaim";
pub const BROKER_ID_LABEL: &str = "brokerId";
/// Alerts with this label count against a rolling upgrade's failureThreshold.
pub const ROLLING_UPGRADE_LABEL: &str = "rollingupgrade";

/// A command and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    UpScale(NewBroker),
    /// A broker id, or None for the one holding the fewest replicas.
    DownScale(Option<i32>),
    AddPvc {
        size: String,
        mount_path_prefix: String,
        storage_class: String,
    },
    ResizePvc(Growth),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewBroker {
    DefaultGroup,
    Group(String),
    /// Koperator's `image`, `mountPath`, `diskSize` and `storageClass` annotations.
    Explicit {
        image: String,
        mount_path: String,
        disk_size: String,
        storage_class: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Growth {
    /// `incrementBy`
    By(String),
    /// `diskSize`
    To(String),
}

impl Command {
    /// The annotation value, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpScale(_) => "upScale",
            Self::DownScale(_) => "downScale",
            Self::AddPvc { .. } => "addPvc",
            Self::ResizePvc(_) => "resizePvc",
        }
    }

    /// Disk commands act on the claim the alert names.
    pub fn needs_claim(&self) -> bool {
        matches!(self, Self::AddPvc { .. } | Self::ResizePvc(_))
    }
}

/// Why an alert cannot be acted on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {0:?}; known: upScale, downScale, addPvc, resizePvc")]
    Unknown(String),
    #[error("{command} needs the {what}")]
    Missing { command: &'static str, what: &'static str },
    #[error("label brokerId {0:?} is not a broker id")]
    BrokerId(String),
}

/// The command of `alert`, None when it carries no `command` annotation.
pub fn command(alert: &Alert) -> Option<Result<Command, CommandError>> {
    let name = alert.annotation("command")?;
    let owned = |key: &str| alert.annotation(key).unwrap_or_default().to_owned();
    Some(match name {
        "upScale" => Ok(Command::UpScale(match alert.annotation("brokerConfigGroup") {
            Some(group) => NewBroker::Group(group.to_owned()),
            None if ["image", "mountPath", "diskSize", "storageClass"]
                .iter()
                .any(|k| alert.annotation(k).is_some()) =>
            {
                NewBroker::Explicit {
                    image: owned("image"),
                    mount_path: owned("mountPath"),
                    disk_size: owned("diskSize"),
                    storage_class: owned("storageClass"),
                }
            }
            None => NewBroker::DefaultGroup,
        })),
        "downScale" => match alert.label(BROKER_ID_LABEL) {
            Some(id) => {
                id.parse().map(|id| Command::DownScale(Some(id))).map_err(|_| CommandError::BrokerId(id.to_owned()))
            }
            None => Ok(Command::DownScale(None)),
        },
        "addPvc" => match (alert.annotation("diskSize"), alert.annotation("mountPathPrefix")) {
            (Some(size), Some(prefix)) => Ok(Command::AddPvc {
                size: size.to_owned(),
                mount_path_prefix: prefix.to_owned(),
                storage_class: owned("storageClass"),
            }),
            _ => Err(CommandError::Missing { command: "addPvc", what: "diskSize and mountPathPrefix annotations" }),
        },
        "resizePvc" => match (alert.annotation("incrementBy"), alert.annotation("diskSize")) {
            (Some(increment), _) => Ok(Command::ResizePvc(Growth::By(increment.to_owned()))),
            (None, Some(size)) => Ok(Command::ResizePvc(Growth::To(size.to_owned()))),
            (None, None) => {
                Err(CommandError::Missing { command: "resizePvc", what: "incrementBy or diskSize annotation" })
            }
        },
        other => Err(CommandError::Unknown(other.to_owned())),
    })
}

/// Where the alert points: a cluster by name, or a claim whose labels name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Cluster { namespace: String, name: String },
    Claim { namespace: String, name: String },
}

/// The target of `alert`: `kafka_cr` and `namespace`, else `persistentvolumeclaim` and
/// `namespace` (Koperator's order). A disk command prefers the claim, which names the broker.
pub fn target(alert: &Alert, prefer_claim: bool) -> Option<Target> {
    let namespace = alert.label(NAMESPACE_LABEL)?.to_owned();
    let cluster =
        alert.label(KAFKA_CR_LABEL).map(|name| Target::Cluster { namespace: namespace.clone(), name: name.to_owned() });
    let claim =
        alert.label(PVC_LABEL).map(|name| Target::Claim { namespace: namespace.clone(), name: name.to_owned() });
    if prefer_claim { claim.or(cluster) } else { cluster.or(claim) }
}

/// The idempotency key of `command` for `alert`: a new firing (a new startsAt) is a new action,
/// a repeat of the same firing is not.
pub fn idempotency_key(alert: &Alert, command: &Command) -> String {
    let mut key = format!("{}/{}/{}", alert.identity(), alert.starts_at, command.name());
    key.truncate(253);
    key
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn alert(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Alert {
        let map = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>()
        };
        Alert {
            status: "firing".into(),
            labels: map(labels),
            annotations: map(annotations),
            starts_at: "2026-01-01T00:00:00Z".into(),
            fingerprint: "f1".into(),
        }
    }

    #[test]
    fn koperator_annotations_become_commands() {
        let up = alert(&[], &[("command", "upScale"), ("brokerConfigGroup", "fast")]);
        assert_eq!(command(&up), Some(Ok(Command::UpScale(NewBroker::Group("fast".into())))));
        let explicit = alert(&[], &[("command", "upScale"), ("image", "kafka:3"), ("diskSize", "2Gi")]);
        assert!(matches!(command(&explicit), Some(Ok(Command::UpScale(NewBroker::Explicit { .. })))));
        assert_eq!(
            command(&alert(&[], &[("command", "upScale")])),
            Some(Ok(Command::UpScale(NewBroker::DefaultGroup)))
        );
        let down = alert(&[("brokerId", "2")], &[("command", "downScale")]);
        assert_eq!(command(&down), Some(Ok(Command::DownScale(Some(2)))));
        assert_eq!(command(&alert(&[], &[("command", "downScale")])), Some(Ok(Command::DownScale(None))));
        let grow = alert(&[], &[("command", "resizePvc"), ("incrementBy", "1Gi")]);
        assert_eq!(command(&grow), Some(Ok(Command::ResizePvc(Growth::By("1Gi".into())))));
        let add = alert(&[], &[("command", "addPvc"), ("diskSize", "2Gi"), ("mountPathPrefix", "/kafka-logs")]);
        assert!(matches!(command(&add), Some(Ok(Command::AddPvc { .. }))));
        assert_eq!(command(&alert(&[], &[])), None);
    }

    #[test]
    fn incomplete_or_unknown_commands_say_what_is_missing() {
        let unknown = command(&alert(&[], &[("command", "reboot")])).expect("a command");
        assert_eq!(unknown, Err(CommandError::Unknown("reboot".into())));
        let add = command(&alert(&[], &[("command", "addPvc")])).expect("a command").expect_err("incomplete");
        assert!(add.to_string().contains("mountPathPrefix"), "{add}");
        assert!(matches!(command(&alert(&[("brokerId", "x")], &[("command", "downScale")])), Some(Err(_))));
    }

    #[test]
    fn the_cluster_comes_from_kafka_cr_or_the_claim() {
        let both = alert(&[("namespace", "ns"), ("kafka_cr", "kafka"), ("persistentvolumeclaim", "c")], &[]);
        assert_eq!(target(&both, false), Some(Target::Cluster { namespace: "ns".into(), name: "kafka".into() }));
        assert_eq!(target(&both, true), Some(Target::Claim { namespace: "ns".into(), name: "c".into() }));
        assert_eq!(target(&alert(&[("kafka_cr", "kafka")], &[]), false), None, "namespace is required");
    }

    #[test]
    fn keys_separate_firings_but_not_repeats() {
        let first = alert(&[], &[("command", "upScale")]);
        let mut again = first.clone();
        let key = idempotency_key(&first, &Command::DownScale(None));
        assert_eq!(key, "f1/2026-01-01T00:00:00Z/downScale");
        assert_eq!(idempotency_key(&again, &Command::DownScale(None)), key);
        again.starts_at = "2026-01-02T00:00:00Z".into();
        assert_ne!(idempotency_key(&again, &Command::DownScale(None)), key);
    }
}
