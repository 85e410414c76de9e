//! Three broker-only nodes and three controller-only nodes (Koperator's image, Kafka 3.9.1):
//! the cluster runs, clients see only the brokers, the quorum is the three controllers, and the
//! default JMX exporter rules serve the metric names Koperator's defaults serve. Nodes are named
//! as Koperator names them: controller pods `kafka-controller-<id>-*` under
//! `kafka-controller-headless`, so that 100 kcat producers in a row bootstrapping from
//! `kafka-headless:29092` all reach a broker. With `disruptionBudget.create`,
//! `kafka-controller-pdb` lets a drain evict one controller at a time.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{EvictParams, ListParams};
use kube::{Api, ResourceExt};

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::wait::{self, Check};
use e2e_tests::{host_command, kcat, namespace, testbed};

/// The JMX exporter's port on every Kafka node (Koperator's).
const METRICS_PORT: u16 = 9020;
/// Koperator's KRaft health check and e2e suite read `<prefix><state> 1.0`.
const RAFT_STATE_PREFIX: &str = "kafka_server_raft_metrics_current_state_";
/// What the rolling restart reads to find the active controller (`kafka_access.rs`).
const ACTIVE_CONTROLLER: &str = "kafka_controller_kafkacontroller_activecontrollercount";
/// Koperator's e2e suite and many users bootstrap from the headless Service: every producer
/// must reach a broker, whichever address it picks.
const HEADLESS_PRODUCERS: u32 = 100;

#[tokio::test]
async fn dedicated_controllers_serve_no_clients_and_form_the_quorum() -> Result<()> {
    namespace::run_isolated("kraft-dedicated", async |ns| {
        let _controller =
            ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", "127.0.0.1:0"]).await?;
        let cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
        kafka_cluster::apply(ns, &cluster).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;

        let bootstrap = bootstrap(ns, "kafka");
        let brokers = kcat::metadata(&bootstrap, None).await?.broker_ids();
        ensure!(brokers == vec![0, 1, 2], "clients must see brokers 0-2 only, saw {brokers:?}");

        kafka_cluster::round_trip(&bootstrap, "accounting", 1000).await?;

        // Koperator's names: the headless Services split by role, controller pods named apart.
        let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
        let ip_of = |role: &str| {
            let pods = pods.clone();
            let selector = format!("kafka_cr=kafka,{role}=true");
            async move {
                let list = pods.list(&ListParams::default().labels(&selector)).await?;
                let named: Vec<(String, String)> = list
                    .items
                    .iter()
                    .filter_map(|pod| Some((pod.name_any(), pod.status.as_ref()?.pod_ip.clone()?)))
                    .collect();
                anyhow::Ok(named)
            }
        };
        let controller_pods = ip_of("isControllerNode").await?;
        ensure!(
            controller_pods.len() == 3 && controller_pods.iter().all(|(name, _)| name.starts_with("kafka-controller-")),
            "controller pods must be named kafka-controller-<id>-*: {controller_pods:?}"
        );
        let broker_ips: Vec<String> = ip_of("isBrokerNode").await?.into_iter().map(|(_, ip)| ip).collect();
        let controller_ips: Vec<String> = controller_pods.into_iter().map(|(_, ip)| ip).collect();
        ensure!(
            endpoint_ips(ns, "kafka-headless").await? == sorted(broker_ips),
            "kafka-headless must reach the brokers only"
        );
        ensure!(
            endpoint_ips(ns, "kafka-controller-headless").await? == sorted(controller_ips),
            "kafka-controller-headless must reach the controllers"
        );
        let headless = format!("kafka-headless.{}.svc.cluster.local:29092", ns.name);
        e2e_tests::kafka_topic::create_with_kafka_tool(&bootstrap, "headless-bootstrap", 3, 3, &[]).await?;
        for number in 0..HEADLESS_PRODUCERS {
            kcat::produce_numbered(&headless, "headless-bootstrap", number..number + 1)
                .await
                .with_context(|| format!("producer {number} of {HEADLESS_PRODUCERS} bootstrapping from {headless}"))?;
        }
        kcat::expect_exactly(&bootstrap, "headless-bootstrap", 0..HEADLESS_PRODUCERS).await?;

        let replication = host_command::run_ok(
            &["kafka-metadata-quorum", "--bootstrap-server", &bootstrap, "describe", "--replication"],
            None,
            Duration::from_secs(60),
        )
        .await?;
        let voters: Vec<&str> =
            replication.lines().filter(|l| l.contains("Leader") || l.contains("Follower")).collect();
        for id in ["3", "4", "5"] {
            ensure!(
                voters.iter().any(|l| l.split_whitespace().next() == Some(id)),
                "controller {id} is not a voter:\n{replication}"
            );
        }
        for id in ["0", "1", "2"] {
            ensure!(
                !voters.iter().any(|l| l.split_whitespace().next() == Some(id)),
                "broker {id} must not be a voter:\n{replication}"
            );
        }

        // Metrics as Koperator's defaults name them, scraped on every node's port 9020.
        let mut active_controllers = 0;
        for (id, page) in metrics_pages(ns, 6).await? {
            let raft_state = held_raft_state(&page)
                .with_context(|| format!("node {id}: no {RAFT_STATE_PREFIX}<state> series at 1"))?;
            let expected: &[&str] = if id < 3 { &["observer"] } else { &["leader", "follower"] };
            ensure!(expected.contains(&raft_state.as_str()), "node {id} is in Raft state {raft_state}");
            if id < 3 {
                let series = page.lines().filter(|line| line.starts_with("kafka_server_")).count();
                ensure!(series > 100, "broker {id} exports only {series} kafka_server_ series");
                ensure!(
                    page.lines().any(|line| line.starts_with("kafka_server_replicamanager_partitioncount ")),
                    "broker {id} lacks kafka_server_replicamanager_partitioncount"
                );
            }
            active_controllers += usize::from(gauge_is_one(&page, ACTIVE_CONTROLLER));
        }
        ensure!(active_controllers == 1, "{active_controllers} nodes report {ACTIVE_CONTROLLER} 1");

        // Two evictions of controller pods (a `kubectl drain` of two nodes at once): the
        // controllers' budget admits the first and refuses the second.
        let mut cluster = cluster;
        cluster["spec"]["disruptionBudget"] = serde_json::json!({"create": true});
        kafka_cluster::apply(ns, &cluster).await?;
        let budgets: Api<PodDisruptionBudget> = Api::namespaced(ns.client.clone(), &ns.name);
        wait::eventually("kafka-controller-pdb allows one disruption", Duration::from_secs(60), || async {
            let allowed = budgets
                .get_opt("kafka-controller-pdb")
                .await?
                .and_then(|b| b.status)
                .map(|s| (s.disruptions_allowed, s.expected_pods));
            Ok(if allowed == Some((1, 3)) { Check::Done(()) } else { Check::Pending(format!("{allowed:?}")) })
        })
        .await?;
        let controllers = pods.list(&ListParams::default().labels("kafka_cr=kafka,isControllerNode=true")).await?;
        let names: Vec<String> = controllers.items.iter().map(ResourceExt::name_any).collect();
        ensure!(names.len() == 3, "controller pods {names:?}");
        // Without the client's retries: kube retries a 429 until the budget allows the eviction,
        // which it does once the first controller's new pod is ready.
        let evictions: Api<Pod> = Api::namespaced(testbed::client_without_retries().await?, &ns.name);
        evictions.evict(&names[0], &EvictParams::default()).await.context("the first eviction")?;
        match evictions.evict(&names[1], &EvictParams::default()).await {
            Err(kube::Error::Api(status)) if status.code == 429 => {}
            other => {
                let budget = budgets.get("kafka-controller-pdb").await?.status;
                anyhow::bail!(
                    "the second controller eviction was not refused by the budget: {other:?}; the budget now: {budget:?}"
                )
            }
        }
        Ok(())
    })
    .await
}

/// Node id → its exporter's page, once all `nodes` pods answer with a Raft state.
async fn metrics_pages(ns: &TestNamespace, nodes: usize) -> Result<Vec<(i32, String)>> {
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    wait::eventually("every Kafka node's JMX exporter reports a Raft state", Duration::from_secs(120), || async {
        let mut pages = Vec::new();
        for pod in pods.list(&ListParams::default().labels("kafka_cr=kafka,brokerId")).await? {
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            let id: i32 = labels["brokerId"].parse().context("brokerId label")?;
            let Some(ip) = pod.status.and_then(|status| status.pod_ip) else {
                return Ok(Check::Pending(format!("node {id} has no pod IP yet")));
            };
            let url = format!("http://{ip}:{METRICS_PORT}/metrics");
            let page = host_command::run_ok(
                &["curl", "-sS", "--fail", "--max-time", "20", &url],
                None,
                Duration::from_secs(30),
            )
            .await?;
            if held_raft_state(&page).is_none() {
                return Ok(Check::Pending(format!("node {id}: no Raft state in {url} yet")));
            }
            pages.push((id, page));
        }
        if pages.len() < nodes {
            return Ok(Check::Pending(format!("{} of {nodes} nodes answered", pages.len())));
        }
        pages.sort_by_key(|(id, _)| *id);
        Ok(Check::Done(pages))
    })
    .await
}

/// The addresses of `service`'s EndpointSlices, sorted.
async fn endpoint_ips(ns: &TestNamespace, service: &str) -> Result<Vec<String>> {
    let slices: Api<EndpointSlice> = Api::namespaced(ns.client.clone(), &ns.name);
    let selector = format!("kubernetes.io/service-name={service}");
    let list = slices.list(&ListParams::default().labels(&selector)).await?;
    let ips = list.items.iter().flat_map(|slice| &slice.endpoints).flat_map(|e| e.addresses.clone()).collect();
    Ok(sorted(ips))
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// The `<state>` of the `kafka_server_raft_metrics_current_state_<state>` series at 1.
fn held_raft_state(page: &str) -> Option<String> {
    page.lines().find_map(|line| {
        let (name, value) = line.strip_prefix(RAFT_STATE_PREFIX)?.split_once(' ')?;
        (value.trim().parse::<f64>().ok()? == 1.0).then(|| name.to_owned())
    })
}

fn gauge_is_one(page: &str, name: &str) -> bool {
    page.lines().any(|line| {
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .is_some_and(|value| value.trim().parse::<f64>().ok() == Some(1.0))
    })
}
