//! Load a hub spec, validate it, and show what each node pool runs on each
//! cloud — the library calls behind `hubforge validate` and `hubforge catalog`.
//!
//!     cargo run --example resolve_catalog -- examples/hubs/reference-hub.yaml

use anyhow::{Context, bail};
use hubforge::catalog;
use hubforge::{Cloud, HubClusterSpec};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/hubs/reference-hub.yaml".into());
    let spec = HubClusterSpec::load(path.as_ref()).map_err(|problems| {
        anyhow::anyhow!(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;

    // Validation is pure: no cloud is contacted, every problem is returned.
    let problems = hubforge::validate(&spec);
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        bail!("{path}: {} problems", problems.len());
    }

    for pool in &spec.node_pools {
        println!("{}", pool.name);
        for cloud in Cloud::ALL {
            let resolved = catalog::resolve(cloud, pool)
                .map_err(|e| anyhow::anyhow!(e.reason))
                .with_context(|| format!("{} on {cloud}", pool.name));
            match resolved {
                Ok(resolution) => println!("  {cloud:<13} {resolution}"),
                Err(error) => println!("  {cloud:<13} {error:#}"),
            }
        }
    }
    Ok(())
}
