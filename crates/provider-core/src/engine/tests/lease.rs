//! The lock's lease is kept while the run lives, the run stops when it
//! cannot be kept, and a failure to release never hides the run's result.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::state::{HubState, StateStore};

/// A local store whose renewals fail the first `failing_renewals` times
/// (all of them with `u32::MAX`) and whose release fails when told to.
struct Flaky {
    inner: LocalStateStore,
    failing_renewals: u32,
    renewals: AtomicU32,
    fail_release: bool,
}

fn unavailable(what: &str) -> Error {
    Error::new(
        ErrorKind::Transient,
        "state",
        format!("503 Service Unavailable ({what})"),
    )
}

#[async_trait]
impl StateStore for Flaky {
    async fn read(&self, hub: &str) -> Result<Option<HubState>> {
        self.inner.read(hub).await
    }
    async fn write(&self, state: &HubState) -> Result<()> {
        self.inner.write(state).await
    }
    async fn remove(&self, hub: &str) -> Result<()> {
        self.inner.remove(hub).await
    }
    async fn hubs(&self) -> Result<Vec<String>> {
        self.inner.hubs().await
    }
    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>> {
        self.inner.lock(hub, request).await
    }
    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        if self.renewals.fetch_add(1, Ordering::SeqCst) < self.failing_renewals {
            return Err(unavailable("renew"));
        }
        self.inner.renew(hub, lock).await
    }
    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        if self.fail_release {
            return Err(unavailable("unlock"));
        }
        self.inner.unlock(hub, id).await
    }
    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>> {
        self.inner.current_lock(hub).await
    }
}

/// An engine on a sim slow enough (1/300 of real time: the reference hub
/// takes seconds) for renewals to happen, leased for `lease`.
fn slow_engine(store: Arc<Flaky>, lease: Duration) -> (Engine, Arc<Mutex<Vec<String>>>) {
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let warnings = warnings.clone();
        Arc::new(move |event: &Event| {
            if let Event::Warning { message } = event {
                warnings.lock().unwrap().push(message.clone());
            }
        })
    };
    let sim = SimBuilder::new()
        .imitate(Some(Cloud::Aws))
        .time_scale(1.0 / 300.0)
        .build();
    let engine = Engine::new(Arc::new(sim), store).with_options(EngineOptions {
        lease,
        events: sink,
        ..EngineOptions::default()
    });
    (engine, warnings)
}

fn flaky(failing_renewals: u32, fail_release: bool) -> (Arc<Flaky>, std::path::PathBuf) {
    let dir = temp_dir("lease");
    let store = Arc::new(Flaky {
        inner: LocalStateStore::new(&dir),
        failing_renewals,
        renewals: AtomicU32::new(0),
        fail_release,
    });
    (store, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_that_fail_for_a_while_are_retried_and_the_lock_is_kept() {
    let (store, dir) = flaky(2, false);
    let (engine, warnings) = slow_engine(store.clone(), Duration::from_secs(3));
    let report = engine.apply(&spec()).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert!(report.lock_lost.is_none(), "{:?}", report.lock_lost);
    assert!(
        store.renewals.load(Ordering::SeqCst) > 2,
        "renewal goes on after a failed attempt"
    );
    assert!(warnings.lock().unwrap().is_empty(), "{warnings:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_cannot_be_kept_stops_new_actions_and_says_so() {
    let (store, dir) = flaky(u32::MAX, false);
    let (engine, warnings) = slow_engine(store, Duration::from_secs(3));
    let report = engine.apply(&spec()).await.unwrap();
    assert!(!report.succeeded());
    assert!(
        !report.skipped.is_empty(),
        "actions not yet started when the lease was lost do not start"
    );
    let reason = report
        .lock_lost
        .clone()
        .expect("the report says why it stopped");
    assert!(reason.contains("could not be kept"), "{reason}");
    assert!(
        warnings
            .lock()
            .unwrap()
            .iter()
            .any(|w| w.contains("could not be kept")),
        "{warnings:?}"
    );
    let error = report.into_result().unwrap_err();
    assert!(error.message().contains("lease"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_failed_release_is_reported_beside_the_runs_own_result() {
    let (store, dir) = flaky(0, true);
    let (engine, warnings) = slow_engine(store, Duration::from_secs(600));
    let spec = HubClusterSpec {
        node_pools: spec().node_pools.into_iter().take(1).collect(),
        buckets: Vec::new(),
        identities: Vec::new(),
        ..spec()
    };
    let report = engine
        .apply(&spec)
        .await
        .expect("the apply's own result comes back although the release failed");
    assert!(report.succeeded(), "{:?}", report.failed);
    let warnings = warnings.lock().unwrap();
    assert!(
        warnings.iter().any(
            |w| w.contains("could not release the lock") && w.contains("hubforge state unlock")
        ),
        "{warnings:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
