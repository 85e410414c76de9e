//! Writes the CRDs to `deploy/crds/` (or the directory given as the first argument).
//! CI regenerates them and fails on any difference, so the committed YAML always shows
//! what a change to the types does to the API.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("deploy/crds"));
    std::fs::create_dir_all(&out_dir)?;
    for crd in crd_types::crds::all()? {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let path = out_dir.join(format!("{name}.yaml"));
        std::fs::write(&path, crd_types::crds::to_yaml(&crd)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
