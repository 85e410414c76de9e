//! The gRPC services the cluster controller offers other deployables.

mod actions_io;
mod certificate_signing;
mod cluster_access;
mod cluster_actions;

pub use cluster_access::ClusterAccessService;
pub use cluster_actions::{ClusterActionsService, Leading};

use std::net::SocketAddr;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};

use crd_types::KafkaCluster;
use grpc_contracts::actions_v1::cluster_actions_server::ClusterActionsServer;
use grpc_contracts::cluster_v1::cluster_access_server::ClusterAccessServer;
use operator_runtime::CancellationToken;

/// Serves the gRPC services on `address` until `stop`, on every replica: ClusterAccess only
/// reads; ClusterActions answers UNAVAILABLE unless `leading` says this replica leads.
pub async fn serve(
    address: SocketAddr,
    client: Client,
    namespace: Option<String>,
    actions: ClusterActionsService,
    stop: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let secrets = client.clone();
    let api: Api<KafkaCluster> = match namespace.as_deref() {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let (clusters, writer) = reflector::store();
    let cache = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(crate::controller::forget_managed_field_sets)
        .reflect(writer)
        .for_each(|_| async {});
    let cache_stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = cache => {}
            () = cache_stop.cancelled() => {}
        }
    });
    tracing::info!(%address, "serving gRPC ClusterAccess and ClusterActions");
    tonic::transport::Server::builder()
        // Every call is a span, the child of the caller's (its `traceparent` metadata).
        .trace_fn(operator_runtime::trace_context::grpc_server_span)
        .add_service(ClusterAccessServer::new(ClusterAccessService::new(clusters, secrets)))
        .add_service(ClusterActionsServer::new(actions))
        .serve_with_shutdown(address, async move { stop.cancelled().await })
        .await
}
