//! Reads only (client required): answers the decision's [`FactRequest`]s from Kafka, Cruise
//! Control and the apiserver, concurrently.

use std::sync::Arc;

use futures::future::join_all;
use kube::Api;

use crd_types::CruiseControlOperation;

use crate::model::ValidatedCluster;
use crate::reconcile::decide::{FactRequest, Facts, RaftView, Unavailable};

use super::cruise_control;
use super::kafka::KafkaAccess;

/// One answered request.
enum Answer {
    ReplicaHealth(Result<kafka_admin::ReplicaHealth, Unavailable>),
    ControllerStates(std::collections::BTreeMap<i32, Result<RaftView, Unavailable>>),
    BrokerConfigs(Vec<(i32, Result<kafka_admin::BrokerConfigs, Unavailable>)>),
    CruiseControlBrokers(Result<std::collections::BTreeMap<i32, String>, Unavailable>),
    CruiseControlLogDirs(Result<std::collections::BTreeMap<i32, Vec<String>>, Unavailable>),
    Quorum(Result<kafka_admin::QuorumDescription, Unavailable>),
    FeatureLevels(Result<kafka_admin::FeatureLevels, Unavailable>),
    Operation(String, Result<Option<Arc<CruiseControlOperation>>, kube::Error>),
}

fn unavailable(error: &(dyn std::error::Error + 'static)) -> Unavailable {
    Unavailable(operator_runtime::error_chain(error))
}

/// Answers every request into `facts`. An operation that cannot be read is an error (the
/// decision must not take a drain for vanished because the apiserver did not answer).
pub async fn answer(
    kafka: &KafkaAccess,
    client: &kube::Client,
    cluster: &ValidatedCluster,
    requests: Vec<FactRequest>,
    facts: &mut Facts,
) -> Result<(), kube::Error> {
    let answers = join_all(requests.into_iter().map(|request| ask(kafka, client, cluster, request))).await;
    for answer in answers {
        match answer {
            Answer::ReplicaHealth(health) => facts.replica_health = Some(health),
            Answer::ControllerStates(states) => facts.controllers = Some(states),
            Answer::BrokerConfigs(configs) => facts.broker_configs.extend(configs),
            Answer::CruiseControlBrokers(brokers) => facts.cruise_control_brokers = Some(brokers),
            Answer::CruiseControlLogDirs(dirs) => facts.cruise_control_log_dirs = Some(dirs),
            Answer::Quorum(quorum) => facts.quorum = Some(quorum),
            Answer::FeatureLevels(levels) => facts.feature_levels = Some(levels),
            Answer::Operation(name, found) => {
                facts.operations.insert(name, found?);
            }
        }
    }
    Ok(())
}

async fn ask(kafka: &KafkaAccess, client: &kube::Client, cluster: &ValidatedCluster, request: FactRequest) -> Answer {
    match request {
        FactRequest::ReplicaHealth => Answer::ReplicaHealth(match kafka.admin(cluster) {
            Ok(admin) => admin.replica_health().await.map_err(|e| unavailable(&e)),
            Err(error) => Err(unavailable(&error)),
        }),
        FactRequest::Quorum => Answer::Quorum(match kafka.admin(cluster) {
            Ok(admin) => admin.describe_quorum().await.map_err(|e| unavailable(&e)),
            Err(error) => Err(unavailable(&error)),
        }),
        FactRequest::FeatureLevels => Answer::FeatureLevels(match kafka.admin(cluster) {
            Ok(admin) => admin.feature_levels().await.map_err(|e| unavailable(&e)),
            Err(error) => Err(unavailable(&error)),
        }),
        FactRequest::ControllerStates { controllers } => {
            Answer::ControllerStates(kafka.controller_states(cluster, &controllers).await)
        }
        FactRequest::BrokerConfigs { brokers } => {
            let admin = kafka.admin(cluster);
            let described = brokers.into_iter().map(|broker| {
                let admin = &admin;
                async move {
                    let configs = match admin {
                        Ok(admin) => match admin.broker_configs(broker).await {
                            Ok(Ok(configs)) => Ok(configs),
                            Ok(Err(rejected)) => Err(unavailable(&rejected)),
                            Err(error) => Err(unavailable(&error)),
                        },
                        Err(error) => Err(unavailable(error)),
                    };
                    (broker, configs)
                }
            });
            Answer::BrokerConfigs(join_all(described).await)
        }
        FactRequest::CruiseControlBrokers => {
            Answer::CruiseControlBrokers(cruise_control::broker_states(cluster).await.map_err(|e| unavailable(&e)))
        }
        FactRequest::CruiseControlLogDirs => {
            Answer::CruiseControlLogDirs(cruise_control::online_log_dirs(cluster).await.map_err(|e| unavailable(&e)))
        }
        FactRequest::Operation { name } => {
            let api: Api<CruiseControlOperation> = Api::namespaced(client.clone(), &cluster.namespace);
            let found = api.get_opt(&name).await.map(|found| found.map(Arc::new));
            Answer::Operation(name, found)
        }
    }
}
