//! The cloud's one-at-a-time rules are the engine's to keep, with keys the
//! provider names; waiting for a key ends on Ctrl-C; a cluster's deletion
//! takes its pools along where the cloud does.

use std::time::Duration;

use super::*;

#[tokio::test]
async fn azure_lifecycle_policy_writes_take_turns() {
    let rig = rig(Some(Cloud::Azure), None);
    let mut spec = spec();
    // Both containers write the storage account's one lifecycle policy.
    for bucket in &mut spec.buckets {
        bucket.delete_after_days = Some(30);
    }
    let conflicts = Arc::new(Mutex::new(Vec::new()));
    let engine = rig.engine.clone().with_events({
        let conflicts = conflicts.clone();
        Arc::new(move |event: &Event| {
            if let Event::Retrying { error, .. } = event {
                conflicts.lock().unwrap().push(error.clone());
            }
        })
    });
    let report = engine.apply(&spec).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert!(
        conflicts.lock().unwrap().is_empty(),
        "the engine queues writes of one policy instead of collecting conflicts: {conflicts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_waiting_for_a_key_is_cancelled_without_a_cloud_call() {
    for round in 0..10 {
        // GKE at 1/100 of real time: a pool update takes 1.2 s.
        let sim = SimBuilder::new()
            .imitate(Some(Cloud::Gcp))
            .time_scale(0.01)
            .build();
        let dir = temp_dir("keys");
        let cancel = Cancellation::new();
        let started = Arc::new(Mutex::new(0));
        let engine = Engine::new(Arc::new(sim.clone()), Arc::new(LocalStateStore::new(&dir)))
            .with_options(EngineOptions {
                cancel: cancel.clone(),
                events: {
                    let started = started.clone();
                    Arc::new(move |event: &Event| {
                        if matches!(event, Event::Progress { .. }) {
                            *started.lock().unwrap() += 1;
                        }
                    })
                },
                ..EngineOptions::default()
            });
        let mut spec = spec();
        spec.node_pools.truncate(2);
        spec.buckets.clear();
        spec.identities.clear();
        // Quick setup at full speed, then two pool updates that share the
        // cluster's key.
        let setup = Engine::new(Arc::new(sim.clone()), Arc::new(LocalStateStore::new(&dir)));
        converge(&setup, &spec).await;
        spec.node_pools[0].max += 1;
        spec.node_pools[1].max += 1;
        let updates_before = sim
            .api_calls()
            .get("update_node_pool")
            .copied()
            .unwrap_or(0);
        let run = {
            let engine = engine.clone();
            let spec = spec.clone();
            tokio::spawn(async move { engine.apply(&spec).await })
        };
        // Once the first update runs, the second waits for the key.
        while *started.lock().unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
        let report = run.await.unwrap().unwrap();
        assert!(!report.succeeded(), "round {round}");
        let updates = sim
            .api_calls()
            .get("update_node_pool")
            .copied()
            .unwrap_or(0);
        assert_eq!(
            updates - updates_before,
            1,
            "round {round}: the queued update must not reach the cloud after Ctrl-C"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn deleting_a_gke_cluster_takes_its_pools_with_it() {
    let rig = rig(Some(Cloud::Gcp), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let plan = rig.engine.plan_destroy(&spec, true).await.unwrap();
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a.step, Step::DeletePool { .. })),
        "{}",
        plan.to_string()
    );
    let (report, check) = rig.engine.destroy(&spec, true).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert!(check.leaks.is_empty(), "{:?}", check.leaks);
    assert_eq!(rig.sim.api_calls().get("delete_node_pool"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_waits_for_the_clouds_budget_instead_of_being_throttled() {
    use crate::ratelimit::{Rate, RateLimits};
    let sim = SimBuilder::new()
        .imitate(Some(Cloud::Gcp))
        .time_scale(0.0)
        .rate_limits(RateLimits {
            all: Some(Rate {
                per_second: 200.0,
                burst: 10,
            }),
            ..RateLimits::default()
        })
        .build();
    // Unbudgeted, a burst of requests is throttled: the sim enforces it.
    let burst: Vec<_> = (0..40)
        .map(|_| {
            let sim = sim.clone();
            tokio::spawn(async move { sim.get_cluster("nothing").await })
        })
        .collect();
    for call in burst {
        let _ = call.await.unwrap();
    }
    let throttled = sim.throttled();
    assert!(
        throttled > 0,
        "the sim must throttle a burst past its budget"
    );

    // Engines on one provider share its budget, and wait for it (once the
    // burst above has been paid back).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let provider: Arc<dyn Provider> = Arc::new(sim.clone());
    let dir = temp_dir("budget");
    let plans: Vec<_> = (0..8)
        .map(|i| {
            let engine = Engine::new(provider.clone(), Arc::new(LocalStateStore::new(&dir)));
            let spec = HubClusterSpec {
                name: format!("hub{i}"),
                ..spec()
            };
            tokio::spawn(async move { engine.plan(&spec).await })
        })
        .collect();
    for plan in plans {
        assert!(plan.await.unwrap().unwrap().has_changes());
    }
    assert_eq!(
        sim.throttled(),
        throttled,
        "no request of the fleet was throttled"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
