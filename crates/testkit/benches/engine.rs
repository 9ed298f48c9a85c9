//! Engine figures on the simulated cloud, printed, never asserted:
//!
//! - critical-path ratio: wall time of an apply with a real latency model,
//!   over the longest dependency chain of its plan (1.0 is perfect);
//! - engine overhead: an apply and a no-change plan when every cloud call
//!   is instant, so what remains is hubforge's own work;
//! - fleet planning: many hubs planned at once against one account.
//!
//!     cargo bench -p testkit --bench engine

use std::sync::Arc;
use std::time::{Duration, Instant};

use provider_core::Cloud;
use provider_core::engine::Engine;
use provider_core::sim::{LatencyModel, SimBuilder, SimCloud};
use provider_core::spec::{HubClusterSpec, SpecFormat};
use provider_core::state::LocalStateStore;

fn reference() -> HubClusterSpec {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/hubs/reference-hub.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the reference spec");
    HubClusterSpec::parse(&text, SpecFormat::Yaml).expect("reference spec parses")
}

fn scratch(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hubforge-bench-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn engine(sim: &SimCloud, label: &str) -> Engine {
    Engine::new(
        Arc::new(sim.clone()),
        Arc::new(LocalStateStore::new(scratch(label))),
    )
}

async fn critical_path_ratio(cloud: Cloud, time_scale: f64) {
    let sim = SimBuilder::new()
        .imitate(Some(cloud))
        .time_scale(time_scale)
        .build();
    let engine = engine(&sim, "critical");
    let spec = reference();
    let plan = engine.plan(&spec).await.expect("plan");
    let model = LatencyModel::of(cloud);
    let critical = plan.critical_path(|a| testkit::sim_latency(&model, a, time_scale));
    let lock = engine.lock(&spec.name, "apply").await.expect("lock");
    let report = engine.execute(&lock, &plan).await.expect("apply");
    lock.release().await.expect("unlock");
    assert!(report.succeeded());
    println!(
        "critical-path ratio, {cloud:<12} {:.3}  (apply {:.2} s, critical path {:.2} s, {} actions)",
        report.elapsed.as_secs_f64() / critical.as_secs_f64(),
        report.elapsed.as_secs_f64(),
        critical.as_secs_f64(),
        plan.actions.len()
    );
}

async fn overhead(rounds: u32) {
    let spec = reference();
    let mut apply_total = Duration::ZERO;
    let mut plan_total = Duration::ZERO;
    for round in 0..rounds {
        let sim = SimBuilder::new().time_scale(0.0).build();
        let engine = engine(&sim, &format!("overhead{round}"));
        let started = Instant::now();
        engine
            .apply(&spec)
            .await
            .expect("apply")
            .into_result()
            .expect("apply succeeds");
        apply_total += started.elapsed();
        let started = Instant::now();
        let plan = engine.plan(&spec).await.expect("plan");
        plan_total += started.elapsed();
        assert!(!plan.has_changes());
    }
    println!(
        "engine overhead, apply of the reference hub with instant cloud calls: {:.2} ms",
        apply_total.as_secs_f64() * 1e3 / f64::from(rounds)
    );
    println!(
        "engine overhead, no-change plan of the reference hub:                 {:.2} ms",
        plan_total.as_secs_f64() * 1e3 / f64::from(rounds)
    );
}

async fn fleet(hubs: usize) {
    let sim = SimBuilder::new()
        .time_scale(0.0)
        .quotas(provider_core::sim::Quotas {
            clusters: hubs,
            buckets: hubs * 2,
            identities: hubs * 2,
            node_pools_per_cluster: 30,
        })
        .build();
    let specs: Vec<HubClusterSpec> = (0..hubs)
        .map(|i| HubClusterSpec {
            name: format!("hub{i:04}"),
            ..reference()
        })
        .collect();
    let engine = engine(&sim, "fleet");
    let started = Instant::now();
    let plans = futures_join_all(specs.iter().map(|spec| {
        let engine = engine.clone();
        let spec = spec.clone();
        async move { engine.plan(&spec).await.expect("plan") }
    }))
    .await;
    let actions: usize = plans.iter().map(|p| p.actions.len()).sum();
    println!(
        "fleet planning, {hubs} new hubs at once: {:.1} ms ({actions} actions planned)",
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// Runs futures concurrently on the runtime and collects their outputs in order.
async fn futures_join_all<T: Send + 'static>(
    futures: impl Iterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for cloud in Cloud::ALL {
            critical_path_ratio(cloud, 0.003).await;
        }
        overhead(20).await;
        fleet(200).await;
    });
}
