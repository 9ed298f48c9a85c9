//! Watch an apply as it happens: every engine event as one JSON line, the
//! way a CI job or a dashboard would consume them.
//!
//!     cargo run --example watch_events

use std::sync::Arc;

use hubforge::HubClusterSpec;
use hubforge::engine::Engine;
use hubforge::events::Event;
use hubforge::sim::SimBuilder;
use hubforge::state::LocalStateStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let spec = HubClusterSpec::load("examples/hubs/reference-hub.yaml".as_ref())
        .map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let cloud = Arc::new(
        SimBuilder::new()
            .imitate(Some(hubforge::Cloud::Gcp))
            .time_scale(0.001)
            .build(),
    );
    let state = Arc::new(LocalStateStore::new(
        std::env::temp_dir().join("hubforge-example-events"),
    ));

    let print = Arc::new(|event: &Event| {
        println!(
            "{}",
            serde_json::to_string(event).expect("events serialize")
        )
    });
    let engine = Engine::new(cloud, state).with_events(print);

    engine.apply(&spec).await?.into_result()?;
    engine.destroy(&spec, false).await?;
    Ok(())
}
