//! Compiles `proto/` with protox (pure Rust) so building needs no system `protoc`.

use std::path::PathBuf;

const PROTO_FILES: &[&str] =
    &["koperator/cluster/v1/cluster_access.proto", "koperator/actions/v1/cluster_actions.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it was compiled: a build script binary can be reused
    // by another checkout of the same workspace.
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let files: Vec<PathBuf> = PROTO_FILES.iter().map(|file| proto_root.join(file)).collect();
    let descriptors = protox::compile(&files, [&proto_root])?;
    tonic_prost_build::configure().build_server(true).build_client(true).compile_fds(descriptors)?;
    Ok(())
}
