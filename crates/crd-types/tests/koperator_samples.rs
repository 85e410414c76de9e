//! Every KafkaCluster sample of Koperator (`fixtures/koperator/samples`, see the header of each)
//! fits our KafkaCluster schema, field for field and rule for rule, except the ones listed in
//! `samples/refused.txt` (Koperator's own CRD refuses them too, or they cannot run at all):
//! those must be refused here, naming the field. The `koperator_samples` e2e test applies the same files to a real
//! apiserver.

mod support;

use std::path::{Path, PathBuf};

use kube::core::cel::Validator;
use serde_json::Value;

use support::{repo_root, schema_of, schema_problems};

fn samples_dir() -> PathBuf {
    repo_root().join("crates/crd-types/tests/fixtures/koperator/samples")
}

fn sample_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            sample_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            found.push(path);
        }
    }
    found.sort();
}

/// `samples/refused.txt`: file (relative to the samples directory) → the fields (`a|b`), one of
/// which the refusal names.
fn refused() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(samples_dir().join("refused.txt")).expect("refused.txt");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let file = words.next().expect("a file").to_owned();
            let field = words.next().unwrap_or_else(|| panic!("no field in {line:?}")).to_owned();
            (file, field)
        })
        .collect()
}

fn problems_of(path: &Path, schema: &Value, validator: &Validator) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("sample");
    let object: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    let mut problems = Vec::new();
    schema_problems(&object["spec"], &schema["properties"]["spec"], "spec", &mut problems);
    if problems.is_empty()
        && let Err(errors) = validator.validate(schema, &object, None)
    {
        problems.extend(errors.iter().map(|error| error.to_string()));
    }
    problems
}

#[test]
fn koperators_samples_are_accepted_unless_koperator_refuses_them_too() {
    let mut files = Vec::new();
    sample_files(&samples_dir(), &mut files);
    assert!(files.len() >= 38, "only {} samples", files.len());
    let refused = refused();
    let (schema, validator) = (schema_of("KafkaCluster"), Validator::new());
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.strip_prefix(samples_dir()).expect("under the samples dir").to_string_lossy().into_owned();
        let problems = problems_of(path, &schema, &validator);
        match refused.iter().find(|(file, _)| *file == name) {
            None if !problems.is_empty() => wrong.push(format!("{name} is refused: {problems:?}")),
            Some((_, fields)) if !problems.iter().any(|problem| fields.split('|').any(|f| problem.contains(f))) => {
                wrong.push(format!("{name} must be refused naming {fields}, got {problems:?}"))
            }
            _ => {}
        }
    }
    for (file, _) in &refused {
        assert!(samples_dir().join(file).is_file(), "refused.txt names {file}, which is not a sample");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
