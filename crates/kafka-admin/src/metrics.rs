//! Every request this crate sends to Kafka is counted, so that "an idle resync sends zero Kafka
//! write requests" is something a test can measure rather than assume.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The Kafka API a request used; the label value is Kafka's API name (`CreateTopics`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Operation {
    Metadata,
    DescribeConfigs,
    CreateTopics,
    CreatePartitions,
    IncrementalAlterConfigs,
    DeleteTopics,
    CreateAcls,
    DescribeAcls,
    DeleteAcls,
    DescribeUserScramCredentials,
    AlterUserScramCredentials,
    DescribeClientQuotas,
    AlterClientQuotas,
    DescribeQuorum,
    AddRaftVoter,
    RemoveRaftVoter,
    ApiVersions,
    UpdateFeatures,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[
        Operation::Metadata,
        Operation::DescribeConfigs,
        Operation::CreateTopics,
        Operation::CreatePartitions,
        Operation::IncrementalAlterConfigs,
        Operation::DeleteTopics,
        Operation::CreateAcls,
        Operation::DescribeAcls,
        Operation::DeleteAcls,
        Operation::DescribeUserScramCredentials,
        Operation::AlterUserScramCredentials,
        Operation::DescribeClientQuotas,
        Operation::AlterClientQuotas,
        Operation::DescribeQuorum,
        Operation::AddRaftVoter,
        Operation::RemoveRaftVoter,
        Operation::ApiVersions,
        Operation::UpdateFeatures,
    ];

    /// Whether the request changes the cluster when it is not `validate_only`.
    pub fn is_write(self) -> bool {
        match self {
            Operation::Metadata
            | Operation::DescribeConfigs
            | Operation::DescribeAcls
            | Operation::DescribeUserScramCredentials
            | Operation::DescribeClientQuotas
            | Operation::DescribeQuorum
            | Operation::ApiVersions => false,
            Operation::CreateTopics
            | Operation::CreatePartitions
            | Operation::IncrementalAlterConfigs
            | Operation::DeleteTopics
            | Operation::CreateAcls
            | Operation::DeleteAcls
            | Operation::AlterUserScramCredentials
            | Operation::AlterClientQuotas
            | Operation::AddRaftVoter
            | Operation::RemoveRaftVoter
            | Operation::UpdateFeatures => true,
        }
    }

    /// What the caller was trying to do, for "failed to …" messages.
    pub fn purpose(self) -> &'static str {
        match self {
            Operation::Metadata => "fetch cluster metadata",
            Operation::DescribeConfigs => "describe configs",
            Operation::CreateTopics => "create topics",
            Operation::CreatePartitions => "create partitions",
            Operation::IncrementalAlterConfigs => "alter configs",
            Operation::DeleteTopics => "delete topics",
            Operation::CreateAcls => "create acls",
            Operation::DescribeAcls => "describe acls",
            Operation::DeleteAcls => "delete acls",
            Operation::DescribeUserScramCredentials => "describe scram credentials",
            Operation::AlterUserScramCredentials => "alter scram credentials",
            Operation::DescribeClientQuotas => "describe client quotas",
            Operation::AlterClientQuotas => "alter client quotas",
            Operation::DescribeQuorum => "describe the metadata quorum",
            Operation::AddRaftVoter => "add a voter to the metadata quorum",
            Operation::RemoveRaftVoter => "remove a voter from the metadata quorum",
            Operation::ApiVersions => "read the supported features",
            Operation::UpdateFeatures => "update finalized features",
        }
    }
}

/// Counts every request sent to Kafka, so "zero Kafka write requests on an idle resync" can be
/// measured. A validate-only request changes nothing, so it carries its own label value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: Operation,
    pub validate_only: bool,
}

pub type RequestCounter = Family<RequestLabels, Counter>;

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn only_changing_apis_are_writes() {
        let writes: Vec<Operation> = Operation::ALL.iter().copied().filter(|operation| operation.is_write()).collect();
        assert_eq!(
            writes,
            [
                Operation::CreateTopics,
                Operation::CreatePartitions,
                Operation::IncrementalAlterConfigs,
                Operation::DeleteTopics,
                Operation::CreateAcls,
                Operation::DeleteAcls,
                Operation::AlterUserScramCredentials,
                Operation::AlterClientQuotas,
                Operation::AddRaftVoter,
                Operation::RemoveRaftVoter,
                Operation::UpdateFeatures
            ]
        );
    }

    #[test]
    fn labels_use_kafka_api_names() -> Result<(), std::fmt::Error> {
        let requests = RequestCounter::default();
        let mut registry = Registry::default();
        registry.register("kafka_admin_requests", "Requests sent to Kafka", requests.clone());
        requests.get_or_create(&RequestLabels { operation: Operation::CreateTopics, validate_only: true }).inc();
        let mut text = String::new();
        encode(&mut text, &registry)?;
        assert!(
            text.contains(r#"kafka_admin_requests_total{operation="CreateTopics",validate_only="true"} 1"#),
            "{text}"
        );
        Ok(())
    }
}
