//! The sim's world: every resource with the time its current phase ends.
//!
//! Nothing runs in the background. A resource created at `t` with a
//! 600-second latency is stored as `Creating until t+600s`; whoever reads
//! the world after that sees it `Ready`. So a cloud persisted to a
//! directory keeps "working" while no hubforge process runs, exactly like a
//! real cloud, and separate processes agree on what they see.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::provider::{
    BucketConfig, ClusterConfig, IdentityBinding, IdentityConfig, NodePoolConfig, ResourceStatus,
    SupportConfig, owned_by,
};

/// Milliseconds since the Unix epoch: a clock every process shares.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PhaseKind {
    Creating,
    Updating,
    Deleting,
    Ready,
    /// The cloud gave up on it, or it degraded; `Phase::failure` says why.
    Failed,
}

/// What a resource is doing and until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Phase {
    pub kind: PhaseKind,
    pub until_ms: u64,
    /// The phase ends failed, with this reason, instead of ready; for a
    /// failed resource, the reason it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// A ready resource degrades (becomes failed) at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degrade_at_ms: Option<u64>,
}

impl Phase {
    /// Whether an operation runs on the resource.
    pub fn busy(&self) -> bool {
        matches!(
            self.kind,
            PhaseKind::Creating | PhaseKind::Updating | PhaseKind::Deleting
        )
    }

    pub fn status(&self) -> ResourceStatus {
        match self.kind {
            PhaseKind::Creating => ResourceStatus::Creating,
            PhaseKind::Updating => ResourceStatus::Updating,
            PhaseKind::Deleting => ResourceStatus::Deleting,
            PhaseKind::Ready => ResourceStatus::Ready,
            PhaseKind::Failed => ResourceStatus::Failed(self.failure.clone().unwrap_or_default()),
        }
    }

    /// The phase after `now`: a finished operation ends ready or failed,
    /// a ready resource whose time has come degrades. `None`: it is gone.
    fn settled(&self, now: u64) -> Option<Phase> {
        if self.busy() && self.until_ms <= now {
            return match (self.kind, &self.failure) {
                (PhaseKind::Deleting, _) => None,
                (_, Some(_)) => Some(Phase {
                    kind: PhaseKind::Failed,
                    degrade_at_ms: None,
                    ..self.clone()
                }),
                _ => Some(Phase {
                    kind: PhaseKind::Ready,
                    until_ms: 0,
                    ..self.clone()
                }),
            };
        }
        if self.kind == PhaseKind::Ready
            && let Some(at) = self.degrade_at_ms.filter(|at| *at <= now)
        {
            return Some(Phase {
                kind: PhaseKind::Failed,
                until_ms: at,
                failure: Some(
                    "DEGRADED: the nodes stopped reporting to the cluster (injected by HUBFORGE_SIM_DEGRADE)"
                        .into(),
                ),
                degrade_at_ms: None,
            });
        }
        Some(self.clone())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimCluster {
    pub config: ClusterConfig,
    pub phase: Phase,
    pub pools: BTreeMap<String, SimPool>,
    pub endpoint: String,
    /// Unique to this cluster: a cluster made again gets a new one, as on
    /// every real cloud.
    pub oidc_issuer: String,
    /// Listings by tag show it from this time on (they lag behind creates).
    #[serde(default)]
    pub listed_from_ms: u64,
}

impl SimCluster {
    /// Busy if the cluster or any of its pools has an operation running.
    pub fn busy(&self) -> bool {
        self.phase.busy() || self.pools.values().any(|p| p.phase.busy())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimPool {
    pub config: NodePoolConfig,
    pub phase: Phase,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimBucket {
    /// What is in place so far: versioning and lifecycle are set by their
    /// own steps of the create.
    pub config: BucketConfig,
    pub phase: Phase,
    pub objects: BTreeSet<String>,
    /// Steps of its create not done yet (an interrupted create).
    #[serde(default)]
    pub pending: Vec<String>,
    /// Listings by tag show it from this time on.
    #[serde(default)]
    pub listed_from_ms: u64,
    /// It belongs to another account: its name is taken (bucket names are
    /// global), and this account may not read or change it.
    #[serde(default)]
    pub other_account: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimIdentity {
    pub config: IdentityConfig,
    pub phase: Phase,
    pub binding: Option<IdentityBinding>,
    /// IAM elsewhere (trust policies, role assignments) knows it from this
    /// time on: identities propagate, as on every cloud.
    #[serde(default)]
    pub visible_at_ms: u64,
    /// Listings by tag show it from this time on.
    #[serde(default)]
    pub listed_from_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimSupport {
    pub config: SupportConfig,
    pub phase: Phase,
    /// Steps of its create not done yet (an interrupted create).
    #[serde(default)]
    pub pending: Vec<String>,
    /// Listings by tag show it from this time on.
    #[serde(default)]
    pub listed_from_ms: u64,
}

/// A long-running operation, with the cloud's status word while it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimOperation {
    pub resource: String,
    pub status_word: String,
    pub started_ms: u64,
    pub until_ms: u64,
    /// The operation ends failed, with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct World {
    pub clusters: BTreeMap<String, SimCluster>,
    pub buckets: BTreeMap<String, SimBucket>,
    pub identities: BTreeMap<String, SimIdentity>,
    /// Keyed `<kind>/<name>`.
    #[serde(default)]
    pub support: BTreeMap<String, SimSupport>,
    pub operations: BTreeMap<String, SimOperation>,
    pub next_operation: u64,
    /// Azure storage accounts whose management (lifecycle) policy is being
    /// written, until when: ARM refuses a second write meanwhile.
    #[serde(default)]
    pub policy_writes: BTreeMap<String, u64>,
}

fn no_such_cluster(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, "sim", "no such cluster").with_resource(name)
}

/// A resource listings by tag can show: its tags, and since when.
pub(crate) trait Listed {
    fn tags(&self) -> &BTreeMap<String, String>;
    fn listed_from_ms(&self) -> u64;
}

macro_rules! listed {
    ($($kind:ty),*) => {$(
        impl Listed for $kind {
            fn tags(&self) -> &BTreeMap<String, String> {
                &self.config.tags
            }
            fn listed_from_ms(&self) -> u64 {
                self.listed_from_ms
            }
        }
    )*};
}
listed!(SimCluster, SimBucket, SimIdentity, SimSupport);

/// What a listing by `hub`'s ownership tags shows at `now`: listings lag
/// behind creates.
pub(crate) fn listed<'a, T: Listed + 'a>(
    resources: impl IntoIterator<Item = &'a T>,
    hub: &'a str,
    now: u64,
) -> impl Iterator<Item = &'a T> {
    resources
        .into_iter()
        .filter(move |r| owned_by(r.tags(), hub) && r.listed_from_ms() <= now)
}

/// Finished operations are kept this long so late pollers still get an answer.
const KEEP_OPERATIONS_MS: u64 = 3_600_000;

impl World {
    /// Moves every phase whose time has come to its end state.
    pub fn settle(&mut self, now: u64) {
        fn finish(phase: &mut Phase, now: u64) -> bool {
            match phase.settled(now) {
                Some(next) => {
                    *phase = next;
                    true
                }
                None => false,
            }
        }
        self.clusters.retain(|_, cluster| {
            cluster.pools.retain(|_, pool| finish(&mut pool.phase, now));
            finish(&mut cluster.phase, now)
        });
        self.buckets
            .retain(|_, bucket| finish(&mut bucket.phase, now));
        self.identities
            .retain(|_, identity| finish(&mut identity.phase, now));
        self.support
            .retain(|_, support| finish(&mut support.phase, now));
        self.operations
            .retain(|_, op| op.until_ms + KEEP_OPERATIONS_MS > now);
        self.policy_writes.retain(|_, until| *until > now);
    }

    /// The cluster by that name, or the cloud's "not found".
    pub fn cluster(&self, name: &str) -> Result<&SimCluster> {
        self.clusters.get(name).ok_or_else(|| no_such_cluster(name))
    }

    /// The cluster by that name, to change, or the cloud's "not found".
    pub fn cluster_mut(&mut self, name: &str) -> Result<&mut SimCluster> {
        self.clusters
            .get_mut(name)
            .ok_or_else(|| no_such_cluster(name))
    }

    /// Records an operation and returns its id.
    pub fn start_operation(
        &mut self,
        resource: String,
        status_word: &str,
        now: u64,
        phase: &Phase,
    ) -> String {
        self.next_operation += 1;
        let id = format!("op-{:06}", self.next_operation);
        self.operations.insert(
            id.clone(),
            SimOperation {
                resource,
                status_word: status_word.to_string(),
                started_ms: now,
                until_ms: phase.until_ms.max(now),
                failure: phase.failure.clone(),
            },
        );
        id
    }
}

/// Where the world lives: in memory, or in a directory shared by processes.
pub(crate) enum Store {
    Memory(Mutex<World>),
    Directory(PathBuf),
}

impl Store {
    /// Runs `change` on the settled world, holding the world's lock, and
    /// saves the result. Whatever `change` returns, the settling is saved.
    pub fn with_world<T>(&self, change: impl FnOnce(&mut World, u64) -> Result<T>) -> Result<T> {
        match self {
            Store::Memory(world) => {
                let mut world = world.lock().expect("sim world lock");
                let now = now_ms();
                world.settle(now);
                change(&mut world, now)
            }
            Store::Directory(dir) => {
                let lock = lock_directory(dir)?;
                let path = dir.join("world.json");
                let mut world: World = match std::fs::read(&path) {
                    Ok(bytes) => {
                        serde_json::from_slice(&bytes).map_err(|e| store_error(&path, e))?
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => World::default(),
                    Err(e) => return Err(store_error(&path, e)),
                };
                let now = now_ms();
                world.settle(now);
                let outcome = change(&mut world, now);
                save(&path, &world)?;
                drop(lock);
                outcome
            }
        }
    }
}

fn lock_directory(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(|e| store_error(dir, e))?;
    let path = dir.join("world.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| store_error(&path, e))?;
    file.lock().map_err(|e| store_error(&path, e))?;
    Ok(file)
}

/// Write-then-rename, so a process killed mid-write never leaves half a world.
fn save(path: &Path, world: &World) -> Result<()> {
    let temporary = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(world).map_err(|e| store_error(path, e))?;
    let mut file = File::create(&temporary).map_err(|e| store_error(&temporary, e))?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| store_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| store_error(path, e))
}

fn store_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Permanent,
        "sim",
        format!("sim state at {}: {error}", path.display()),
    )
}
