//! The committed CRDs under deploy/crds are exactly what the types generate, and stay small
//! enough for client-side `kubectl apply`.

mod support;

#[test]
fn committed_crds_match_the_types() {
    for crd in crd_types::crds::all().expect("CRDs generate") {
        let name = crd.metadata.name.clone().expect("CRD has a name");
        let path = support::repo_root().join("deploy/crds").join(format!("{name}.yaml"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = crd_types::crds::to_yaml(&crd).expect("CRD serializes");
        assert!(
            committed == generated,
            "{} is out of date: run `cargo run -p crd-types --bin crdgen` and commit the result",
            path.display()
        );
    }
}

/// `kubectl apply` without --server-side stores the whole object in the
/// last-applied-configuration annotation, and annotations are limited to 256 KiB in total.
/// Koperator's KafkaCluster CRD is far over that; ours keeps a margin.
const CLIENT_SIDE_APPLY_BUDGET: usize = 200 * 1024;

#[test]
fn every_crd_fits_client_side_apply() {
    for crd in crd_types::crds::all().expect("CRDs generate") {
        let size = serde_json::to_vec(&crd).expect("CRD serializes").len();
        assert!(
            size < CLIENT_SIDE_APPLY_BUDGET,
            "{} is {size} bytes as JSON, over the {CLIENT_SIDE_APPLY_BUDGET} byte budget",
            crd.spec.names.kind
        );
    }
}
