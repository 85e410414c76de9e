//! Reading a Pod's status the way `kubectl get pod` does: phase, readiness, container states.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

pub fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a str> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.as_str())
}

pub fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready") == Some("True")
}

pub fn container<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    pod.status.as_ref()?.container_statuses.as_ref()?.iter().find(|c| c.name == name)
}

/// The reason a container is waiting (`ErrImagePull`, `CrashLoopBackOff`, ...), if it is.
pub fn waiting_reason<'a>(pod: &'a Pod, container_name: &str) -> Option<&'a str> {
    container(pod, container_name)?.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

pub fn is_running(pod: &Pod, container_name: &str) -> bool {
    container(pod, container_name).and_then(|c| c.state.as_ref()).is_some_and(|s| s.running.is_some())
}
