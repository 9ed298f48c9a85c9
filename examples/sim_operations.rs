//! Drive the provider traits directly on the simulated cloud: start a
//! long-running operation, then wait for it with backoff while the cloud
//! reports progress. Every real provider is used the same way.
//!
//!     cargo run --example sim_operations

use std::sync::Arc;
use std::time::Duration;

use hubforge::operation::{Backoff, Waiter};
use hubforge::provider::{ClusterConfig, NodePoolConfig, PoolRole, Provider, ownership_tags};
use hubforge::sim::SimBuilder;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    // A GKE-like sim at 1/500 of real time: a 5.5-minute create takes ~0.7 s.
    let cloud: Arc<dyn Provider> = Arc::new(
        SimBuilder::new()
            .imitate(Some(hubforge::Cloud::Gcp))
            .time_scale(0.002)
            .build(),
    );
    let waiter = Waiter::new(
        Backoff::new(Duration::from_millis(50), Duration::from_millis(400), 2.0),
        Duration::from_secs(60),
    );

    let cluster = ClusterConfig {
        name: "demo".into(),
        region: "us-west1".into(),
        kubernetes_version: "1.31".into(),
        tags: ownership_tags("demo"),
    };
    let core = NodePoolConfig {
        name: "core".into(),
        role: PoolRole::System,
        kubernetes_version: "1.31".into(),
        instance_type: "n2-highmem-4".into(),
        accelerator: None,
        min: 1,
        max: 3,
        spot: false,
        disk_gib: None,
        labels: Default::default(),
        taints: vec![],
        tags: ownership_tags("demo"),
    };

    // GKE creates the cluster and its first pool in one operation.
    let operation = cloud.create_cluster(&cluster, &[core]).await?;
    tracing::info!(operation = operation.id(), "cluster create started");
    waiter
        .wait(&operation, |progress| tracing::info!(status = %progress.status, percent = ?progress.percent, "still creating"))
        .await?;

    let state = cloud.get_cluster("demo").await?.expect("created");
    tracing::info!(status = ?state.status, endpoint = ?state.endpoint, "cluster ready");
    for pool in cloud.list_node_pools("demo").await? {
        tracing::info!(pool = %pool.config.name, instance_type = %pool.config.instance_type, status = ?pool.status, "node pool");
    }
    Ok(())
}
