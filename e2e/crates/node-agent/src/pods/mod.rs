//! Pod manager: watches pods bound to our nodes and runs one worker per pod.

mod container;
mod probes;
mod status;
mod volumes;
mod worker;

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api,
    runtime::{WatchStreamExt, reflector, reflector::Store, watcher},
};
use tokio::{sync::watch, task::JoinHandle};

use crate::context::Context;

fn watch_node(ctx: &Context, node: &str) -> Store<Pod> {
    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let stream =
        reflector(writer, watcher(Api::<Pod>::all(ctx.client.clone()), config)).default_backoff().touched_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                tracing::warn!(%error, "pod watch error");
            }
        }
    });
    reader
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let stores: Vec<(String, Store<Pod>)> =
        ctx.nodes.iter().map(|n| (n.name.clone(), watch_node(&ctx, &n.name))).collect();
    for (_, store) in &stores {
        store.wait_until_ready().await?;
    }
    let mut workers: HashMap<String, (watch::Sender<Option<Pod>>, JoinHandle<()>)> = HashMap::new();
    let mut shutdown = ctx.shutdown.clone();
    while !*shutdown.borrow() {
        let mut seen = std::collections::HashSet::new();
        for (node_name, store) in &stores {
            for pod in store.state() {
                let Some(uid) = pod.metadata.uid.clone() else { continue };
                seen.insert(uid.clone());
                match workers.get(&uid) {
                    Some((sender, _)) => {
                        sender.send_if_modified(|current| {
                            let changed = current.as_ref().map(|p| &p.metadata.resource_version)
                                != Some(&pod.metadata.resource_version);
                            if changed {
                                *current = Some((*pod).clone());
                            }
                            changed
                        });
                    }
                    None => {
                        let Some(node) = ctx.node(node_name).cloned() else { continue };
                        let (sender, receiver) = watch::channel(Some((*pod).clone()));
                        let worker = worker::Worker::new(ctx.clone(), receiver, (*pod).clone(), node);
                        tracing::info!(pod = ?pod.metadata.name, namespace = ?pod.metadata.namespace, node = %node_name, "starting pod worker");
                        workers.insert(uid, (sender, tokio::spawn(worker.run())));
                    }
                }
            }
        }
        for (uid, (sender, _)) in workers.iter() {
            if !seen.contains(uid) && sender.borrow().is_some() {
                let _ = sender.send(None);
            }
        }
        workers.retain(|uid, (_, handle)| !handle.is_finished() || seen.contains(uid));
        tokio::select! {
            _ = shutdown.changed() => {},
            _ = tokio::time::sleep(Duration::from_millis(500)) => {},
        }
    }
    tracing::info!(pods = workers.len(), "stopping all pods");
    for (_, (_, handle)) in workers {
        let _ = handle.await;
    }
    Ok(())
}
