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
    SupportConfig,
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
}

/// What a resource is doing and until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Phase {
    pub kind: PhaseKind,
    pub until_ms: u64,
}

impl Phase {
    pub fn ready() -> Phase {
        Phase {
            kind: PhaseKind::Ready,
            until_ms: 0,
        }
    }

    pub fn busy(&self) -> bool {
        self.kind != PhaseKind::Ready
    }

    pub fn status(&self) -> ResourceStatus {
        match self.kind {
            PhaseKind::Creating => ResourceStatus::Creating,
            PhaseKind::Updating => ResourceStatus::Updating,
            PhaseKind::Deleting => ResourceStatus::Deleting,
            PhaseKind::Ready => ResourceStatus::Ready,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimCluster {
    pub config: ClusterConfig,
    pub phase: Phase,
    pub pools: BTreeMap<String, SimPool>,
    pub endpoint: String,
    pub oidc_issuer: String,
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
    pub config: BucketConfig,
    pub phase: Phase,
    pub objects: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimIdentity {
    pub config: IdentityConfig,
    pub phase: Phase,
    pub binding: Option<IdentityBinding>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimSupport {
    pub config: SupportConfig,
    pub phase: Phase,
}

/// A long-running operation, with the cloud's status word while it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimOperation {
    pub resource: String,
    pub status_word: String,
    pub started_ms: u64,
    pub until_ms: u64,
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
}

/// Finished operations are kept this long so late pollers still get an answer.
const KEEP_OPERATIONS_MS: u64 = 3_600_000;

impl World {
    /// Moves every phase whose time has come to its end state.
    pub fn settle(&mut self, now: u64) {
        fn finish(phase: &mut Phase, now: u64) -> bool {
            if phase.busy() && phase.until_ms <= now {
                if phase.kind == PhaseKind::Deleting {
                    return false;
                }
                *phase = Phase::ready();
            }
            true
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
    }

    /// Records an operation and returns its id.
    pub fn start_operation(
        &mut self,
        resource: String,
        status_word: &str,
        now: u64,
        until_ms: u64,
    ) -> String {
        self.next_operation += 1;
        let id = format!("op-{:06}", self.next_operation);
        self.operations.insert(
            id.clone(),
            SimOperation {
                resource,
                status_word: status_word.to_string(),
                started_ms: now,
                until_ms,
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
