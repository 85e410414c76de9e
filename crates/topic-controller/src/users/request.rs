//! What one KafkaUser asks for, read once from the custom resource (pure; no client).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt};

use crd_types::kafka_user::KAFKA_USER_FINALIZER;
use crd_types::{KafkaUser, KafkaUserSpec, KafkaUserStatus};

use crate::request::{ClusterKey, ResourceKey};
use crate::user_acls::principal::{certificate_principal, scram_principal};

/// One KafkaUser, interpreted.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRequest {
    pub resource: ResourceKey,
    pub uid: String,
    pub generation: Option<i64>,
    pub resource_version: Option<String>,
    pub cluster: ClusterKey,
    pub spec: KafkaUserSpec,
    /// `User:CN=<name>`: the certificate's common name is the KafkaUser's name, and with
    /// `createCert: false` Koperator uses the same principal.
    pub principal: String,
    pub deleting: bool,
    pub finalizers: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub status: KafkaUserStatus,
}

impl UserRequest {
    pub fn from_resource(user: &KafkaUser) -> Self {
        let namespace = user.namespace().unwrap_or_default();
        let name = user.name_any();
        Self {
            cluster: ClusterKey {
                namespace: user.spec.cluster_ref.namespace_or(&namespace).to_owned(),
                name: user.spec.cluster_ref.name.clone(),
            },
            principal: certificate_principal(&name),
            resource: ResourceKey { namespace, name },
            uid: user.uid().unwrap_or_default(),
            generation: user.metadata.generation,
            resource_version: user.resource_version(),
            spec: user.spec.clone(),
            deleting: user.metadata.deletion_timestamp.is_some(),
            finalizers: user.finalizers().to_vec(),
            labels: user.labels().clone(),
            status: user.status.clone().unwrap_or_default(),
        }
    }

    /// Every principal the user's grants bind: the certificate's, and with `spec.scram`
    /// `User:<name>` (what Kafka names a SCRAM client).
    pub fn principals(&self) -> Vec<String> {
        let mut principals = vec![self.principal.clone()];
        if self.spec.scram.is_some() {
            principals.push(scram_principal(&self.resource.name));
        }
        principals
    }

    pub fn has_finalizer(&self) -> bool {
        self.finalizers.iter().any(|f| f == KAFKA_USER_FINALIZER)
    }

    /// For events about this KafkaUser.
    pub fn object_ref(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some(KafkaUser::api_version(&()).into_owned()),
            kind: Some(KafkaUser::kind(&()).into_owned()),
            namespace: Some(self.resource.namespace.clone()),
            name: Some(self.resource.name.clone()),
            uid: Some(self.uid.clone()),
            resource_version: self.resource_version.clone(),
            ..Default::default()
        }
    }
}
