//! The CRDs on a real apiserver: they install and become Established, every sample is
//! accepted, every CEL rule rejects its example with its message, the schema's own rules
//! (list-map keys, enums, minimums) hold, and the big KafkaCluster CRD still fits
//! `kubectl apply`'s last-applied annotation.

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use serde_json::{Value, json};

use crd_types::cel::rule_examples::{EXAMPLES, KRAFT, TOPIC};
use e2e_tests::crds::{self, CRD_DIR, yaml_files};
use e2e_tests::testbed::repo_root;
use e2e_tests::{host_command, manifests, namespace};

const SAMPLE_DIR: &str = "deploy/samples";
const EVERY_FIELD_FIXTURE: &str = "crates/crd-types/tests/fixtures/kafkacluster-every-field-group.yaml";

fn single_document(path: &str) -> Result<Value> {
    let mut documents = manifests::read_documents(path)?;
    ensure!(documents.len() == 1, "{path} should hold one object, holds {}", documents.len());
    Ok(documents.remove(0))
}

/// The apiserver's rejection message, or an error if it accepted the object.
fn rejection(outcome: Result<(), kube::Error>, case: &str) -> Result<String> {
    match outcome {
        Ok(()) => bail!("{case}: the apiserver accepted it"),
        Err(kube::Error::Api(status)) if status.code == 422 => Ok(status.message),
        Err(error) => bail!("{case}: expected a 422 Invalid rejection, got {error}"),
    }
}

#[tokio::test]
async fn crds_are_established_and_every_sample_is_accepted() -> Result<()> {
    namespace::run_isolated("admission-samples", async |ns| {
        crds::install(&ns.client).await?;
        let mut paths = yaml_files(SAMPLE_DIR)?;
        paths.push(EVERY_FIELD_FIXTURE.to_string());
        let mut rejected = Vec::new();
        for path in &paths {
            for object in manifests::read_documents(path)? {
                if let Err(error) = manifests::dry_run_create(&ns.client, &ns.name, &object).await? {
                    rejected.push(format!("{path} ({}): {error}", manifests::describe(&object)));
                }
            }
        }
        ensure!(rejected.is_empty(), "samples rejected:\n{}", rejected.join("\n"));
        ensure!(paths.len() >= 7, "expected at least 6 samples and the fixture, found {paths:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn every_cel_rule_rejects_its_example_with_its_message() -> Result<()> {
    namespace::run_isolated("admission-cel", async |ns| {
        crds::install(&ns.client).await?;
        let mut failures = Vec::new();
        for (index, example) in EXAMPLES.iter().enumerate() {
            let mut object = single_document(example.sample)?;
            let outcome = if example.update {
                // Transition rules compare with the stored object: store the sample for real
                // (a name of its own per example), then dry-run the edited update.
                object["metadata"]["name"] = json!(format!("update-{index}"));
                let stored = manifests::create(&ns.client, &ns.name, &object).await?;
                let mut edited = serde_json::to_value(&stored)?;
                (example.edit)(&mut edited);
                manifests::dry_run_replace(&ns.client, &ns.name, &edited).await?
            } else {
                (example.edit)(&mut object);
                manifests::dry_run_create(&ns.client, &ns.name, &object).await?
            };
            match rejection(outcome, example.rule_id) {
                Ok(message) if message.contains(example.expect) => {}
                Ok(message) => {
                    failures.push(format!("{}: expected {:?} in {message:?}", example.rule_id, example.expect))
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
        ensure!(
            failures.is_empty(),
            "{} of {} rules misbehaved:\n{}",
            failures.len(),
            EXAMPLES.len(),
            failures.join("\n")
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn schema_rules_reject_duplicate_keys_unknown_roles_and_small_partitions() -> Result<()> {
    namespace::run_isolated("admission-schema", async |ns| {
        crds::install(&ns.client).await?;
        type Edit = fn(&mut Value);
        let cases: [(&str, &str, Edit, &str); 4] = [
            ("duplicate broker ids", KRAFT, |v| v["spec"]["brokers"][1]["id"] = json!(0), "Duplicate value"),
            (
                "duplicate internal listener names",
                KRAFT,
                |v| v["spec"]["listenersConfig"]["internalListeners"][1]["name"] = json!("internal"),
                "Duplicate value",
            ),
            (
                "processRoles observer",
                KRAFT,
                |v| v["spec"]["brokerConfigGroups"]["default"]["processRoles"] = json!(["broker", "observer"]),
                "Unsupported value: \"observer\"",
            ),
            ("partitions -2", TOPIC, |v| v["spec"]["partitions"] = json!(-2), "should be greater than or equal to -1"),
        ];
        let mut failures = Vec::new();
        for (case, sample, edit, expect) in cases {
            let mut object = single_document(sample)?;
            edit(&mut object);
            let outcome = manifests::dry_run_create(&ns.client, &ns.name, &object).await?;
            match rejection(outcome, case) {
                Ok(message) if message.contains(expect) => {}
                Ok(message) => failures.push(format!("{case}: expected {expect:?} in {message:?}")),
                Err(error) => failures.push(error.to_string()),
            }
        }
        ensure!(failures.is_empty(), "{}", failures.join("\n"));
        Ok(())
    })
    .await
}

/// `kubectl apply` without --server-side stores the whole object in the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation (at most 256 KiB of
/// annotations): the KafkaCluster CRD must stay small enough for users who apply that way.
#[tokio::test]
async fn kafka_cluster_crd_applies_client_side() -> Result<()> {
    let client = e2e_tests::testbed::client().await?;
    crds::install(&client).await?;
    let kubectl = crds::kubectl_path()?;
    let kubeconfig = e2e_tests::testbed::kubeconfig_path();
    let crd = repo_root().join(CRD_DIR).join("kafkaclusters.kafka.banzaicloud.io.yaml");
    let output = host_command::run(
        &[&kubectl, "--kubeconfig", &kubeconfig.to_string_lossy(), "apply", "-f", &crd.to_string_lossy()],
        None,
        Duration::from_secs(60),
    )
    .await?;
    ensure!(output.success, "kubectl apply (client-side) failed:\n{}{}", output.stderr, output.stdout);
    let stored = Api::<CustomResourceDefinition>::all(client).get("kafkaclusters.kafka.banzaicloud.io").await?;
    let annotations = stored.metadata.annotations.unwrap_or_default();
    ensure!(
        annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "kubectl apply left no last-applied annotation"
    );
    Ok(())
}
