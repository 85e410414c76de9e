//! Pod status rendering: phase, conditions and container statuses (pure).

use std::collections::BTreeMap;

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    Waiting { reason: String, message: String },
    Running { started_at: String },
    Terminated(Termination),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Termination {
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    pub started_at: String,
    pub finished_at: String,
}

pub struct ContainerView<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub image_id: &'a str,
    pub state: &'a ContainerState,
    pub last_termination: Option<&'a Termination>,
    pub ready: bool,
    pub started: bool,
    pub restart_count: i32,
}

fn termination_json(t: &Termination) -> Value {
    let mut v =
        json!({"exitCode": t.exit_code, "reason": t.reason, "startedAt": t.started_at, "finishedAt": t.finished_at});
    if !t.message.is_empty() {
        v["message"] = json!(t.message);
    }
    v
}

pub fn container_status(c: &ContainerView) -> Value {
    let state = match c.state {
        ContainerState::Waiting { reason, message } if message.is_empty() => json!({"waiting": {"reason": reason}}),
        ContainerState::Waiting { reason, message } => json!({"waiting": {"reason": reason, "message": message}}),
        ContainerState::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        ContainerState::Terminated(t) => json!({"terminated": termination_json(t)}),
    };
    let last = c.last_termination.map(|t| json!({"terminated": termination_json(t)})).unwrap_or(json!({}));
    json!({
        "name": c.name, "image": c.image, "imageID": c.image_id, "state": state, "lastState": last,
        "ready": c.ready, "started": c.started, "restartCount": c.restart_count,
        "containerID": format!("node-agent://{}", c.name),
    })
}

/// Keeps `lastTransitionTime` stable while a condition's status does not change.
#[derive(Default)]
pub struct Conditions {
    seen: BTreeMap<&'static str, (bool, String)>,
}

impl Conditions {
    pub fn render(&mut self, now: &str, values: &[(&'static str, bool)]) -> Value {
        let list: Vec<Value> = values
            .iter()
            .map(|(kind, status)| {
                let entry = self.seen.entry(kind).or_insert_with(|| (*status, now.to_string()));
                if entry.0 != *status {
                    *entry = (*status, now.to_string());
                }
                json!({"type": kind, "status": if *status { "True" } else { "False" }, "lastTransitionTime": entry.1, "lastProbeTime": null})
            })
            .collect();
        Value::Array(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_container_renders_reason_and_message() {
        let state = ContainerState::Waiting {
            reason: "CreateContainerConfigError".into(),
            message: "couldn't find key x".into(),
        };
        let view = ContainerView {
            name: "kafka",
            image: "i",
            image_id: "",
            state: &state,
            last_termination: None,
            ready: false,
            started: false,
            restart_count: 0,
        };
        let status = container_status(&view);
        assert_eq!(status["state"]["waiting"]["reason"], "CreateContainerConfigError");
        assert_eq!(status["ready"], false);
    }

    #[test]
    fn transition_time_only_moves_on_change() {
        let mut conditions = Conditions::default();
        let first = conditions.render("t1", &[("Ready", false)]);
        let same = conditions.render("t2", &[("Ready", false)]);
        let flipped = conditions.render("t3", &[("Ready", true)]);
        assert_eq!(first[0]["lastTransitionTime"], "t1");
        assert_eq!(same[0]["lastTransitionTime"], "t1");
        assert_eq!(flipped[0]["lastTransitionTime"], "t3");
    }
}
