//! The simulated cloud: `provider: sim`, the embedded default.
//!
//! It behaves like a cloud, not like a map: operations take time (a latency
//! model per imitated cloud, scaled by a time-scale knob so tests run in
//! milliseconds and a demo in seconds) and report progress; GKE- and
//! AKS-style clusters accept one operation at a time; quotas and naming
//! limits are enforced; seeded faults (throttling, 5xx, timeouts) can be
//! injected into any share of calls. Persisted to a directory, it is one
//! cloud that separate `hubforge` invocations all see.

mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::names::{self, NameKind};
use crate::operation::{Operation, OperationStatus, PollOperation, Progress};
use crate::provider::*;
use crate::spec::Cloud;
use world::{
    Phase, PhaseKind, SimBucket, SimCluster, SimIdentity, SimPool, SimSupport, Store, World,
};

pub use crate::names::SIM_ACCOUNT;

const PROVIDER: &str = "sim";

/// How long each kind of operation takes on a cloud, before scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    /// Create a cluster.
    pub cluster_create: Duration,
    /// Upgrade a cluster.
    pub cluster_update: Duration,
    /// Delete a cluster.
    pub cluster_delete: Duration,
    /// Create a node pool.
    pub pool_create: Duration,
    /// Change a node pool.
    pub pool_update: Duration,
    /// Delete a node pool.
    pub pool_delete: Duration,
    /// Create a bucket.
    pub bucket_create: Duration,
    /// Delete a bucket.
    pub bucket_delete: Duration,
    /// Create an identity.
    pub identity_create: Duration,
    /// Bind an identity (trust + grants, including propagation).
    pub identity_bind: Duration,
    /// Delete an identity.
    pub identity_delete: Duration,
    /// Create a supporting resource (network, role, resource group, storage account).
    pub support_create: Duration,
    /// Delete a supporting resource.
    pub support_delete: Duration,
}

impl LatencyModel {
    /// Typical figures for each cloud, as operators see them.
    pub fn of(cloud: Cloud) -> LatencyModel {
        let s = Duration::from_secs;
        match cloud {
            Cloud::Aws => LatencyModel {
                cluster_create: s(600),
                cluster_update: s(900),
                cluster_delete: s(300),
                pool_create: s(180),
                pool_update: s(120),
                pool_delete: s(240),
                bucket_create: s(2),
                bucket_delete: s(2),
                identity_create: s(3),
                identity_bind: s(10),
                identity_delete: s(3),
                support_create: s(30),
                support_delete: s(20),
            },
            Cloud::Gcp => LatencyModel {
                cluster_create: s(330),
                cluster_update: s(600),
                cluster_delete: s(240),
                pool_create: s(150),
                pool_update: s(120),
                pool_delete: s(150),
                bucket_create: s(2),
                bucket_delete: s(2),
                identity_create: s(3),
                identity_bind: s(5),
                identity_delete: s(3),
                support_create: s(5),
                support_delete: s(5),
            },
            Cloud::Azure => LatencyModel {
                cluster_create: s(360),
                cluster_update: s(600),
                cluster_delete: s(300),
                pool_create: s(240),
                pool_update: s(180),
                pool_delete: s(200),
                bucket_create: s(20),
                bucket_delete: s(5),
                identity_create: s(5),
                identity_bind: s(30),
                identity_delete: s(5),
                support_create: s(25),
                support_delete: s(15),
            },
        }
    }
}

impl LatencyModel {
    /// The length of the longest dependency chain of `plan` if every action
    /// took exactly this model's latency at `time_scale`: the wall time a
    /// perfect executor would need. Benchmarks compare real applies with it.
    pub fn critical_path(&self, plan: &crate::engine::Plan, time_scale: f64) -> Duration {
        use crate::engine::Step;
        let cost = |step: &Step| -> Duration {
            let latency = match step {
                Step::CreateSupport(_) => self.support_create,
                Step::DeleteSupport { .. } => self.support_delete,
                Step::CreateCluster { initial_pools, .. } if initial_pools.is_empty() => {
                    self.cluster_create
                }
                Step::CreateCluster { .. } => self.cluster_create + self.pool_create / 2,
                Step::UpdateCluster { versions, .. } => self.cluster_update * versions.len() as u32,
                Step::DeleteCluster { .. } => self.cluster_delete,
                Step::CreatePool { .. } => self.pool_create,
                Step::UpdatePool { .. } => self.pool_update,
                Step::DeletePool { .. } => self.pool_delete,
                Step::CreateBucket(_) => self.bucket_create,
                Step::DeleteBucket { .. } => self.bucket_delete,
                Step::CreateIdentity(_) => self.identity_create,
                Step::DeleteIdentity { .. } => self.identity_delete,
                Step::Bind { .. } => self.identity_bind,
                Step::UpdateSupport(_)
                | Step::UpdateBucket(_)
                | Step::UpdateIdentity(_)
                | Step::Await { .. } => Duration::ZERO,
            };
            latency.mul_f64(time_scale)
        };
        // Actions come in dependency order, so one pass finds each finish time.
        let mut finish = vec![Duration::ZERO; plan.actions.len()];
        for action in &plan.actions {
            let start = action
                .depends_on
                .iter()
                .map(|d| finish[*d])
                .max()
                .unwrap_or_default();
            finish[action.id] = start + cost(&action.step);
        }
        finish.into_iter().max().unwrap_or_default()
    }
}

/// Seeded fault injection: each API call fails with probability `rate`,
/// as throttling, a temporary server error or a timeout; with
/// `lose_answers`, some timeouts come after the change landed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    /// Share of calls that fail, 0.0–1.0.
    pub rate: f64,
    /// Seed of the fault sequence.
    pub seed: u64,
    /// Some timeouts of changing calls happen *after* the change landed:
    /// the cloud did the work but the answer was lost, so a retry finds
    /// the resource already there (`AlreadyExists`) or busy (`Conflict`).
    /// Only an idempotent engine survives these.
    pub lose_answers: bool,
}

/// Limits of the sim's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// Clusters in the account.
    pub clusters: usize,
    /// Node pools per cluster.
    pub node_pools_per_cluster: usize,
    /// Buckets in the account.
    pub buckets: usize,
    /// Identities in the account.
    pub identities: usize,
}

impl Default for Quotas {
    /// EKS's defaults for clusters and node groups; generous elsewhere.
    fn default() -> Quotas {
        Quotas {
            clusters: 100,
            node_pools_per_cluster: 30,
            buckets: 1000,
            identities: 1000,
        }
    }
}

/// Configures a [`SimCloud`].
#[derive(Debug, Clone)]
pub struct SimBuilder {
    dir: Option<PathBuf>,
    imitate: Option<Cloud>,
    time_scale: f64,
    faults: Option<FaultPlan>,
    quotas: Quotas,
}

impl Default for SimBuilder {
    fn default() -> SimBuilder {
        SimBuilder {
            dir: None,
            imitate: None,
            time_scale: 0.01,
            faults: None,
            quotas: Quotas::default(),
        }
    }
}

impl SimBuilder {
    /// An in-memory sim with default settings.
    pub fn new() -> SimBuilder {
        SimBuilder::default()
    }

    /// Reads `HUBFORGE_SIM_DIR`, `HUBFORGE_SIM_TIME_SCALE`,
    /// `HUBFORGE_SIM_FAULT_RATE` and `HUBFORGE_SIM_SEED`; a variable that is
    /// set but unreadable is an error naming it.
    pub fn from_env() -> Result<SimBuilder> {
        let mut builder = SimBuilder::new();
        if let Ok(dir) = std::env::var("HUBFORGE_SIM_DIR") {
            builder = builder.directory(dir);
        }
        if let Some(scale) = env_number::<f64>("HUBFORGE_SIM_TIME_SCALE")? {
            builder = builder.time_scale(scale);
        }
        if let Some(rate) = env_number::<f64>("HUBFORGE_SIM_FAULT_RATE")? {
            let seed = env_number::<u64>("HUBFORGE_SIM_SEED")?.unwrap_or(0);
            builder = builder.faults(FaultPlan {
                rate,
                seed,
                lose_answers: true,
            });
        }
        Ok(builder)
    }

    /// Persists the cloud in `dir`, shared by every process that uses it.
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> SimBuilder {
        self.dir = Some(dir.into());
        self
    }

    /// Imitates one cloud's naming, latencies and operation rules. `None`
    /// (the default) behaves like AWS.
    pub fn imitate(mut self, cloud: Option<Cloud>) -> SimBuilder {
        self.imitate = cloud;
        self
    }

    /// Multiplies every latency: 1.0 is real time, 0.01 makes a 10-minute
    /// cluster take 6 seconds, 0 makes everything instant.
    pub fn time_scale(mut self, scale: f64) -> SimBuilder {
        self.time_scale = scale.max(0.0);
        self
    }

    /// Injects seeded faults.
    pub fn faults(mut self, plan: FaultPlan) -> SimBuilder {
        self.faults = Some(plan);
        self
    }

    /// Sets the account's quotas.
    pub fn quotas(mut self, quotas: Quotas) -> SimBuilder {
        self.quotas = quotas;
        self
    }

    /// Builds the sim.
    pub fn build(self) -> SimCloud {
        let cloud = self.imitate.unwrap_or(Cloud::Aws);
        SimCloud {
            inner: Arc::new(SimInner {
                store: match self.dir {
                    Some(dir) => Store::Directory(dir),
                    None => Store::Memory(Mutex::new(World::default())),
                },
                cloud,
                one_operation_per_cluster: cloud != Cloud::Aws,
                latency: LatencyModel::of(cloud),
                time_scale: self.time_scale,
                faults: Mutex::new(
                    self.faults
                        .map(|plan| (plan, StdRng::seed_from_u64(plan.seed))),
                ),
                quotas: self.quotas,
                calls: Mutex::new(BTreeMap::new()),
                injected: Default::default(),
            }),
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            Error::new(
                ErrorKind::InvalidSpec {
                    path: name.into(),
                    reason: format!("`{text}` is not a number"),
                },
                PROVIDER,
                format!("{name} must be a number"),
            )
        }),
    }
}

/// The simulated cloud. Cheap to clone; clones share one world.
#[derive(Clone)]
pub struct SimCloud {
    inner: Arc<SimInner>,
}

struct SimInner {
    store: Store,
    cloud: Cloud,
    one_operation_per_cluster: bool,
    latency: LatencyModel,
    time_scale: f64,
    faults: Mutex<Option<(FaultPlan, StdRng)>>,
    quotas: Quotas,
    calls: Mutex<BTreeMap<String, u64>>,
    injected: std::sync::atomic::AtomicU64,
}

fn error(kind: ErrorKind, resource: impl Into<String>, message: impl Into<String>) -> Error {
    Error::new(kind, PROVIDER, message).with_resource(resource)
}

/// The checks every create makes: the name is free and the quota has room.
/// `kind` is (singular, plural) and `per` the quota's scope.
fn check_new<V>(
    existing: &BTreeMap<String, V>,
    name: &str,
    (what, plural): (&str, &str),
    quota: usize,
    per: &str,
) -> Result<()> {
    if existing.contains_key(name) {
        return Err(error(
            ErrorKind::AlreadyExists,
            name,
            format!("a {what} named {name} exists"),
        ));
    }
    if existing.len() >= quota {
        return Err(error(
            ErrorKind::QuotaExceeded,
            name,
            format!("the quota allows {quota} {plural} per {per}"),
        ));
    }
    Ok(())
}

impl SimInner {
    /// Counts a read and, by the seeded plan, fails it.
    fn read(&self, name: &str) -> Result<()> {
        match self.fault(name, false) {
            Answer::Deliver => Ok(()),
            Answer::FailBefore(error) | Answer::Lose(error) => Err(error),
        }
    }

    /// Counts a changing call and, by the seeded plan, fails it before the
    /// change, or lets the change land and loses the answer.
    fn mutation(&self, name: &str) -> Result<Answer> {
        match self.fault(name, true) {
            Answer::FailBefore(error) => Err(error),
            answer => Ok(answer),
        }
    }

    fn fault(&self, name: &str, changes: bool) -> Answer {
        *self
            .calls
            .lock()
            .expect("sim call counter")
            .entry(name.to_string())
            .or_default() += 1;
        let mut faults = self.faults.lock().expect("sim fault rng");
        let Some((plan, rng)) = faults.as_mut() else {
            return Answer::Deliver;
        };
        if rng.random::<f64>() >= plan.rate {
            return Answer::Deliver;
        }
        self.injected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (kind, message) = match rng.random_range(0..3) {
            0 => (
                ErrorKind::Throttled {
                    retry_after: Some(
                        self.scaled(Duration::from_secs(2))
                            .max(Duration::from_millis(1)),
                    ),
                },
                "Rate exceeded (injected fault)",
            ),
            1 => (
                ErrorKind::Transient,
                "503 Service Unavailable (injected fault)",
            ),
            _ => (ErrorKind::Timeout, "request timed out (injected fault)"),
        };
        let lose =
            changes && plan.lose_answers && kind == ErrorKind::Timeout && rng.random::<bool>();
        let error = error(kind, name, message);
        if lose {
            Answer::Lose(error)
        } else {
            Answer::FailBefore(error)
        }
    }

    fn scaled(&self, latency: Duration) -> Duration {
        latency.mul_f64(self.time_scale)
    }

    fn ms(&self, latency: Duration) -> u64 {
        self.scaled(latency).as_millis() as u64
    }

    fn check_name(&self, kind: NameKind, name: &str) -> Result<()> {
        names::check_physical(self.cloud, kind, name).map_err(|reason| {
            error(
                ErrorKind::InvalidSpec {
                    path: format!("{kind:?}").to_lowercase(),
                    reason: reason.clone(),
                },
                name,
                reason,
            )
        })
    }

    fn check_pool(&self, config: &NodePoolConfig) -> Result<()> {
        self.check_name(NameKind::NodePool, &config.name)?;
        catalog::check_instance_type_syntax(self.cloud, &config.instance_type).map_err(
            |reason| {
                error(
                    ErrorKind::InvalidSpec {
                        path: "instance_type".into(),
                        reason: reason.clone(),
                    },
                    &config.name,
                    reason,
                )
            },
        )?;
        if config.min > config.max {
            return Err(error(
                ErrorKind::InvalidSpec {
                    path: "max".into(),
                    reason: "below min".into(),
                },
                &config.name,
                "max is below min",
            ));
        }
        Ok(())
    }

    /// The cloud's own word for a phase, as its API reports it.
    fn status_word(&self, kind: PhaseKind) -> &'static str {
        match (self.cloud, kind) {
            (Cloud::Aws, PhaseKind::Creating) => "CREATING",
            (Cloud::Aws, PhaseKind::Updating) => "UPDATING",
            (Cloud::Aws, PhaseKind::Deleting) => "DELETING",
            (Cloud::Gcp, PhaseKind::Creating) => "PROVISIONING",
            (Cloud::Gcp, PhaseKind::Updating) => "RECONCILING",
            (Cloud::Gcp, PhaseKind::Deleting) => "STOPPING",
            (Cloud::Azure, PhaseKind::Creating) => "Creating",
            (Cloud::Azure, PhaseKind::Updating) => "Updating",
            (Cloud::Azure, PhaseKind::Deleting) => "Deleting",
            (_, PhaseKind::Ready) => "DONE",
        }
    }

    /// When an operation of `latency` started `now` ends.
    fn until(&self, now: u64, latency: Duration) -> u64 {
        now + self.ms(latency)
    }

    /// Puts `resource` into `kind` until `until_ms` and returns the operation.
    fn begin(
        self: &Arc<Self>,
        world: &mut World,
        now: u64,
        resource: String,
        kind: PhaseKind,
        until_ms: u64,
    ) -> (Phase, Operation) {
        let phase = Phase { kind, until_ms };
        let id = world.start_operation(resource.clone(), self.status_word(kind), now, until_ms);
        let poller = SimPoll {
            sim: self.clone(),
            id: id.clone(),
        };
        (phase, Operation::pending(id, resource, Box::new(poller)))
    }

    fn busy_conflict(&self, cluster: &SimCluster, action: &str) -> Result<()> {
        let blocked = if self.one_operation_per_cluster {
            cluster.busy()
        } else {
            cluster.phase.busy()
        };
        if blocked {
            return Err(error(
                ErrorKind::Conflict,
                format!("cluster/{}", cluster.config.name),
                format!(
                    "cannot {action}: an operation is already running on cluster {}",
                    cluster.config.name
                ),
            ));
        }
        Ok(())
    }

    fn url(&self, bucket: &str) -> String {
        match self.cloud {
            Cloud::Aws => format!("s3://{bucket}"),
            Cloud::Gcp => format!("gs://{bucket}"),
            Cloud::Azure => match bucket.split_once('/') {
                Some((account, container)) => {
                    format!("https://{account}.blob.core.windows.net/{container}")
                }
                None => format!("az://{bucket}"),
            },
        }
    }

    fn cluster_state(&self, cluster: &SimCluster) -> ClusterState {
        ClusterState {
            config: cluster.config.clone(),
            status: cluster.phase.status(),
            endpoint: (cluster.phase.kind != PhaseKind::Creating).then(|| cluster.endpoint.clone()),
            oidc_issuer: (cluster.phase.kind != PhaseKind::Creating)
                .then(|| cluster.oidc_issuer.clone()),
            ca_data: None,
        }
    }

    fn bucket_state(&self, bucket: &SimBucket) -> BucketState {
        BucketState {
            config: bucket.config.clone(),
            status: bucket.phase.status(),
            url: self.url(&bucket.config.name),
            empty: bucket.objects.is_empty(),
        }
    }

    fn identity_state(&self, identity: &SimIdentity) -> IdentityState {
        IdentityState {
            config: identity.config.clone(),
            status: identity.phase.status(),
            principal: format!("sim:{}:identity/{}", self.cloud.key(), identity.config.name),
            binding: identity.binding.clone(),
        }
    }
}

/// What becomes of a changing call's answer.
enum Answer {
    Deliver,
    FailBefore(Error),
    /// The change landed; the caller sees this error instead of the answer.
    Lose(Error),
}

impl Answer {
    fn deliver<T>(self, outcome: Result<T>) -> Result<T> {
        match self {
            Answer::Lose(error) if outcome.is_ok() => Err(error),
            _ => outcome,
        }
    }
}

/// Polls one sim operation.
struct SimPoll {
    sim: Arc<SimInner>,
    id: String,
}

#[async_trait]
impl PollOperation for SimPoll {
    async fn poll(&self) -> Result<OperationStatus> {
        self.sim.read("poll_operation")?;
        self.sim.store.with_world(|world, now| {
            let Some(op) = world.operations.get(&self.id) else {
                return Err(error(ErrorKind::NotFound, &self.id, "no such operation"));
            };
            if now >= op.until_ms {
                return Ok(OperationStatus::Succeeded);
            }
            let total = (op.until_ms - op.started_ms).max(1);
            let percent = ((now.saturating_sub(op.started_ms)) * 100 / total).min(99) as u8;
            Ok(OperationStatus::Running(Progress {
                status: op.status_word.clone(),
                percent: Some(percent),
                retry_after: None,
            }))
        })
    }
}

impl SimCloud {
    /// An in-memory sim with default settings.
    pub fn in_memory() -> SimCloud {
        SimBuilder::new().build()
    }

    /// Writes an object into a bucket (tests of destroy's data guard).
    pub fn put_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world
                .buckets
                .get_mut(bucket)
                .ok_or_else(|| error(ErrorKind::NotFound, bucket, "no such bucket"))?;
            found.objects.insert(key.to_string());
            Ok(())
        })
    }

    /// Changes a pool behind hubforge's back, as someone in the console
    /// would (drift tests).
    pub fn tamper_node_pool_scaling(
        &self,
        cluster: &str,
        pool: &str,
        min: u32,
        max: u32,
    ) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(pool))
                .ok_or_else(|| error(ErrorKind::NotFound, pool, "no such node pool"))?;
            found.config.min = min;
            found.config.max = max;
            Ok(())
        })
    }

    /// How many times each API call was made through this handle.
    pub fn api_calls(&self) -> BTreeMap<String, u64> {
        self.inner.calls.lock().expect("sim call counter").clone()
    }

    /// How many calls failed by the fault plan so far.
    pub fn injected_faults(&self) -> u64 {
        self.inner
            .injected
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl ClusterOps for SimCloud {
    async fn create_cluster(
        &self,
        config: &ClusterConfig,
        initial_pools: &[NodePoolConfig],
    ) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_cluster")?;
        sim.check_name(NameKind::Cluster, &config.name)?;
        if !initial_pools.is_empty() && !self.capabilities().pools_in_cluster_create {
            return Err(error(
                ErrorKind::Unsupported {
                    operation: "create node pools with the cluster".into(),
                },
                &config.name,
                "this cloud creates node pools only after the cluster",
            ));
        }
        for pool in initial_pools {
            sim.check_pool(pool)?;
        }
        answer.deliver(sim.store.with_world(|world, now| {
            check_new(
                &world.clusters,
                &config.name,
                ("cluster", "clusters"),
                sim.quotas.clusters,
                "account",
            )?;
            let mut latency = sim.latency.cluster_create;
            if !initial_pools.is_empty() {
                latency += sim.latency.pool_create / 2;
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("cluster/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, latency),
            );
            let pools = initial_pools
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        SimPool {
                            config: p.clone(),
                            phase: phase.clone(),
                        },
                    )
                })
                .collect();
            world.clusters.insert(
                config.name.clone(),
                SimCluster {
                    config: config.clone(),
                    phase,
                    pools,
                    endpoint: format!(
                        "https://{}.{}.sim.hubforge.invalid",
                        config.name, config.region
                    ),
                    oidc_issuer: format!(
                        "https://oidc.sim.hubforge.invalid/{}/{}",
                        sim.cloud.key(),
                        config.name
                    ),
                },
            );
            Ok(operation)
        }))
    }

    async fn get_cluster(&self, name: &str) -> Result<Option<ClusterState>> {
        let sim = &self.inner;
        sim.read("get_cluster")?;
        sim.store
            .with_world(|world, _| Ok(world.clusters.get(name).map(|c| sim.cluster_state(c))))
    }

    async fn update_cluster(&self, config: &ClusterConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_cluster")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let cluster = world.clusters.get(&config.name).ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such cluster"))?;
            sim.busy_conflict(cluster, "update the cluster")?;
            if cluster.config.region != config.region {
                return Err(error(ErrorKind::Unsupported { operation: "move a cluster to another region".into() }, &config.name, "the region of a cluster is fixed"));
            }
            let (from, to) = (minor(&cluster.config.kubernetes_version), minor(&config.kubernetes_version));
            let version_changes = from != to;
            if version_changes && !matches!((from, to), (Some(f), Some(t)) if t == f + 1) {
                return Err(error(
                    ErrorKind::InvalidSpec { path: "kubernetes_version".into(), reason: "upgrade one minor version at a time".into() },
                    &config.name,
                    format!("cannot go from {} to {}: clusters upgrade one minor version at a time and never downgrade", cluster.config.kubernetes_version, config.kubernetes_version),
                ));
            }
            let resource = format!("cluster/{}", config.name);
            let operation = if version_changes {
                let (phase, operation) = sim.begin(world, now, resource, PhaseKind::Updating, sim.until(now, sim.latency.cluster_update));
                world.clusters.get_mut(&config.name).expect("checked above").phase = phase;
                operation
            } else {
                Operation::completed(format!("tags-{now}"), resource)
            };
            world.clusters.get_mut(&config.name).expect("checked above").config = config.clone();
            Ok(operation)
        }))
    }

    async fn delete_cluster(&self, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_cluster")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let cluster = world
                .clusters
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such cluster"))?;
            if sim.cloud == Cloud::Aws && !cluster.pools.is_empty() {
                return Err(error(
                    ErrorKind::Conflict,
                    format!("cluster/{name}"),
                    "the cluster still has node groups; delete them first",
                ));
            }
            let until = match cluster.phase.kind {
                // Deleting twice joins the running deletion.
                PhaseKind::Deleting => cluster.phase.until_ms,
                _ => {
                    sim.busy_conflict(cluster, "delete the cluster")?;
                    sim.until(now, sim.latency.cluster_delete)
                }
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("cluster/{name}"),
                PhaseKind::Deleting,
                until,
            );
            let cluster = world.clusters.get_mut(name).expect("checked above");
            for pool in cluster.pools.values_mut() {
                pool.phase = phase.clone();
            }
            cluster.phase = phase;
            Ok(operation)
        }))
    }

    async fn list_clusters(&self, hub: &str) -> Result<Vec<ClusterState>> {
        let sim = &self.inner;
        sim.read("list_clusters")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .clusters
                .values()
                .filter(|c| owned_by(&c.config.tags, hub))
                .map(|c| sim.cluster_state(c))
                .collect())
        })
    }
}

fn minor(version: &str) -> Option<u32> {
    version
        .split_once('.')
        .and_then(|(_, minor)| minor.parse().ok())
}

#[async_trait]
impl NodePoolOps for SimCloud {
    async fn create_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_node_pool")?;
        sim.check_pool(config)?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world
                .clusters
                .get(cluster)
                .ok_or_else(|| error(ErrorKind::NotFound, cluster, "no such cluster"))?;
            if found.phase.kind != PhaseKind::Ready {
                return Err(error(
                    ErrorKind::Conflict,
                    format!("cluster/{cluster}"),
                    format!(
                        "the cluster is {}, not ready for node pools",
                        sim.status_word(found.phase.kind)
                    ),
                ));
            }
            sim.busy_conflict(found, "create a node pool")?;
            check_new(
                &found.pools,
                &config.name,
                ("node pool", "node pools"),
                sim.quotas.node_pools_per_cluster,
                "cluster",
            )?;
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("node_pool/{cluster}/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, sim.latency.pool_create),
            );
            let pools = &mut world
                .clusters
                .get_mut(cluster)
                .expect("checked above")
                .pools;
            pools.insert(
                config.name.clone(),
                SimPool {
                    config: config.clone(),
                    phase,
                },
            );
            Ok(operation)
        }))
    }

    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<Option<NodePoolState>> {
        let sim = &self.inner;
        sim.read("get_node_pool")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .clusters
                .get(cluster)
                .and_then(|c| c.pools.get(name))
                .map(|p| NodePoolState {
                    config: p.config.clone(),
                    status: p.phase.status(),
                }))
        })
    }

    async fn update_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_node_pool")?;
        sim.check_pool(config)?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world
                .clusters
                .get(cluster)
                .ok_or_else(|| error(ErrorKind::NotFound, cluster, "no such cluster"))?;
            let pool = found
                .pools
                .get(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such node pool"))?;
            if pool.phase.busy() {
                return Err(error(
                    ErrorKind::Conflict,
                    &config.name,
                    "the node pool is busy with another operation",
                ));
            }
            sim.busy_conflict(found, "update a node pool")?;
            let current = &pool.config;
            let fixed = [
                (
                    "instance_type",
                    current.instance_type != config.instance_type,
                ),
                ("accelerator", current.accelerator != config.accelerator),
                ("spot", current.spot != config.spot),
                ("disk_gib", current.disk_gib != config.disk_gib),
            ];
            if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: format!("change {field} of a node pool in place"),
                    },
                    &config.name,
                    format!(
                        "{field} is fixed when a node pool is created; replace the pool instead"
                    ),
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("node_pool/{cluster}/{}", config.name),
                PhaseKind::Updating,
                sim.until(now, sim.latency.pool_update),
            );
            let pool = world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(&config.name))
                .expect("checked above");
            pool.config = config.clone();
            pool.phase = phase;
            Ok(operation)
        }))
    }

    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_node_pool")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world
                .clusters
                .get(cluster)
                .ok_or_else(|| error(ErrorKind::NotFound, cluster, "no such cluster"))?;
            let pool = found
                .pools
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such node pool"))?;
            let until = match pool.phase.kind {
                PhaseKind::Deleting => pool.phase.until_ms,
                _ => {
                    sim.busy_conflict(found, "delete a node pool")?;
                    sim.until(now, sim.latency.pool_delete)
                }
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("node_pool/{cluster}/{name}"),
                PhaseKind::Deleting,
                until,
            );
            world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(name))
                .expect("checked above")
                .phase = phase;
            Ok(operation)
        }))
    }

    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolState>> {
        let sim = &self.inner;
        sim.read("list_node_pools")?;
        sim.store.with_world(|world, _| {
            let found = world
                .clusters
                .get(cluster)
                .ok_or_else(|| error(ErrorKind::NotFound, cluster, "no such cluster"))?;
            Ok(found
                .pools
                .values()
                .map(|p| NodePoolState {
                    config: p.config.clone(),
                    status: p.phase.status(),
                })
                .collect())
        })
    }
}

#[async_trait]
impl BucketOps for SimCloud {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_bucket")?;
        sim.check_name(NameKind::Bucket, &config.name)?;
        answer.deliver(sim.store.with_world(|world, now| {
            check_new(
                &world.buckets,
                &config.name,
                ("bucket", "buckets"),
                sim.quotas.buckets,
                "account",
            )?;
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("bucket/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, sim.latency.bucket_create),
            );
            world.buckets.insert(
                config.name.clone(),
                SimBucket {
                    config: config.clone(),
                    phase,
                    objects: BTreeSet::new(),
                },
            );
            Ok(operation)
        }))
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        let sim = &self.inner;
        sim.read("get_bucket")?;
        sim.store
            .with_world(|world, _| Ok(world.buckets.get(name).map(|b| sim.bucket_state(b))))
    }

    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_bucket")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let bucket = world
                .buckets
                .get_mut(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such bucket"))?;
            if bucket.config.region != config.region {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: "move a bucket to another region".into(),
                    },
                    &config.name,
                    "the region of a bucket is fixed",
                ));
            }
            bucket.config = config.clone();
            Ok(Operation::completed(
                format!("bucket-update-{now}"),
                format!("bucket/{}", config.name),
            ))
        }))
    }

    async fn delete_bucket(&self, name: &str, deletion: BucketDeletion) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_bucket")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let bucket = world
                .buckets
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such bucket"))?;
            if !bucket.objects.is_empty() && deletion == BucketDeletion::RefuseIfNotEmpty {
                return Err(error(
                    ErrorKind::NotEmpty,
                    format!("bucket/{name}"),
                    format!("the bucket holds {} objects", bucket.objects.len()),
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("bucket/{name}"),
                PhaseKind::Deleting,
                sim.until(now, sim.latency.bucket_delete),
            );
            let bucket = world.buckets.get_mut(name).expect("checked above");
            bucket.objects.clear();
            bucket.phase = phase;
            Ok(operation)
        }))
    }

    async fn list_buckets(&self, hub: &str) -> Result<Vec<BucketState>> {
        let sim = &self.inner;
        sim.read("list_buckets")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .buckets
                .values()
                .filter(|b| owned_by(&b.config.tags, hub))
                .map(|b| sim.bucket_state(b))
                .collect())
        })
    }
}

#[async_trait]
impl IdentityOps for SimCloud {
    async fn create_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_identity")?;
        sim.check_name(NameKind::Identity, &config.name)?;
        answer.deliver(sim.store.with_world(|world, now| {
            check_new(
                &world.identities,
                &config.name,
                ("identity", "identities"),
                sim.quotas.identities,
                "account",
            )?;
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("identity/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, sim.latency.identity_create),
            );
            world.identities.insert(
                config.name.clone(),
                SimIdentity {
                    config: config.clone(),
                    phase,
                    binding: None,
                },
            );
            Ok(operation)
        }))
    }

    async fn get_identity(&self, name: &str) -> Result<Option<IdentityState>> {
        let sim = &self.inner;
        sim.read("get_identity")?;
        sim.store
            .with_world(|world, _| Ok(world.identities.get(name).map(|i| sim.identity_state(i))))
    }

    async fn update_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let identity = world
                .identities
                .get_mut(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such identity"))?;
            identity.config = config.clone();
            Ok(Operation::completed(
                format!("identity-update-{now}"),
                format!("identity/{}", config.name),
            ))
        }))
    }

    async fn bind_identity(&self, name: &str, binding: &IdentityBinding) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("bind_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let identity = world
                .identities
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such identity"))?;
            if identity.phase.busy() {
                return Err(error(
                    ErrorKind::Conflict,
                    name,
                    "the identity is busy with another operation",
                ));
            }
            match world.clusters.get(&binding.cluster) {
                None => {
                    return Err(error(
                        ErrorKind::NotFound,
                        &binding.cluster,
                        "the binding names a cluster that does not exist",
                    ));
                }
                Some(c) if c.phase.kind == PhaseKind::Creating => {
                    return Err(error(
                        ErrorKind::Conflict,
                        &binding.cluster,
                        "the cluster's OIDC issuer is not ready yet",
                    ));
                }
                Some(_) => {}
            }
            if let Some(missing) = binding
                .grants
                .keys()
                .find(|b| !world.buckets.contains_key(*b))
            {
                return Err(error(
                    ErrorKind::NotFound,
                    missing,
                    "the binding grants a bucket that does not exist",
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("identity/{name}"),
                PhaseKind::Updating,
                sim.until(now, sim.latency.identity_bind),
            );
            let identity = world.identities.get_mut(name).expect("checked above");
            identity.binding = Some(binding.clone());
            identity.phase = phase;
            Ok(operation)
        }))
    }

    async fn delete_identity(&self, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            if !world.identities.contains_key(name) {
                return Err(error(ErrorKind::NotFound, name, "no such identity"));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("identity/{name}"),
                PhaseKind::Deleting,
                sim.until(now, sim.latency.identity_delete),
            );
            world.identities.get_mut(name).expect("checked above").phase = phase;
            Ok(operation)
        }))
    }

    async fn list_identities(&self, hub: &str) -> Result<Vec<IdentityState>> {
        let sim = &self.inner;
        sim.read("list_identities")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .identities
                .values()
                .filter(|i| owned_by(&i.config.tags, hub))
                .map(|i| sim.identity_state(i))
                .collect())
        })
    }
}

#[async_trait]
impl SupportOps for SimCloud {
    /// What the imitated cloud needs around a hub: on AWS a VPC, the
    /// cluster and node roles and, once the cluster exists, its OIDC
    /// provider; on GCP the node service account; on Azure a
    /// resource group, the kubelet identity and, with buckets, a storage
    /// account.
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
        use ResourceClass::*;
        use SupportKind::*;
        let config = |kind, name: String| SupportConfig {
            kind,
            name,
            region: hub.region.clone(),
            tags: resource_tags(&hub.hub, &format!("support--{}", kind_tag(kind)), &hub.tags),
            properties: BTreeMap::new(),
        };
        let need =
            |config, needed_by: &[ResourceClass], after: &[SupportKind]| SupportRequirement {
                config,
                needed_by: needed_by.to_vec(),
                after: after.to_vec(),
                after_cluster: false,
            };
        let supporting_name = |index: usize| {
            names::supporting(self.inner.cloud, &hub.hub)[index]
                .1
                .clone()
        };
        match self.inner.cloud {
            Cloud::Aws => vec![
                need(
                    config(Network, format!("{}-vpc", hub.hub)),
                    &[Cluster, NodePool],
                    &[],
                ),
                need(config(ClusterRole, supporting_name(0)), &[Cluster], &[]),
                need(config(NodeRole, supporting_name(1)), &[NodePool], &[]),
                // IRSA: the cluster's issuer registered in IAM, once the cluster exists.
                SupportRequirement {
                    config: SupportConfig {
                        properties: BTreeMap::from([("cluster".to_string(), hub.cluster.clone())]),
                        ..config(OidcProvider, format!("{}-oidc", hub.hub))
                    },
                    needed_by: vec![Binding],
                    after: vec![],
                    after_cluster: true,
                },
            ],
            Cloud::Gcp => vec![need(
                config(NodeRole, supporting_name(0)),
                &[Cluster, NodePool],
                &[],
            )],
            Cloud::Azure => {
                let mut needs = vec![
                    need(
                        config(ResourceGroup, format!("{}-rg", hub.hub)),
                        &[Cluster, NodePool, Bucket, Identity],
                        &[],
                    ),
                    need(
                        config(NodeRole, supporting_name(0)),
                        &[Cluster, NodePool],
                        &[ResourceGroup],
                    ),
                ];
                if hub.has_buckets {
                    let account =
                        names::storage_account(&hub.hub, &names::NameScope::known(SIM_ACCOUNT))
                            .unwrap_or_else(|error| error.physical);
                    needs.push(need(
                        config(StorageAccount, account),
                        &[Bucket],
                        &[ResourceGroup],
                    ));
                }
                needs
            }
        }
    }

    async fn create_support(&self, config: &SupportConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_support")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let key = support_key(config.kind, &config.name);
            if config.kind == SupportKind::OidcProvider {
                let cluster = config
                    .properties
                    .get("cluster")
                    .and_then(|c| world.clusters.get(c));
                if !cluster.is_some_and(|c| c.phase.kind != PhaseKind::Creating) {
                    return Err(error(
                        ErrorKind::Conflict,
                        &key,
                        "the cluster's OIDC issuer does not exist yet",
                    ));
                }
            }
            if world.support.contains_key(&key) {
                return Err(error(
                    ErrorKind::AlreadyExists,
                    &key,
                    "a supporting resource with this name exists",
                ));
            }
            let until = sim.until(now, sim.latency.support_create);
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("support/{key}"),
                PhaseKind::Creating,
                until,
            );
            world.support.insert(
                key,
                SimSupport {
                    config: config.clone(),
                    phase,
                },
            );
            Ok(operation)
        }))
    }

    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>> {
        let sim = &self.inner;
        sim.read("get_support")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .support
                .get(&support_key(kind, name))
                .map(|s| SupportState {
                    config: s.config.clone(),
                    status: s.phase.status(),
                }))
        })
    }

    async fn update_support(&self, config: &SupportConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_support")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let key = support_key(config.kind, &config.name);
            let found = world
                .support
                .get_mut(&key)
                .ok_or_else(|| error(ErrorKind::NotFound, &key, "no such supporting resource"))?;
            if found.config.region != config.region {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: "move a supporting resource to another region".into(),
                    },
                    &key,
                    "the region is fixed",
                ));
            }
            found.config = config.clone();
            Ok(Operation::completed(
                format!("support-update-{now}"),
                format!("support/{key}"),
            ))
        }))
    }

    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_support")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let key = support_key(kind, name);
            let found = world
                .support
                .get(&key)
                .ok_or_else(|| error(ErrorKind::NotFound, &key, "no such supporting resource"))?;
            let hub = found
                .config
                .tags
                .get(TAG_CLUSTER)
                .cloned()
                .unwrap_or_default();
            if let Some(user) = support_user(world, kind, name, &hub) {
                return Err(error(
                    ErrorKind::Conflict,
                    &key,
                    format!("{user} still uses it (DependencyViolation)"),
                ));
            }
            let until = match found.phase.kind {
                PhaseKind::Deleting => found.phase.until_ms,
                _ => sim.until(now, sim.latency.support_delete),
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("support/{key}"),
                PhaseKind::Deleting,
                until,
            );
            world.support.get_mut(&key).expect("checked above").phase = phase;
            Ok(operation)
        }))
    }

    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>> {
        let sim = &self.inner;
        sim.read("list_support")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .support
                .values()
                .filter(|s| owned_by(&s.config.tags, hub))
                .map(|s| SupportState {
                    config: s.config.clone(),
                    status: s.phase.status(),
                })
                .collect())
        })
    }
}

fn support_key(kind: SupportKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

/// The tag spelling of a support kind (`resource-group`): GCP label values
/// allow no underscores in hubforge's resource tag convention.
fn kind_tag(kind: SupportKind) -> String {
    kind.as_str().replace('_', "-")
}

/// What still depends on a supporting resource, as a cloud would refuse
/// to delete a VPC with a cluster in it.
fn support_user(world: &World, kind: SupportKind, name: &str, hub: &str) -> Option<String> {
    let clusters = world
        .clusters
        .values()
        .filter(|c| owned_by(&c.config.tags, hub));
    match kind {
        SupportKind::Network | SupportKind::ClusterRole => clusters
            .map(|c| format!("cluster {}", c.config.name))
            .next(),
        SupportKind::NodeRole => world
            .clusters
            .values()
            .filter(|c| owned_by(&c.config.tags, hub))
            .flat_map(|c| c.pools.values())
            .map(|p| format!("node pool {}", p.config.name))
            .next()
            .or_else(|| {
                clusters
                    .map(|c| format!("cluster {}", c.config.name))
                    .next()
            }),
        SupportKind::OidcProvider => None,
        SupportKind::StorageAccount => world
            .buckets
            .keys()
            .find(|b| b.starts_with(&format!("{name}/")))
            .map(|b| format!("container {b}")),
        SupportKind::ResourceGroup => world
            .support
            .values()
            .filter(|s| {
                s.config.kind != SupportKind::ResourceGroup && owned_by(&s.config.tags, hub)
            })
            .map(|s| format!("{} {}", s.config.kind.as_str(), s.config.name))
            .chain(
                world
                    .clusters
                    .values()
                    .filter(|c| owned_by(&c.config.tags, hub))
                    .map(|c| format!("cluster {}", c.config.name)),
            )
            .chain(
                world
                    .identities
                    .values()
                    .filter(|i| owned_by(&i.config.tags, hub))
                    .map(|i| format!("identity {}", i.config.name)),
            )
            .next(),
    }
}

#[async_trait]
impl Provider for SimCloud {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        let sim = &self.inner;
        Capabilities {
            one_operation_per_cluster: sim.one_operation_per_cluster,
            pools_in_cluster_create: sim.cloud != Cloud::Aws,
            operations_take_time: sim.time_scale > 0.0,
            cluster_version_upgrade: true,
            pool_labels_in_place: true,
            // A tenth of the shortest operation, but no busier than every 5 ms.
            poll_interval: sim
                .scaled(Duration::from_secs(1))
                .max(Duration::from_millis(5)),
        }
    }

    fn naming_cloud(&self) -> Cloud {
        self.inner.cloud
    }

    /// The imitated cloud's annotation, so outputs look like the real ones.
    fn workload_identity_annotation(&self, identity: &IdentityState) -> (String, String) {
        let key = match self.inner.cloud {
            Cloud::Aws => "eks.amazonaws.com/role-arn",
            Cloud::Gcp => "iam.gke.io/gcp-service-account",
            Cloud::Azure => "azure.workload.identity/client-id",
        };
        (key.to_string(), identity.principal.clone())
    }

    fn node_selector(&self, pool: &str) -> (String, String) {
        let key = match self.inner.cloud {
            Cloud::Aws => "eks.amazonaws.com/nodegroup",
            Cloud::Gcp => "cloud.google.com/gke-nodepool",
            Cloud::Azure => "kubernetes.azure.com/agentpool",
        };
        (key.to_string(), pool.to_string())
    }

    /// A kubeconfig shaped like the imitated cloud's. There is no API
    /// server behind a sim endpoint, so its user has no credentials at all.
    fn kubeconfig(&self, cluster: &ClusterState) -> String {
        let name = &cluster.config.name;
        let server = cluster.endpoint.clone().unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user: {{}}\n"
        )
    }

    async fn account_scope(&self) -> Result<String> {
        self.inner.read("account_scope")?;
        Ok(SIM_ACCOUNT.to_string())
    }
}

#[cfg(test)]
mod tests;
