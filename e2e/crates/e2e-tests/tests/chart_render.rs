//! The umbrella chart as rendered by `helm template`, before anything is installed: each
//! deployable's ClusterRole grants exactly the rules of `deploy/rbac/<deployable>.yaml`;
//! `deploy/koperator-rs.yaml` is what the chart renders today; the values schema refuses an
//! unknown key; optional objects appear only when switched on and a disabled subchart renders
//! nothing; every rendered object passes the apiserver's server-side dry-run.
//! (`make chart-lint` adds helm lint, the Kubernetes JSON schemas and hadolint.)

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use e2e_tests::helm::{self, SUBCHARTS};
use e2e_tests::{manifests, namespace};

const RELEASE: &str = "koperator-rs";
const NAMESPACE: &str = "koperator";
const RENDERED_MANIFEST: &str = "deploy/koperator-rs.yaml";
/// The comment lines `make manifests` writes above the rendered chart.
const RENDERED_MANIFEST_HEADER_LINES: usize = 2;
/// How `make manifests` renders it: the webhook token Secret is left to the user.
const RENDERED_MANIFEST_SETS: [&str; 1] = ["alert-receiver.webhook.tokenSecret.create=false"];

fn component(object: &Value) -> &str {
    object["metadata"]["labels"]["app.kubernetes.io/name"].as_str().unwrap_or_default()
}

fn count_kind(objects: &[Value], kind: &str) -> usize {
    objects.iter().filter(|object| object["kind"] == kind).count()
}

#[tokio::test]
async fn every_cluster_role_grants_exactly_the_deploy_rbac_rules() -> Result<()> {
    let rendered = helm::template(RELEASE, NAMESPACE, &[]).await?;
    for subchart in SUBCHARTS {
        let path = format!("deploy/rbac/{subchart}.yaml");
        let reviewed = manifests::read_documents(&path)?;
        let reviewed_role = reviewed
            .iter()
            .find(|object| object["kind"] == "ClusterRole")
            .with_context(|| format!("no ClusterRole in {path}"))?;
        let name = format!("{RELEASE}-{subchart}");
        let role = helm::find(&rendered, "ClusterRole", &name).with_context(|| format!("chart renders no {name}"))?;
        ensure!(
            role["rules"] == reviewed_role["rules"],
            "{subchart}: the chart's rules differ from {path}:\nchart: {}\n{path}: {}",
            role["rules"],
            reviewed_role["rules"]
        );
        let binding = helm::find(&rendered, "ClusterRoleBinding", &name).context("no ClusterRoleBinding")?;
        ensure!(binding["roleRef"]["name"] == name.as_str(), "{name} binds {}", binding["roleRef"]);
        ensure!(
            binding["subjects"][0]["name"] == name.as_str() && binding["subjects"][0]["namespace"] == NAMESPACE,
            "{name} binds {} instead of its own ServiceAccount",
            binding["subjects"]
        );
        ensure!(helm::find(&rendered, "ServiceAccount", &name).is_some(), "no ServiceAccount {name}");
    }
    Ok(())
}

#[tokio::test]
async fn deploy_manifest_is_what_the_chart_renders() -> Result<()> {
    let path = e2e_tests::testbed::repo_root().join(RENDERED_MANIFEST);
    let committed = std::fs::read_to_string(&path).with_context(|| format!("failed to read {}", path.display()))?;
    let body: String = committed.split_inclusive('\n').skip(RENDERED_MANIFEST_HEADER_LINES).collect();
    let rendered = helm::template_text(RELEASE, NAMESPACE, &RENDERED_MANIFEST_SETS).await?;
    ensure!(body == rendered, "{RENDERED_MANIFEST} is stale: run `make manifests`");
    Ok(())
}

#[tokio::test]
async fn values_schema_refuses_an_unknown_key() -> Result<()> {
    // `replicas` instead of `replicaCount`: silently ignored without a schema.
    let typo = helm::template(RELEASE, NAMESPACE, &["cluster-controller.replicas=2"]).await;
    let error = typo.err().context("a misspelt value rendered")?;
    ensure!(format!("{error:#}").contains("replicas"), "unexpected error: {error:#}");
    let wrong_type = helm::template(RELEASE, NAMESPACE, &["topic-controller.leaderElection.leaseDuration=soon"]).await;
    ensure!(wrong_type.is_err(), "a lease duration of `soon` rendered");
    Ok(())
}

#[tokio::test]
async fn optional_objects_only_when_switched_on() -> Result<()> {
    let defaults = helm::template(RELEASE, NAMESPACE, &[]).await?;
    ensure!(count_kind(&defaults, "Deployment") == 4, "four deployables by default");
    ensure!(count_kind(&defaults, "ServiceMonitor") == 0, "a ServiceMonitor by default (its CRD may not exist)");
    ensure!(count_kind(&defaults, "HorizontalPodAutoscaler") == 0, "an HPA by default");
    for kind in ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "PodDisruptionBudget"] {
        ensure!(count_kind(&defaults, kind) == 4, "expected one {kind} per deployable");
    }
    // The cluster controller's gRPC port (it signs client certificates) takes this release's
    // deployables only; its metrics port anyone.
    let policy =
        helm::find(&defaults, "NetworkPolicy", "koperator-rs-cluster-controller").context("no NetworkPolicy")?;
    let ingress = policy["spec"]["ingress"].to_string();
    for allowed in ["\"grpc\"", "topic-controller", "cruise-control-runner", "alert-receiver", "\"metrics\""] {
        ensure!(ingress.contains(allowed), "the NetworkPolicy does not name {allowed}: {ingress}");
    }
    let open = helm::template(RELEASE, NAMESPACE, &["cluster-controller.networkPolicy.enabled=false"]).await?;
    ensure!(count_kind(&open, "NetworkPolicy") == 0, "a NetworkPolicy although switched off");

    let monitors: Vec<String> = SUBCHARTS.iter().map(|sub| format!("{sub}.serviceMonitor.enabled=true")).collect();
    let monitors: Vec<&str> = monitors.iter().map(String::as_str).collect();
    ensure!(count_kind(&helm::template(RELEASE, NAMESPACE, &monitors).await?, "ServiceMonitor") == 4);

    // The alert receiver scales out: with the HPA on, the Deployment leaves replicas to it.
    let scaled = helm::template(RELEASE, NAMESPACE, &["alert-receiver.autoscaling.enabled=true"]).await?;
    ensure!(count_kind(&scaled, "HorizontalPodAutoscaler") == 1, "no HPA for the alert receiver");
    let deployment = helm::find(&scaled, "Deployment", "koperator-rs-alert-receiver").context("no Deployment")?;
    ensure!(deployment["spec"].get("replicas").is_none(), "replicas set next to the HPA");

    // The webhook's bearer token comes from a Secret, mounted read-only: a random one by
    // default, or the user's.
    let secret = "koperator-rs-alert-receiver-webhook-token";
    ensure!(helm::find(&defaults, "Secret", secret).is_some(), "no generated token Secret");
    let own = ["alert-receiver.webhook.tokenSecret.create=false", "alert-receiver.webhook.tokenSecret.name=mine"];
    let own = helm::template(RELEASE, NAMESPACE, &own).await?;
    ensure!(count_kind(&own, "Secret") == 0, "a token Secret rendered although the user brings one");
    let pod = &helm::find(&own, "Deployment", "koperator-rs-alert-receiver").context("no Deployment")?["spec"]["template"]
        ["spec"];
    ensure!(pod["volumes"].to_string().contains("\"secretName\":\"mine\""), "not the user's Secret: {pod}");
    ensure!(pod["containers"][0]["env"].to_string().contains("TOKEN_FILE"), "no TOKEN_FILE: {pod}");

    for subchart in SUBCHARTS {
        let off = format!("{subchart}.enabled=false");
        let rendered = helm::template(RELEASE, NAMESPACE, &[&off]).await?;
        ensure!(!rendered.iter().any(|object| component(object) == subchart), "{off} still renders {subchart}");
        let others = SUBCHARTS.iter().filter(|other| **other != subchart).count();
        ensure!(count_kind(&rendered, "Deployment") == others, "{off}: other deployables went too");
    }
    Ok(())
}

#[tokio::test]
async fn rendered_chart_passes_server_side_dry_run() -> Result<()> {
    namespace::run_isolated("chart-dry-run", async |ns| {
        let watch = format!("global.watchNamespace={}", ns.name);
        let sets = [watch.as_str(), "cluster-controller.replicaCount=2", "alert-receiver.autoscaling.enabled=true"];
        let rendered = helm::template_text(&ns.name, &ns.name, &sets).await?;
        let output = helm::kubectl(
            &["apply", "--server-side", "--dry-run=server", "--field-manager=e2e-chart", "-f", "-"],
            Some(rendered.as_bytes()),
        )
        .await?;
        let accepted = output.lines().filter(|line| line.contains("(server dry run)")).count();
        let objects = manifests::documents(&rendered)?.len();
        ensure!(accepted == objects, "{accepted} of {objects} objects accepted:\n{output}");
        Ok(())
    })
    .await
}
