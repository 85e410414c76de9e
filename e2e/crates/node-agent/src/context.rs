//! Everything a pod worker needs, shared by reference.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::{
    Client, Resource,
    runtime::events::{Event, EventType, Recorder, Reporter},
};
use tokio::sync::watch;

use crate::{
    cluster::ClusterCache,
    images::ImageCatalog,
    network::{IpAllocator, NodeInfo},
};

pub struct Context {
    pub client: Client,
    pub cache: ClusterCache,
    pub images: ImageCatalog,
    /// Absolute path of `--state-dir`.
    pub state_dir: PathBuf,
    pub nodes: Vec<NodeInfo>,
    pub ips: IpAllocator,
    pub recorder: Recorder,
    /// Flips to true on SIGTERM: workers stop their processes and exit.
    pub shutdown: watch::Receiver<bool>,
    pub self_exe: PathBuf,
}

impl Context {
    pub fn recorder(client: &Client) -> Recorder {
        let reporter = Reporter { controller: "kubelet".into(), instance: Some("node-agent".into()) };
        Recorder::new(client.clone(), reporter)
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub async fn event(&self, pod: &ObjectReference, warning: bool, reason: &str, note: String) {
        let event = Event {
            type_: if warning { EventType::Warning } else { EventType::Normal },
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            action: reason.into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, pod).await {
            tracing::debug!(%error, reason, "failed to publish event");
        }
    }
}

pub fn pod_reference(pod: &Pod) -> ObjectReference {
    pod.object_ref(&())
}

pub fn field_reference(pod: &Pod, container: &str) -> ObjectReference {
    let mut reference = pod.object_ref(&());
    reference.field_path = Some(format!("spec.containers{{{container}}}"));
    reference
}
