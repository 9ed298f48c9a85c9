//! Plan every hub spec in a directory at once — an operator's morning check
//! of a fleet. Specs that do not validate are reported, not fatal.
//!
//!     cargo run --example plan_fleet -- examples/hubs

use std::sync::Arc;

use hubforge::HubClusterSpec;
use hubforge::engine::Engine;
use hubforge::sim::SimBuilder;
use hubforge::state::LocalStateStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/hubs".into());
    let cloud = Arc::new(SimBuilder::new().time_scale(0.0).build());
    let engine = Engine::new(
        cloud,
        Arc::new(LocalStateStore::new(
            std::env::temp_dir().join("hubforge-example-fleet"),
        )),
    );

    let mut plans = tokio::task::JoinSet::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let engine = engine.clone();
        plans.spawn(async move {
            let outcome = match HubClusterSpec::load(&path) {
                Err(problems) => Err(anyhow::anyhow!("{} problems", problems.len())),
                // Each spec is planned on the sim, whatever cloud it names.
                Ok(spec) => engine
                    .plan(&HubClusterSpec {
                        provider: hubforge::ProviderKind::Sim,
                        ..spec
                    })
                    .await
                    .map_err(Into::into),
            };
            (path, outcome)
        });
    }
    while let Some(done) = plans.join_next().await {
        let (path, outcome) = done?;
        match outcome {
            Ok(plan) => {
                let (create, update, replace, delete) = plan.counts();
                println!(
                    "{:<48} {create:>3} to create, {update} to update, {replace} to replace, {delete} to destroy",
                    path.display()
                );
            }
            Err(error) => println!("{:<48} {error}", path.display()),
        }
    }
    Ok(())
}
