//! An apply's wall time against the critical path of its dependency graph.
//! The benchmark (`cargo bench -p testkit --bench engine`) prints the ratio; this test
//! only guards against a gross regression.

use std::sync::Arc;

use provider_core::Cloud;
use provider_core::engine::Engine;
use provider_core::sim::{LatencyModel, SimBuilder};
use provider_core::spec::{HubClusterSpec, SpecFormat};
use provider_core::state::LocalStateStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_wall_time_stays_near_the_critical_path() {
    let time_scale = 0.002;
    let sim = SimBuilder::new()
        .imitate(Some(Cloud::Aws))
        .time_scale(time_scale)
        .build();
    let dir = std::env::temp_dir().join(format!("hubforge-critical-{}", std::process::id()));
    let engine = Engine::new(Arc::new(sim), Arc::new(LocalStateStore::new(&dir)));
    let spec = HubClusterSpec::parse(
        &std::fs::read_to_string(super::example("reference-hub.yaml")).unwrap(),
        SpecFormat::Yaml,
    )
    .unwrap();

    let plan = engine.plan(&spec).await.unwrap();
    let model = LatencyModel::of(Cloud::Aws);
    let critical = plan.critical_path(|a| testkit::sim_latency(&model, a, time_scale));
    let lock = engine.lock(&spec.name, "apply").await.unwrap();
    let report = engine.execute(&lock, &plan).await.unwrap();
    lock.release().await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    let ratio = report.elapsed.as_secs_f64() / critical.as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ratio < 1.5,
        "apply took {:?}, critical path {critical:?}: ratio {ratio:.2}",
        report.elapsed
    );
}
