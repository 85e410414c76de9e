//! Why a pass failed, and whether trying again soon can help.

use kube::core::error_boundary::InvalidObject;

use operator_runtime::error_class::{Classify, ErrorClass};

use super::writes;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("KafkaCluster has no namespace")]
    MissingNamespace,
    #[error("KafkaCluster {name} does not match the schema this controller knows")]
    Unreadable {
        name: String,
        #[source]
        source: Box<InvalidObject>,
    },
    #[error("failed to read what the decision needs")]
    Observe(#[source] kube::Error),
    #[error("the decision still asked for facts after {rounds} rounds")]
    FactsUnsettled { rounds: usize },
    #[error(transparent)]
    Write(#[from] writes::Error),
}

impl Error {
    /// Whether the same pass may succeed in a moment: a conflict with another writer, an
    /// apiserver that is busy, down or slow. Anything else — an object the apiserver rejects,
    /// a permission missing, a spec this controller cannot read — needs a change first.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::MissingNamespace | Self::Unreadable { .. } | Self::FactsUnsettled { .. } => false,
            Self::Observe(source) => is_transient_kube_error(source),
            Self::Write(error) => match error.api_status() {
                Some(status) => is_transient_code(status.code),
                None => true,
            },
        }
    }

    /// For the failures metric: what kind of failure, in a word.
    pub fn category(&self) -> &'static str {
        match self {
            Self::MissingNamespace | Self::Unreadable { .. } => "invalid_object",
            Self::Observe(_) => "read",
            Self::FactsUnsettled { .. } => "decision",
            Self::Write(error) => match error.api_status().map(|s| s.code) {
                Some(409) => "conflict",
                Some(403) => "forbidden",
                Some(400 | 422) => "rejected",
                Some(_) => "apiserver",
                None => "connection",
            },
        }
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::transient(self.category())
        } else {
            ErrorClass::permanent(self.category())
        }
    }
}

fn is_transient_code(code: u16) -> bool {
    matches!(code, 409 | 429) || code >= 500
}

fn is_transient_kube_error(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => is_transient_code(status.code),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_error(code: u16) -> Error {
        let status = kube::core::Status::failure("no", "Reason").with_code(code);
        Error::Write(writes::Error::Apply {
            kind: "ConfigMap".into(),
            name: "kafka-config-0".into(),
            source: kube::Error::Api(Box::new(status)),
        })
    }

    #[test]
    fn conflicts_and_busy_apiservers_are_transient_rejections_are_not() {
        assert!(write_error(409).is_transient());
        assert!(write_error(503).is_transient());
        assert!(!write_error(422).is_transient());
        assert!(!write_error(403).is_transient());
        assert_eq!(write_error(403).category(), "forbidden");
        assert_eq!(write_error(409).class(), ErrorClass::transient("conflict"));
    }
}
