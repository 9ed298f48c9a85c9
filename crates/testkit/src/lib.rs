//! Conformance suite for hubforge providers.
//!
//! Written once against `&dyn Provider` and run against the sim and every
//! real provider. Each case asserts outcomes a user relies on (a created
//! cluster has the version asked for, a pool's labels are there, an identity
//! is bound to exactly the buckets granted). [`Capabilities`] decide which
//! cases apply: an emulator whose operations finish at once skips the
//! progress case, a provider without in-cluster pool creation is checked to
//! refuse it instead.
//!
//! Use [`conformance_suite!`] to get one `#[tokio::test]` per case; the
//! cases live one file per resource group (`cluster`, `node_pool`,
//! `bucket`, `identity`, `support`, `recovery`). A case that does not apply
//! to a provider says so on stderr and passes; a case that must not run
//! beside others ([`serial_turn`]) takes its turn.
//! State stores have theirs in [`state`] ([`state_store_suite!`], [`object_store_suite!`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use provider_core::Cloud;
use provider_core::catalog;
use provider_core::engine::{Action, Step};
use provider_core::interrupt::Interrupter;
use provider_core::names::{self, NameScope};
use provider_core::operation::{Backoff, Operation, Progress, Waiter};
use provider_core::provider::*;
use provider_core::sim::LatencyModel;
use provider_core::spec::MachineSpec;
use provider_core::validate::parse_taint;

mod bucket;
mod cluster;
pub mod doubles;
mod identity;
mod node_pool;
mod recovery;
pub mod state;
mod support;

pub use bucket::*;
pub use cluster::*;
pub use identity::*;
pub use node_pool::*;
pub use recovery::*;
pub use support::*;

/// A provider under test, with the [`Interrupter`] its builder was given
/// (so a case can stop its multi-step creates half-way).
pub struct Subject {
    /// The provider under test.
    pub provider: Arc<dyn Provider>,
    /// The interrupter wired into it.
    pub interrupter: Interrupter,
}

impl From<Arc<dyn Provider>> for Subject {
    /// A provider with no interrupter wired in: the interrupted-create
    /// case fails on it, saying so.
    fn from(provider: Arc<dyn Provider>) -> Subject {
        Subject {
            provider,
            interrupter: Interrupter::new(),
        }
    }
}

/// Everything a case needs: the provider under test and a hub name no
/// other case uses, so cases can run side by side on one account.
pub struct Harness {
    /// The provider under test.
    pub provider: Arc<dyn Provider>,
    /// Stops the provider's multi-step creates half-way.
    pub interrupter: Interrupter,
    /// Logical hub name for this case.
    pub hub: String,
    /// The region cases use, in the provider's own naming (Oregon:
    /// `us-west-2`, `us-west1`, `westus2`).
    pub region: String,
    scope: NameScope,
}

static NEXT_HUB: AtomicU32 = AtomicU32::new(0);

impl Harness {
    /// A harness with a fresh hub name starting with `prefix`.
    pub async fn new(subject: impl Into<Subject>, prefix: &str) -> Harness {
        let Subject {
            provider,
            interrupter,
        } = subject.into();
        let hub = format!(
            "{prefix}{}-{}",
            std::process::id() % 10_000,
            NEXT_HUB.fetch_add(1, Ordering::Relaxed)
        );
        let scope = NameScope::known(provider.account_scope().await.expect("account scope"));
        let region = catalog::resolve_region(provider.naming_cloud(), "us-west-2")
            .expect("Oregon has a region on every cloud")
            .name()
            .to_string();
        Harness {
            provider,
            interrupter,
            hub,
            region,
            scope,
        }
    }

    fn cloud(&self) -> Cloud {
        self.provider.naming_cloud()
    }

    /// Ends a case that does not apply to this provider, saying why.
    pub fn skip(&self, why: &str) {
        eprintln!("skipped on {}: {why}", self.provider.name());
    }

    /// Waits for an operation with short, seeded backoff.
    pub async fn wait(&self, operation: Operation) -> Vec<Progress> {
        let mut seen = Vec::new();
        waiter()
            .wait(&operation, |p| seen.push(p.clone()))
            .await
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", operation.resource()));
        seen
    }

    /// Sends a request until it no longer fails with a temporary error (a
    /// busy cluster, IAM that has not caught up), as the engine does; at
    /// most twenty tries.
    pub async fn eventually<T, F, Fut>(&self, mut request: F) -> provider_core::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = provider_core::Result<T>>,
    {
        let backoff =
            Backoff::new(Duration::from_millis(5), Duration::from_millis(200), 2.0).with_seed(7);
        let mut attempt = 0;
        loop {
            match request().await {
                Err(error) if error.is_temporary() && attempt < 20 => {
                    tokio::time::sleep(backoff.delay(attempt)).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// The cluster config for this hub.
    pub fn cluster(&self) -> ClusterConfig {
        ClusterConfig {
            name: names::cluster(self.cloud(), &self.hub).expect("cluster name"),
            region: self.region.clone(),
            kubernetes_version: "1.30".into(),
            tags: self.tags(),
        }
    }

    /// A node pool named `logical`, with a resolved instance type, labels and a taint.
    pub fn pool(&self, logical: &str) -> NodePoolConfig {
        let machine = MachineSpec {
            cpu: 4,
            memory_gib: 16,
            gpu: None,
        };
        let resolved = catalog::resolve_machine(self.cloud(), &machine).expect("catalog");
        NodePoolConfig {
            name: names::node_pool(self.cloud(), logical).expect("pool name"),
            role: PoolRole::User,
            kubernetes_version: "1.30".into(),
            instance_type: resolved.name,
            accelerator: None,
            min: 0,
            max: 5,
            spot: true,
            disk_gib: Some(100),
            labels: BTreeMap::from([("hub.jupyter.org/node-purpose".into(), "user".into())]),
            taints: vec![parse_taint("hub.jupyter.org_dedicated=user:NoSchedule").expect("taint")],
            tags: self.tags(),
        }
    }

    /// A bucket named `logical`.
    pub fn bucket(&self, logical: &str) -> BucketConfig {
        BucketConfig {
            name: names::bucket(self.cloud(), &self.hub, logical, &self.scope)
                .expect("bucket name"),
            region: self.region.clone(),
            versioning: true,
            delete_after_days: Some(7),
            tags: self.tags(),
        }
    }

    /// An identity named `logical`.
    pub fn identity(&self, logical: &str) -> IdentityConfig {
        IdentityConfig {
            name: names::identity(self.cloud(), &self.hub, logical).expect("identity name"),
            tags: self.tags(),
        }
    }

    fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = ownership_tags(&self.hub);
        tags.insert("suite".into(), "conformance".into());
        tags
    }

    /// Creates this hub's cluster and waits until it is ready.
    pub async fn ready_cluster(&self) -> ClusterConfig {
        let cluster = self.cluster();
        self.wait(
            self.provider
                .create_cluster(&cluster, &[])
                .await
                .expect("create cluster"),
        )
        .await;
        cluster
    }

    /// Deletes the cluster and its pools, waiting for each.
    pub async fn remove_cluster(&self, cluster: &str) {
        for pool in self
            .provider
            .list_node_pools(cluster)
            .await
            .expect("list pools")
        {
            self.wait(
                self.provider
                    .delete_node_pool(cluster, &pool.config.name)
                    .await
                    .expect("delete pool"),
            )
            .await;
        }
        self.wait(
            self.provider
                .delete_cluster(cluster)
                .await
                .expect("delete cluster"),
        )
        .await;
    }
}

fn waiter() -> Waiter {
    Waiter::new(
        Backoff::new(Duration::from_millis(10), Duration::from_millis(200), 2.0).with_seed(11),
        Duration::from_secs(120),
    )
}

/// How long the sim takes for `action` under `model` at `time_scale`: with
/// [`provider_core::engine::Plan::critical_path`], the wall time a perfect
/// executor needs for a plan on the sim.
pub fn sim_latency(model: &LatencyModel, action: &Action, time_scale: f64) -> Duration {
    let latency = match &action.step {
        Step::CreateSupport(_) => model.support_create,
        Step::DeleteSupport { .. } => model.support_delete,
        Step::CreateCluster { initial_pools, .. } if initial_pools.is_empty() => {
            model.cluster_create
        }
        Step::CreateCluster { .. } => model.cluster_create + model.pool_create / 2,
        Step::UpdateCluster { versions, .. } => model.cluster_update * versions.len() as u32,
        Step::DeleteCluster { .. } => model.cluster_delete,
        Step::CreatePool { .. } => model.pool_create,
        Step::UpdatePool { .. } => model.pool_update,
        Step::DeletePool { .. } => model.pool_delete,
        Step::CreateBucket(_) => model.bucket_create,
        Step::DeleteBucket { .. } => model.bucket_delete,
        Step::CreateIdentity(_) => model.identity_create,
        Step::DeleteIdentity { .. } => model.identity_delete,
        Step::Bind { .. } => model.identity_bind,
        Step::UpdateSupport(_)
        | Step::UpdateBucket(_)
        | Step::UpdateIdentity(_)
        | Step::Await { .. } => Duration::ZERO,
    };
    latency.mul_f64(time_scale)
}

/// Generates one `#[tokio::test]` per conformance case. `$provider` is an
/// expression giving an `Arc<dyn Provider>` or a [`Subject`], evaluated
/// once per case. Every case is listed here, once: a provider's suite runs
/// them all, and a case that does not apply to it skips itself, saying so.
#[macro_export]
macro_rules! conformance_suite {
    ($provider:expr) => {
        $crate::conformance_suite!(@cases $provider;
            cluster_lifecycle, duplicates_are_ensured_and_foreign_names_refused, missing_resources,
            node_pool_lifecycle, pools_with_the_cluster, one_operation_per_cluster,
            operations_report_progress, cluster_version_upgrade, bucket_lifecycle,
            identity_binding, interrupted_creates_are_finished;
            serial: supporting_resources);
    };
    (@cases $provider:expr; $($case:ident),*) => {
        $crate::conformance_suite!(@cases $provider; $($case),*; serial:);
    };
    (@cases $provider:expr; $($case:ident),*; serial: $($serial:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $crate::Harness::new($provider, "cf").await;
                $crate::$case(harness).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $serial() {
                let _turn = $crate::serial_turn().await;
                let harness = $crate::Harness::new($provider, "cf").await;
                $crate::$serial(harness).await;
            }
        )*
    };
}

/// Cases that register what some emulators keep one of per account (moto
/// gives every EKS cluster the same OIDC issuer, so only one provider for
/// it can exist) take turns: with each other, and with a provider's own
/// tests that hold this turn too.
pub async fn serial_turn() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// The turn [`serial_turn`] takes, for tests outside an async runtime
/// (`SERIAL.blocking_lock()`).
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cases that hold whatever the provider's capabilities, for runs that
/// add a layer (faults + retries) around a provider.
pub async fn lifecycle_cases(provider: Arc<dyn Provider>) {
    cluster_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    node_pool_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    bucket_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    identity_binding(Harness::new(provider, "lf").await).await;
}
