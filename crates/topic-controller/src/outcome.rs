//! Where a KafkaTopic stands after a pass, and why it is not in sync yet: the vocabulary the
//! planner, the apply step and the status builder share.

/// What a pass found or achieved for one KafkaTopic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// This operator manages the topic (created or adopted it).
    pub managed: bool,
    /// The topic exists in Kafka.
    pub exists: bool,
    /// Empty when the topic is exactly as specified.
    pub problems: Vec<Problem>,
    /// Kafka's brokers disagreed for a moment (a topic just created is listed by one broker
    /// and unknown to another): keep the status as it is and look again soon.
    pub recheck: bool,
}

impl Outcome {
    pub fn in_sync(&self) -> bool {
        self.managed && self.exists && self.problems.is_empty()
    }

    pub fn with_problem(mut self, kind: ProblemKind, message: impl Into<String>) -> Self {
        self.problems.push(Problem { kind, message: message.into() });
        self
    }

    pub fn push(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem { kind, message: message.into() });
    }

    /// Whether another pass soon may fix this without the user doing anything.
    pub fn retry_soon(&self) -> bool {
        self.recheck || self.problems.iter().any(|problem| problem.kind.retry_soon())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// Names the field or the cause, and the fix.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The cluster cannot be reached yet (cluster controller, brokers starting); retried.
    WaitingForCluster,
    /// Kafka answered with an error that may pass (timeouts, leader elections); retried.
    KafkaError,
    /// The KafkaTopic is being deleted and the topic removal is not finished.
    Deleting,
    /// The API server refused a write the pass needed (e.g. adding the finalizer); retried.
    ApiError,
    /// Another KafkaTopic manages the same Kafka topic.
    Conflict,
    /// The topic exists in Kafka and nobody asked to adopt it.
    TopicExists,
    /// The spec asks for something Kafka cannot do (shrink partitions, change replicas).
    InvalidSpec,
    /// Kafka rejected the topic configuration.
    InvalidConfig,
}

impl ProblemKind {
    /// The condition reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::WaitingForCluster => "WaitingForCluster",
            Self::KafkaError => "KafkaError",
            Self::Deleting => "Deleting",
            Self::ApiError => "ApiError",
            Self::Conflict => "Conflict",
            Self::TopicExists => "TopicExists",
            Self::InvalidSpec => "InvalidSpec",
            Self::InvalidConfig => "InvalidConfig",
        }
    }

    /// Only the user can fix it: reported as Degraded.
    pub fn needs_user(self) -> bool {
        matches!(self, Self::Conflict | Self::TopicExists | Self::InvalidSpec | Self::InvalidConfig)
    }

    fn retry_soon(self) -> bool {
        matches!(self, Self::WaitingForCluster | Self::KafkaError | Self::Deleting | Self::ApiError)
    }
}
