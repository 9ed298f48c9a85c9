//! Killing `hubforge apply` (SIGKILL, a real child process) at seeded
//! random moments, then running apply again, must converge: no duplicate,
//! no orphan, no manual step.

use std::collections::BTreeSet;
use std::time::Duration;

use provider_core::provider::*;
use provider_core::sim::SimBuilder;

use super::engine_cli::Workspace;
use super::stderr;

/// At this scale a whole apply of the reference hub takes about 1.6 s.
const TIME_SCALE: f64 = 0.002;
const KILL_POINTS: u64 = 20;

/// A small seeded generator, so a failing kill point can be replayed.
fn kill_points(seed: u64) -> Vec<Duration> {
    let mut x = seed;
    (0..KILL_POINTS)
        .map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Spread over the whole apply: slice i of 20, at a random spot within it.
            let within = (x >> 33) % 90;
            Duration::from_millis(i * 90 + within)
        })
        .collect()
}

#[test]
fn apply_killed_at_twenty_points_converges_without_duplicates_or_orphans() {
    for (i, point) in kill_points(0x5eed_2026).into_iter().enumerate() {
        let ws = Workspace::new(&format!("crash{i}"));
        let mut apply = ws.spawn(&["apply", "--auto-approve"], TIME_SCALE);
        std::thread::sleep(point);
        apply.kill().expect("SIGKILL the apply");
        apply.wait().unwrap();

        let rerun = ws.run(&["apply", "--auto-approve"], TIME_SCALE);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "kill point {i} ({point:?}): rerun failed:\n{}",
            stderr(&rerun)
        );
        let plan = ws.run(&["plan", "--detailed-exitcode"], TIME_SCALE);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "kill point {i} ({point:?}): not converged:\n{}",
            super::stdout(&plan)
        );
        check_cloud_matches_state(&ws, &format!("kill point {i} ({point:?})"));
    }
}

/// Independent reads of the persisted sim: exactly the reference hub's
/// resources exist, and every one of them is in hubforge's state.
fn check_cloud_matches_state(ws: &Workspace, context: &str) {
    let sim = SimBuilder::new()
        .directory(ws.sim_dir())
        .time_scale(0.0)
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (clusters, pools, buckets, identities, support) = runtime.block_on(async {
        let clusters = sim.list_clusters("openscapes").await.unwrap();
        let pools = sim.list_node_pools("openscapes").await.unwrap();
        (
            clusters,
            pools,
            sim.list_buckets("openscapes").await.unwrap(),
            sim.list_identities("openscapes").await.unwrap(),
            sim.list_support("openscapes").await.unwrap(),
        )
    });
    assert_eq!(
        (
            clusters.len(),
            pools.len(),
            buckets.len(),
            identities.len(),
            support.len()
        ),
        (1, 4, 2, 2, 4),
        "{context}: duplicates or missing resources"
    );
    let in_cloud: BTreeSet<String> = clusters
        .iter()
        .map(|c| c.config.name.clone())
        .chain(pools.iter().map(|p| p.config.name.clone()))
        .chain(buckets.iter().map(|b| b.config.name.clone()))
        .chain(identities.iter().map(|i| i.config.name.clone()))
        .chain(support.iter().map(|s| s.config.name.clone()))
        .collect();
    let text = std::fs::read_to_string(ws.state_dir().join("openscapes/state.json"))
        .expect("state exists");
    let state: provider_core::state::HubState = serde_json::from_str(&text).unwrap();
    let in_state: BTreeSet<String> = state
        .resources
        .values()
        .map(|r| r.physical.clone())
        .collect();
    let orphans: Vec<&String> = in_cloud.difference(&in_state).collect();
    assert!(
        orphans.is_empty(),
        "{context}: in the cloud but not in state: {orphans:?}"
    );
    assert_eq!(
        state.resources.len(),
        15,
        "{context}: {:?}",
        state.resources.keys()
    );
    assert!(
        identities.iter().all(|i| i.binding.is_some()),
        "{context}: an identity is unbound"
    );
}
