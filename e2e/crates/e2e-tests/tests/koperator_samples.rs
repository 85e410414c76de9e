//! A Koperator user's manifests and Koperator's own status writes go through our CRDs on a
//! real apiserver (no controller runs in the test's namespace, so nothing starts):
//! - every KafkaCluster sample of Koperator (`crates/crd-types/tests/fixtures/koperator/samples`)
//!   is accepted by `kubectl apply` (client-side, kubectl's default strict field validation) and
//!   by `kubectl apply --server-side --dry-run=server`, except those listed in `refused.txt`
//!   beside them, which both refuse with a message naming the field;
//! - a status as Koperator writes it (empty strings for undecided states, zero counters) is
//!   stored through the status subresource of all four kinds.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use e2e_tests::crds::{self, yaml_files};
use e2e_tests::{host_command, manifests, namespace};

const SAMPLES: &str = "crates/crd-types/tests/fixtures/koperator/samples";
const STATUSES: &str = "crates/crd-types/tests/fixtures/koperator";

/// `refused.txt`: sample file (relative to [`SAMPLES`]) → the fields (`a|b`), one of which the
/// refusal must name.
fn refused_samples() -> Result<Vec<(String, String)>> {
    let path = e2e_tests::testbed::repo_root().join(SAMPLES).join("refused.txt");
    let text = std::fs::read_to_string(&path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect())
}

/// Runs kubectl against the test bed with `manifest` on stdin; Ok(stdout) or Err(stderr).
async fn kubectl(args: &[&str], manifest: &str) -> Result<std::result::Result<String, String>> {
    let kubectl = crds::kubectl_path()?;
    let kubeconfig = e2e_tests::testbed::kubeconfig_path();
    let mut command = vec![kubectl.as_str(), "--kubeconfig"];
    let kubeconfig = kubeconfig.to_string_lossy();
    command.push(&kubeconfig);
    command.extend_from_slice(args);
    let output = host_command::run(&command, Some(manifest.as_bytes()), Duration::from_secs(60)).await?;
    Ok(if output.success { Ok(output.stdout) } else { Err(format!("{}{}", output.stderr, output.stdout)) })
}

#[tokio::test]
async fn koperator_samples_apply_as_koperators_crd_would_take_them() -> Result<()> {
    namespace::run_isolated("koperator-samples", async |ns| {
        crds::install(&ns.client).await?;
        let refused = refused_samples()?;
        let mut files = yaml_files(SAMPLES)?;
        files.extend(yaml_files(&format!("{SAMPLES}/kraft"))?);
        ensure!(files.len() >= 38, "expected Koperator's 38 KafkaCluster samples, found {}", files.len());
        let mut failures = Vec::new();
        for (index, path) in files.iter().enumerate() {
            let name = path.strip_prefix(&format!("{SAMPLES}/")).unwrap_or(path);
            let [mut object] = <[Value; 1]>::try_from(manifests::read_documents(path)?)
                .map_err(|documents| anyhow::anyhow!("{path} holds {} objects", documents.len()))?;
            // Each sample under a name of its own in the test's namespace: most are all "kafka",
            // and some name the namespace "kafka".
            object["metadata"]["name"] = json!(format!("sample-{index}"));
            object["metadata"].as_object_mut().context("metadata")?.remove("namespace");
            let manifest = serde_yaml::to_string(&object)?;
            let expected_refusal = refused.iter().find(|(file, _)| file == name).map(|(_, field)| field);
            for mode in [&["apply", "-f", "-"][..], &["apply", "--server-side", "--dry-run=server", "-f", "-"][..]] {
                let args: Vec<&str> = mode.iter().copied().chain(["-n", ns.name.as_str()]).collect();
                let how = mode.join(" ");
                match (kubectl(&args, &manifest).await?, expected_refusal) {
                    (Ok(_), None) => {}
                    (Err(error), None) => failures.push(format!("{name}: `kubectl {how}` refused it:\n{error}")),
                    (Ok(_), Some(field)) => failures.push(format!("{name}: `kubectl {how}` accepted it ({field})")),
                    (Err(error), Some(fields)) if fields.split('|').any(|field| error.contains(field)) => {}
                    (Err(error), Some(field)) => {
                        failures.push(format!("{name}: `kubectl {how}` refused it without naming {field}:\n{error}"))
                    }
                }
            }
        }
        ensure!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
        println!("[koperator samples] {} applied, {} refused as listed", files.len() - refused.len(), refused.len());
        Ok(())
    })
    .await
}

/// (sample object, Koperator-shaped status fixture) for each kind.
const STATUS_CASES: &[(&str, &str)] = &[
    ("deploy/samples/kafkacluster-kraft-combined.yaml", "status-kafkacluster.yaml"),
    ("deploy/samples/kafkatopic.yaml", "status-kafkatopic.yaml"),
    ("deploy/samples/kafkauser.yaml", "status-kafkauser.yaml"),
    ("deploy/samples/cruisecontroloperation.yaml", "status-cruisecontroloperation.yaml"),
];

#[tokio::test]
async fn koperator_shaped_statuses_are_stored_through_the_status_subresource() -> Result<()> {
    namespace::run_isolated("koperator-status", async |ns| {
        crds::install(&ns.client).await?;
        for (sample, status_file) in STATUS_CASES {
            let [object] = <[Value; 1]>::try_from(manifests::read_documents(sample)?)
                .map_err(|_| anyhow::anyhow!("{sample} holds more than one object"))?;
            manifests::create(&ns.client, &ns.name, &object).await?;
            let [status] = <[Value; 1]>::try_from(manifests::read_documents(&format!("{STATUSES}/{status_file}"))?)
                .map_err(|_| anyhow::anyhow!("{status_file} holds more than one document"))?;
            let (api, name) = manifests::api_for(&ns.client, &ns.name, &object).await?;
            let stored = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({ "status": status })))
                .await
                .with_context(|| format!("the apiserver refused {status_file} on {}", manifests::describe(&object)))?;
            let stored_status = &stored.data["status"];
            // Every field Koperator wrote is kept as written, empty strings included.
            for (field, value) in status.as_object().context("status is an object")? {
                ensure!(
                    &stored_status[field] == value,
                    "{}: status.{field} stored as {} instead of {value}",
                    manifests::describe(&object),
                    stored_status[field]
                );
            }
        }
        // A value outside the enum is still refused, naming the field.
        let cluster = &manifests::read_documents(STATUS_CASES[0].0)?[0];
        let (api, name) = manifests::api_for(&ns.client, &ns.name, cluster).await?;
        let refusal = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({ "status": { "state": "Exploding" } })))
            .await
            .err()
            .context("status.state Exploding was accepted")?;
        ensure!(refusal.to_string().contains("status.state"), "the refusal names no field: {refusal}");
        Ok(())
    })
    .await
}
