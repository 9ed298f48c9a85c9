//! Stand up a hub cluster and print what it gives the layers above:
//! the whole library flow in about twenty lines.
//!
//!     cargo run --example provision_hub -- examples/hubs/reference-hub.yaml

use std::sync::Arc;

use hubforge::HubClusterSpec;
use hubforge::engine::Engine;
use hubforge::sim::SimBuilder;
use hubforge::state::LocalStateStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/hubs/reference-hub.yaml".into());
    let spec = HubClusterSpec::load(path.as_ref())
        .map_err(|problems| anyhow::anyhow!("{} problems in {path}", problems.len()))?;

    let workdir = std::env::temp_dir().join("hubforge-example-provision");
    let cloud = Arc::new(
        SimBuilder::new()
            .directory(workdir.join("sim"))
            .time_scale(0.002)
            .build(),
    );
    let engine = Engine::new(cloud, Arc::new(LocalStateStore::new(workdir.join("state"))));

    let report = engine.apply(&spec).await?.into_result()?;
    println!(
        "applied {} actions in {:.1}s",
        report.done.len(),
        report.elapsed.as_secs_f64()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&engine.outputs(&spec).await?)?
    );

    let (_, check) = engine.destroy(&spec, false).await?;
    anyhow::ensure!(check.leaks.is_empty(), "left behind: {:?}", check.leaks);
    Ok(())
}
